"""The models page: GGUF files in the models folder with what their headers say; pick one to use.

Scanning reads only file headers (`app.services.models`), on a worker so a slow disk cannot
freeze the window.  Choosing writes `settings.model.model_path` and saves the settings; the model
itself loads later, on the next question.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.errors import LocalKBError
from app.gui.workers import Task
from app.services import models
from app.settings import Settings


class ModelsPage(QDialog):
    model_chosen = Signal(object)  # the saved Settings
    scanned = Signal(list)

    def __init__(self, settings: Settings, parent: QWidget | None = None, settings_path: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models"))
        self.settings, self.settings_path = settings, settings_path
        self.infos: list[models.GGUFInfo] = []

        self.folder = QLineEdit(str(models.models_folder(settings)))
        self.folder.setToolTip(self.tr("Folder searched (with its subfolders) for .gguf model files"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        rescan = QPushButton(self.tr("Scan"))
        rescan.clicked.connect(self.scan)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Models folder:")))
        top.addWidget(self.folder, 1)
        top.addWidget(browse)
        top.addWidget(rescan)

        columns = [self.tr("Name"), self.tr("Architecture"), self.tr("Parameters"), self.tr("Quantization"),
                   self.tr("Context"), self.tr("Chat template"), self.tr("File size"), self.tr("Memory needed")]
        self.table = QTableWidget(0, len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda *_: self.use_selected())

        self.note = QLabel(self.tr("Memory needed = model weights + the context (%1 tokens) + working space. "
                                   "Models larger than your free memory will be slow or fail to load.")
                           .replace("%1", str(settings.model.n_ctx)))
        self.note.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.use_btn = QPushButton(self.tr("Use this model"))
        self.use_btn.setEnabled(False)
        self.use_btn.clicked.connect(self.use_selected)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.use_btn)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addLayout(bottom)
        self.resize(980, 420)
        self.scan()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Models folder"), self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.scan()

    def scan(self) -> None:
        self.status.setText(self.tr("Scanning…"))
        Task(models.scan_models, self.folder.text()).start(self._show, self.status.setText)

    def _show(self, infos: list[models.GGUFInfo]) -> None:
        self.infos = infos
        current = models.current_model_path(self.settings)
        self.table.setRowCount(len(infos))
        for row, info in enumerate(infos):
            name = info.name + ("  ✓" if current and info.path == current else "")
            if info.error:
                cells = [name, info.error, "", "", "", "", models.human_size(info.size_bytes), ""]
            else:
                cells = [name, info.architecture, models.human_count(info.parameters), info.quantization,
                         f"{info.context_length:,}" if info.context_length else "?",
                         self.tr("yes") if info.has_chat_template else self.tr("no — pick one in Settings"),
                         models.human_size(info.size_bytes),
                         models.human_size(info.memory_bytes(self.settings.model.n_ctx))]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(info.path) if col == 0 else text)
                if info.error:
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(row, col, item)
        found = sum(1 for i in infos if not i.error)
        self.status.setText(self.tr("%1 model file(s) found. Current: %2").replace("%1", str(found))
                            .replace("%2", current.name if current else "-"))
        self.scanned.emit(infos)

    def selected(self) -> models.GGUFInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self.infos[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        info = self.selected()
        self.use_btn.setEnabled(bool(info and not info.error))

    def use_selected(self) -> None:
        info = self.selected()
        if info is None or info.error:
            return
        try:
            chosen = models.choose_model(self.settings, info.path)
            chosen.model.models_folder = self._folder_setting()
            chosen.save(self.settings_path)
        except (LocalKBError, OSError) as exc:
            self.status.setText(str(exc))
            return
        self.settings = chosen
        self.model_chosen.emit(chosen)
        self._show(self.infos)

    def _folder_setting(self) -> str:
        folder = self.folder.text().strip()
        return "" if Path(folder) == models.models_folder(Settings()) else folder

    def row_texts(self) -> list[list[Any]]:
        """The table's text, row by row (for tests and screenshots)."""
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]
