"""The settings dialog, generated from the `Settings` schema rather than written out by hand.

Each group of the schema becomes a tab and each field a row: the field's title is the label, its
description the tooltip, its bounds the spin box range, a Literal a combo box, a bool a check
box, a `*_path`/`*_folder` string a line edit with a Browse button, a prompt template a multi-line
editor.  A new field in app/settings.py appears here with no change to this file.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox,
                               QTabWidget, QVBoxLayout, QWidget)

from app import paths
from app.settings import Settings

GROUP_TITLES = {"model": "Model", "embedding": "Embedding", "ingest": "Reading files", "retrieval": "Retrieval",
                "answer": "Answers", "sync": "Folders", "store": "Sharing", "ui": "Interface"}
CHOICE_LABELS = {"system": "Follow the system", "en": "English", "zh_CN": "中文（简体）",
                 "say_not_found": "Say it is not in the documents",
                 "model_knowledge": "Answer from the model’s own knowledge, marked as such",
                 "auto": "auto (from the model file)",
                 "embedded": "On this computer", "server": "On a Chroma server"}
PROMPT_FILES = {"prompt_en": "answer_en.txt", "prompt_zh": "answer_zh.txt"}


def translate(text: str) -> str:
    # Schema strings are translated in the "Settings" context (see app/gui/schema_strings.py).
    return QCoreApplication.translate("Settings", text)


def _bounds(field: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = meta.ge
        elif isinstance(meta, annotated_types.Gt):
            low = meta.gt
        elif isinstance(meta, annotated_types.Le):
            high = meta.le
        elif isinstance(meta, annotated_types.Lt):
            high = meta.lt
    return low, high


class FieldEditor:
    """One field's widget with `value()`/`set_value()`; the kind follows the field's type."""

    def __init__(self, name: str, field: FieldInfo, parent: QWidget) -> None:
        self.name, self.field = name, field
        annotation = field.annotation
        self.kind: str
        if typing.get_origin(annotation) is typing.Literal:
            self.kind = "choice"
            self.widget = QComboBox(parent)
            for choice in typing.get_args(annotation):
                self.widget.addItem(translate(CHOICE_LABELS.get(choice, choice)), choice)
        elif annotation is bool:
            self.kind, self.widget = "bool", QCheckBox(parent)
        elif annotation is int:
            self.kind, self.widget = "int", QSpinBox(parent)
            low, high = _bounds(field)
            self.widget.setRange(int(low if low is not None else -2**31), int(high if high is not None else 2**31 - 1))
        elif annotation is float:
            self.kind, self.widget = "float", QDoubleSpinBox(parent)
            low, high = _bounds(field)
            self.widget.setRange(low if low is not None else -1e9, high if high is not None else 1e9)
            self.widget.setDecimals(2)
            self.widget.setSingleStep(0.05)
        elif name.startswith("prompt_"):
            self.kind, self.widget = "text", QPlainTextEdit(parent)
            self.widget.setMinimumHeight(110)
            default_file = paths.ASSETS_DIR / "prompts" / PROMPT_FILES.get(name, "")
            if default_file.is_file():
                self.widget.setPlaceholderText(default_file.read_text(encoding="utf-8"))
        elif name.endswith(("_path", "_folder")):
            self.kind = "path"
            self.widget = QWidget(parent)
            self.line = QLineEdit(self.widget)
            self.line.setPlaceholderText(translate("(built-in default)"))
            browse = QPushButton(translate("Browse…"), self.widget)
            browse.clicked.connect(self._browse)
            row = QHBoxLayout(self.widget)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(self.line, 1)
            row.addWidget(browse)
        else:
            self.kind, self.widget = "str", QLineEdit(parent)
            if name == "token" or name.endswith("_token"):  # a secret: not shown to whoever looks at the screen
                self.widget.setEchoMode(QLineEdit.EchoMode.Password)
        self.widget.setObjectName(name)
        if field.description:
            self.widget.setToolTip(translate(field.description))

    @property
    def wants_folder(self) -> bool:
        return self.name.endswith("_folder") or "folder" in (self.field.title or "").lower()

    def _browse(self) -> None:
        title = translate(self.field.title or self.name)
        start = self.line.text() or str(Path.home())
        if self.wants_folder:
            chosen = QFileDialog.getExistingDirectory(self.widget, title, start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self.widget, title, start)
        if chosen:
            self.line.setText(chosen)

    def value(self) -> Any:
        if self.kind == "choice":
            return self.widget.currentData()
        if self.kind == "bool":
            return self.widget.isChecked()
        if self.kind in ("int", "float"):
            return self.widget.value()
        if self.kind == "text":
            return self.widget.toPlainText()
        if self.kind == "path":
            return self.line.text().strip()
        return self.widget.text()

    def set_value(self, value: Any) -> None:
        if self.kind == "choice":
            self.widget.setCurrentIndex(max(0, self.widget.findData(value)))
        elif self.kind == "bool":
            self.widget.setChecked(bool(value))
        elif self.kind in ("int", "float"):
            self.widget.setValue(value)
        elif self.kind == "text":
            self.widget.setPlainText(value)
        elif self.kind == "path":
            self.line.setText(value)
        else:
            self.widget.setText(value)


class SettingsDialog(QDialog):
    saved = Signal(object, object)  # old Settings, new Settings

    def __init__(self, settings: Settings, parent: QWidget | None = None, path: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.settings, self.path = settings, path
        self.editors: dict[tuple[str, str], FieldEditor] = {}
        self.tabs = QTabWidget()
        for group_name, group_field in Settings.model_fields.items():
            group_cls = group_field.annotation
            page = QWidget()
            form = QFormLayout(page)
            doc = (group_cls.__doc__ or "").strip().splitlines()[0] if group_cls.__doc__ else ""
            if doc:
                intro = QLabel(translate(doc))
                intro.setWordWrap(True)
                form.addRow(intro)
            for name, field in group_cls.model_fields.items():
                editor = FieldEditor(name, field, page)
                self.editors[(group_name, name)] = editor
                label = QLabel(translate(field.title or name))
                label.setToolTip(editor.widget.toolTip())
                form.addRow(label, editor.widget)
            self.tabs.addTab(page, translate(GROUP_TITLES.get(group_name, group_name.title())))
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(lambda: self.load(Settings()))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(720, 560)
        self.load(settings)

    def load(self, settings: Settings) -> None:
        for (group, name), editor in self.editors.items():
            editor.set_value(getattr(getattr(settings, group), name))

    def values(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = {}
        for (group, name), editor in self.editors.items():
            data.setdefault(group, {})[name] = editor.value()
        return data

    def save(self) -> None:
        """Validate, write settings.toml, emit `saved(old, new)` and close; a bad value keeps it open."""
        try:
            new = Settings.model_validate(self.values())
        except ValidationError as exc:
            first = exc.errors()[0]
            self.error.setText(self.tr("%1: %2").replace("%1", ".".join(map(str, first["loc"])))
                               .replace("%2", first["msg"]))
            self.error.show()
            return
        try:
            new.save(self.path)
        except OSError as exc:
            self.error.setText(self.tr("Cannot save settings: %1").replace("%1", str(exc)))
            self.error.show()
            return
        old, self.settings = self.settings, new
        self.saved.emit(old, new)
        self.accept()
