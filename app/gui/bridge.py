"""The one place widgets reach the services: calls go out on worker threads, results come back as signals.

Widgets never hold a `LibraryService` or `ChatService`; they call methods here and connect to
signals.  The services are built lazily on a worker the first time they are needed, so the window
appears before chromadb, torch or the model are imported, and a test passes a factory of fakes.
Ingestion jobs queue one after another; answering runs beside them so chatting goes on while
files are indexed.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import QObject, QThreadPool, Signal

from app.errors import KnowledgeBaseDamaged
from app.gui.workers import QtProgress, Task
from app.settings import Settings

log = logging.getLogger(__name__)

ServiceFactory = Callable[[Settings], tuple[Any, Any]]


def default_services(settings: Settings) -> tuple[Any, Any]:
    """The real services, run in the engine process (`app.services.remote`) behind proxies.

    A separate process keeps torch, the embedder and the chat model from holding this process's
    GIL (the window would stall) and keeps their crashes out of the window.  LOCALKB_INPROCESS=1
    runs them here instead, for debugging; imported on a worker thread to keep startup light.
    """
    if os.environ.get("LOCALKB_INPROCESS") == "1":
        from app.services.chat import ChatService
        from app.services.library import LibraryService

        library = LibraryService(settings)
        return library, ChatService(settings, library)
    from app.services.remote import shared_host

    return shared_host().services(settings)


class ServiceBridge(QObject):
    kbs_changed = Signal(list)  # list[KBInfo]
    documents_changed = Signal(str, list)  # kb, list[DocumentInfo]
    model_state_changed = Signal(str)
    error = Signal(str)  # a message a person can act on
    info = Signal(str)
    busy_changed = Signal(bool)
    ingest_started = Signal(str, list)  # kb, paths
    ingest_file = Signal(object)  # FileEvent
    ingest_progress = Signal(object)  # Progress
    ingest_finished = Signal(object)  # IngestReport, or None when it failed or was cancelled
    ingest_failed = Signal(str)  # after ingest_finished(None) when it failed rather than was cancelled
    answer_quote = Signal(object)  # QuotedAnswer, right after retrieval, before the model writes
    answer_progress = Signal(int, int)  # prompt tokens read so far, of how many
    answer_token = Signal(str)
    answer_finished = Signal(object)  # Answer
    answer_failed = Signal(str)
    page_text_ready = Signal(object, str)  # the caller's key, the page text
    folders_changed = Signal(str, list)  # kb, list[FolderInfo]
    ignore_rules_ready = Signal(str, str)  # kb, rules text
    kb_damaged = Signal(str, str)  # kb, the message: its files are damaged and it can be rebuilt
    repair_finished = Signal(str, object)  # kb, RepairReport (None when the repair itself failed)

    def __init__(self, settings: Settings, factory: ServiceFactory = default_services,
                 pool: QThreadPool | None = None) -> None:
        super().__init__()
        self.settings = settings
        self._factory = factory
        self._services: tuple[Any, Any] | None = None
        self._services_lock = threading.Lock()
        self._pool = pool or QThreadPool(self)
        # Ingest, answer, model load and small queries must never wait on each other for a thread.
        self._pool.setMaxThreadCount(max(6, self._pool.maxThreadCount()))
        self._busy = 0
        self._ingest_queue: list[tuple[str, list[str] | None, bool]] = []  # kb, paths (None = all), reindex
        self._ingest_cancel: Any = None
        self._user_cancelled: Any = None  # the ingest token the user cancelled (Stop, quitting)
        self._answer_cancel: Any = None
        self._pending_settings: Settings | None = None

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy > 0

    @property
    def ingesting(self) -> bool:
        return self._ingest_cancel is not None

    @property
    def answering(self) -> bool:
        return self._answer_cancel is not None

    def _services_now(self) -> tuple[Any, Any]:
        """Build the services once, on whichever worker gets here first (the others wait)."""
        with self._services_lock:
            if self._services is None:
                self._services = self._factory(self.settings)
            return self._services

    def _library(self) -> Any:
        return self._services_now()[0]

    def _chat(self) -> Any:
        return self._services_now()[1]

    def _run(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
             on_failed: Callable[[str], None] | None = None) -> Task:
        task = Task(fn, *args)
        self._busy += 1
        if self._busy == 1:
            self.busy_changed.emit(True)
        task.signals.finished.connect(self._task_finished)
        damaged: list[KnowledgeBaseDamaged] = []
        task.signals.raised.connect(lambda exc: damaged.append(exc) if isinstance(exc, KnowledgeBaseDamaged) else None)

        def failed(message: str) -> None:
            # A damaged KB gets its own signal, so the window can offer the rebuild with the message;
            # a caller's own failure handling (ending an ingest, say) still runs first.
            if on_failed is not None:
                on_failed(message)
            elif not damaged:
                self.error.emit(message)
            if damaged:
                self.kb_damaged.emit(damaged[0].kb, message)

        return task.start(on_done, failed, pool=self._pool)

    def _task_finished(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self.busy_changed.emit(False)
            self._apply_pending_settings()

    # -- knowledge bases -----------------------------------------------------------------------

    def refresh_kbs(self) -> None:
        self._run(lambda: self._library().list_kbs(), on_done=self.kbs_changed.emit)

    def warm_up(self, kbs: Sequence[str]) -> None:
        """Have the engine load these KBs' vector indexes before the first question needs them;
        a failure here is not the user's concern (the question would meet it and say so)."""
        self._run(lambda: self._library().warm_up(list(kbs)), on_failed=lambda message: log.info("warm-up: %s", message))

    def refresh_documents(self, kb: str) -> None:
        self._run(lambda: self._library().documents(kb),
                  on_done=lambda docs: self.documents_changed.emit(kb, list(docs)))

    def create_kb(self, name: str) -> None:
        self._run(lambda: self._library().create_kb(name), on_done=lambda _: self.refresh_kbs())

    def rename_kb(self, old: str, new: str) -> None:
        self._run(lambda: self._library().rename_kb(old, new), on_done=lambda _: self.refresh_kbs())

    def delete_kb(self, name: str) -> None:
        self._run(lambda: self._library().delete_kb(name), on_done=lambda _: self.refresh_kbs())

    def repair_kb(self, kb: str) -> None:
        """Check `kb` fully and rebuild what is damaged, from its catalogue or from the source files."""
        self.info.emit(self.tr("Rebuilding knowledge base '%1'…").replace("%1", kb))
        sink = QtProgress()
        sink.signals.file_event.connect(self.ingest_file)
        sink.signals.progress.connect(self.ingest_progress)

        def done(report: Any) -> None:
            self.repair_finished.emit(kb, report)
            self.refresh_kbs()
            self.refresh_documents(kb)

        def failed(message: str) -> None:
            self.error.emit(message)
            self.repair_finished.emit(kb, None)
            self.refresh_kbs()

        task = self._run(lambda: self._library().repair(kb, progress=sink), on_done=done, on_failed=failed)
        task.sink = sink  # the sink's signal object must outlive the worker's last emit

    def remove_documents(self, kb: str, paths: Sequence[str]) -> None:
        def done(events: Any) -> None:
            failed = [e for e in events or () if getattr(e, "state", "") == "failed"]
            for event in failed:
                self.error.emit(f"Could not remove {Path(event.path).name}: {event.reason}")
            self.refresh_documents(kb)
            self.refresh_kbs()

        self._run(lambda: self._library().remove(kb, list(paths)), on_done=done)

    # -- followed folders ----------------------------------------------------------------------

    def refresh_folders(self, kb: str) -> None:
        """Poll a KB's followed folders; starts the engine's watchers first (idempotent, and again
        after an engine restart).  Not counted as busy work: it runs every few seconds."""
        def work() -> Any:
            library = self._library()
            library.start_watching()
            return library.folders(kb)

        Task(work).start(lambda infos: self.folders_changed.emit(kb, list(infos or [])),
                         lambda message: log.info("folder status of %s: %s", kb, message), pool=self._pool)

    def follow_folders(self, kb: str, folders: Sequence[str]) -> None:
        self._run(lambda: self._library().follow(kb, list(folders)),
                  on_done=lambda infos: self._folders_done(kb, infos))

    def unfollow_folders(self, kb: str, folders: Sequence[str]) -> None:
        self._run(lambda: self._library().unfollow(kb, list(folders)),
                  on_done=lambda infos: self._folders_done(kb, infos))

    def pause_sync(self, kb: str, paused: bool) -> None:
        self._run(lambda: self._library().pause_watching(kb, paused), on_done=lambda _: self.refresh_folders(kb))

    def sync_now(self, kb: str) -> None:
        """A full reconcile in the engine; the window and answers go on meanwhile."""
        def done(report: Any) -> None:
            failed = getattr(report, "failed", 0)
            if failed:
                self.error.emit(self.tr("%1 file(s) in followed folders could not be read; see their reasons in the list.")
                                .replace("%1", str(failed)))
            self._folders_done(kb, None)

        self._run(lambda: self._library().sync(kb), on_done=done)

    def load_ignore_rules(self, kb: str) -> None:
        self._run(lambda: self._library().ignore_rules(kb), on_done=lambda text: self.ignore_rules_ready.emit(kb, text))

    def save_ignore_rules(self, kb: str, text: str) -> None:
        self._run(lambda: self._library().set_ignore_rules(kb, text), on_done=lambda _: self.refresh_folders(kb))

    def _folders_done(self, kb: str, infos: Any) -> None:
        if infos is not None:
            self.folders_changed.emit(kb, list(infos))
        self.refresh_folders(kb)
        self.refresh_documents(kb)
        self.refresh_kbs()

    # -- ingestion -----------------------------------------------------------------------------

    def ingest(self, paths: Sequence[str], kb: str = "default") -> None:
        self._queue_ingest(kb, [str(p) for p in paths], reindex=False)

    def reindex(self, kb: str, paths: Sequence[str]) -> None:
        self._queue_ingest(kb, [str(p) for p in paths], reindex=True)

    def reindex_kb(self, kb: str) -> None:
        """Re-index every document of `kb`; the library starts the vectors afresh if the embedder changed."""
        self._ingest_queue.append((kb, None, True))
        if self._ingest_cancel is None:
            self._next_ingest()

    def cancel_ingest(self) -> None:
        self._ingest_queue.clear()
        if self._ingest_cancel is not None:
            self._user_cancelled = self._ingest_cancel
            self._ingest_cancel.cancel()

    def _queue_ingest(self, kb: str, paths: list[str], reindex: bool) -> None:
        if not paths:
            return
        self._ingest_queue.append((kb, paths, reindex))
        if self._ingest_cancel is None:
            self._next_ingest()

    def _next_ingest(self) -> None:
        if not self._ingest_queue:
            return
        if self._pending_settings is not None:
            # New settings wait for running work to end; an ingest queued after them (the re-index
            # for a new embedder) must run on the services they build, so it waits too.
            return
        from ingest.progress import CancelToken

        kb, paths, reindex = self._ingest_queue.pop(0)
        cancel = self._ingest_cancel = CancelToken()
        sink = QtProgress()
        sink.signals.file_event.connect(self.ingest_file)
        sink.signals.progress.connect(self.ingest_progress)
        self.ingest_started.emit(kb, paths or [])

        def work() -> Any:
            library = self._library()
            if reindex:
                return library.reindex(kb, paths, progress=sink, cancel=cancel)
            return library.ingest(paths, kb=kb, progress=sink, cancel=cancel)

        def finished(report: Any) -> None:
            self._ingest_cancel = None
            self.ingest_finished.emit(report)
            self.refresh_kbs()
            self.refresh_documents(kb)
            self._next_ingest()

        def failed(message: str) -> None:
            # The pipeline also cancels its token to stop its threads when it fails (a full disk, say):
            # only a cancel the user asked for may pass in silence.
            was_cancelled = self._user_cancelled is cancel
            self._ingest_cancel = None
            if not was_cancelled:
                self.error.emit(message)
            self.ingest_finished.emit(None)
            if not was_cancelled:
                self.ingest_failed.emit(message)
            self.refresh_kbs()
            self.refresh_documents(kb)
            self._next_ingest()

        task = self._run(work, on_done=finished, on_failed=failed)
        task.sink = sink  # the sink's signal object must outlive the worker's last emit

    # -- answering -----------------------------------------------------------------------------

    def load_model(self) -> None:
        def work() -> str:
            chat = self._chat()
            if chat.model_state() != "ready":
                self.model_state_changed.emit("loading")
                chat.load_model()
            return chat.model_state()

        self._run(work, on_done=self.model_state_changed.emit, on_failed=self._model_failed)

    def _model_failed(self, message: str) -> None:
        self.model_state_changed.emit(f"error: {message}")
        self.error.emit(message)

    def ask(self, question: str, kbs: Sequence[str], history: Sequence[tuple[str, str]] = ()) -> None:
        """Answer on a worker: a quote, prompt progress and tokens stream back as signals, then the Answer.

        The service loads the model itself after it has sent the quote, so the evidence shows
        without waiting for a model load.  Signals of an answer that was stopped and then replaced
        by a new question are dropped, so they cannot land in the new answer.
        """
        from ingest.progress import CancelToken

        cancel = self._answer_cancel = CancelToken()

        def current() -> bool:
            return self._answer_cancel is cancel

        def token(piece: str) -> None:
            if not cancel.cancelled:
                self.answer_token.emit(piece)

        def event(e: Any) -> None:
            if cancel.cancelled:
                return
            if e.kind == "quote" and e.quote is not None:
                self.answer_quote.emit(e.quote)
            elif e.kind == "model" and e.detail:
                self.model_state_changed.emit(e.detail)
            elif e.kind == "prompt":
                self.answer_progress.emit(int(e.done), int(e.total))

        def work() -> Any:
            chat = self._chat()
            # The service reports a model load only when it does one; say where the model stands now.
            self.model_state_changed.emit(chat.model_state())
            try:
                return chat.ask(question, list(kbs), history=list(history), on_token=token, cancel=cancel,
                                on_event=event)
            finally:
                self.model_state_changed.emit(chat.model_state())

        def finished(answer: Any) -> None:
            if current():
                self._answer_cancel = None
                self.answer_finished.emit(answer)

        def failed(message: str) -> None:
            if current():
                self._answer_cancel = None
                self.answer_failed.emit("" if cancel.cancelled else message)

        self._run(work, on_done=finished, on_failed=failed)

    def stop_answer(self) -> None:
        if self._answer_cancel is not None:
            self._answer_cancel.cancel()

    def page_text(self, key: object, kb: str, path: str, page: int | None, section: int | None = None) -> None:
        # Without page text the viewer still shows the cited passage itself, so a failure is not an error.
        self._run(lambda: self._library().page_text(kb, path, page, section),
                  on_done=lambda text: self.page_text_ready.emit(key, text or ""),
                  on_failed=lambda message: self.page_text_ready.emit(key, ""))

    # -- settings ------------------------------------------------------------------------------

    def apply_settings(self, settings: Settings) -> None:
        """Use new settings; services are rebuilt once no work is running on the old ones."""
        self._pending_settings = settings
        if not self.busy:
            self._apply_pending_settings()

    def _apply_pending_settings(self) -> None:
        if self._pending_settings is None:
            return
        self.settings, self._pending_settings = self._pending_settings, None
        with self._services_lock:
            old, self._services = self._services, None
        if old is not None:
            self._run(lambda: old[0].close())
        self.model_state_changed.emit("not loaded")
        if self._ingest_cancel is None:
            self._next_ingest()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel running work and wait briefly for workers, so closing never leaves a KB half-written."""
        self.cancel_ingest()
        self.stop_answer()
        self._pool.waitForDone(timeout_ms)
        with self._services_lock:
            if self._services is not None:
                try:
                    self._services[0].close()
                except Exception:  # noqa: BLE001 - closing must not block quitting
                    log.exception("closing the library failed")
                self._services = None
