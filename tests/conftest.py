"""Shared fixtures: an isolated LOCALKB_HOME for every test, the shared data, one loaded embedder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def builtin_models_dir(tmp_path_factory) -> Path:
    """One folder per test session for joined built-in models: the 1.1 GB default model is joined
    at most once per run, not once per test home."""
    return tmp_path_factory.mktemp("builtin_models")


@pytest.fixture(autouse=True)
def localkb_home(tmp_path_factory, monkeypatch, builtin_models_dir) -> Path:
    home = tmp_path_factory.mktemp("localkb_home")
    monkeypatch.setenv("LOCALKB_HOME", str(home))
    monkeypatch.setenv("LOCALKB_MODELS_DIR", str(builtin_models_dir))
    return home


@pytest.fixture
def fast_settings():
    """Default settings with the fast built-in model (SmolLM2-135M), for tests that need any model."""
    from app.settings import Settings

    settings = Settings()
    settings.model.builtin = "smollm2-135m"
    return settings


@pytest.fixture(scope="session")
def shared_data() -> Path:
    # Fail, never skip: a CI run without the data must not pass by testing nothing.
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder():
    from ingest.embedder import Embedder

    return Embedder()


@pytest.fixture
def library(embedder):
    from app.services.library import LibraryService
    from app.settings import Settings

    service = LibraryService(Settings(), embedder=embedder)
    yield service
    service.close()
