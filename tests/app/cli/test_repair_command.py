"""`localkb repair` and what the other commands say about a damaged KB: one line, never a traceback."""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from pathlib import Path

from app.cli import run
from app.paths import kb_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ingest"))
from kb_damage import HashEmbedder, cut_vector_file  # noqa: E402  (tests/ingest/kb_damage.py)


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


def test_a_cut_short_vector_index_is_listed_as_damaged_and_re_embedded_by_repair(capsys, tmp_path, monkeypatch):
    """Past 1,000 passages Chroma searches its index files; one cut short is named by `list` and
    rebuilt by `repair` from the catalogue's own texts, every document kept."""
    monkeypatch.setattr("app.services.library.Embedder", lambda *a, **k: HashEmbedder())
    rng = random.Random(0)
    for i in range(60):
        (tmp_path / f"doc{i:02d}.txt").write_text("\n\n".join(
            f"Document {i} part {p}. " + " ".join(f"w{rng.randrange(3000)}" for _ in range(45)) for p in range(40)))
    assert run(["ingest", str(tmp_path), "--kb", "work"]) == 0
    capsys.readouterr()
    assert run(["list"]) == 0
    sound = capsys.readouterr().out
    chunks = int(sound.split("\t")[2].split()[0])
    assert sound.startswith("work\t60 documents\t") and chunks > 1000  # past Chroma's in-memory threshold
    cut_vector_file(kb_dir("work"))

    assert run(["list"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("work\tdamaged\tKnowledge base 'work' is damaged: its vector index file data_level0.bin "
                           "is cut short (1000 bytes of ")
    assert line.endswith("localkb repair --kb work") and "documents" not in line

    assert run(["repair", "--kb", "work"]) == 0
    out = capsys.readouterr().out
    assert "found: vector index file data_level0.bin is cut short" in out
    assert f"done: embedded the catalogue's {chunks} passages again into a new vector store" in out
    assert run(["list"]) == 0
    assert capsys.readouterr().out == sound
