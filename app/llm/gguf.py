"""Reading GGUF headers without loading the model: metadata, tensor shapes, and LoRA adapter checks.

A GGUF file starts with a key/value header (architecture, context length, chat template, file
type) followed by tensor descriptions.  Reading just those takes milliseconds even for a 40 GB
file.  Memory needed is estimated as the weights (the file, memory-mapped) plus an f16 KV cache
for the chosen context plus a small compute reserve; it is a guide for choosing, not a promise.
Written by hand rather than with the `gguf` package's GGUFReader, which maps every tensor and
took 3-7 s on the 135M model here against 0.1-0.4 s for this header-only reader.
"""

from __future__ import annotations

import dataclasses
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import ModelError

GGUF_MAGIC = b"GGUF"

# llama_ftype values as written to general.file_type by llama.cpp's converters and quantizer.
FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
    18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S",
    25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M",
    32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
}

# ggml tensor types, for files whose header lacks general.file_type (old conversions).
TENSOR_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1", 10: "Q2_K",
    11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS",
    18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8",
    25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0",
}

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_COMPUTE_RESERVE = 64 * 1024 * 1024  # scratch buffers llama.cpp allocates whatever the model


@dataclass(frozen=True)
class GGUFInfo:
    """What one GGUF file's header says; `error` is set (and the rest mostly empty) for unreadable files."""

    path: Path
    size_bytes: int
    architecture: str = ""
    name: str = ""
    quantization: str = ""
    context_length: int | None = None
    has_chat_template: bool = False
    parameters: int | None = None
    n_layers: int | None = None
    n_embd_kv: int | None = None  # width of one layer's keys (= values) across KV heads
    error: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def memory_bytes(self, n_ctx: int) -> int:
        """Weights + f16 KV cache for `n_ctx` tokens (capped at the trained context) + compute reserve."""
        if self.context_length:
            n_ctx = min(n_ctx, self.context_length)
        kv = 2 * (self.n_layers or 0) * n_ctx * (self.n_embd_kv or 0) * 2
        return self.size_bytes + kv + _COMPUTE_RESERVE


class _Reader:
    """Little-endian cursor over the memory-mapped header."""

    def __init__(self, buf: mmap.mmap, version: int) -> None:
        self.buf, self.pos, self.version = buf, 0, version

    def scalar(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def count(self) -> int:
        return self.scalar("<I" if self.version == 1 else "<Q")

    def string(self) -> str:
        n = self.count()
        raw = self.buf[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.count()  # not `self.pos += self.count()`: that adds to the position before the length
        self.pos += n

    def value(self, kind: int, keep: bool) -> Any:
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind])
        if kind == _STRING:
            if keep:
                return self.string()
            self.skip_string()
            return None
        if kind == _ARRAY:
            item, n = self.scalar("<I"), self.count()
            if item in _SCALARS and not keep:
                skip = n * struct.calcsize(_SCALARS[item])
                self.pos += skip  # vocabularies hold 100k+ items: skip, don't parse
                return n
            values = [self.value(item, keep) for _ in range(n)]
            return values if keep else n
        raise ValueError(f"unknown GGUF value type {kind}")


