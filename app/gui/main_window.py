"""The main window: library on the left, chat in the centre, source viewer and ingest progress in docks.

It wires the views to each other and to the bridge, accepts files and folders dropped anywhere,
and shows every failure in a message bar at the top (the log file has the details).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton, QSplitter,
                               QToolButton, QVBoxLayout, QWidget)

from app import paths
from app.gui.bridge import ServiceBridge
from app.gui.chat_view import ChatView
from app.gui.failures import failures
from app.gui.library_view import LibraryView, ask_yes_no
from app.gui.progress_panel import ProgressPanel
from app.gui.source_view import SourceView
from app.services.conversations import ConversationStore
from app.services.models import current_model_path
from app.settings import Settings

log = logging.getLogger(__name__)

SAMPLE_KB = "sample"


def sample_files() -> list[str]:
    folder = paths.ASSETS_DIR / "sample"
    return [str(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in (".md", ".txt", ".pdf", ".docx")]


def dropped_paths(mime: Any) -> list[str]:
    """Local files and folders in a drag's MIME data; remote URLs are ignored."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class MessageBar(QWidget):
    """A dismissable line at the top of the window for errors and notices, with an optional action
    button (the one-click fix, e.g. rebuilding a damaged knowledge base)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        self.action.hide()
        self.action.clicked.connect(self._act)
        self._on_action: Any = None
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.action)
        row.addWidget(close)
        self.setAutoFillBackground(True)
        self.hide()

    def show_message(self, text: str, error: bool = True, action: str = "", on_action: Any = None) -> None:
        colour, background = ("#7a1020", "#fde7e9") if error else ("#1f3a60", "#e6effa")
        self.setStyleSheet(f"MessageBar {{ background: {background}; }} QLabel {{ color: {colour}; }}")
        self.label.setText(text)
        self._on_action = on_action
        self.action.setText(action)
        self.action.setVisible(bool(action and on_action))
        self.show()

    def _act(self) -> None:
        on_action, self._on_action = self._on_action, None
        self.action.hide()
        if on_action is not None:
            on_action()


class MainWindow(QMainWindow):
    language_changed = Signal(str)

    def __init__(self, bridge: ServiceBridge, store: ConversationStore, settings_path: Path | None = None) -> None:
        super().__init__()
        self.bridge, self.store, self.settings_path = bridge, store, settings_path
        self.setWindowTitle("LocalKB")
        icon = paths.ASSETS_DIR / "icons" / "localkb.svg"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)
        self.resize(1360, 820)

        self.library = LibraryView(bridge)
        self.chat = ChatView(bridge, store, self.library.selected_kbs)
        self.sources = SourceView(bridge)
        self.progress = ProgressPanel(bridge)
        self.messages = MessageBar()
        self._rebuilding: set[str] = set()  # knowledge bases being rebuilt now

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.library)
        split.addWidget(self.chat)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        split.setSizes([430, 900])
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.messages)
        column.addWidget(split, 1)
        self.setCentralWidget(central)

        self.source_dock = QDockWidget(self.tr("Source"), self)
        self.source_dock.setObjectName("source")
        self.source_dock.setWidget(self.sources)
        self.source_dock.setMinimumWidth(420)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.source_dock)
        self.source_dock.hide()
        self.progress_dock = QDockWidget(self.tr("Adding documents"), self)
        self.progress_dock.setObjectName("progress")
        self.progress_dock.setWidget(self.progress)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.progress_dock)
        self.progress_dock.hide()

        self.model_label = QLabel()
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().showMessage(self.tr("Drop files or folders anywhere on this window to add them."))
        self._build_menus()

        bridge.error.connect(self.show_error)
        bridge.kb_damaged.connect(self.offer_rebuild)
        bridge.kbs_changed.connect(self._check_kbs)
        bridge.repair_finished.connect(self._repair_finished)
        bridge.info.connect(lambda text: self.messages.show_message(text, error=False))
        failures.failed.connect(self.show_error)
        bridge.model_state_changed.connect(self._model_state)
        bridge.ingest_started.connect(lambda *_: self._show_dock(self.progress_dock, 190))
        self.progress.close_requested.connect(self.progress_dock.hide)
        self.library.kb_selection_changed.connect(self.chat.set_scope)
        self._warmed: set[str] = set()
        self._reindex_offered: set[str] = set()
        self.library.kb_selection_changed.connect(self._warm_up)
        self.library.add_files_requested.connect(self.add_paths)
        self.library.sample_requested.connect(self.add_sample)
        self.chat.citation_clicked.connect(self.show_source)
        self.chat.action_requested.connect(self._chat_action)
        self._model_state("not loaded")
        self.chat.set_scope([])
        bridge.refresh_kbs()

    def _warm_up(self, kbs: list[str]) -> None:
        """A selected KB's vector index is loaded while the user types, not on the first question."""
        new = [kb for kb in kbs if kb not in self._warmed]
        if new:
            self._warmed.update(new)
            self.bridge.warm_up(new)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        self._action(file_menu, self.tr("Add files…"), self.library._pick_files, QKeySequence.StandardKey.Open)
        self._action(file_menu, self.tr("Add a folder…"), self.library._pick_folder)
        self._action(file_menu, self.tr("Add the sample knowledge base"), self.add_sample)
        file_menu.addSeparator()
        self._action(file_menu, self.tr("New conversation"), self.chat.new_conversation, QKeySequence.StandardKey.New)
        self._action(file_menu, self.tr("Export conversation…"), self.chat._export)
        file_menu.addSeparator()
        self._action(file_menu, self.tr("Quit"), self.close, QKeySequence.StandardKey.Quit)
        tools = self.menuBar().addMenu(self.tr("&Tools"))
        self._action(tools, self.tr("Models…"), self.open_models)
        self._action(tools, self.tr("Settings…"), self.open_settings, QKeySequence.StandardKey.Preferences)
        self._action(tools, self.tr("Load the model now"), self.bridge.load_model)
        self._action(tools, self.tr("Open the log folder"),
                     lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir()))))
        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self._action(help_menu, self.tr("About LocalKB"), self._about)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda *_: slot())
        if shortcut is not None:
            action.setShortcut(shortcut)
        menu.addAction(action)
        return action

    # -- feedback ------------------------------------------------------------------------------

    def show_error(self, text: str) -> None:
        log.warning("shown to user: %s", text)
        self.messages.show_message(text, error=True)

    def offer_rebuild(self, kb: str, message: str) -> None:
        """A damaged knowledge base: say what is wrong, and rebuild it with one click."""
        log.warning("shown to user: %s", message)
        if kb in self._rebuilding:
            return  # a rebuild is under way; its result will be shown
        # The message's last sentence is the command-line hint; the button says it here.
        text = message.split(" Rebuild it with ")[0]
        self.messages.show_message(
            text + " " + self.tr("Rebuilding reads it again from what is left of it and from your files; "
                                 "the damaged files are kept aside."),
            error=True, action=self.tr("Rebuild '%1'").replace("%1", kb), on_action=lambda: self.rebuild(kb))

    def rebuild(self, kb: str) -> None:
        self._rebuilding.add(kb)
        self.bridge.repair_kb(kb)

    def _check_kbs(self, infos: list) -> None:
        damaged = [k for k in infos if getattr(k, "damaged", "")]
        if damaged and not self.messages.action.isVisible():
            self.offer_rebuild(damaged[0].name, damaged[0].damaged)
            return
        # Offered once per session: a user who declines keeps answering from them.
        other = [k.name for k in infos if getattr(k, "other_embedder", False) and k.name not in self._reindex_offered]
        if other and not self.messages.action.isVisible():
            self._reindex_offered.update(other)
            self.messages.show_message(
                self.tr("%1 was indexed with another embedding model than the one set now (an earlier version's "
                        "default, or a settings change). It still answers; new files can be added once it is "
                        "re-indexed, which reads its files again.").replace("%1", ", ".join(f"'{k}'" for k in other)),
                error=False, action=self.tr("Re-index"), on_action=lambda: [self.bridge.reindex_kb(k) for k in other])

    def _repair_finished(self, kb: str, report: Any) -> None:
        self._rebuilding.discard(kb)
        if report is None:
            return  # the failure itself is shown
        if getattr(report, "remaining", None):
            self.show_error(self.tr("Knowledge base '%1' could not be fully rebuilt: %2")
                            .replace("%1", kb).replace("%2", "; ".join(report.remaining)))
            return
        if not report.problems:
            self.messages.show_message(self.tr("Knowledge base '%1' is sound: nothing needed rebuilding.")
                                       .replace("%1", kb), error=False)
            return
        text = self.tr("Knowledge base '%1' was rebuilt: %2.").replace("%1", kb).replace("%2", "; ".join(report.actions))
        if report.missing:
            text += " " + self.tr("%n file(s) it held are gone from disk.", "", len(report.missing))
        if report.set_aside:
            text += " " + self.tr("The damaged files were kept in %1.").replace("%1", report.set_aside)
        self.messages.show_message(text, error=False)

    def _model_state(self, state: str) -> None:
        model = current_model_path(self.bridge.settings)
        name = model.name if model else self.tr("no model")
        labels = {"not loaded": self.tr("not loaded (loads with the first question)"),
                  "loading": self.tr("loading…"), "ready": self.tr("ready")}
        text = labels.get(state, state)
        self.model_label.setText(self.tr("Model: %1 — %2").replace("%1", name).replace("%2", text))
        self.model_label.setStyleSheet("color: #b00020" if state.startswith("error") else "")

    # -- adding documents ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        found = dropped_paths(event.mimeData())
        if not found:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_paths(found)

    def add_paths(self, found: list[str]) -> None:
        kb = self.library.current_kb() or "default"
        self.library.select_kb(kb)
        self.bridge.ingest(found, kb=kb)

    def add_sample(self) -> None:
        self.library.select_kb(SAMPLE_KB)
        self.bridge.ingest(sample_files(), kb=SAMPLE_KB)
        self.chat.question.setText(self.tr("How much can I spend on a hotel night when travelling?"))

    def _chat_action(self, action: str) -> None:
        if action == "sample":
            self.add_sample()
        elif action == "add":
            self.library._pick_files()

    # -- sources, settings, models -------------------------------------------------------------

    def _show_dock(self, dock: QDockWidget, size: int) -> None:
        if dock.isVisible():
            return
        dock.show()
        # Docks open at a size that leaves the chat room; the user can drag them larger.
        vertical = self.dockWidgetArea(dock) in (Qt.DockWidgetArea.TopDockWidgetArea,
                                                 Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([dock], [size], Qt.Orientation.Vertical if vertical else Qt.Orientation.Horizontal)

    def show_source(self, source: dict[str, Any]) -> None:
        self._show_dock(self.source_dock, max(480, self.width() * 2 // 5))
        self.sources.show_source(source)

    def open_settings(self) -> Any:
        from app.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.bridge.settings, self, self.settings_path)
        dialog.saved.connect(self.settings_saved)
        dialog.open()
        return dialog

    def open_models(self) -> Any:
        from app.gui.models_page import ModelsPage

        page = ModelsPage(self.bridge.settings, self, self.settings_path)
        page.model_chosen.connect(lambda s: self.settings_saved(self.bridge.settings, s))
        page.open()
        return page

    def settings_saved(self, old: Settings, new: Settings) -> None:
        if old.embedding.identity() != new.embedding.identity():
            indexed = [kb.name for kb in self.library.kb_infos() if kb.chunks]
            if indexed:
                if ask_yes_no(self, self.tr("Re-index with the new embedder?"),
                              self.tr("These knowledge bases were indexed with another embedding model: %1.\n"
                                      "Vectors from two models cannot be mixed, so they must be re-indexed "
                                      "to use the new one. Re-index now?").replace("%1", ", ".join(indexed))):
                    self.bridge.apply_settings(new)
                    for kb in indexed:
                        self.bridge.reindex_kb(kb)
                else:
                    new = new.model_copy(deep=True)
                    new.embedding.embedder_path = old.embedding.embedder_path
                    new.embedding.runtime = old.embedding.runtime
                    new.save(self.settings_path)
                    self.messages.show_message(self.tr("The embedder was not changed, so your knowledge bases "
                                                       "stay searchable."), error=False)
        self.bridge.apply_settings(new)
        self._model_state("not loaded")
        if old.ui.language != new.ui.language:
            self.messages.show_message(self.tr("The interface language changes when LocalKB is restarted."),
                                       error=False)
            self.language_changed.emit(new.ui.language)

    def _about(self) -> None:
        QMessageBox.about(self, self.tr("About LocalKB"), self.tr(
            "<b>LocalKB</b><br>Ask questions about your own files, offline.<br>"
            "Data folder: %1<br>Log file: %2").replace("%1", str(paths.data_dir()))
            .replace("%2", str(paths.log_dir() / "localkb.log")))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.bridge.shutdown()
        super().closeEvent(event)
