"""LibraryService and ChatService in a separate "engine" process, behind proxies with the same methods.

Why a second process:
- The GIL.  Importing torch, loading the embedder or the chat model, and llama_cpp's per-token
  Python code hold the GIL for hundreds of milliseconds at a time; on a worker thread of the GUI
  process that freezes the window just as surely as running them on the GUI thread.  In another
  process they cannot: the GUI side only waits on a pipe, which releases the GIL.
- Crashes.  A model that segfaults or a machine that runs out of memory kills the engine, not the
  window: pending calls fail with a plain message and the next action starts a fresh engine.

Protocol, one duplex Pipe, every message a pickled tuple:
  GUI -> engine   ("call", id, generation, settings, role, method, args, kwargs)
                  ("cancel", id)          the caller's CancelToken was cancelled
                  ("quit",)               shut down cleanly
  engine -> GUI   ("event", id, slot, method, args)   a callback argument was called
                  ("done", id, ok, blob)              blob: the pickled result, or exception
Each call runs on its own engine thread (ingest and ask run side by side, as before).  Callbacks
(progress sinks, on_token) are replaced by placeholders and invoked on the GUI side's one reader
thread; the GUI's callbacks only emit Qt signals, which is thread-safe.  A "generation" is one
(LibraryService, ChatService) pair built from one Settings: the bridge rebuilds its services when
settings change, and the engine does the same without restarting.
"""

from __future__ import annotations

import atexit
import gc
import itertools
import logging
import multiprocessing
import multiprocessing.util  # noqa: F401 - its atexit hook must be registered before ours (ours runs first)
import os
import pickle
import signal
import threading
import time
import traceback
import weakref
from multiprocessing.connection import wait
from typing import Any, Callable, Sequence

from app.errors import LocalKBError
from ingest.progress import CancelToken

log = logging.getLogger(__name__)

_ctx = multiprocessing.get_context("spawn")  # fork would copy the GUI's Qt threads and their locks
_POLL_S = 0.05  # how often a waiting caller looks at its CancelToken: a stop is sent within 50 ms
_QUIT_GRACE_S = 15.0  # an ingest stops at its next safe point, so the KB is never left half-written
_FINALIZE_S = 3.0  # after the KBs are closed, the most the engine's exit may take


class _Arg:
    """Placeholder for a callback argument: kind is 'cancel', 'sink' (ProgressSink) or 'call'."""

    def __init__(self, kind: str, slot: int = -1) -> None:
        self.kind, self.slot = kind, slot


# -- the GUI side ----------------------------------------------------------------------------------


def _death_message(code: int | None) -> str:
    if code is None:
        detail = "it stopped answering"
    elif code == -signal.SIGKILL:
        detail = f"exit code {code}, maybe out of memory"
    elif code < 0:
        detail = f"exit code {code}, {signal.Signals(-code).name}: a crash in a model or file reader"
    else:
        detail = f"exit code {code}"
    return f"The LocalKB engine stopped unexpectedly ({detail}); it restarts with the next action."


class _Pending:
    def __init__(self, callbacks: dict[int, Any]) -> None:
        self.done = threading.Event()
        self.callbacks = callbacks
        self.ok, self.value = False, None

    def finish(self, ok: bool, value: Any) -> None:
        self.ok, self.value = ok, value
        self.done.set()


class _Link:
    """One engine process, its pipe and the calls waiting on it; a restart makes a new link."""

    def __init__(self, env: dict[str, str]) -> None:
        self.conn, child = _ctx.Pipe()
        # Not a daemon: the engine starts its own parse workers, which daemons may not.
        self.proc = _ctx.Process(target=_engine_main, args=(child, env), name="localkb-engine")
        self.proc.start()
        child.close()  # only the engine holds its end, so each side sees EOF when the other dies
        self.pending: dict[int, _Pending] = {}
        self.lock = threading.Lock()  # guards pending and sends (a Connection is not thread-safe)
        self.dead: str | None = None
        self.quitting = False
        threading.Thread(target=self._read, name="localkb-engine-reader", daemon=True).start()

    def send(self, msg: tuple) -> None:
        with self.lock:
            if self.dead:
                raise LocalKBError(self.dead)
            self.conn.send_bytes(pickle.dumps(msg))

    def _read(self) -> None:
        try:
            while True:
                ready = wait([self.conn, self.proc.sentinel])  # blocks without the GIL
                if self.conn not in ready:
                    break  # the process is gone and nothing is left to read
                try:
                    msg = pickle.loads(self.conn.recv_bytes())
                except (EOFError, OSError):
                    break
                self._dispatch(msg)
        except Exception:  # noqa: BLE001 - whatever broke, the callers must not wait forever
            log.exception("engine reader failed")
        self.proc.join(2)
        code = self.proc.exitcode
        message = "The LocalKB engine was shut down." if self.quitting else _death_message(code)
        if not self.quitting:
            log.error("%s", message)
        with self.lock:
            self.dead = message
            pending, self.pending = self.pending, {}
        for call in pending.values():
            call.finish(False, LocalKBError(message))

    def _dispatch(self, msg: tuple) -> None:
        with self.lock:
            call = self.pending.get(msg[1])
        if call is None:
            return
        if msg[0] == "event":
            _, _, slot, method, args = msg
            target = call.callbacks[slot]
            try:
                (getattr(target, method) if method else target)(*args)
            except Exception:  # noqa: BLE001 - a broken callback must not stop the reader
                log.exception("callback failed")
        elif msg[0] == "done":
            _, call_id, ok, blob = msg
            try:
                value = pickle.loads(blob)
            except Exception as exc:  # noqa: BLE001 - e.g. a class the GUI side cannot rebuild
                ok, value = False, LocalKBError(f"The engine's reply could not be read: {exc}")
            with self.lock:
                self.pending.pop(call_id, None)
            call.finish(ok, value)