def read_gguf(path: str | Path) -> GGUFInfo:
    """Read a GGUF file's header; raises `ModelError` with a readable reason if it is not one."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            if fh.read(4) != GGUF_MAGIC:
                raise ModelError(f"{path.name} is not a GGUF model file (llama.cpp needs .gguf; "
                                 "convert older GGML/safetensors files with llama.cpp's convert script).")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(path, size, buf)
    except ModelError:
        raise
    except (OSError, ValueError, struct.error, UnicodeDecodeError) as exc:
        raise ModelError(f"Cannot read {path.name}: {exc or type(exc).__name__} (the file may be truncated "
                         "or still downloading).") from exc


def _parse(path: Path, size: int, buf: mmap.mmap) -> GGUFInfo:
    version = struct.unpack_from("<I", buf, 4)[0]
    if version not in (1, 2, 3):
        raise ModelError(f"{path.name} is GGUF version {version}, which this app does not know.")
    reader = _Reader(buf, version)
    reader.pos = 8
    n_tensors, n_kv = reader.count(), reader.count()
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = reader.string()
        kind = reader.scalar("<I")
        # Keep scalars and short strings; token lists and merges are only counted.
        keep = not key.startswith("tokenizer.ggml.")
        meta[key] = reader.value(kind, keep)
    arch = str(meta.get("general.architecture", ""))

    parameters, tensor_types = 0, {}
    for _ in range(n_tensors):
        reader.skip_string()
        dims = [reader.count() for _ in range(reader.scalar("<I"))]
        kind = reader.scalar("<I")
        reader.pos += 8  # data offset
        n = 1
        for d in dims:
            n *= d
        parameters += n
        tensor_types[kind] = tensor_types.get(kind, 0) + n

    def arch_int(key: str) -> int | None:
        value = meta.get(f"{arch}.{key}")
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    n_embd, n_head = arch_int("embedding_length"), arch_int("attention.head_count")
    n_head_kv = arch_int("attention.head_count_kv") or n_head
    key_len = arch_int("attention.key_length") or (n_embd // n_head if n_embd and n_head else None)
    n_embd_kv = key_len * n_head_kv if key_len and n_head_kv else None

    return GGUFInfo(
        path=path,
        size_bytes=size,
        architecture=arch,
        name=str(meta.get("general.name", "")) or path.stem,
        quantization=_quantization(meta, tensor_types),
        context_length=arch_int("context_length"),
        has_chat_template=bool(meta.get("tokenizer.chat_template")),
        parameters=parameters or None,
        n_layers=arch_int("block_count"),
        n_embd_kv=n_embd_kv,
        metadata=meta,
    )


def _quantization(meta: dict[str, Any], tensor_types: dict[int, int]) -> str:
    file_type = meta.get("general.file_type")
    if isinstance(file_type, int) and file_type in FILE_TYPES:
        return FILE_TYPES[file_type]
    if tensor_types:  # the type holding most weights names the quantization
        kind = max(tensor_types, key=tensor_types.__getitem__)
        return TENSOR_TYPES.get(kind, f"type {kind}")
    return "unknown"


def read_tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> dimensions in ggml order (ne: the row length first), from the header only."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            if fh.read(4) != GGUF_MAGIC:
                raise ModelError(f"{path.name} is not a GGUF file.")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                reader = _Reader(buf, struct.unpack_from("<I", buf, 4)[0])
                reader.pos = 8
                n_tensors, n_kv = reader.count(), reader.count()
                for _ in range(n_kv):
                    reader.skip_string()
                    reader.value(reader.scalar("<I"), keep=False)
                shapes = {}
                for _ in range(n_tensors):
                    name = reader.string()
                    shapes[name] = tuple(reader.count() for _ in range(reader.scalar("<I")))
                    reader.pos += 4 + 8  # tensor type, data offset
                return shapes
    except ModelError:
        raise
    except (OSError, ValueError, struct.error) as exc:
        raise ModelError(f"Cannot read {path.name}: {exc or type(exc).__name__}.") from exc


# -- LoRA adapter ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoraInfo:
    """A LoRA adapter's header; `error` says why it cannot be used (the rest may then be empty)."""

    path: Path
    architecture: str = ""
    adapter_type: str = ""
    alpha: float | None = None  # llama.cpp scales by alpha / rank; None: no alpha, scale 1
    rank: int | None = None
    n_targets: int = 0  # weight matrices the adapter changes
    base_checked: str = ""  # the model file the tensors were checked against, if any
    error: str = ""


