"""The window driving the real LibraryService (and the real ChatService once it can answer).

These load the default embedder (and model), so they take tens of seconds; they are the proof that
dropping files onto the window indexes them and that citations open the right page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from app import paths
from app.gui import build_window
from app.services.conversations import source_to_dict
from app.settings import Settings
from tests.app.gui.fakes import FakeChat
from tests.app.gui.test_main_window import drop

PDF = Path("/work/shared/data/docs/pdf-sample-files/004-pdflatex-4-pages/pdflatex-4-pages.pdf")

library_mod = pytest.importorskip("app.services.library")
chat_mod = pytest.importorskip("app.services.chat")
REAL_CHAT = hasattr(chat_mod.ChatService, "ask")


def real_factory(settings):
    library = library_mod.LibraryService(settings)
    chat = chat_mod.ChatService(settings, library) if REAL_CHAT else FakeChat(settings, library)
    return library, chat


@pytest.fixture
def window(qtbot):
    settings = Settings()
    settings.model.builtin = "smollm2-135m"  # the small built-in model keeps this fast; the default is 1.1 GB
    w = build_window(settings, real_factory)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.bridge.busy, timeout=60000)
    yield w
    w.bridge.shutdown(30000)


@pytest.mark.timeout(600)
def test_drop_real_files_then_cite_a_pdf_page(qtbot, window, tmp_path):
    if not PDF.exists():
        pytest.skip("shared sample PDF missing")
    sample = paths.ASSETS_DIR / "sample"
    files = []
    window.bridge.ingest_file.connect(files.append)
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=300000) as finished:
        drop(window, [sample, PDF])
    report = finished.args[0]
    assert report is not None and report.failed == 0 and report.ok == 5
    assert {Path(e.path).name for e in files if e.state == "ok"} >= {PDF.name, "employee_handbook.md"}
    qtbot.waitUntil(lambda: window.library.model.rowCount() == 5, timeout=30000)
    statuses = {window.library.model.item(r, 1).text() for r in range(window.library.model.rowCount())}
    assert statuses == {"indexed"}

    # A passage from page 2 of the PDF, found by the real retriever, opens page 2 highlighted.
    chat = window.bridge._chat()
    page2 = window.bridge._library().page_text("default", str(PDF), 2)
    phrase = " ".join(page2.split()[5:25])
    hits = [s for s in chat_mod.ChatService.search(chat, phrase, ["default"]) if s.path == str(PDF)] \
        if REAL_CHAT or hasattr(chat, "retriever") else []
    if not hits:
        start = page2.index(page2.split()[5])
        hits = [chat_mod.Source(1, "default", str(PDF), 2, (), phrase, phrase, 1.0, start, start + len(phrase))]
    source = source_to_dict(hits[0])
    with qtbot.waitSignal(window.sources.shown, timeout=30000):
        window.show_source(source)
    rendered = window.sources.rendered
    assert rendered.page == source["page"] and rendered.pages == 4
    assert rendered.highlights

    # A Markdown source shows its section text with the passage marked.
    md = str(sample / "travel_expense_policy.md")
    section, text = next((i, t) for i in range(20)
                         if "150 EUR" in (t := window.bridge._library().page_text("default", md, None, i)))
    start = text.index("150 EUR")
    md_source = {"n": 2, "kb": "default", "path": md, "page": None, "heading_path": [], "snippet": "150 EUR",
                 "text": "150 EUR", "score": 1.0, "start": start, "end": start + 7, "section": section}
    with qtbot.waitSignal(window.sources.shown, timeout=30000):
        window.show_source(md_source)
    assert window.sources.stack.currentWidget() is window.sources.text
    assert "#ffe27a" in window.sources.text.toHtml()


@pytest.mark.timeout(900)
@pytest.mark.skipif(not REAL_CHAT, reason="ChatService.ask is not there yet")
def test_ask_the_sample_kb_with_the_default_model(qtbot, window):
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=300000):
        window.add_sample()
    qtbot.waitUntil(lambda: window.library.selected_kbs() == ["sample"], timeout=30000)
    tokens = []
    window.bridge.answer_token.connect(tokens.append)
    with qtbot.waitSignal(window.bridge.answer_finished, timeout=600000) as finished:
        window.chat.ask_btn.click()
    answer = finished.args[0]
    assert tokens, "the answer did not stream"
    assert answer.sources, "the answer has no citations"
    assert "Sources" in window.chat.transcript.toPlainText()
    n = answer.sources[0].n
    with qtbot.waitSignal(window.sources.shown, timeout=30000):
        window.chat.transcript.anchorClicked.emit(QUrl(f"cite:{len(window.chat.messages) - 1}:{n}"))
    assert window.sources.source["path"] == answer.sources[0].path
