"""The followed-folders panel: state and last sync shown, actions sent to the services, real sync seen."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.gui import build_window
from app.services.library import FolderInfo, LibraryService
from app.settings import Settings
from tests.app.gui.fakes import FakeChat, FakeLibrary


class FollowingLibrary(FakeLibrary):
    """FakeLibrary plus followed folders, answering with the real FolderInfo."""

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self.followed: dict[str, list[str]] = {}
        self.state = "watching"
        self.rules = "*.tmp\n"
        self.synced = 0
        self.last = time.time()

    def start_watching(self) -> list[str]:
        return sorted(self.followed)

    def folders(self, kb: str) -> list[FolderInfo]:
        return [FolderInfo(f, Path(f).is_dir(), self.state, 3 if self.state == "syncing" else 0, "", self.last)
                for f in self.followed.get(kb, [])]

    def follow(self, kb: str, folders) -> list[FolderInfo]:
        self.followed.setdefault(kb, []).extend(str(f) for f in folders)
        return self.folders(kb)

    def unfollow(self, kb: str, folders) -> list[FolderInfo]:
        self.followed[kb] = [f for f in self.followed.get(kb, []) if f not in folders]
        return self.folders(kb)

    def pause_watching(self, kb: str, paused: bool) -> None:
        self.state = "paused" if paused else "watching"

    def sync(self, kb: str, progress=None, cancel=None):
        self.synced += 1
        self.last = time.time() + self.synced
        return None

    def ignore_rules(self, kb: str) -> str:
        return self.rules

    def set_ignore_rules(self, kb: str, text: str) -> None:
        self.rules = text


@pytest.fixture
def window(qtbot):
    made = {}

    def factory(settings):
        library = FollowingLibrary(settings)
        library.kbs["work"] = {}
        made["library"] = library
        return library, FakeChat(settings, library)

    w = build_window(Settings(), factory)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.library.current_kb() == "work", timeout=10000)
    w.made = made
    yield w
    w.bridge.shutdown()


def test_panel_shows_state_and_last_sync_and_sends_actions(qtbot, window, tmp_path, monkeypatch):
    panel = window.library.folders
    library = window.made["library"]
    panel.follow([str(tmp_path)])
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=10000)
    text = panel.list.item(0).text()
    assert str(tmp_path) in text and "watching" in text and "last sync" in text

    library.state = "syncing"
    panel._poll()
    qtbot.waitUntil(lambda: "syncing 3 file" in panel.list.item(0).text(), timeout=10000)

    library.state = "watching"
    panel.pause_btn.click()
    qtbot.waitUntil(lambda: "paused" in panel.list.item(0).text() and panel.pause_btn.text() == "Resume", timeout=10000)

    panel.sync_btn.click()
    qtbot.waitUntil(lambda: library.synced == 1, timeout=10000)

    monkeypatch.setattr("app.gui.folders_panel.edit_rules", lambda parent, title, text: text + "drafts/\n")
    panel.rules_btn.click()
    qtbot.waitUntil(lambda: library.rules == "*.tmp\ndrafts/\n", timeout=10000)

    panel.list.item(0).setSelected(True)
    panel.stop_btn.click()
    qtbot.waitUntil(lambda: panel.list.count() == 0, timeout=10000)
    assert library.followed["work"] == []


def test_a_refreshed_kb_list_keeps_the_folders_and_documents_on_screen(qtbot, window, tmp_path):
    # Every KB-list refresh (one after each finished sync) re-selects the current KB; that used to
    # blank its folders and documents until their refreshes came back (and raced a test in CI).
    panel = window.library.folders
    (tmp_path / "a.txt").write_text("Harbour dues are paid monthly.")
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.bridge.ingest([str(tmp_path / "a.txt")], "work")
    panel.follow([str(tmp_path)])
    qtbot.waitUntil(lambda: panel.list.count() == 1 and window.library.model.rowCount() == 1, timeout=10000)
    with qtbot.waitSignal(window.bridge.kbs_changed, timeout=10000):
        window.bridge.refresh_kbs()
    assert panel.list.count() == 1 and window.library.model.rowCount() == 1


def test_a_file_saved_in_a_followed_folder_appears_in_the_window(qtbot, tmp_path, embedder, monkeypatch):
    """The real LibraryService (in this process, sharing the test embedder) watching a real folder."""
    monkeypatch.setattr("app.services.library.Embedder", lambda *a, **k: embedder)
    settings = Settings()
    settings.sync.debounce_s = 0.2
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "first.txt").write_text("Capybara expenses are approved by finance.")

    def factory(s):
        library = LibraryService(s)
        library.create_kb("team")
        return library, FakeChat(s, library)

    w = build_window(settings, factory)
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(lambda: w.library.current_kb() == "team", timeout=30000)
        w.library.folders.follow([str(folder)])
        names = lambda: {w.library.model.item(r, 0).text() for r in range(w.library.model.rowCount())}  # noqa: E731
        qtbot.waitUntil(lambda: names() == {"first.txt"}, timeout=60000)
        (folder / "second.md").write_text("# Parking\n\nCapybara parking is on level three.")
        qtbot.waitUntil(lambda: names() == {"first.txt", "second.md"}, timeout=60000)
        (folder / "first.txt").unlink()
        qtbot.waitUntil(lambda: names() == {"second.md"}, timeout=60000)
        assert "watching" in w.library.folders.list.item(0).text()
    finally:
        w.bridge.shutdown(30000)
