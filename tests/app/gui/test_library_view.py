"""The knowledge-base list: a damaged KB says so (with why on hover), never "0 document(s)"."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from app.errors import KnowledgeBaseDamaged
from app.gui import build_window
from app.services.library import DocumentInfo, KBInfo
from app.settings import Settings
from ingest.kb import repair_hint
from ingest.repair import RepairReport
from tests.app.gui.fakes import FakeChat, FakeLibrary

WHY = "Knowledge base 'hr' is damaged: its keyword index is damaged: 1 of 12 keyword index blocks do not match the checksums written with them. "


class OneDamaged(FakeLibrary):
    """'team' is sound with two documents; 'hr' is damaged (as LibraryService lists it) until repaired."""

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        now = time.time()
        self.kbs["team"] = {p: DocumentInfo(p, "indexed", "", "txt", None, 3, now) for p in ("/d/a.txt", "/d/b.txt")}
        self.kbs["hr"] = {"/d/c.txt": DocumentInfo("/d/c.txt", "indexed", "", "txt", None, 4, now)}
        self.damaged = True

    def list_kbs(self) -> list[KBInfo]:
        sound = super().list_kbs()
        if not self.damaged:
            return sound
        return [KBInfo("hr", 0, 0, "", WHY + repair_hint("hr")) if k.name == "hr" else k for k in sound]

    def documents(self, kb: str):
        if self.damaged and kb == "hr":
            raise KnowledgeBaseDamaged(WHY + repair_hint("hr"), "hr")
        return super().documents(kb)

    def repair(self, kb: str, progress=None, note=None) -> RepairReport:
        self.damaged = False
        return RepairReport(kb, ["the keyword index is damaged"], ["rebuilt the keyword index from the catalogue (4 passages)"])


def _items(view) -> dict[str, object]:
    return {view.kb_list.item(i).data(Qt.ItemDataRole.UserRole): view.kb_list.item(i) for i in range(view.kb_list.count())}


def test_a_damaged_kb_is_listed_as_damaged_with_why_and_is_counted_again_once_rebuilt(qtbot):
    library = OneDamaged()
    window = build_window(Settings(), lambda settings: (library, FakeChat(settings, library)))
    qtbot.addWidget(window)
    window.show()
    view = window.library
    qtbot.waitUntil(lambda: view.kb_list.count() == 2 and not window.bridge.busy)
    items = _items(view)
    hr, team = items["hr"], items["team"]
    assert hr.text() == "hr   ·  damaged" and "document" not in hr.text()
    assert hr.toolTip().startswith("Knowledge base 'hr' is damaged: its keyword index is damaged")
    assert "1 of 12 keyword index blocks" in hr.toolTip() and "Rebuild" in hr.toolTip()
    assert "localkb repair --kb" not in hr.toolTip()  # the hint is the window's button here
    assert hr.foreground().color().name() == "#c62828"
    assert team.text() == "team   ·  2 document(s)" and "2 documents, 6 passages" in team.toolTip()

    # Choosing it shows why in the documents pane (not "No documents yet") and in the message bar.
    view.select_kb("hr")
    qtbot.waitUntil(lambda: window.messages.action.isVisible() and not window.bridge.busy)
    assert view.stack.currentWidget() is view.damaged_note
    assert "1 of 12 keyword index blocks" in view.damaged_note.text()
    assert "1 of 12 keyword index blocks" in window.messages.label.text()
    assert window.messages.action.text() == "Rebuild 'hr'"

    with qtbot.waitSignal(window.bridge.repair_finished, timeout=5000):
        window.messages.action.click()
    qtbot.waitUntil(lambda: _items(view)["hr"].text() == "hr   ·  1 document(s)" and not window.bridge.busy)
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.docs)
    assert view.model.rowCount() == 1
    window.bridge.shutdown()


def test_damage_found_after_listing_marks_the_kb_in_the_list(qtbot):
    """A damaged vector index shows only when Chroma's files are read (the first search): the list,
    made before, must not keep saying the KB holds documents."""
    library = OneDamaged()
    library.damaged = False  # listed as sound ...
    window = build_window(Settings(), lambda settings: (library, FakeChat(settings, library)))
    qtbot.addWidget(window)
    window.show()
    view = window.library
    qtbot.waitUntil(lambda: view.kb_list.count() == 2 and not window.bridge.busy)
    assert _items(view)["hr"].text() == "hr   ·  1 document(s)"
    view.select_kb("team")
    sound_documents = library.documents

    def documents(kb):
        # Only 'hr' is damaged: the refresh that selecting 'team' started may still be running.
        if kb != "hr":
            return sound_documents(kb)
        raise KnowledgeBaseDamaged(WHY + repair_hint(kb), kb)

    library.documents = documents
    with qtbot.waitSignal(window.bridge.kb_damaged, timeout=5000):  # ... until an action meets the damage
        window.bridge.refresh_documents("hr")
    assert _items(view)["hr"].text() == "hr   ·  damaged" and "1 of 12 keyword index blocks" in _items(view)["hr"].toolTip()
    assert _items(view)["team"].text() == "team   ·  2 document(s)"
    assert view.kb_damage("hr").startswith("Knowledge base 'hr' is damaged")
    window.bridge.shutdown()