class ServiceHost:
    """The GUI's handle on the engine process: starts it on demand, restarts it after a crash."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        # The environment is captured once (LOCALKB_HOME above all) and reused for every restart.
        self.env = dict(os.environ if env is None else env)
        self._link: _Link | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._generations = itertools.count(1)
        _hosts.add(self)

    def services(self, settings: Any) -> tuple["LibraryProxy", "ChatProxy"]:
        """A new (library, chat) pair for `settings`, like building the real services anew."""
        # Import result types here (a worker thread), not in the reader at the first unpickle.
        import app.services.chat  # noqa: F401
        import app.services.library  # noqa: F401

        generation = next(self._generations)
        library = LibraryProxy(self, generation, settings)
        return library, ChatProxy(self, generation, settings, library)

    @property
    def pid(self) -> int | None:
        link = self._link
        return link.proc.pid if link is not None and not link.dead else None

    def _live_link(self, start: bool) -> _Link | None:
        with self._lock:
            if self._link is None or self._link.dead:
                self._link = _Link(self.env) if start else None
            return self._link

    def call(self, generation: int, settings: Any, role: str, method: str, args: Sequence[Any],
             kwargs: dict[str, Any], start: bool = True) -> Any:
        callbacks: dict[int, Any] = {}
        tokens: list[CancelToken] = []

        def wrap(value: Any) -> Any:
            if isinstance(value, CancelToken):
                tokens.append(value)
                return _Arg("cancel")
            if hasattr(value, "file_event") and hasattr(value, "progress"):
                callbacks[len(callbacks)] = value
                return _Arg("sink", len(callbacks) - 1)
            if callable(value):
                callbacks[len(callbacks)] = value
                return _Arg("call", len(callbacks) - 1)
            return value

        msg_args = tuple(wrap(a) for a in args)
        msg_kwargs = {k: wrap(v) for k, v in kwargs.items()}
        link = self._live_link(start)
        if link is None:
            return None  # e.g. close() with no engine running: nothing to close
        call_id = next(self._ids)
        call = _Pending(callbacks)
        with link.lock:
            link.pending[call_id] = call
        try:
            link.send(("call", call_id, generation, settings, role, method, msg_args, msg_kwargs))
        except BaseException:
            with link.lock:
                link.pending.pop(call_id, None)
            raise
        cancel_sent = False
        # The GUI's CancelToken is a plain flag: poll it while waiting and pass a cancel on.
        while not call.done.wait(_POLL_S):
            if not cancel_sent and any(t.cancelled for t in tokens):
                cancel_sent = True
                try:
                    link.send(("cancel", call_id))
                except (LocalKBError, OSError):
                    pass  # the reader fails the call
        if call.ok:
            return call.value
        raise call.value

    def shutdown(self, timeout_s: float = _QUIT_GRACE_S + 5) -> None:
        """Stop the engine: it cancels running work, closes the KBs and exits; killed if it hangs."""
        with self._lock:
            link, self._link = self._link, None
        if link is None or link.dead:
            return
        link.quitting = True
        try:
            link.send(("quit",))
        except (LocalKBError, OSError):
            pass
        link.proc.join(timeout_s)
        if link.proc.is_alive():
            log.warning("the engine did not stop in %.0f s; killing it", timeout_s)
            link.proc.kill()
            link.proc.join(5)


class _Proxy:
    _role = ""

    def __init__(self, host: ServiceHost, generation: int, settings: Any) -> None:
        self._host, self._generation, self.settings = host, generation, settings

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._host.call(self._generation, self.settings, self._role, method, args, kwargs)


class LibraryProxy(_Proxy):
    """LibraryService's methods, run in the engine."""

    _role = "library"

    def kb_names(self) -> list[str]:
        return self._call("kb_names")

    def list_kbs(self) -> list:
        return self._call("list_kbs")

    def warm_up(self, names: Sequence[str]) -> list[str]:
        return self._call("warm_up", list(names))

    def create_kb(self, name: str) -> None:
        return self._call("create_kb", name)

    def rename_kb(self, old: str, new: str) -> None:
        return self._call("rename_kb", old, new)

    def delete_kb(self, name: str) -> None:
        return self._call("delete_kb", name)

    def documents(self, kb: str) -> list:
        return self._call("documents", kb)

    def ingest(self, paths_: Sequence[Any], kb: str = "default", progress: Any = None, cancel: Any = None,
               force: bool = False) -> Any:
        return self._call("ingest", [str(p) for p in paths_], kb, progress, cancel, force)

    def reindex(self, kb: str, paths_: Sequence[Any] | None = None, progress: Any = None, cancel: Any = None) -> Any:
        return self._call("reindex", kb, None if paths_ is None else [str(p) for p in paths_], progress, cancel)

    def remove(self, kb: str, paths_: Sequence[Any]) -> list:
        return self._call("remove", kb, [str(p) for p in paths_])

    def repair(self, kb: str, progress: Any = None, note: Callable[[str], None] | None = None) -> Any:
        return self._call("repair", kb, progress, note)

    def page_text(self, kb: str, path: str, page: int | None, section: int | None = None) -> str:
        return self._call("page_text", kb, path, page, section)

    def follow(self, kb: str, folders: Sequence[Any]) -> list:
        return self._call("follow", kb, [str(f) for f in folders])

    def unfollow(self, kb: str, folders: Sequence[Any]) -> list:
        return self._call("unfollow", kb, [str(f) for f in folders])

    def folders(self, kb: str) -> list:
        return self._call("folders", kb)

    def ignore_rules(self, kb: str) -> str:
        return self._call("ignore_rules", kb)

    def set_ignore_rules(self, kb: str, text: str) -> None:
        return self._call("set_ignore_rules", kb, text)

    def sync(self, kb: str, progress: Any = None, cancel: Any = None) -> Any:
        return self._call("sync", kb, progress, cancel)

    def start_watching(self) -> list[str]:
        return self._call("start_watching")

    def pause_watching(self, kb: str, paused: bool) -> None:
        return self._call("pause_watching", kb, paused)

    def recent_sync_events(self, kb: str) -> list:
        return self._call("recent_sync_events", kb)

    def close(self) -> None:
        """Close this generation's KBs; never starts an engine just to close it."""
        self._host.call(self._generation, self.settings, "library", "close", (), {}, start=False)


