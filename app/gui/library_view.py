"""The left column: knowledge bases and the documents of the selected one.

Selecting several knowledge bases asks across all of them; the current one is where dropped files
go and whose documents are listed.  Everything it changes goes through the `ServiceBridge`; this
widget only shows lists and asks for confirmation.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QMenu, QMessageBox, QPushButton,
                               QSplitter, QStackedWidget, QTreeView, QVBoxLayout, QWidget)

from app.gui.bridge import ServiceBridge
from app.gui.folders_panel import FoldersPanel, tool_button
from ingest.types import file_of


def ask_yes_no(parent: QWidget, title: str, text: str) -> bool:
    """A confirmation; tests replace this function instead of clicking a modal box."""
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes


def ask_text(parent: QWidget, title: str, label: str, value: str = "") -> str | None:
    text, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, value)
    return text.strip() if ok and text.strip() else None


STATUS_COLOURS = {"indexed": "#2e7d32", "pending": "#9a6700", "failed": "#c62828"}


class LibraryView(QWidget):
    kb_selection_changed = Signal(list)  # names to ask across
    add_files_requested = Signal(list)  # paths picked in a file dialog
    sample_requested = Signal()

    def __init__(self, bridge: ServiceBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._kbs: list[Any] = []
        self._wanted_current: str | None = None
        self._shown_kb: str | None = None  # the KB whose folders and documents are on screen

        self.kb_list = QListWidget()
        self.kb_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.kb_list.setToolTip(self.tr("Select one knowledge base, or several with Ctrl/Shift to ask across them."))
        self.kb_list.itemSelectionChanged.connect(self._selection_changed)
        self.kb_list.currentItemChanged.connect(lambda *_: self._current_changed())
        self.kb_list.setAcceptDrops(False)

        new_btn = tool_button(self.tr("New"), self.tr("Create a knowledge base"), self._create)
        self.rename_btn = tool_button(self.tr("Rename"), self.tr("Rename the current knowledge base"), self._rename)
        self.delete_btn = tool_button(self.tr("Delete"), self.tr("Delete the current knowledge base and its index"),
                                     self._delete)
        kb_header = QHBoxLayout()
        kb_title = QLabel(self.tr("<b>Knowledge bases</b>"))
        kb_header.addWidget(kb_title)
        kb_header.addStretch()
        for btn in (new_btn, self.rename_btn, self.delete_btn):
            kb_header.addWidget(btn)

        self.docs_title = QLabel()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(self.tr("Filter documents…"))
        self.filter.setClearButtonEnabled(True)
        self.filter.setAcceptDrops(False)
        add_btn = tool_button(self.tr("Add…"), self.tr("Add files to the current knowledge base"), self._pick_files)

        self.model = QStandardItemModel(0, 5, self)
        self.model.setHorizontalHeaderLabels([self.tr("Document"), self.tr("Status"), self.tr("Pages"),
                                              self.tr("Chunks"), self.tr("Reason")])
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.docs = QTreeView()
        self.docs.setModel(self.proxy)
        self.docs.setRootIsDecorated(False)
        self.docs.setSortingEnabled(True)
        self.docs.setAlternatingRowColors(True)
        self.docs.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.docs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.docs.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.docs.customContextMenuRequested.connect(self._context_menu)
        self.docs.setAcceptDrops(False)
        header = self.docs.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(40)

        self.empty = self._empty_state()
        # A damaged KB lists no documents, but "No documents yet, drag files here" would be wrong.
        self.damaged_note = QLabel()
        self.damaged_note.setWordWrap(True)
        self.damaged_note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.damaged_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.docs)
        self.stack.addWidget(self.damaged_note)

        docs_header = QHBoxLayout()
        docs_header.addWidget(self.docs_title)
        docs_header.addStretch()
        docs_header.addWidget(add_btn)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(kb_header)
        top_layout.addWidget(self.kb_list)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        self.folders = FoldersPanel(bridge)
        bottom_layout.addWidget(self.folders)
        bottom_layout.addLayout(docs_header)
        bottom_layout.addWidget(self.filter)
        bottom_layout.addWidget(self.stack, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)

        bridge.kbs_changed.connect(self.show_kbs)
        bridge.documents_changed.connect(self.show_documents)
        bridge.kb_damaged.connect(self.mark_damaged)
        self._update_buttons()
        self.show_documents("", [])

    def _empty_state(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        text = QLabel(self.tr(
            "<h3>No documents yet</h3>"
            "<p>Drag files or whole folders onto this window: PDF, Word, PowerPoint, Excel, "
            "HTML, Markdown, text, e-mail, images.</p>"
            "<p>They are read and indexed on this computer; nothing is uploaded.</p>"))
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        add = QPushButton(self.tr("Add files…"))
        add.clicked.connect(self._pick_files)
        folder = QPushButton(self.tr("Add a folder…"))
        folder.clicked.connect(self._pick_folder)
        self.sample_btn = QPushButton(self.tr("Try the sample knowledge base"))
        self.sample_btn.setToolTip(self.tr("Indexes a few short example documents so you can ask a question "
                                           "and see a cited answer right away."))
        self.sample_btn.clicked.connect(self.sample_requested)
        layout.addWidget(text)
        layout.addWidget(add)
        layout.addWidget(folder)
        layout.addWidget(self.sample_btn)
        layout.addStretch()
        return box

    # -- state ---------------------------------------------------------------------------------

    def current_kb(self) -> str:
        item = self.kb_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else ""

    def selected_kbs(self) -> list[str]:
        names = [i.data(Qt.ItemDataRole.UserRole) for i in self.kb_list.selectedItems()]
        return names or ([self.current_kb()] if self.current_kb() else [])

    def kb_infos(self) -> list[Any]:
        return list(self._kbs)

    def select_kb(self, name: str) -> None:
        """Make `name` current now, or as soon as it appears in the list."""
        self._wanted_current = name
        for row in range(self.kb_list.count()):
            item = self.kb_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                self.kb_list.setCurrentItem(item)
                self._wanted_current = None
                return

    def show_kbs(self, kbs: list[Any]) -> None:
        previous = self._wanted_current or self.current_kb()
        selected = set(self.selected_kbs())
        self._kbs = list(kbs)
        self.kb_list.blockSignals(True)
        self.kb_list.clear()
        for kb in kbs:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, kb.name)
            self._describe(item, kb)
            self.kb_list.addItem(item)
            if kb.name in selected:
                item.setSelected(True)
        self.kb_list.blockSignals(False)
        names = [kb.name for kb in kbs]
        target = previous if previous in names else (names[0] if names else "")
        if target:
            self.select_kb(target)
            if previous == target and self._wanted_current is None:
                self.bridge.refresh_documents(target)
        else:
            self.show_documents("", [])
        self._update_buttons()
        self.kb_selection_changed.emit(self.selected_kbs())

    def show_documents(self, kb: str, docs: list[Any]) -> None:
        if kb != self.current_kb():
            return
        self.model.removeRows(0, self.model.rowCount())
        for doc in docs:
            name = QStandardItem(Path(doc.path).name)
            name.setData(doc.path, Qt.ItemDataRole.UserRole)
            updated = self.tr("Updated")
            name.setToolTip(f"{doc.path}\n{updated}: {time.strftime('%Y-%m-%d %H:%M', time.localtime(doc.updated))}")
            status = QStandardItem(self._status_text(doc.status))
            status.setForeground(_brush(STATUS_COLOURS.get(doc.status, "#444")))
            pages = QStandardItem("" if doc.pages is None else str(doc.pages))
            pages.setData(doc.pages or 0, Qt.ItemDataRole.UserRole + 1)
            chunks = QStandardItem(str(doc.chunks))
            reason = QStandardItem(doc.reason or "")
            reason.setToolTip(doc.reason or "")
            for cell in (pages, chunks):
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if doc.reason:  # the reason column is narrow: the whole row explains itself on hover
                for cell in (name, status, pages, chunks):
                    cell.setToolTip(f"{doc.path}\n{doc.reason}")
            self.model.appendRow([name, status, pages, chunks, reason])
        if kb:
            self.docs_title.setText(self.tr("<b>Documents in %1</b>").replace("%1", kb))
        else:
            self.docs_title.setText(self.tr("<b>Documents</b>"))
        damaged = self.kb_damage(kb)
        if damaged and not docs:
            self.damaged_note.setText(self.damage_text(damaged))
            self.stack.setCurrentWidget(self.damaged_note)
        else:
            self.stack.setCurrentWidget(self.docs if docs else self.empty)
        failures = any(doc.reason for doc in docs)
        self.docs.setColumnHidden(4, not failures)
        if failures:
            self.docs.header().resizeSection(4, 160)
        self.sample_btn.setVisible(not any(k.name == "sample" for k in self._kbs))

    def _describe(self, item: QListWidgetItem, kb: Any) -> None:
        damaged = getattr(kb, "damaged", "")
        if damaged:  # its counts are unknown, not 0: say so, and why on hover
            item.setText(f"{kb.name}   ·  " + self.tr("damaged"))
            item.setForeground(_brush(STATUS_COLOURS["failed"]))
            item.setToolTip(self.damage_text(damaged))
        else:
            item.setText(f"{kb.name}   ·  " + self.tr("%n document(s)", "", kb.documents))
            item.setToolTip(self.tr("%1 documents, %2 passages\nEmbedder: %3")
                            .replace("%1", str(kb.documents)).replace("%2", str(kb.chunks))
                            .replace("%3", kb.embedder or "-"))

    def mark_damaged(self, kb: str, message: str) -> None:
        """Damage found after the list was made (a search met a broken vector index): show it there too."""
        for i, info in enumerate(self._kbs):
            if info.name == kb and dataclasses.is_dataclass(info) and hasattr(info, "damaged"):
                self._kbs[i] = dataclasses.replace(info, damaged=message)
                for row in range(self.kb_list.count()):
                    item = self.kb_list.item(row)
                    if item.data(Qt.ItemDataRole.UserRole) == kb:
                        self._describe(item, self._kbs[i])
        if kb == self.current_kb() and self.model.rowCount() == 0:
            self.show_documents(kb, [])

    def kb_damage(self, name: str) -> str:
        """Why `name` is damaged as the last listing said, or ''."""
        return next((getattr(k, "damaged", "") for k in self._kbs if k.name == name), "")

    def damage_text(self, message: str) -> str:
        # The message ends with the command-line hint; in the window the message bar's button does it.
        return (message.split(" Rebuild it with ")[0] + "\n\n"
                + self.tr("Click Rebuild in the message bar to rebuild it (or run localkb repair); "
                          "the damaged files are kept aside."))

    def _status_text(self, status: str) -> str:
        return {"indexed": self.tr("indexed"), "pending": self.tr("pending"), "failed": self.tr("failed")}.get(status, status)

    def _update_buttons(self) -> None:
        has = bool(self.current_kb())
        self.rename_btn.setEnabled(has)
        self.delete_btn.setEnabled(has)

    def _selection_changed(self) -> None:
        self.kb_selection_changed.emit(self.selected_kbs())

    def _current_changed(self) -> None:
        self._update_buttons()
        kb = self.current_kb()
        if kb == self._shown_kb:
            # The KB list was rebuilt around the same KB (every refresh re-selects it): its folders
            # and documents stay on screen instead of blanking until their refresh returns.
            return
        self._shown_kb = kb
        self.folders.set_kb(kb)
        self.model.removeRows(0, self.model.rowCount())
        if kb:
            self.bridge.refresh_documents(kb)
        self.show_documents(kb, [])

    # -- actions -------------------------------------------------------------------------------

    def _create(self) -> None:
        name = ask_text(self, self.tr("New knowledge base"), self.tr("Name:"))
        if name:
            self._wanted_current = name
            self.bridge.create_kb(name)

    def _rename(self) -> None:
        old = self.current_kb()
        new = ask_text(self, self.tr("Rename knowledge base"), self.tr("New name:"), old) if old else None
        if new and new != old:
            self._wanted_current = new
            self.bridge.rename_kb(old, new)

    def _delete(self) -> None:
        kb = self.current_kb()
        if kb and ask_yes_no(self, self.tr("Delete knowledge base"),
                             self.tr("Delete “%1” and its index? Your original files are not touched.").replace("%1", kb)):
            self.bridge.delete_kb(kb)

    def _pick_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, self.tr("Add documents"))
        if files:
            self.add_files_requested.emit(files)

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Add a folder"))
        if folder:
            self.add_files_requested.emit([folder])

    def selected_paths(self) -> list[str]:
        rows = {self.proxy.mapToSource(i).row() for i in self.docs.selectionModel().selectedRows()}
        return [self.model.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in sorted(rows)]

    def _context_menu(self, pos: Any) -> None:
        paths = self.selected_paths()
        if not paths:
            return
        menu = QMenu(self)
        reindex = QAction(self.tr("Re-index"), menu)
        reindex.triggered.connect(lambda: self.bridge.reindex(self.current_kb(), paths))
        remove = QAction(self.tr("Remove from knowledge base"), menu)
        remove.triggered.connect(lambda: self.remove(paths))
        open_file = QAction(self.tr("Open file"), menu)
        # An attachment or zip member has no file of its own: open the mail or archive holding it.
        open_file.triggered.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(file_of(paths[0]))))
        menu.addActions([open_file, reindex, remove])
        menu.exec(self.docs.viewport().mapToGlobal(pos))

    def remove(self, paths: list[str]) -> None:
        kb = self.current_kb()
        text = self.tr("Remove %n document(s) from “%1”? The files on disk are not touched.", "", len(paths))
        if ask_yes_no(self, self.tr("Remove documents"), text.replace("%1", kb)):
            self.bridge.remove_documents(kb, paths)


def _brush(colour: str) -> Any:
    from PySide6.QtGui import QBrush, QColor

    return QBrush(QColor(colour))
