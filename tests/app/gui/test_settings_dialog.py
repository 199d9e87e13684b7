"""The generated settings dialog: every schema field has an editor, and Save round-trips through the file."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QPlainTextEdit, QSpinBox

from app import paths
from app.gui.settings_dialog import SettingsDialog
from app.settings import Settings


def test_every_field_gets_the_right_editor(qtbot):
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    expected = {(g, n) for g, f in Settings.model_fields.items() for n in f.annotation.model_fields}
    assert set(dialog.editors) == expected
    assert isinstance(dialog.editors[("model", "chat_template")].widget, QComboBox)
    assert isinstance(dialog.editors[("ingest", "ocr")].widget, QCheckBox)
    assert isinstance(dialog.editors[("answer", "prompt_en")].widget, QPlainTextEdit)
    spin = dialog.editors[("model", "n_ctx")].widget
    assert isinstance(spin, QSpinBox) and (spin.minimum(), spin.maximum()) == (512, 131072)
    temp = dialog.editors[("model", "temperature")].widget
    assert isinstance(temp, QDoubleSpinBox) and temp.maximum() == 2.0
    assert dialog.editors[("model", "n_ctx")].widget.toolTip().startswith("Tokens the model sees")
    assert dialog.editors[("embedding", "embedder_path")].kind == "path"
    assert dialog.editors[("embedding", "embedder_path")].wants_folder
    assert not dialog.editors[("model", "lora_path")].wants_folder
    languages = dialog.editors[("ui", "language")].widget
    assert [languages.itemData(i) for i in range(languages.count())] == ["system", "en", "zh_CN"]


def test_save_round_trips_through_the_settings_file(qtbot):
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    ed = dialog.editors
    ed[("model", "n_ctx")].set_value(8192)
    ed[("model", "temperature")].set_value(0.7)
    ed[("model", "chat_template")].widget.setCurrentIndex(ed[("model", "chat_template")].widget.findData("chatml"))
    ed[("model", "lora_path")].line.setText("/models/adapter.gguf")
    ed[("ingest", "ocr")].widget.setChecked(False)
    ed[("retrieval", "top_k")].widget.setValue(8)
    ed[("answer", "prompt_zh")].widget.setPlainText("请根据资料回答：\n{context}\n问题：{question}")
    ed[("ui", "language")].widget.setCurrentIndex(2)
    with qtbot.waitSignal(dialog.saved) as saved:
        dialog.save()
    old, new = saved.args
    assert old == Settings()
    reloaded = Settings.load(paths.settings_file())
    assert reloaded == new
    assert reloaded.model.n_ctx == 8192 and reloaded.model.temperature == 0.7
    assert reloaded.model.chat_template == "chatml" and reloaded.model.lora_path == "/models/adapter.gguf"
    assert reloaded.ingest.ocr is False and reloaded.retrieval.top_k == 8
    assert reloaded.answer.prompt_zh.startswith("请根据资料回答")
    assert reloaded.ui.language == "zh_CN"
    # Reopening the dialog shows the saved values.
    again = SettingsDialog(reloaded)
    qtbot.addWidget(again)
    assert again.values() == reloaded.model_dump()


def test_invalid_value_keeps_the_dialog_open_with_the_key(qtbot, monkeypatch):
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    monkeypatch.setattr(dialog.editors[("ingest", "chunk_overlap")], "value", lambda: "lots")
    dialog.save()
    assert not dialog.error.isHidden()
    assert "ingest.chunk_overlap" in dialog.error.text()
    assert not paths.settings_file().exists()


def test_sharing_tab_hides_the_token_and_browses_for_the_ca_file(qtbot):
    from PySide6.QtWidgets import QLineEdit

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    token = dialog.editors[("store", "token")]
    assert token.widget.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.editors[("store", "tls_ca_path")].kind == "path"
    assert dialog.editors[("store", "backend")].widget.itemText(1) == "On a Chroma server"
