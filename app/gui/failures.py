"""Log to a file and turn any uncaught exception into a message in the window instead of a crash.

PySide6 calls `sys.excepthook` for exceptions escaping slots; left alone they only print, or in
some Qt builds abort.  The hook logs the traceback to `paths.log_dir()/localkb.log` and hands a
short message to the `FailureSignal`, which the main window shows in its message bar.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Signal

from app import paths

log = logging.getLogger("localkb")


class FailureSignal(QObject):
    failed = Signal(str)


failures = FailureSignal()


def setup_logging() -> Path:
    """Log INFO and above to a rotating file under the log dir; returns the file's path."""
    folder = paths.log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    log_file = folder / "localkb.log"
    root = logging.getLogger()
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == log_file
               for h in root.handlers):
        handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            # The file wants INFO; console handlers keep the level the CLI chose (-v or not).
            for other in root.handlers:
                if other is not handler and other.level == logging.NOTSET:
                    other.setLevel(root.level or logging.WARNING)
            root.setLevel(logging.INFO)
    return log_file


def _report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    log.error("Uncaught exception:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
    from app.gui.workers import user_message

    failures.failed.emit(user_message(exc))


def _thread_report(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _report(args.exc_type, args.exc_value, args.exc_traceback)


def install_excepthook() -> None:
    sys.excepthook = _report
    threading.excepthook = _thread_report