class ChatProxy(_Proxy):
    """ChatService's methods, run in the engine."""

    _role = "chat"

    def __init__(self, host: ServiceHost, generation: int, settings: Any, library: LibraryProxy) -> None:
        super().__init__(host, generation, settings)
        self.library = library

    def model_state(self) -> str:
        return self._call("model_state")

    def load_model(self) -> None:
        return self._call("load_model")

    def search(self, question: str, kbs: Sequence[str], top_k: int | None = None) -> list:
        return self._call("search", question, list(kbs), top_k)

    def ask(self, question: str, kbs: Sequence[str], history: Sequence = (),
            on_token: Callable[[str], None] | None = None, cancel: Any = None,
            on_event: Callable[[Any], None] | None = None) -> Any:
        return self._call("ask", question, list(kbs), list(history), on_token, cancel, on_event)


_hosts: "weakref.WeakSet[ServiceHost]" = weakref.WeakSet()
_shared: ServiceHost | None = None
_shared_lock = threading.Lock()


def shared_host() -> ServiceHost:
    """The GUI process's engine; a new one when LOCALKB_HOME changed (tests give each its own home)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.env.get("LOCALKB_HOME") != os.environ.get("LOCALKB_HOME"):
            if _shared is not None:
                _shared.shutdown()
            _shared = ServiceHost()
        return _shared


@atexit.register
def _shutdown_all() -> None:
    # Runs before multiprocessing's own exit hook, which would wait forever on a running engine.
    for host in list(_hosts):
        host.shutdown()


# -- the engine side -------------------------------------------------------------------------------


def _engine_main(conn: Any, env: dict[str, str]) -> None:
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the GUI's to handle; it then says quit
    try:
        # llama.cpp and torch use every core; a lower priority lets the window's light work
        # always win a core first, so it never waits behind the engine's own threads.
        os.nice(5)
    except OSError:
        pass
    from app import paths

    try:
        import logging.handlers

        paths.log_dir().mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(paths.log_dir() / "engine.log", maxBytes=2_000_000,
                                                       backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    except OSError:
        pass  # logging is nice to have; the engine works without it
    _Engine(conn).serve()


class _Engine:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.send_lock = threading.Lock()
        self.lock = threading.Lock()
        self.generations: dict[int, tuple[Any, Any]] = {}
        self.tokens: dict[int, CancelToken] = {}
        self.threads: list[threading.Thread] = []

    def send(self, msg: tuple) -> None:
        data = pickle.dumps(msg)
        with self.send_lock:
            self.conn.send_bytes(data)

    def serve(self) -> None:
        while True:
            try:
                msg = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                break  # the GUI process is gone: stop rather than linger
            if msg[0] == "call":
                token = self.tokens[msg[1]] = CancelToken()
                thread = threading.Thread(target=self.run_call, args=(msg, token), name=f"{msg[4]}.{msg[5]}",
                                          daemon=True)
                self.threads = [t for t in self.threads if t.is_alive()] + [thread]
                thread.start()
            elif msg[0] == "cancel" and msg[1] in self.tokens:
                self.tokens[msg[1]].cancel()
            elif msg[0] == "quit":
                break
        running = [t for t in self.threads if t.is_alive()]
        log.info("engine stopping; cancelling %s", [t.name for t in running] or "nothing")
        for token in list(self.tokens.values()):
            token.cancel()
        deadline = time.monotonic() + _QUIT_GRACE_S
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s did not stop in time", thread.name)
        for library, _chat in self.generations.values():
            try:
                library.close()
            except Exception:  # noqa: BLE001 - exiting anyway
                log.exception("closing a library failed")
        log.info("engine closed its knowledge bases")
        # The KBs are closed: nothing below may hold the quit up.  Collecting and the finalizers
        # once hung past the window's 20 s wait after a session with the 1.5B model (cause not
        # found; seen once in a run of the real window); this bounds them.
        threading.Timer(_FINALIZE_S, os._exit, (0,)).start()
        gc.collect()
        multiprocessing.util._run_finalizers()  # e.g. the parse pool's semaphores; os._exit skips them
        logging.shutdown()
        os._exit(0)  # torch/chroma may leave non-daemon threads that would keep the process alive

    def services(self, generation: int, settings: Any) -> tuple[Any, Any]:
        with self.lock:
            if generation not in self.generations:
                from app.services.chat import ChatService
                from app.services.library import LibraryService

                library = LibraryService(settings)
                self.generations[generation] = (library, ChatService(settings, library))
            return self.generations[generation]

    def run_call(self, msg: tuple, token: CancelToken) -> None:
        _, call_id, generation, settings, role, method, args, kwargs = msg

        def unwrap(value: Any) -> Any:
            if not isinstance(value, _Arg):
                return value
            if value.kind == "cancel":
                return token
            if value.kind == "sink":
                return _SinkStub(self, call_id, value.slot)
            return lambda *a, _slot=value.slot: self.send(("event", call_id, _slot, None, a))

        try:
            if role == "library" and method == "close":
                with self.lock:
                    pair = self.generations.pop(generation, None)
                value = pair[0].close() if pair else None
            else:
                target = self.services(generation, settings)[0 if role == "library" else 1]
                value = getattr(target, method)(*map(unwrap, args), **{k: unwrap(v) for k, v in kwargs.items()})
            ok = True
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            ok, value = False, exc
            if not _is_domain_error(exc):
                log.error("%s.%s failed:\n%s", role, method, "".join(traceback.format_exception(exc)))
                exc.add_note("In the engine process:\n" + "".join(traceback.format_exception(exc)))
        finally:
            self.tokens.pop(call_id, None)
        try:
            self.send(("done", call_id, *_dump(ok, value)))
        except (OSError, EOFError):
            pass  # the GUI is gone


class _SinkStub:
    """The ProgressSink the engine's services see: each call becomes a message to the GUI."""

    def __init__(self, engine: _Engine, call_id: int, slot: int) -> None:
        self.engine, self.call_id, self.slot = engine, call_id, slot

    def file_event(self, event: Any) -> None:
        self.engine.send(("event", self.call_id, self.slot, "file_event", (event,)))

    def progress(self, progress: Any) -> None:
        self.engine.send(("event", self.call_id, self.slot, "progress", (progress,)))


def _is_domain_error(exc: BaseException) -> bool:
    from ingest.errors import IngestError

    return isinstance(exc, (LocalKBError, IngestError))


def _dump(ok: bool, value: Any) -> tuple[bool, bytes]:
    """(ok, the pickled result); an exception that would not survive the trip becomes a LocalKBError."""
    try:
        blob = pickle.dumps(value)
        if not ok:
            pickle.loads(blob)  # a class with an unusual __init__ pickles but cannot be rebuilt
        return ok, blob
    except Exception as exc:  # noqa: BLE001
        if ok:
            return False, pickle.dumps(LocalKBError(f"The engine could not send back its result: {exc}"))
        return False, pickle.dumps(LocalKBError(str(value) or type(value).__name__))
