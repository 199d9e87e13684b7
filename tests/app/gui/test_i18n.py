"""Chinese interface: the compiled translations load and cover the window and the generated settings."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import QCoreApplication

from app import paths
from app.gui import install_translators
from app.gui import schema_strings

TS = paths.ASSETS_DIR / "i18n" / "localkb_zh_CN.ts"


def test_schema_strings_are_in_sync_with_the_settings_schema():
    assert schema_strings.STRINGS == schema_strings.schema_strings(), \
        "run: python -m app.gui.schema_strings > app/gui/schema_strings.py, then lupdate/lrelease"


def test_every_source_string_is_translated():
    root = ET.parse(TS).getroot()
    unfinished = [m.find("source").text for m in root.iter("message")
                  if m.find("translation").get("type") == "unfinished"]
    assert unfinished == []


@pytest.fixture
def chinese(qapp):
    translators = install_translators(qapp, "zh_CN")
    yield translators
    for t in translators:
        qapp.removeTranslator(t)


def test_chinese_translations_apply_to_widgets_and_settings(qtbot, chinese):
    assert chinese, "localkb_zh_CN.qm did not load"
    from app.gui.settings_dialog import SettingsDialog
    from app.settings import Settings

    assert QCoreApplication.translate("ChatView", "Ask") == "提问"
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "设置"
    assert dialog.tabs.tabText(0) == "模型"
    assert "token 数" in dialog.editors[("model", "n_ctx")].widget.toolTip()


def test_no_translatable_text_hides_in_fstrings():
    # lupdate cannot see self.tr() inside an f-string; such text would stay English forever.
    result = subprocess.run([sys.executable, "-c", (
        "import pathlib, re; bad=[f'{p}:{i}' for p in pathlib.Path('app/gui').glob('*.py') "
        "for i, l in enumerate(p.read_text().splitlines(), 1) if re.search(r'f[\"\\'].*\\{self\\.tr\\(', l)]; "
        "print(bad); raise SystemExit(1 if bad else 0)")], capture_output=True, text=True,
        cwd=paths.ASSETS_DIR.parent)
    assert result.returncode == 0, result.stdout


def test_english_plurals(qapp):
    translators = install_translators(qapp, "en")
    try:
        assert QCoreApplication.translate("LibraryView", "%n document(s)", "", 1) == "1 document"
        assert QCoreApplication.translate("LibraryView", "%n document(s)", "", 3) == "3 documents"
    finally:
        for t in translators:
            qapp.removeTranslator(t)
