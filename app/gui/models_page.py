"""The models page: the built-in models, then the GGUF files in the models folder; pick one to use.

The two built-in models come first with their languages, size, measured speed and state (ready,
prepared on first use, or what to reinstall); the user's files follow with what their headers
say.  A LoRA adapter, when set, is shown with its header or why it cannot be used, and can be
chosen or cleared here.  Scanning reads only file headers (`app.services.models`), on a worker so
a slow disk cannot freeze the window, and never prepares a built-in model.  Choosing writes
`settings.model` (model_path / builtin / lora_path) and saves the settings; the model itself
loads later, on the next question.
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
    scanned = Signal(object)  # the models.ModelsListing shown

    def __init__(self, settings: Settings, parent: QWidget | None = None, settings_path: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models"))
        self.settings, self.settings_path = settings, settings_path
        self.builtins: list[models.BuiltinEntry] = []
        self.infos: list[models.GGUFInfo] = []
        self.lora: models.LoraInfo | None = None

        columns = [self.tr("Built-in model"), self.tr("Languages"), self.tr("Size"), self.tr("Speed (measured)"),
                   self.tr("State")]
        self.builtin_table = self._make_table(columns)
        # The speed note is long: it takes the spare width (elided, full text in its tooltip) so the
        # state column stays in view.
        header = self.builtin_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.builtin_table.setMaximumHeight(110)

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
        self.table = self._make_table(columns)

        self.lora_label = QLabel()
        self.lora_label.setWordWrap(True)
        self.lora_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lora_btn = QPushButton(self.tr("Choose adapter…"))
        self.lora_btn.clicked.connect(self._browse_lora)
        self.lora_clear = QPushButton(self.tr("Clear"))
        self.lora_clear.clicked.connect(lambda: self.set_lora(""))
        lora_row = QHBoxLayout()
        lora_row.addWidget(QLabel(self.tr("LoRA adapter:")))
        lora_row.addWidget(self.lora_label, 1)
        lora_row.addWidget(self.lora_btn)
        lora_row.addWidget(self.lora_clear)

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
        layout.addWidget(self.builtin_table)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(lora_row)
        layout.addWidget(self.note)
        layout.addLayout(bottom)
        self.resize(980, 520)
        self.scan()

    def _make_table(self, columns: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(columns)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # One choice across both tables: selecting in one clears the other, so "Use" is unambiguous.
        table.itemSelectionChanged.connect(lambda: self._selection_changed(table))
        table.doubleClicked.connect(lambda *_: self.use_selected())
        return table

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Models folder"), self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.scan()

    def scan(self) -> None:
        self.status.setText(self.tr("Scanning…"))
        Task(models.list_models, self.folder.text(), self.settings).start(self._show, self.status.setText)

    def _show(self, listing: models.ModelsListing) -> None:
        self.builtins, self.infos, self.lora = listing.builtins, listing.files, listing.lora
        self._show_builtins()
        self._show_files()
        self._show_lora()
        current = models.current_builtin(self.settings)
        if current:
            name = next((e.title for e in self.builtins if e.key == current), current)
        else:
            path = models.current_model_path(self.settings)
            name = path.name if path else "-"
        found = sum(1 for i in self.infos if not i.error)
        self.status.setText(self.tr("%1 model file(s) found. Current: %2").replace("%1", str(found))
                            .replace("%2", name))
        self._selection_changed(None)
        self.scanned.emit(listing)

    def _languages(self, codes: tuple[str, ...]) -> str:
        names = {"zh": self.tr("Chinese"), "en": self.tr("English")}
        return " + ".join(names.get(c, c) for c in codes)

    def _state(self, entry: models.BuiltinEntry) -> str:
        if entry.state == models.READY:
            return self.tr("ready")
        if entry.state == models.NEEDS_JOIN:
            return self.tr("prepared on first use (joins %1 once)").replace("%1", models.human_size(entry.size_bytes))
        return entry.error

    def _show_builtins(self) -> None:
        current = models.current_builtin(self.settings)
        self.builtin_table.setRowCount(len(self.builtins))
        for row, entry in enumerate(self.builtins):
            cells = [entry.title + ("  ✓" if entry.key == current else ""), self._languages(entry.languages),
                     models.human_size(entry.size_bytes), entry.speed_note, self._state(entry)]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(entry.path) if col == 0 and entry.path else text)
                if entry.state == models.MISSING:
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.builtin_table.setItem(row, col, item)

    def _show_files(self) -> None:
        current = None if models.current_builtin(self.settings) else models.current_model_path(self.settings)
        self.table.setRowCount(len(self.infos))
        for row, info in enumerate(self.infos):
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

    def _show_lora(self) -> None:
        lora = self.lora
        self.lora_clear.setEnabled(bool(self.settings.model.lora_path))
        if lora is None:
            self.lora_label.setText(self.tr("none"))
            self.lora_label.setStyleSheet("")
        elif lora.error:
            self.lora_label.setText(str(lora.path) + " — " + lora.error)
            self.lora_label.setStyleSheet("color: #b00020")
        else:
            alpha = f"{lora.alpha:g}" if lora.alpha is not None else self.tr("none (scale 1)")
            self.lora_label.setText(self.tr("%1 — %2, alpha %3, rank %4, %5 weight matrices")
                                    .replace("%1", str(lora.path)).replace("%2", lora.architecture)
                                    .replace("%3", alpha).replace("%4", str(lora.rank or "?"))
                                    .replace("%5", str(lora.n_targets)))
            self.lora_label.setStyleSheet("")

    def _browse_lora(self) -> None:
        start = self.settings.model.lora_path or self.folder.text()
        path, _ = QFileDialog.getOpenFileName(self, self.tr("LoRA adapter"), start,
                                              self.tr("LoRA adapters (*.gguf)"))
        if path:
            self.set_lora(path)

    def set_lora(self, path: str) -> None:
        """Use the adapter at `path` ("" clears it) if it fits the chat model; save and rescan."""
        try:
            chosen = models.choose_lora(self.settings, path)
        except LocalKBError as exc:
            self.status.setText(str(exc))
            return
        self._save(chosen)

    def selected(self) -> models.BuiltinEntry | models.GGUFInfo | None:
        for table, items in ((self.builtin_table, self.builtins), (self.table, self.infos)):
            rows = table.selectionModel().selectedRows()
            if rows:
                return items[rows[0].row()]
        return None

    def _selection_changed(self, table: QTableWidget | None) -> None:
        if table is not None and table.selectionModel().selectedRows():
            other = self.table if table is self.builtin_table else self.builtin_table
            other.clearSelection()
        choice = self.selected()
        if isinstance(choice, models.BuiltinEntry):
            usable = choice.state != models.MISSING
        else:
            usable = bool(choice and not choice.error)
        self.use_btn.setEnabled(usable)

    def use_selected(self) -> None:
        choice = self.selected()
        if choice is None:
            return
        try:
            if isinstance(choice, models.BuiltinEntry):
                if choice.state == models.MISSING:
                    return
                chosen = models.choose_model(self.settings, choice.key)
            else:
                if choice.error:
                    return
                chosen = models.choose_model(self.settings, choice.path)
        except LocalKBError as exc:
            self.status.setText(str(exc))
            return
        self._save(chosen)

    def _save(self, chosen: Settings) -> None:
        try:
            chosen.model.models_folder = self._folder_setting()
            chosen.save(self.settings_path)
        except (LocalKBError, OSError) as exc:
            self.status.setText(str(exc))
            return
        self.settings = chosen
        self.model_chosen.emit(chosen)
        # Rescan: the current mark moves, and the adapter is re-checked against the new model.
        self.scan()

    def _folder_setting(self) -> str:
        folder = self.folder.text().strip()
        return "" if Path(folder) == models.models_folder(Settings()) else folder

    def row_texts(self) -> list[list[Any]]:
        """The model files table's text, row by row (for tests and screenshots)."""
        return _texts(self.table)

    def builtin_row_texts(self) -> list[list[Any]]:
        """The built-in models table's text, row by row."""
        return _texts(self.builtin_table)


def _texts(table: QTableWidget) -> list[list[Any]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
