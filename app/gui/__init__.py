"""The desktop app: `launch()` builds the window, wires it to the services, and runs Qt's event loop.

Importing this package is cheap and never imports llama_cpp, chromadb or sentence_transformers;
the services behind the window are built on a worker after it is shown.  `launch(screenshot=PATH)`
runs offscreen, waits until the window is painted and background work has settled, saves a PNG
and exits, which is how scripts and tests look at the app.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_S = 15.0
ANSWER_SCREENSHOT_TIMEOUT_S = 600.0  # a 7B model's first word alone can take a minute on 2 cores


def system_language() -> str:
    from PySide6.QtCore import QLocale

    return "zh_CN" if QLocale.system().language() == QLocale.Language.Chinese else "en"


def install_translators(app: Any, language: str) -> list[Any]:
    """Load LocalKB's and Qt's own translations for `language` ('system', 'en' or 'zh_CN')."""
    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

    from app import paths

    if language == "system":
        language = system_language()
    QLocale.setDefault(QLocale(language))
    loaded = []
    # English needs a file too: it holds the plural forms of "%n document(s)".
    ours = QTranslator(app)
    if ours.load(str(paths.ASSETS_DIR / "i18n" / f"localkb_{language}.qm")):
        app.installTranslator(ours)
        loaded.append(ours)
    else:
        log.warning("no translation for %s", language)
    if language == "en":
        return loaded
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)  # standard buttons (Yes/No/Cancel) and file dialogs
        loaded.append(qt)
    return loaded


def build_window(settings: Any = None, factory: Any = None, settings_path: Path | None = None) -> Any:
    """The main window wired to a bridge and the chat store; a test passes a factory of fakes."""
    from app.gui.bridge import ServiceBridge, default_services
    from app.gui.main_window import MainWindow
    from app.services.conversations import ConversationStore
    from app.settings import Settings

    settings = settings or Settings.load(settings_path)
    bridge = ServiceBridge(settings, factory or default_services)
    return MainWindow(bridge, ConversationStore(), settings_path)


def _load_settings() -> tuple[Any, str | None]:
    from app.errors import SettingsError
    from app.settings import Settings

    try:
        return Settings.load(), None
    except SettingsError as exc:
        # A broken settings file must not keep the app from opening: run on defaults and say why.
        return Settings(), f"{exc}. Using default settings until the file is fixed or saved from Settings."


def process_age_s() -> float | None:
    """Seconds since this process was created (Linux), so start-up time includes the interpreter's
    (and a frozen app's unpacking) start, not only our own code; None where /proc is missing."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def launch(argv: list[str], screenshot: str | None = None, open_paths: list[str] | None = None,
           ask: str | None = None) -> int:
    """Open the window and run until it closes; with `screenshot`, save a PNG once idle and exit.

    `open_paths` are files the desktop handed over ("Open with LocalKB", or files dropped on the
    launcher): they are added to the current knowledge base as if dropped on the window.
    `ask` (with `screenshot`) asks a question in the current knowledge base and takes the picture
    once the answer is complete: how an installed app is shown answering, with no Python around.
    """
    started = time.perf_counter()
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app import paths
    from app.gui.failures import install_excepthook, setup_logging

    setup_logging()
    install_excepthook()
    app = QApplication.instance() or QApplication(["localkb", *argv])
    app.setApplicationName("LocalKB")
    app.setDesktopFileName("localkb")
    icon = paths.ASSETS_DIR / "icons" / "localkb.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    settings, problem = _load_settings()
    install_translators(app, settings.ui.language)
    window = build_window(settings)
    window.show()
    if problem:
        window.show_error(problem)
    if open_paths:
        window.add_paths([str(Path(p).resolve()) for p in open_paths])
    age = process_age_s()
    log.info("window shown %.2fs after launch, %s after the process started", time.perf_counter() - started,
             f"{age:.2f}s" if age is not None else "unknown")
    if screenshot and age is not None:
        print(f"window shown {age:.2f} s after the process started", file=sys.stderr)
    if screenshot:
        return _screenshot_when_idle(app, window, Path(screenshot), ask=ask,
                                     timeout_s=ANSWER_SCREENSHOT_TIMEOUT_S if ask else SCREENSHOT_TIMEOUT_S)
    return app.exec()


def _screenshot_when_idle(app: Any, window: Any, out: Path, min_wait_s: float = 0.5,
                          timeout_s: float = SCREENSHOT_TIMEOUT_S, ask: str | None = None) -> int:
    """Poll until no background work runs (twice in a row, after a minimum wait), then grab the window.

    With `ask`, the question is asked once the knowledge-base list has loaded (it loads in the
    background, and a question asked before it would find nothing to search), and the picture
    waits for the answer."""
    from PySide6.QtCore import QTimer

    start = time.monotonic()
    quiet = [0]

    pending = [ask]

    def poll() -> None:
        waited = time.monotonic() - start
        if pending[0] and (window.chat._kbs() or waited >= SCREENSHOT_TIMEOUT_S):
            window.chat.ask(pending[0])
            pending[0] = None
        idle = not pending[0] and not window.bridge.busy and not window.chat.busy and window.isVisible()
        quiet[0] = quiet[0] + 1 if idle else 0
        if (quiet[0] >= 3 and waited >= min_wait_s) or waited >= timeout_s:
            timer.stop()
            save_screenshot(window, out)
            window.close()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(100)
    app.exec()
    return 0 if out.exists() else 1


def save_screenshot(widget: Any, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    widget.repaint()
    if not widget.grab().save(str(out)):
        raise OSError(f"could not write {out}")
    print(f"screenshot saved to {out}", file=sys.stderr)
    return out
