"""Entry points: what the desktop hands `localkb --gui` / `localkb-gui` reaches the window."""

from __future__ import annotations

import app.gui
from app.__main__ import gui_main


def test_files_from_the_desktop_are_opened_in_the_window_and_unknown_arguments_are_not(tmp_path, monkeypatch):
    doc = tmp_path / "报告 2024.pdf"
    doc.write_bytes(b"%PDF-1.4")
    folder = tmp_path / "folder"
    folder.mkdir()
    seen = {}
    monkeypatch.setattr(app.gui, "launch", lambda argv, screenshot=None, open_paths=None: seen.update(
        argv=argv, open_paths=open_paths) or 0)
    assert gui_main([str(doc), "--no-such-flag", str(tmp_path / "gone.txt"), str(folder)]) == 0
    assert seen == {"argv": [], "open_paths": [str(doc), str(folder)]}
