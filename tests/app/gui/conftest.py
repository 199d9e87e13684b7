"""GUI tests run offscreen with LocalKB's data in a temporary folder."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def localkb_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LOCALKB_HOME", str(home))
    return home


@pytest.fixture
def no_modal(monkeypatch):
    """Confirmation boxes answer yes (recorded), so tests never block on a modal dialog."""
    asked = []

    def yes(parent, title, text):
        asked.append(text)
        return True

    monkeypatch.setattr("app.gui.library_view.ask_yes_no", yes)
    monkeypatch.setattr("app.gui.main_window.ask_yes_no", yes)
    monkeypatch.setattr("app.gui.chat_view.ask_yes_no", yes)
    return asked


def pytest_collection_modifyitems(items):
    # The offscreen platform warns about window-manager hints it cannot honour; that is not a failure.
    for item in items:
        if "tests/app/gui" in str(item.fspath):
            item.add_marker(pytest.mark.qt_log_ignore("propagateSizeHints", "QFont::"))
