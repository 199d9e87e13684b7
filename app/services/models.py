"""The models page's logic: find GGUF files and say what their metadata holds, without loading them.

Headers are read by `app.llm.gguf` in milliseconds even for a 40 GB file, so the page can list a
whole folder while the model itself stays unloaded.

The two built-in models (`app.llm.builtin`) are listed apart from the user's files.  Nothing here
prepares them: the default one is joined from 22 package parts (about 1 GB written) on first use
by the chat model, so this module only asks whether it is ready, could be joined, or has parts
missing.  A LoRA adapter (settings: model.lora_path) is shown with its header, checked against
the chat model's (`app.llm.gguf.read_lora`, which the chat model also runs before loading).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app import paths
from app.errors import ModelError
from app.llm import builtin
# Header reading lives with the model code (app.llm.gguf); the page's callers reach it through here.
from app.llm.gguf import GGUFInfo, LoraInfo, read_gguf, read_lora, read_tensor_shapes  # noqa: F401
from app.settings import Settings

# -- built-in models ---------------------------------------------------------------------------

READY, NEEDS_JOIN, MISSING = "ready", "needs_join", "missing"


@dataclass(frozen=True)
class BuiltinEntry:
    """One built-in model as the models page shows it; `info` is its header once the file exists."""

    key: str
    title: str
    languages: tuple[str, ...]  # ISO codes: "zh", "en"
    size_bytes: int  # the file's size when it exists, else the expected size
    speed_note: str
    state: str  # READY, NEEDS_JOIN (parts installed, joined on first use) or MISSING
    path: Path | None = None  # the file, when it exists now
    error: str = ""  # for MISSING: which package to reinstall
    info: GGUFInfo | None = None


def builtin_models() -> list[BuiltinEntry]:
    """Both built-in models with their state; never joins the parts model (that writes ~1 GB)."""
    entries = []
    for key, m in builtin.MODELS.items():
        path, error = None, ""
        if m.package:
            try:
                path = builtin.ensure(key)  # a file inside a wheel: ensure() only finds it, never writes
                state = READY
            except ModelError as exc:
                state, error = MISSING, str(exc)
        elif builtin.is_ready(key):
            state, path = READY, builtin.joined_path(key)
        elif builtin.parts_installed(key):
            state = NEEDS_JOIN
        else:
            state, error = MISSING, _parts_error(key)
        info = None
        if path is not None:
            try:
                info = read_gguf(path)
            except ModelError as exc:
                state, error = MISSING, str(exc)
        entries.append(BuiltinEntry(key=key, title=m.title, languages=m.languages,
                                    size_bytes=info.size_bytes if info else m.approx_bytes, speed_note=m.speed_note,
                                    state=state, path=path if info else None, error=error, info=info))
    return entries


def _parts_error(key: str) -> str:
    # builtin.parts_installed() answers yes/no; the reason (which part, which pin) comes from the
    # same check, so the page can tell the user exactly what to reinstall.
    bundled = builtin.bundled_file(key)
    if bundled is not None:
        return (f"The built-in model {builtin.info(key).title} is missing from LocalKB's folder ({bundled}): "
                "unpack the LocalKB archive again.")
    try:
        builtin._part_files(builtin.info(key))
    except ModelError as exc:
        return str(exc)
    return f"The built-in model {builtin.info(key).title} cannot be prepared."


def current_builtin(settings: Settings) -> str | None:
    """The key of the built-in model in use, or None when the chat model is a file of the user's."""
    if not settings.model.model_path:
        return settings.model.builtin
    return builtin.key_for_path(Path(settings.model.model_path).expanduser())


def current_model_path(settings: Settings) -> Path | None:
    """The chat model's file; never prepares a built-in model.

    For the default built-in this is where it is joined, whether or not that has happened yet
    (the chat model joins it on first use), so callers get a stable name to show; check
    `.is_file()` before reading it.  None only when the fast built-in's package is missing.
    """
    if settings.model.model_path:
        return Path(settings.model.model_path).expanduser()
    key = settings.model.builtin
    if builtin.info(key).package:
        try:
            return builtin.ensure(key)  # finds the file inside the wheel; writes nothing
        except ModelError:
            return None
    return builtin.joined_path(key)


def models_folder(settings: Settings) -> Path:
    return Path(settings.model.models_folder).expanduser() if settings.model.models_folder else paths.models_dir()


def scan_models(folder: str | Path) -> list[GGUFInfo]:
    """Every .gguf under `folder` (recursively) except the built-in models; unreadable files carry `error`.

    The built-ins are listed by `builtin_models()`: the default folder holds the joined default
    model under builtin/, and listing it twice would show one model as two choices.
    """
    found: list[Path] = []
    folder = Path(folder).expanduser()
    if folder.is_dir():
        found = sorted(p for p in folder.rglob("*")
                       if p.suffix.lower() == ".gguf" and p.is_file() and builtin.key_for_path(p) is None)
    infos = []
    for path in found:
        try:
            infos.append(read_gguf(path))
        except ModelError as exc:
            size = path.stat().st_size if path.exists() else 0
            infos.append(GGUFInfo(path=path, size_bytes=size, name=path.stem, error=str(exc)))
    return infos




def choose_model(settings: Settings, choice: str | Path) -> Settings:
    """Settings using `choice` as the chat model; save is the caller's.

    `choice` is a built-in key (a str in `builtin.MODELS`: model_path becomes "" and
    model.builtin that key) or a GGUF file, checked to read as one first.  A file that is a
    built-in model (the wheel's SmolLM2, the joined Qwen) is recorded as that built-in, so the
    setting survives reinstalls that move the file.
    """
    updated = settings.model_copy(deep=True)
    key = choice if isinstance(choice, str) and choice in builtin.MODELS else None
    if key is None:
        info = read_gguf(choice)
        key = builtin.key_for_path(info.path)
        if key is None:
            updated.model.model_path = str(info.path)
            return updated
    updated.model.model_path = ""
    updated.model.builtin = key
    return updated


def lora_info(settings: Settings) -> LoraInfo | None:
    """The adapter in `settings.model.lora_path`, checked against the chat model when its file exists; None if unset.

    A default built-in model not joined yet is not prepared for this: the adapter's own header
    is still checked, and its fit is checked when the model loads.
    """
    if not settings.model.lora_path:
        return None
    base = current_model_path(settings)
    try:
        return read_lora(settings.model.lora_path, base if base is not None and base.is_file() else None)
    except ModelError as exc:
        return LoraInfo(path=Path(settings.model.lora_path).expanduser(), error=str(exc))


def choose_lora(settings: Settings, path: str | Path | None) -> Settings:
    """Settings with `path` as the LoRA adapter (None or "" clears it), after `read_lora` accepts it."""
    updated = settings.model_copy(deep=True)
    if not path:
        updated.model.lora_path = ""
        return updated
    base = current_model_path(settings)
    info = read_lora(path, base if base is not None and base.is_file() else None)
    updated.model.lora_path = str(info.path)
    return updated


# -- the page as a whole ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelsListing:
    """What the models page shows: the built-in models, the GGUF files of a folder, the LoRA adapter."""

    builtins: list[BuiltinEntry]
    files: list[GGUFInfo]
    lora: LoraInfo | None = None


def list_models(folder: str | Path, settings: Settings | None = None) -> ModelsListing:
    """Everything the models page shows, read in one go (it runs on a worker: file headers, a slow disk)."""
    return ModelsListing(builtin_models(), scan_models(folder), lora_info(settings) if settings is not None else None)


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
