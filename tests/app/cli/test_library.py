"""`localkb ingest / list / remove` through the real entry point: output, --json, exit codes."""

import json

from app.cli import run


def test_ingest_list_remove_with_json(capsys, tmp_path, embedder, monkeypatch):
    monkeypatch.setattr("app.services.library.Embedder", lambda *a, **k: embedder)
    (tmp_path / "a.txt").write_text("Alpha document about invoices.")
    (tmp_path / "b.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert run(["ingest", str(tmp_path), "--kb", "work", "--json"]) == 1  # the .wav failed
    out = json.loads(capsys.readouterr().out)
    states = {f["path"].rsplit("/", 1)[1]: f for f in out["files"]}
    assert states["a.txt"]["state"] == "ok" and states["a.txt"]["chunks"] == 1
    assert states["b.wav"]["state"] == "failed" and ".wav" in states["b.wav"]["reason"]

    assert run(["ingest", str(tmp_path / "a.txt"), "--kb", "work"]) == 0
    assert capsys.readouterr().out.startswith("skipped ")

    assert run(["list", "--json"]) == 0
    kbs = json.loads(capsys.readouterr().out)["kbs"]
    assert [(k["name"], k["documents"], k["chunks"]) for k in kbs] == [("work", 1, 1)]

    assert run(["list", "--kb", "work", "--json"]) == 0
    docs = {d["path"].rsplit("/", 1)[1]: d["status"] for d in json.loads(capsys.readouterr().out)["documents"]}
    assert docs == {"a.txt": "indexed", "b.wav": "failed"}

    assert run(["remove", "--kb", "work", str(tmp_path), "--json"]) == 0
    removed = json.loads(capsys.readouterr().out)["files"]
    assert {f["state"] for f in removed} == {"removed"} and len(removed) == 2
    assert run(["remove", "--kb", "work", str(tmp_path / "a.txt")]) == 1


def test_unknown_kb_is_a_one_line_error(capsys):
    assert run(["list", "--kb", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("localkb: No knowledge base named 'nope'") and err.count("\n") == 1


def test_a_file_name_with_a_newline_or_bad_bytes_prints_on_one_line():
    from app.cli.library import format_event
    from ingest.progress import FileEvent

    line = format_event(FileEvent("/docs/two\nlines\udce9.txt", "failed", "cannot read"))
    assert "\n" not in line
    assert line == "failed /docs/two\\nlines\\xe9.txt: cannot read"
