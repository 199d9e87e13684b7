"""Run blocking service calls off the GUI thread and report back by queued signals.

`Task` wraps one call on the shared QThreadPool; its `done`/`failed` signals live on a QObject
created in the GUI thread, so Qt delivers them there (queued) whatever thread emits.  `QtProgress`
is the `ingest.progress.ProgressSink` the GUI passes into ingestion: it turns callbacks from the
worker thread into signals, throttling overall progress so a fast ingest cannot flood the event
loop.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

_running: set["Task"] = set()  # keeps Python wrappers alive until the pool is done with them


def user_message(exc: BaseException) -> str:
    """The words to show for an exception: domain errors carry their own, others get a hint."""
    from app.errors import LocalKBError

    try:
        from ingest.errors import IngestError
    except ImportError:  # pragma: no cover - ingest is part of the app
        IngestError = LocalKBError  # type: ignore[misc,assignment]
    if isinstance(exc, (LocalKBError, IngestError)):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Out of memory. Close other programs, or choose a smaller model or context length in Settings."
    if isinstance(exc, PermissionError):
        return f"Permission denied: {exc.filename or exc}. Check that LocalKB may read and write there."
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return f"Unexpected error: {type(exc).__name__}: {exc}. Details are in the log file."


class TaskSignals(QObject):
    done = Signal(object)
    raised = Signal(object)  # the exception itself, just before `failed`, for callers that act on its type
    failed = Signal(str)
    finished = Signal()  # after done or failed, for busy bookkeeping


class Task(QRunnable):
    """One blocking call on the thread pool: `Task(fn, *args).start(on_done, on_failed)`."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it; `_running` drops it when finished
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = TaskSignals()
        self.name = getattr(fn, "__name__", "task")

    def start(self, on_done: Callable[[Any], None] | None = None,
              on_failed: Callable[[str], None] | None = None, pool: QThreadPool | None = None) -> "Task":
        if on_done:
            self.signals.done.connect(on_done)
        if on_failed:
            self.signals.failed.connect(on_failed)
        self.signals.finished.connect(lambda: _running.discard(self))
        _running.add(self)
        (pool or QThreadPool.globalInstance()).start(self)
        return self

    def run(self) -> None:
        started = time.perf_counter()
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - a worker must never take the app down
            if not _is_expected(exc):
                log.error("%s failed:\n%s", self.name, "".join(traceback.format_exception(exc)))
            else:
                log.warning("%s: %s", self.name, exc)
            self.signals.raised.emit(exc)
            self.signals.failed.emit(user_message(exc))
        else:
            log.debug("%s took %.2fs", self.name, time.perf_counter() - started)
            self.signals.done.emit(result)
        finally:
            self.signals.finished.emit()


def _is_expected(exc: BaseException) -> bool:
    from app.errors import LocalKBError

    try:
        from ingest.errors import IngestError
    except ImportError:  # pragma: no cover
        return isinstance(exc, LocalKBError)
    return isinstance(exc, (LocalKBError, IngestError))


class ProgressSignals(QObject):
    file_event = Signal(object)  # ingest.progress.FileEvent
    progress = Signal(object)  # ingest.progress.Progress


class QtProgress:
    """A ProgressSink whose callbacks (on a worker thread) become queued Qt signals."""

    def __init__(self, min_interval_s: float = 0.1) -> None:
        self.signals = ProgressSignals()
        self._min_interval = min_interval_s
        self._last = 0.0

    def file_event(self, event: Any) -> None:
        self.signals.file_event.emit(event)

    def progress(self, progress: Any) -> None:
        now = time.monotonic()
        last_one = progress.files_total and progress.files_done >= progress.files_total
        if last_one or now - self._last >= self._min_interval:
            self._last = now
            self.signals.progress.emit(progress)
