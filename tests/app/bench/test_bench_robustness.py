"""`localkb bench robustness DIR`: the real pipeline on a folder, with per-file outcome, time and memory."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from app.bench.robustness import budget_hit, printable_path, reason_kind, run_sweep
from app.cli import run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ingest"))
import hostile_files  # noqa: E402  (tests/ingest/hostile_files.py)


def hang_on_purpose(path, ocr, max_pages, timeout_s):
    """A reader that never finishes on one file, measured like the real one; runs in the parser process."""
    import os
    import time

    from app.bench.robustness import STATS_ENV, _record, _reset_peak_rss, measured_parse

    if path.endswith("stuck.txt"):
        _reset_peak_rss()
        _record(os.environ[STATS_ENV], {"event": "start", "path": path, "t": time.time()})
        ballast = b"x" * (80 << 20)  # memory in use when the budget kills it
        time.sleep(600)
        del ballast
    return measured_parse(path, ocr, max_pages, timeout_s)


def hungry_parse(path, ocr, max_pages, timeout_s):
    """A text reader that wants more memory than a parser process is allowed; runs in the parser process."""
    import ingest.loaders.text as text
    from app.bench.robustness import measured_parse
    from ingest.parse_worker import MEMORY_CAP_BYTES

    if path.endswith("hungry.txt"):
        def greedy(p, options):
            bytearray(MEMORY_CAP_BYTES + (1 << 30))  # fails only because of the cap: the box has room
            raise AssertionError("the memory cap is not applied to parser processes")
        original, text.load_text = text.load_text, greedy
        try:
            return measured_parse(path, ocr, max_pages, timeout_s)
        finally:
            text.load_text = original
    return measured_parse(path, ocr, max_pages, timeout_s)


def test_sweep_names_a_file_that_hit_the_memory_cap_and_goes_on(tmp_path, embedder, monkeypatch):
    import app.bench.robustness as robustness

    (tmp_path / "hungry.txt").write_text("This file's reader wants more memory than allowed.")
    (tmp_path / "later.txt").write_text("The archive room is on the second floor.")
    monkeypatch.setattr(robustness, "measured_parse", hungry_parse)
    result = run_sweep(tmp_path, embedder=embedder, ocr=False)
    rows = {r["path"]: r for r in result["details"]}
    assert rows["hungry.txt"]["state"] == "failed" and rows["hungry.txt"]["budget"] == "memory", rows["hungry.txt"]
    assert "more memory" in rows["hungry.txt"]["reason"]
    assert rows["later.txt"]["state"] == "ok"
    assert [r["path"] for r in result["budget_hits"]] == ["hungry.txt"]


def test_sweep_reports_every_file_with_its_outcome_time_and_memory(tmp_path, embedder, shared_data, localkb_home):
    office = shared_data / "docs" / "office-example-docs"
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("fake-text.txt", "simple.docx", "stanley-cups.xlsx", "simple.zip", "empty.txt",
                 "CantinaBand3.wav", "password_protected.xlsx"):
        shutil.copy(office / name, folder / name)
    hostile_files.zip_bomb(folder / "bomb.docx", "docx", inflated_mb=100)
    hostile_files.huge_text(folder / "big.txt", size_mb=40, lines=5)  # over the 32 MiB text limit: a cap warning

    result = run_sweep(folder, embedder=embedder, ocr=False)

    assert result["files_found"] == result["files"] == 9
    assert result["ok"] == 5 and result["failed"] == 4 and result["members_indexed"] >= 1
    rows = {r["path"]: r for r in result["details"]}
    assert all(r["state"] == "ok" or (r["reason"] and "\n" not in r["reason"]) for r in rows.values())
    # Every file read in a parser process has its own time and an exact peak (the mark is reset per file).
    for name in ("fake-text.txt", "simple.docx", "stanley-cups.xlsx", "bomb.docx", "big.txt"):
        assert rows[name]["seconds"] is not None and rows[name]["peak_mb"] > 10 and rows[name]["peak_exact"], rows[name]
    # Reading 40 MB of text costs more memory than a 60-byte text file: per-file peaks, not the worker's.
    assert rows["big.txt"]["peak_mb"] > rows["fake-text.txt"]["peak_mb"] + 20
    assert rows["big.txt"]["budget"] == "cap"
    assert result["outcomes"]["ok"] == 5 and result["outcomes"]["failed: unsupported file type .wav"] == 1
    assert any(k.startswith("failed: corrupt DOCX: looks like a zip bomb") for k in result["outcomes"])
    assert result["files_per_s"] > 0 and result["peak_rss_mb"]["this_process"] > 100
    assert result["slowest"][0]["seconds"] == max(r["seconds"] for r in rows.values() if r["seconds"] is not None)
    assert result["kb_consistency_problems"] == [] and result["multi_line_reasons"] == []
    assert not (localkb_home / "kbs").exists()  # a throw-away home, never the user's


def test_sweep_names_a_file_killed_by_the_time_budget(tmp_path, embedder, monkeypatch):
    import app.bench.robustness as robustness

    (tmp_path / "fine.txt").write_text("The library lends laptops for a week.")
    (tmp_path / "stuck.txt").write_text("This file's reader never returns.")
    monkeypatch.setattr(robustness, "measured_parse", hang_on_purpose)
    result = run_sweep(tmp_path, embedder=embedder, timeout_s=5, ocr=False)
    rows = {r["path"]: r for r in result["details"]}
    assert rows["fine.txt"]["state"] == "ok"
    stuck = rows["stuck.txt"]
    assert stuck["state"] == "failed" and stuck["budget"] == "time" and stuck["seconds"] == 5
    assert stuck["peak_mb"] > 80 and not stuck["peak_exact"]  # sampled while it ran: a lower bound
    assert [r["path"] for r in result["budget_hits"]] == ["stuck.txt"]
    assert result["seconds"] < 60


def test_reason_kinds_and_budget_names():
    assert reason_kind("file is 500 MB, over the 200 MB limit (settings: ingest.max_file_mb)") == \
        "file is N MB, over the N MB limit (settings: ingest.max_file_mb)"
    assert reason_kind("not valid UTF-8") == "not valid UTF-8"
    assert budget_hit("failed", "reading took longer than 300 s (settings: ingest.file_timeout_s)") == "time"
    assert budget_hit("failed", "needs more memory than a single file is allowed") == "memory"
    assert budget_hit("failed", "file is 500 MB, over the 200 MB limit") == "size"
    assert budget_hit("failed", "the reader crashed on this file (exit code -11); it may be damaged") == "crash"
    assert budget_hit("ok", "") == ""
    assert printable_path("two\nlines 中文.txt") == "two\\nlines 中文.txt"
    assert printable_path("caf\udce9.txt") == "caf\\xe9.txt"  # a name that is not UTF-8, on one printable line


def test_cli_prints_json_or_a_report(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("Visitors sign in at the front desk.")
    assert run(["bench", "robustness", str(tmp_path), "--no-ocr", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files"] == out["ok"] == 1 and out["details"][0]["path"] == "a.txt"
    assert run(["bench", "robustness", str(tmp_path), "--no-ocr"]) == 0
    text = capsys.readouterr().out
    assert "files/s" in text and "slowest files" in text and "a.txt" in text


@pytest.mark.slow
def test_sweep_of_the_shared_documents_gives_every_file_an_outcome(shared_data, embedder):
    """The whole shared corpus (351 files, OCR on): ~15 minutes on a shared 2-core box."""
    result = run_sweep(shared_data / "docs", embedder=embedder, timeout_s=300)
    assert result["files"] == result["files_found"] > 300
    assert result["ok"] > 250
    assert result["multi_line_reasons"] == [] and result["kb_consistency_problems"] == []
    assert all(r["state"] == "ok" or r["reason"] for r in result["details"])
