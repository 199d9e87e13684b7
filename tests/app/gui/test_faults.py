"""What the window shows when things break: a damaged KB (with its one-click rebuild), a full disk,
and an engine process killed while it answers or syncs.

The first two run against fakes that raise the real services' errors; the engine test (slow) runs
the real engine process, kills it with SIGKILL mid-call and checks that the next action works.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest

from app.errors import KnowledgeBaseDamaged
from app.gui import build_window
from app.services.library import KBInfo
from app.settings import Settings
from ingest.kb import repair_hint, write_failure
from ingest.progress import FileEvent
from ingest.repair import RepairReport
from tests.app.gui.fakes import FakeChat, FakeLibrary

DAMAGE = "Knowledge base 'hr' is damaged: its catalogue catalog.sqlite3 is cut short: 40000 bytes of 114688. "


class DamagedLibrary(FakeLibrary):
    """'hr' is damaged until repaired; `repair` answers as LibraryService.repair does."""

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self.kbs["hr"] = {}
        self.damaged = True
        self.repairs: list[str] = []

    def _raise(self) -> None:
        raise KnowledgeBaseDamaged(DAMAGE + repair_hint("hr"), "hr")

    def list_kbs(self) -> list[KBInfo]:
        if self.damaged:
            return [KBInfo("hr", 0, 0, "", DAMAGE + repair_hint("hr"))]
        return super().list_kbs()

    def documents(self, kb: str):
        if self.damaged and kb == "hr":
            self._raise()
        return super().documents(kb)

    def repair(self, kb: str, progress=None, note=None) -> RepairReport:
        self.repairs.append(kb)
        self.damaged = False
        return RepairReport(kb, ["the catalogue cannot be read (database disk image is malformed)"],
                            ["set the catalogue and vectors aside and read 3 files again"],
                            "/data/kbs/hr/damaged-20261126-081033", [FileEvent("/docs/a.txt", "ok", chunks=2)])


def _window(qtbot, library):
    window = build_window(Settings(), lambda settings: (library, FakeChat(settings, library)))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.bridge.busy)
    return window


def _offered(qtbot, library):
    """The window on `library`, once its message bar offers a one-click action."""
    window = _window(qtbot, library)
    bar = window.messages
    qtbot.waitUntil(lambda: bar.isVisible() and bar.action.isVisible())
    return window, bar


def test_a_damaged_kb_is_named_on_open_and_rebuilt_with_one_click(qtbot):
    library = DamagedLibrary()
    window, bar = _offered(qtbot, library)
    assert bar.label.text().startswith("Knowledge base 'hr' is damaged: its catalogue catalog.sqlite3 is cut short")
    assert "localkb repair" not in bar.label.text()  # the button says it here
    assert bar.action.text() == "Rebuild 'hr'"

    # Using the KB meanwhile gives the same offer, not a bare error.
    bar.hide()
    with qtbot.waitSignal(window.bridge.kb_damaged, timeout=5000) as damaged:
        window.bridge.refresh_documents("hr")
    assert damaged.args[0] == "hr" and bar.action.isVisible()

    with qtbot.waitSignal(window.bridge.repair_finished, timeout=5000):
        bar.action.click()
    assert library.repairs == ["hr"]
    qtbot.waitUntil(lambda: "was rebuilt" in bar.label.text())
    text = bar.label.text()
    assert "read 3 files again" in text and "damaged-20261126-081033" in text and not bar.action.isVisible()
    qtbot.waitUntil(lambda: not window.bridge.busy)
    assert "damaged" not in bar.label.text().split("was rebuilt")[0]  # no new offer after the rebuild
    window.bridge.shutdown()


class FullDiskLibrary(FakeLibrary):
    """Ingest fails with the real 'disk is full' error until `space` is set."""

    space = False

    def ingest(self, paths, kb="default", progress=None, cancel=None, force=False):
        if not self.space:
            if cancel is not None:
                cancel.cancel()  # as IngestPipeline does to stop its threads when a write fails
            raise write_failure(OSError(28, "No space left on device"), kb, Path("/data/kbs") / kb)
        return super().ingest(paths, kb, progress, cancel)


def test_a_full_disk_is_said_plainly_and_the_next_ingest_works(qtbot, tmp_path):
    (tmp_path / "a.txt").write_text("Travel policy: hotel nights up to 150 EUR.")
    library = FullDiskLibrary()
    window = _window(qtbot, library)
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=5000) as finished:
        window.bridge.ingest([str(tmp_path / "a.txt")], kb="work")
    assert finished.args[0] is None
    text = window.messages.label.text()
    assert window.messages.isVisible() and text.startswith("The disk holding knowledge base 'work' is full")
    assert "Free some space" in text and not window.messages.action.isVisible()
    assert window.progress.title.text() == "Stopped by an error"  # not "Stopped", as if the user had
    assert window.isVisible()

    library.space = True
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=5000) as finished:
        window.bridge.ingest([str(tmp_path / "a.txt")], kb="work")
    assert finished.args[0].ok == 1


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_killing_the_engine_while_it_answers_and_syncs(qtbot, tmp_path, localkb_home):
    """The real engine process, SIGKILLed mid-answer and mid-sync: the window stays, says what
    happened, and the next action starts a fresh engine that works."""
    from app.services.remote import ServiceHost

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "travel.txt").write_text("A hotel night may cost at most 140 EUR. Meals are paid up to 45 EUR a day.")
    host = ServiceHost(env=dict(os.environ, LOCALKB_HOME=str(localkb_home)))
    settings = Settings()
    settings.model.builtin = "smollm2-135m"
    window = build_window(settings, lambda s: host.services(s))
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(window.bridge.ingest_finished, timeout=180000) as finished:
            window.bridge.ingest([str(docs)], kb="hr")
        assert finished.args[0].ok == 1

        # While it answers: killed as soon as the quote (retrieval) is back, before the model writes.
        window.library.select_kb("hr")
        qtbot.waitUntil(lambda: window.library.selected_kbs() == ["hr"])
        window.chat.question.setText("How much may a hotel night cost?")
        with qtbot.waitSignal(window.bridge.answer_quote, timeout=180000):
            window.chat.ask()
        with qtbot.waitSignal(window.bridge.answer_failed, timeout=30000) as failed:
            os.kill(host.pid, signal.SIGKILL)
        assert failed.args[0] == ("The LocalKB engine stopped unexpectedly (exit code -9, maybe out of memory); "
                                  "it restarts with the next action.")
        assert window.isVisible()
        qtbot.waitUntil(lambda: "engine stopped unexpectedly" in window.chat.transcript.toPlainText())

        # The next action works, on a fresh engine.
        with qtbot.waitSignal(window.bridge.kbs_changed, timeout=60000) as listed:
            window.bridge.refresh_kbs()
        assert [(k.name, k.documents) for k in listed.args[0]] == [("hr", 1)]

        # While it syncs: a followed folder with enough files that the sync is still running.
        for i in range(40):
            (docs / f"memo{i}.txt").write_text(f"Memo {i}: the budget for project {i} is {i * 1000} EUR. " * 30)
        with qtbot.waitSignal(window.bridge.folders_changed, timeout=60000):
            window.bridge.follow_folders("hr", [str(docs)])
        pid = host.pid
        catalogue = localkb_home / "kbs" / "hr" / "catalog.sqlite3"

        def memos_pending() -> bool:  # the sync has planned its files: it is under way
            conn = sqlite3.connect(catalogue, timeout=5)
            try:
                return conn.execute("SELECT COUNT(*) FROM documents WHERE status = 'pending'").fetchone()[0] > 0
            finally:
                conn.close()

        with qtbot.waitSignal(window.bridge.error, timeout=60000) as error:
            window.bridge.sync_now("hr")
            qtbot.waitUntil(memos_pending, timeout=60000)
            os.kill(pid, signal.SIGKILL)
        assert "engine stopped unexpectedly" in error.args[0]
        assert "engine stopped unexpectedly" in window.messages.label.text() and window.isVisible()

        with qtbot.waitSignal(window.bridge.documents_changed, timeout=300000):
            window.bridge.sync_now("hr")
        qtbot.waitUntil(lambda: not window.bridge.busy, timeout=300000)
        library, _chat = window.bridge._services_now()
        rows = library.documents("hr")
        assert len(rows) == 41 and {d.status for d in rows} == {"indexed"}
        assert host.pid not in (None, pid)
    finally:
        window.bridge.shutdown()
        host.shutdown()


class OtherEmbedderLibrary(FakeLibrary):
    """'hr' was indexed by another embedder (an earlier version's default) until re-indexed."""

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self.kbs["hr"] = {}

    def list_kbs(self) -> list[KBInfo]:
        done = any(kb == "hr" for kb, _ in getattr(self, "reindexed", []))
        return [KBInfo("hr", 3, 12, "all-MiniLM-L6-v2 int8", other_embedder=not done)]


def test_a_kb_of_another_embedder_is_offered_a_reindex_once(qtbot):
    library = OtherEmbedderLibrary()
    window, bar = _offered(qtbot, library)
    assert bar.label.text().startswith("'hr' was indexed with another embedding model")
    assert bar.action.text() == "Re-index"
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        bar.action.click()
    assert library.reindexed == [("hr", None)]


def test_a_declined_reindex_is_not_offered_again_in_the_session(qtbot):
    library = OtherEmbedderLibrary()
    window, bar = _offered(qtbot, library)
    bar.hide()  # dismissed: the KB keeps answering as it is
    with qtbot.waitSignal(window.bridge.kbs_changed, timeout=5000):
        window.bridge.refresh_kbs()
    assert not bar.isVisible() and not getattr(library, "reindexed", [])
