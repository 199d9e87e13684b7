"""The followed folders of the current knowledge base: their state, the last sync, and actions.

The panel only shows what the engine reports and asks the bridge for changes; the watching and
syncing run in the engine process, so nothing here can block the window.  It polls the state
every two seconds while it is visible and the window has a knowledge base selected.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from app.gui.bridge import ServiceBridge

POLL_MS = 2000


def edit_rules(parent: QWidget, title: str, text: str) -> str | None:
    """The ignore-rules editor; tests replace this function instead of driving a modal dialog."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    note = QLabel(QCoreApplication.translate(
        "FoldersPanel", "One pattern per line, as in .gitignore: <code>*.tmp</code> skips files, "
        "<code>drafts/</code> skips a folder, <code>!keep.tmp</code> takes one back."))
    note.setWordWrap(True)
    editor = QPlainTextEdit(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(note)
    layout.addWidget(editor)
    layout.addWidget(buttons)
    dialog.resize(460, 420)
    return editor.toPlainText() if dialog.exec() == QDialog.DialogCode.Accepted else None



def tool_button(text: str, tip: str, slot: Any) -> QToolButton:
    """A small text button with a tooltip, as the library column's toolbars use."""
    btn = QToolButton()
    btn.setText(text)
    btn.setToolTip(tip)
    btn.clicked.connect(slot)
    return btn

class FoldersPanel(QWidget):
    def __init__(self, bridge: ServiceBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.kb = ""
        self._last_sync: float | None = None
        self._seen = False
        self._infos: list[Any] = []

        title = QLabel(self.tr("<b>Followed folders</b>"))
        title.setToolTip(self.tr("Files added, changed, moved or deleted in these folders are applied to the "
                                 "knowledge base automatically."))
        self.follow_btn = tool_button(self.tr("Follow…"), self.tr("Follow a folder: keep this knowledge base in sync with it"),
                                     self._pick_folder)
        self.sync_btn = tool_button(self.tr("Sync now"), self.tr("Compare the folders with the index now"), self._sync)
        self.pause_btn = tool_button(self.tr("Pause"), self.tr("Pause or resume watching"), self._toggle_pause)
        self.rules_btn = tool_button(self.tr("Ignore…"), self.tr("Files and folders that are never indexed"), self._rules)
        self.stop_btn = tool_button(self.tr("Stop"), self.tr("Stop following the selected folder; its documents stay"),
                                   self._stop)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch()
        for btn in (self.follow_btn, self.sync_btn, self.pause_btn, self.rules_btn, self.stop_btn):
            header.addWidget(btn)
        self.list = QListWidget()
        self.list.setMaximumHeight(72)
        self.list.setAcceptDrops(False)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.list)
        # Only as tall as its rows: the document list below gets the rest of the column.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.list.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        bridge.folders_changed.connect(self.show_folders)
        bridge.ignore_rules_ready.connect(self._edit_rules)
        self.set_kb("")

    # -- state ---------------------------------------------------------------------------------

    def set_kb(self, kb: str) -> None:
        self.kb = kb
        self._last_sync = None
        self._seen = False
        self.show_folders(kb, [])
        if kb:
            self.bridge.refresh_folders(kb)
            self.timer.start()
        else:
            self.timer.stop()

    def _poll(self) -> None:
        if self.kb and self.isVisible():
            self.bridge.refresh_folders(self.kb)

    def show_folders(self, kb: str, infos: list[Any]) -> None:
        if kb != self.kb:
            return
        self._infos = list(infos)
        selected = {i.data(Qt.ItemDataRole.UserRole) for i in self.list.selectedItems()}
        self.list.clear()
        for info in infos:
            item = QListWidgetItem(f"{info.folder}\n    {self.state_text(info)}")
            item.setData(Qt.ItemDataRole.UserRole, info.folder)
            item.setToolTip(info.error or info.folder)
            if info.state == "error" or not info.exists:
                item.setForeground(Qt.GlobalColor.darkRed)
            self.list.addItem(item)
            item.setSelected(info.folder in selected)
        self.list.setVisible(bool(infos))
        last = infos[0].last_sync if infos else None
        if last != self._last_sync:
            if self._seen:  # a sync finished since the last look: the document list changed
                self.bridge.refresh_documents(kb)
                self.bridge.refresh_kbs()
            self._last_sync = last
        self._seen = self._seen or bool(infos)
        self._update_buttons()

    def state_text(self, info: Any) -> str:
        if not info.exists:
            state = self.tr("folder not found")
        elif info.state == "syncing":
            state = self.tr("syncing %n file(s)", "", info.pending)
        elif info.state == "watching":
            state = self.tr("watching")
        elif info.state == "paused":
            state = self.tr("paused")
        elif info.state == "error":
            state = self.tr("error: %1").replace("%1", info.error)
        else:
            state = self.tr("not watching")
        if info.last_sync:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.last_sync))
            return state + " · " + self.tr("last sync %1").replace("%1", stamp)
        return state + " · " + self.tr("never synced")

    def _update_buttons(self) -> None:
        has_kb, has_folders = bool(self.kb), bool(self._infos)
        self.follow_btn.setEnabled(has_kb)
        self.rules_btn.setEnabled(has_kb)
        self.sync_btn.setEnabled(has_folders)
        self.pause_btn.setEnabled(has_folders)
        self.stop_btn.setEnabled(bool(self.list.selectedItems()))
        paused = bool(self._infos) and self._infos[0].state == "paused"
        self.pause_btn.setText(self.tr("Resume") if paused else self.tr("Pause"))

    # -- actions -------------------------------------------------------------------------------

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Follow a folder"))
        if folder:
            self.follow([folder])

    def follow(self, folders: list[str]) -> None:
        if self.kb:
            self.bridge.follow_folders(self.kb, folders)

    def _sync(self) -> None:
        if self.kb:
            self.bridge.sync_now(self.kb)

    def _toggle_pause(self) -> None:
        if self.kb and self._infos:
            self.bridge.pause_sync(self.kb, self._infos[0].state != "paused")

    def _stop(self) -> None:
        folders = [i.data(Qt.ItemDataRole.UserRole) for i in self.list.selectedItems()]
        if self.kb and folders:
            self.bridge.unfollow_folders(self.kb, folders)

    def _rules(self) -> None:
        if self.kb:
            self.bridge.load_ignore_rules(self.kb)

    def _edit_rules(self, kb: str, text: str) -> None:
        if kb != self.kb:
            return
        new = edit_rules(self, self.tr("Ignore rules for “%1”").replace("%1", kb), text)
        if new is not None and new != text:
            self.bridge.save_ignore_rules(kb, new)
