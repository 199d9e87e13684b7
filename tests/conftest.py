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


@pytest.fixture(autouse=True)
def localkb_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("localkb_home")
    monkeypatch.setenv("LOCALKB_HOME", str(home))
    return home


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