def read_lora(path: str | Path, base_model: str | Path | None = None) -> LoraInfo:
    """Check that `path` is a llama.cpp LoRA adapter (and fits `base_model` when given); raises ModelError.

    The checks are llama.cpp's own (llama-adapter.cpp): general.type "adapter", adapter.type
    "lora", the base model's architecture, and every `<tensor>.lora_a`/`.lora_b` pair naming a
    tensor of the base model with matching shapes.  llama.cpp rejects an adapter failing any of
    them, and llama-cpp-python 0.3.x then carries on with a null adapter that crashes the first
    generation, so they must hold before the adapter is handed over.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"LoRA adapter not found: {path}. Choose an adapter .gguf file or clear model.lora_path.")
    try:
        head = read_gguf(path)
    except ModelError as exc:
        raise ModelError(f"LoRA adapter: {exc}") from exc
    meta = head.metadata
    kind = str(meta.get("general.type", ""))
    if kind != "adapter":
        what = "a model, not an adapter" if kind == "model" else f"general.type '{kind or 'missing'}', not 'adapter'"
        raise ModelError(f"{path.name} is not a LoRA adapter ({what}). Choose an adapter converted with llama.cpp's "
                         "convert_lora_to_gguf.py, or clear model.lora_path.")
    adapter_type = str(meta.get("adapter.type", ""))
    if adapter_type != "lora":
        raise ModelError(f"{path.name} is a '{adapter_type or 'unknown'}' adapter; only LoRA adapters can be applied.")
    alpha = meta.get("adapter.lora.alpha")
    alpha = float(alpha) if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha else None
    shapes = read_tensor_shapes(path)
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for name, dims in shapes.items():
        for suffix in (".lora_a", ".lora_b"):
            if name.endswith(suffix):
                pairs.setdefault(name[:-len(suffix)], {})[suffix[1:]] = dims
    if not pairs:
        raise ModelError(f"{path.name} holds no LoRA tensors (names ending in .lora_a / .lora_b).")
    for name, ab in pairs.items():
        if len(ab) != 2:
            raise ModelError(f"{path.name}: the LoRA pair for '{name}' is missing one half.")
    # lora_a is (n_in, rank) in ggml order; the token embedding's pair is flipped, so skip it here.
    ranks = [ab["lora_a"][1] for name, ab in pairs.items()
             if len(ab["lora_a"]) > 1 and not name.endswith("token_embd.weight")]
    rank = ranks[0] if ranks else None
    info = LoraInfo(path=path, architecture=head.architecture, adapter_type=adapter_type, alpha=alpha, rank=rank,
                    n_targets=len(pairs))
    if base_model is None:
        return info
    base_model = Path(base_model).expanduser()
    base = read_gguf(base_model)
    if base.architecture != head.architecture:
        raise ModelError(f"The LoRA adapter {path.name} was made for a '{head.architecture}' model, but the chat "
                         f"model {base_model.name} is '{base.architecture}'. Choose the adapter's base model.")
    base_shapes = read_tensor_shapes(base_model)
    for name, ab in pairs.items():
        if name not in base_shapes:
            raise ModelError(f"The LoRA adapter {path.name} changes '{name}', which {base_model.name} does not have: "
                             "it was made for another base model.")
        w, a, b = base_shapes[name], ab["lora_a"], ab["lora_b"]
        if len(w) < 2 or len(a) < 2 or len(b) < 2:
            raise ModelError(f"The LoRA adapter {path.name} has a malformed tensor pair for '{name}'.")
        if name.endswith("token_embd.weight"):  # llama.cpp stores this pair flipped (llm_build_inp_embd)
            fits = w[0] == b[1] and w[1] == a[1]
        else:
            fits = w[0] == a[0] and w[1] == b[1] and a[1] == b[0]
        if not fits:
            raise ModelError(f"The LoRA adapter {path.name} does not fit {base_model.name}: '{name}' has other "
                             "dimensions (it was made for another base model, or another size of it).")
    return dataclasses.replace(info, base_checked=str(base_model))
