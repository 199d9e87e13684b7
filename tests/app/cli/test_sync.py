"""`localkb watch` and `localkb sync` through the real entry point: output, --json, exit codes."""

import json
import os

from app.cli import run


def test_watch_then_sync_applies_moves_changes_and_deletions(capsys, tmp_path, embedder, monkeypatch):
    monkeypatch.setattr("app.services.library.Embedder", lambda *a, **k: embedder)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha document about invoices.")
    (folder / "b.txt").write_text("Beta document about holidays.")
    (folder / "~$a.docx").write_text("lock file")
    assert run(["watch", "--kb", "team", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["folder"] for f in out["folders"]] == [str(folder)] and out["ok"] == 2

    os.rename(folder / "a.txt", folder / "renamed.txt")
    (folder / "b.txt").unlink()
    (folder / "c.txt").write_text("Gamma document about parking.")
    assert run(["sync", "--kb", "team", "--json"]) == 0
    states = {f["path"].rsplit("/", 1)[1]: f["state"] for f in json.loads(capsys.readouterr().out)["files"]}
    assert states == {"renamed.txt": "moved", "c.txt": "ok", "b.txt": "removed"}

    assert run(["sync", "--kb", "team"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "0 ok, 0 moved, 0 removed" in captured.err

    assert run(["watch", "--kb", "team"]) == 0
    assert capsys.readouterr().out.strip() == f"following\t{folder}"
    assert run(["watch", "--kb", "team", "--stop", str(folder)]) == 0
    capsys.readouterr()
    assert run(["sync", "--kb", "team"]) == 2
    assert "follows no folders" in capsys.readouterr().err


def test_watch_refuses_a_file(capsys, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    assert run(["watch", "--kb", "team", str(tmp_path / "a.txt")]) == 2
    assert "not a folder" in capsys.readouterr().err
