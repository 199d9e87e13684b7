"""Paths into the shared sample documents used by the loader tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def docs(shared_data: Path) -> Path:
    path = shared_data / "docs"
    if not path.is_dir():
        pytest.fail(f"shared documents not found at {path}")
    return path


@pytest.fixture(scope="session")
def office(docs: Path) -> Path:
    return docs / "office-example-docs"


@pytest.fixture(scope="session")
def pdf_samples(docs: Path) -> Path:
    return docs / "pdf-sample-files"


@pytest.fixture(scope="session")
def pdf_catalog(pdf_samples: Path) -> dict[str, dict]:
    """files.json of py-pdf/sample-files: known page counts and encryption, by relative path."""
    return {entry["path"]: entry for entry in json.loads((pdf_samples / "files.json").read_text())["data"]}
