"""Progress and cancellation objects passed into long-running work.

Work never prints or touches a widget: it reports to a `ProgressSink` it was given, so the CLI
draws a progress bar, the GUI emits Qt signals, and a test passes a recording fake.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from ingest.errors import IngestError


class Cancelled(IngestError):
    """The user cancelled; work stops at the next safe point."""


class CancelToken:
    """Thread-safe cancellation flag; `check()` raises `Cancelled` once it is set."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


@dataclass(frozen=True)
class FileEvent:
    """One file's outcome: state is 'ok', 'skipped', 'failed', 'removed' or 'started'."""

    path: str
    state: str
    reason: str = ""
    chunks: int = 0
    pages: int | None = None


@dataclass(frozen=True)
class Progress:
    """Overall progress; eta_s is None until there is enough to estimate from."""

    files_done: int
    files_total: int
    chunks_done: int
    chunks_total: int
    eta_s: float | None


class ProgressSink(Protocol):
    def file_event(self, event: FileEvent) -> None: ...

    def progress(self, progress: Progress) -> None: ...


class NullProgress:
    """A sink that ignores everything, for callers that do not show progress."""

    def file_event(self, event: FileEvent) -> None:
        pass

    def progress(self, progress: Progress) -> None:
        pass
