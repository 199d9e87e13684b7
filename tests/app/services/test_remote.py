"""The engine process: real services behind proxies, callbacks, errors, cancellation, crashes.

One engine (with its own LOCALKB_HOME) serves the module so torch and the model load only a few
times; the crash test restarts it.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.errors import KnowledgeBaseError, LocalKBError
from app.services import remote
from app.services.remote import ChatProxy, LibraryProxy, ServiceHost
from app.settings import Settings
from ingest.kb import KnowledgeBase
from ingest.progress import Cancelled, CancelToken, FileEvent, Progress

ROOT = Path(__file__).resolve().parents[3]


class Recorder:
    def __init__(self) -> None:
        self.events: list[FileEvent] = []
        self.progress_seen: list[Progress] = []
        self.threads: set[str] = set()

    def file_event(self, event: FileEvent) -> None:
        self.events.append(event)
        self.threads.add(threading.current_thread().name)

    def progress(self, progress: Progress) -> None:
        self.progress_seen.append(progress)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    home = tmp_path_factory.mktemp("engine_home")
    h = ServiceHost(env=dict(os.environ, LOCALKB_HOME=str(home)))
    yield h
    h.shutdown()


def _fast() -> Settings:
    settings = Settings()
    settings.model.builtin = "smollm2-135m"  # the engine's plumbing is under test, not answer quality
    return settings


@pytest.fixture(scope="module")
def services(host):
    return host.services(_fast())


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    (folder / "leave.txt").write_text("Employees get 25 days of paid annual leave per year. "
                                      "Unused leave expires at the end of March.")
    (folder / "travel.txt").write_text("A hotel night may cost at most 140 EUR. Meals are reimbursed up to 45 EUR a day.")
    (folder / "it.txt").write_text("Laptops are replaced every four years. Report a lost laptop within 24 hours.")
    return folder


@pytest.fixture(scope="module")
def indexed(services, docs):
    library, _chat = services
    library.create_kb("hr")
    sink = Recorder()
    report = library.ingest([docs], kb="hr", progress=sink)
    return report, sink


@pytest.mark.timeout(180)
def test_ingest_documents_and_page_text_through_the_engine(services, indexed, docs):
    library, _chat = services
    report, sink = indexed
    assert report.ok == 3 and report.failed == 0 and report.chunks_added >= 3
    ok = {Path(e.path).name for e in sink.events if e.state == "ok"}
    assert ok == {"leave.txt", "travel.txt", "it.txt"}
    assert sink.progress_seen and sink.progress_seen[-1].files_done == 3
    assert sink.threads == {"localkb-engine-reader"}  # callbacks run on the reader thread, not in the engine
    assert [k.name for k in library.list_kbs()] == ["hr"]
    rows = library.documents("hr")
    assert {Path(d.path).name for d in rows} == ok and {d.status for d in rows} == {"indexed"}
    text = library.page_text("hr", str(docs / "travel.txt"), None)
    assert "140 EUR" in text


@pytest.mark.timeout(60)
def test_errors_from_the_engine_keep_their_type_and_message(services, indexed):
    library, chat = services
    with pytest.raises(KnowledgeBaseError, match="No knowledge base named 'missing'. Existing: hr."):
        library.documents("missing")
    with pytest.raises(KnowledgeBaseError, match="already exists"):
        library.create_kb("hr")
    # A search on the engine's side still works after errors, with the chat proxy's own library.
    assert chat.library is library
    assert any("140 EUR" in s.text for s in chat.search("hotel night cost", ["hr"]))


@pytest.mark.timeout(60)
def test_new_settings_get_new_services_in_the_same_engine(host, services, indexed):
    """The bridge rebuilds its services after a settings change and closes the old ones."""
    library, _chat = services
    pid = host.pid
    settings = _fast()
    settings.retrieval.top_k = 3
    library2, chat2 = host.services(settings)
    assert chat2.library is library2 and library2.settings.retrieval.top_k == 3
    assert len(library2.documents("hr")) == 3
    library2.close()
    assert len(library.documents("hr")) == 3  # closing one generation leaves the other alone
    assert host.pid == pid


@pytest.mark.timeout(120)
def test_cancel_stops_an_ingest_promptly(services, tmp_path):
    library, _chat = services
    # Two embedder windows' worth at least: with one, every file could be parsed, embedded and
    # committed in one group before the first "ok" (and so the cancel) arrives.
    for i in range(40):
        (tmp_path / f"f{i}.txt").write_text(f"Document number {i} talks about topic {i}. " * 200)
    token = CancelToken()  # the plain token the bridge makes: the proxy must pass its cancel on
    cancelled_at: list[float] = []

    class CancelAfterFirst(Recorder):
        def file_event(self, event):
            super().file_event(event)
            if event.state == "ok" and not token.cancelled:
                cancelled_at.append(time.monotonic())
                token.cancel()

    with pytest.raises(Cancelled):
        library.ingest([tmp_path], kb="many", progress=CancelAfterFirst(), cancel=token)
    assert time.monotonic() - cancelled_at[0] < 10
    docs = library.documents("many")
    assert 1 <= sum(d.status == "indexed" for d in docs) < 40


@pytest.mark.timeout(180)
def test_answer_streams_tokens_and_stops_when_cancelled(services, indexed):
    _library, chat = services
    tokens: list[str] = []
    answer = chat.ask("How much may a hotel night cost?", ["hr"], on_token=tokens.append)
    assert tokens and not answer.cancelled
    assert "".join(tokens).strip() == answer.model_text  # the stream; answer.text is its checked version
    assert answer.sources and any("hotel" in s.text for s in answer.sources)
    assert chat.model_state() == "ready"

    token = CancelToken()
    stopped_at: list[float] = []

    def on_token(piece: str) -> None:
        if not token.cancelled:
            stopped_at.append(time.monotonic())
            token.cancel()

    answer = chat.ask("Write a long essay about annual leave, laptops and travel.", ["hr"], on_token=on_token,
                      cancel=token)
    assert answer.cancelled
    assert time.monotonic() - stopped_at[0] < 3


@pytest.mark.timeout(180)
def test_a_killed_engine_fails_the_call_plainly_and_restarts(host, services, indexed):
    library, chat = services
    old_pid = host.pid
    failure: list[BaseException] = []
    started = threading.Event()

    def ask() -> None:
        try:
            chat.ask("Write a long essay about annual leave.", ["hr"], on_token=lambda _t: started.set())
        except BaseException as exc:  # noqa: BLE001
            failure.append(exc)

    thread = threading.Thread(target=ask)
    thread.start()
    assert started.wait(120), "no token arrived"
    os.kill(old_pid, signal.SIGKILL)
    thread.join(30)
    assert not thread.is_alive()
    assert len(failure) == 1 and type(failure[0]) is LocalKBError
    assert str(failure[0]) == ("The LocalKB engine stopped unexpectedly (exit code -9, maybe out of memory); "
                               "it restarts with the next action.")
    assert [k.name for k in library.list_kbs()] == ["hr", "many"]  # a fresh engine, same data
    assert host.pid not in (None, old_pid)


@pytest.mark.timeout(300)
def test_a_killed_engine_mid_sync_fails_the_call_plainly_and_the_next_sync_finishes(host, tmp_path):
    """The service side of the window's slow test (tests/app/gui/test_faults.py): SIGKILL while a
    followed folder syncs; the call fails with the plain message, and the next sync, on a fresh
    engine, indexes every file exactly once."""
    import sqlite3

    library, _chat = host.services(Settings())
    folder = tmp_path / "memos"
    folder.mkdir()
    for i in range(40):
        (folder / f"memo{i:02d}.txt").write_text(f"Memo {i}: the budget for project {i} is {i * 1000} EUR. " * 150)
    library.follow("synced", [folder])
    catalogue = Path(host.env["LOCALKB_HOME"]) / "kbs" / "synced" / "catalog.sqlite3"

    def indexed_so_far() -> int | None:  # None until the sync has planned its files
        if not catalogue.exists():
            return None
        conn = sqlite3.connect(catalogue, timeout=5)
        try:
            statuses = dict(conn.execute("SELECT status, COUNT(*) FROM documents GROUP BY status").fetchall())
        except sqlite3.OperationalError:  # its tables are still being made
            return None
        finally:
            conn.close()
        return statuses.get("indexed", 0) if statuses.get("pending") else None

    failure: list[BaseException] = []
    thread = threading.Thread(target=lambda: _catch(failure, library.sync, "synced"))
    old_pid = host.pid
    thread.start()
    deadline = time.monotonic() + 120
    while (done := indexed_so_far()) is None:
        assert thread.is_alive() and time.monotonic() < deadline, "the sync ended before it could be killed"
        time.sleep(0.02)
    os.kill(old_pid, signal.SIGKILL)
    thread.join(30)
    assert not thread.is_alive()
    assert len(failure) == 1 and type(failure[0]) is LocalKBError, failure
    assert str(failure[0]).startswith("The LocalKB engine stopped unexpectedly (exit code -9")
    assert done < 40

    report = library.sync("synced")
    assert host.pid not in (None, old_pid)
    rows = library.documents("synced")
    assert len(rows) == 40 and {d.status for d in rows} == {"indexed"}
    assert report.failed == 0 and 1 <= report.ok <= 40 - done  # what the killed sync committed stays
    kb = KnowledgeBase(catalogue.parent, "synced")
    try:
        assert kb.consistency_problems() == []  # catalogue, keyword index and vectors agree
    finally:
        kb.close()


def _catch(failure: list[BaseException], call, *args) -> None:
    try:
        call(*args)
    except BaseException as exc:  # noqa: BLE001 - the test checks it
        failure.append(exc)


def test_unpicklable_exceptions_fall_back_to_a_plain_localkb_error():
    class Odd(Exception):
        def __init__(self, a, b):
            super().__init__(f"{a} and {b}")

    ok, blob = remote._dump(False, Odd("this", "that"))
    error = pickle.loads(blob)
    assert not ok and type(error) is LocalKBError and str(error) == "this and that"
    ok, blob = remote._dump(True, lambda: None)  # a result that cannot be pickled at all
    assert not ok and isinstance(pickle.loads(blob), LocalKBError)
    assert "exit code -11, SIGSEGV" in remote._death_message(-11)


def test_close_never_starts_an_engine_and_the_bridge_uses_proxies(monkeypatch):
    from app.gui.bridge import default_services

    idle = ServiceHost()
    library, _chat = idle.services(Settings())
    assert library.close() is None and idle.pid is None
    library, chat = default_services(Settings())
    assert isinstance(library, LibraryProxy) and isinstance(chat, ChatProxy)
    monkeypatch.setenv("LOCALKB_INPROCESS", "1")
    library, chat = default_services(Settings())
    assert type(library).__name__ == "LibraryService" and type(chat).__name__ == "ChatService"


@pytest.mark.timeout(90)
def test_the_engine_exits_when_the_gui_process_dies(tmp_path):
    script = textwrap.dedent("""
        import os, sys
        from app.services.remote import ServiceHost
        from app.settings import Settings
        if __name__ == "__main__":
            host = ServiceHost()
            library, _ = host.services(Settings())
            library.list_kbs()
            print(host.pid, flush=True)
            os.kill(os.getpid(), 9)
    """)
    (tmp_path / "gui.py").write_text(script)
    result = subprocess.run([sys.executable, str(tmp_path / "gui.py")], cwd=ROOT, capture_output=True, text=True,
                            timeout=80, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == -9, result.stderr[-2000:]
    pid = int(result.stdout.split()[0])
    deadline = time.monotonic() + 20
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by init) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_followed_folders_are_watched_in_the_engine(host, tmp_path):
    """The folder calls cross the process boundary and the watcher runs there, not in the caller."""
    library, _chat = host.services(Settings())
    folder = tmp_path / "followed"
    folder.mkdir()
    infos = library.follow("folders", [folder])
    assert [(i.folder, i.exists) for i in infos] == [(str(folder), True)]
    assert "folders" in library.start_watching()
    deadline = time.monotonic() + 60
    while library.folders("folders")[0].last_sync is None:  # the reconcile on start, in the engine
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert library.folders("folders")[0].state == "watching"
    library.set_ignore_rules("folders", "*.bak\n")
    assert library.ignore_rules("folders") == "*.bak\n"
    library.pause_watching("folders", True)
    assert library.folders("folders")[0].state == "paused"
    library.pause_watching("folders", False)
    assert library.sync("folders").events == []
    assert library.recent_sync_events("folders") == []
    assert library.unfollow("folders", [folder]) == []
    library.close()
