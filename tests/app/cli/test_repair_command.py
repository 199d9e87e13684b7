"""`localkb repair` and what the other commands say about a damaged KB: one line, never a traceback."""

from __future__ import annotations

import json
import os
import shutil

from app.cli import run
from app.paths import kb_dir


def test_a_damaged_kb_is_named_by_list_and_repaired_by_repair(capsys, tmp_path, embedder, monkeypatch):
    monkeypatch.setattr("app.services.library.Embedder", lambda *a, **k: embedder)
    for i, topic in enumerate(["invoices", "holidays", "laptops"]):
        (tmp_path / f"{topic}.txt").write_text(f"Document {i} is about {topic}. " * 40)
    assert run(["ingest", str(tmp_path), "--kb", "work"]) == 0
    capsys.readouterr()
    catalogue = kb_dir("work") / "catalog.sqlite3"
    os.truncate(catalogue, catalogue.stat().st_size // 2)

    assert run(["list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("work\tdamaged\tKnowledge base 'work' is damaged: its catalogue catalog.sqlite3 is cut short")
    assert out.rstrip().endswith("localkb repair --kb work")

    assert run(["search", "invoices", "--kb", "work"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("localkb: Knowledge base 'work' is damaged") and err.count("\n") == 1

    assert run(["repair", "--kb", "work"]) == 0
    captured = capsys.readouterr()
    assert "found: the catalogue" in captured.out
    assert "done: set the catalogue and vectors aside and read 3 files again" in captured.out
    assert "The damaged files were kept in " in captured.out and "Traceback" not in captured.err

    assert run(["repair", "--kb", "work", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["problems"] == [] and again["remaining"] == []
    assert run(["list", "--kb", "work", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)["documents"]
    assert sorted((d["status"], d["chunks"] > 0) for d in docs) == [("indexed", True)] * 3


def test_repair_of_a_deleted_vector_folder(capsys, tmp_path, embedder, monkeypatch):
    monkeypatch.setattr("app.services.library.Embedder", lambda *a, **k: embedder)
    (tmp_path / "a.txt").write_text("Alpha document about invoices. " * 30)
    assert run(["ingest", str(tmp_path), "--kb", "work"]) == 0
    shutil.rmtree(kb_dir("work") / "chroma")
    capsys.readouterr()
    assert run(["repair", "--kb", "work", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == ["the vector store (the chroma folder) is missing"]
    assert report["files"] == [] and report["remaining"] == []


def test_repair_of_an_unknown_kb_is_a_one_line_error(capsys):
    assert run(["repair", "--kb", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("localkb: No knowledge base named 'nope'") and err.count("\n") == 1
