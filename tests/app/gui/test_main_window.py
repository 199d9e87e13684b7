"""The main window against fake services: drop to ingest, ask with streaming and citations, Stop, viewer."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.gui import build_window
from app.settings import Settings
from tests.app.gui.fakes import PROMPT_TOKENS, QUOTED, UNSUPPORTED_SENTENCE, Source, fake_factory

PDF = Path("/work/shared/data/docs/pdf-sample-files/001-trivial/minimal-document.pdf")


@pytest.fixture
def window_with(qtbot):
    made = []

    def make(**delays):
        factory = fake_factory(**delays)
        window = build_window(Settings(), factory)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: not window.bridge.busy)
        made.append(window)
        return window, factory.made

    yield make
    for window in made:
        window.bridge.shutdown()


def drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "handbook.md").write_text("# Handbook\n\nHotels cost up to 150 EUR per night.\n" * 40)
    (folder / "sub" / "faq.txt").write_text("保修期为两年。" * 50)
    (folder / "sub" / "binary.xyz").write_bytes(b"\x00\x01")
    single = tmp_path / "single.md"
    single.write_text("A single dropped file about annual leave: 25 days.")
    return folder, single


def test_importing_the_gui_does_not_import_models_or_stores():
    code = ("import sys, app.gui, app.gui.main_window, app.gui.settings_dialog, app.gui.models_page; "
            "bad = [m for m in ('llama_cpp', 'chromadb', 'sentence_transformers', 'torch') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_drop_files_and_folder_ingests_with_progress(qtbot, window_with, docs):
    window, made = window_with(file_delay_s=0.05)
    folder, single = docs
    progress = []
    window.bridge.ingest_progress.connect(progress.append)
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000) as finished:
        drop(window, [folder, single])
    report = finished.args[0]
    assert (report.ok, report.failed) == (3, 1)
    assert window.progress_dock.isVisible()
    assert progress and progress[-1].files_done == progress[-1].files_total == 4
    rows = {window.progress.files.topLevelItem(i).text(0): window.progress.files.topLevelItem(i)
            for i in range(window.progress.files.topLevelItemCount())}
    assert rows["binary.xyz"].text(1) == "failed" and "unsupported" in rows["binary.xyz"].text(3)
    assert rows["handbook.md"].text(1) == "added"
    # The documents list shows the new KB's files with their status.
    qtbot.waitUntil(lambda: window.library.model.rowCount() == 4)
    assert window.library.current_kb() == "default"
    window.library.filter.setText("faq")
    assert window.library.proxy.rowCount() == 1
    assert made["library"].thread_ids and made["library"].thread_ids.isdisjoint({__import__("threading").get_ident()})


def test_cancel_ingest_stops_and_keeps_window_usable(qtbot, window_with, docs):
    window, made = window_with(file_delay_s=5.0)
    folder, _ = docs
    with qtbot.waitSignal(window.bridge.ingest_file, timeout=5000):
        drop(window, [folder])
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=5000) as finished:
        window.progress.cancel_btn.click()
    assert finished.args[0] is None
    assert window.progress.title.text() == "Stopped"
    assert not window.messages.isVisible()  # cancelling is not an error


def ask_and_wait(qtbot, window, question="What is the answer?"):
    tokens = []
    window.bridge.answer_token.connect(tokens.append)
    window.chat.question.setText(question)
    with qtbot.waitSignal(window.bridge.answer_finished, timeout=10000):
        window.chat.ask_btn.click()
    return tokens


def test_ask_streams_markdown_with_clickable_citations(qtbot, window_with, docs):
    window, made = window_with()
    folder, _ = docs
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.bridge.ingest([folder], "default")
    qtbot.waitUntil(lambda: window.library.selected_kbs() == ["default"])
    seen_at_first_token, states = [], []
    window.bridge.model_state_changed.connect(states.append)
    window.bridge.answer_token.connect(
        lambda _t: seen_at_first_token or seen_at_first_token.append(window.chat.transcript.toPlainText()))
    tokens = ask_and_wait(qtbot, window)
    assert len(tokens) > 3
    # The quote from the documents was on screen before the model wrote a word.
    assert QUOTED in seen_at_first_token[0] and "From your documents" in seen_at_first_token[0]
    assert "forty-two" not in seen_at_first_token[0]
    assert states[:3] == ["not loaded", "loading", "ready"]  # the service loads the model itself, after the quote
    html = window.chat.transcript.toHtml()
    assert "forty-two" in html and "cite:1:1" in html  # the [1] marker became a link
    assert "not found in the sources" in window.chat.transcript.toPlainText()
    assert UNSUPPORTED_SENTENCE in window.chat.transcript.toPlainText()
    assert window.chat.messages[-1]["sources"][0]["path"].endswith("handbook.md")
    stored = window.store.messages(window.chat.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"] and stored[1].sources
    # Clicking the citation shows the page text with the passage highlighted.
    with qtbot.waitSignal(window.sources.shown, timeout=5000):
        window.chat.transcript.anchorClicked.emit(QUrl("cite:1:1"))
    assert window.source_dock.isVisible()
    assert window.sources.stack.currentWidget() is window.sources.text
    assert "#ffe27a" in window.sources.text.toHtml()
    # The quote's [1] opens the same document at the quoted sentence, not the whole passage.
    with qtbot.waitSignal(window.chat.citation_clicked, timeout=5000) as clicked:
        window.chat.transcript.anchorClicked.emit(QUrl("quote:1:0"))
    text = (folder / "handbook.md").read_text()
    start = text.index(QUOTED)
    assert (clicked.args[0]["start"], clicked.args[0]["end"]) == (start, start + len(QUOTED))
    assert clicked.args[0]["path"].endswith("handbook.md")


def test_prompt_progress_shows_until_the_first_token(qtbot, window_with, docs):
    window, made = window_with()
    folder, _ = docs
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.bridge.ingest([folder], "default")
    qtbot.waitUntil(lambda: window.library.selected_kbs() == ["default"])
    made["chat"].hold_tokens = threading.Event()
    window.chat.question.setText("How much for a hotel?")
    with qtbot.waitSignal(window.bridge.answer_progress, timeout=10000):
        window.chat.ask_btn.click()
    qtbot.waitUntil(lambda: f"Reading {PROMPT_TOKENS} tokens of passages… 50%" in window.chat.transcript.toPlainText())
    assert QUOTED in window.chat.transcript.toPlainText()
    with qtbot.waitSignal(window.bridge.answer_finished, timeout=10000):
        made["chat"].hold_tokens.set()
    assert "Reading" not in window.chat.transcript.toPlainText()


def test_a_looping_answer_is_replaced_by_the_quote_with_a_note(qtbot, window_with, docs):
    window, made = window_with()
    folder, _ = docs
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.bridge.ingest([folder], "default")
    qtbot.waitUntil(lambda: window.library.selected_kbs() == ["default"])
    made["chat"].fallback = "loop"
    ask_and_wait(qtbot, window)
    shown = window.chat.transcript.toPlainText()
    assert "kept repeating itself" in shown and shown.split("Sources")[0].count(QUOTED) == 1
    assert "forty-two" not in shown


def test_citation_of_a_pdf_renders_the_page_with_a_highlight(qtbot, window_with):
    if not PDF.exists():
        pytest.skip("shared sample PDF missing")
    window, _ = window_with()
    source = Source(1, "default", str(PDF), 1, (), "dolor sit amet", "", 0.9, 12, 120)
    from app.services.conversations import source_to_dict

    with qtbot.waitSignal(window.sources.shown, timeout=10000):
        window.show_source(source_to_dict(source))
    rendered = window.sources.rendered
    assert rendered.page == 1 and rendered.pages == 1
    assert 1 <= len(rendered.highlights) <= 4
    assert rendered.highlights[0].top() < rendered.image.height() / 3  # the passage is at the top of the page
    assert window.sources.stack.currentWidget() is window.sources.scroll


def test_stop_cancels_at_once(qtbot, window_with, docs):
    window, made = window_with(token_delay_s=0.02)
    folder, _ = docs
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.bridge.ingest([folder], "default")
    qtbot.waitUntil(lambda: window.library.selected_kbs() == ["default"])
    window.chat.question.setText("Tell me everything")
    with qtbot.waitSignal(window.bridge.answer_token, timeout=10000):
        window.chat.ask_btn.click()
    assert window.chat.stop_btn.isEnabled()
    window.chat.stop_btn.click()
    assert window.chat.ask_btn.isEnabled() and not window.chat.stop_btn.isEnabled()  # at once, not after the worker
    assert made["chat"].cancelled.wait(2)
    qtbot.waitUntil(lambda: not window.bridge.answering)
    assert "Stopped." in window.chat.transcript.toPlainText()


def test_a_stopped_answer_cannot_land_in_the_next_one(qtbot, window_with, docs):
    window, made = window_with(token_delay_s=0.01)
    folder, _ = docs
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.bridge.ingest([folder], "default")
    qtbot.waitUntil(lambda: window.library.selected_kbs() == ["default"])
    window.chat.question.setText("First")
    with qtbot.waitSignal(window.bridge.answer_token, timeout=10000):
        window.chat.ask_btn.click()
    window.chat.stop_btn.click()
    window.chat.question.setText("Second")
    with qtbot.waitSignal(window.bridge.answer_finished, timeout=20000) as finished:
        window.chat.ask_btn.click()
    assert made["chat"].cancelled.is_set()  # the first one did stop, while the second was running
    assert "more199" in finished.args[0].text
    last = window.chat.messages[-1]
    assert last["note"] == "" and "more199" in last["text"] and window.chat.messages[-2]["text"] == "Second"


def test_kb_create_rename_delete(qtbot, window_with, no_modal, monkeypatch):
    window, made = window_with()
    names = iter(["Projects", "Projects 2024"])
    monkeypatch.setattr("app.gui.library_view.ask_text", lambda *a, **k: next(names))
    with qtbot.waitSignal(window.bridge.kbs_changed, timeout=5000):
        window.library._create()
    assert window.library.current_kb() == "Projects"
    with qtbot.waitSignal(window.bridge.kbs_changed, timeout=5000):
        window.library._rename()
    assert window.library.current_kb() == "Projects 2024"
    with qtbot.waitSignal(window.bridge.kbs_changed, timeout=5000):
        window.library._delete()
    assert "Projects 2024" in no_modal[-1]
    assert window.library.kb_list.count() == 0


def test_service_errors_show_in_the_window_and_are_logged(qtbot, window_with, localkb_home):
    from app.gui.failures import setup_logging

    log_file = setup_logging()
    window, made = window_with()
    with qtbot.waitSignal(window.bridge.kbs_changed, timeout=5000):
        window.bridge.create_kb("dup")
    with qtbot.waitSignal(window.bridge.error, timeout=5000):
        window.bridge.create_kb("dup")
    assert window.messages.isVisible()
    assert "already exists" in window.messages.label.text()
    assert "already exists" in log_file.read_text()


def test_sample_kb_is_one_click(qtbot, window_with):
    window, made = window_with()
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000) as finished:
        window.library.sample_btn.click()
    assert finished.args[0].ok >= 3 and finished.args[0].failed == 0
    qtbot.waitUntil(lambda: window.library.current_kb() == "sample")
    assert window.chat.question.text()  # a suggested question is ready to ask


def test_a_selected_kb_has_its_vector_index_loaded_once_before_the_first_question(qtbot, window_with, docs, monkeypatch):
    window, made = _window_with_indexed_kb(qtbot, window_with, docs)
    qtbot.waitUntil(lambda: made["library"].warmed == [["default"]])
    asked = []
    monkeypatch.setattr(window.bridge, "warm_up", asked.append)
    window.library.kb_selection_changed.emit(["default"])  # selected again: already loaded
    window.library.kb_selection_changed.emit(["default", "hr"])
    assert asked == [["hr"]]


def _window_with_indexed_kb(qtbot, window_with, docs):
    window, made = window_with()
    folder, _ = docs
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.bridge.ingest([folder], "default")
    qtbot.waitUntil(lambda: bool(window.library.kb_infos()))
    return window, made


def test_changing_the_embedder_asks_to_reindex_indexed_kbs(qtbot, window_with, docs, no_modal):
    window, made = _window_with_indexed_kb(qtbot, window_with, docs)
    old = window.bridge.settings
    new = old.model_copy(deep=True)
    new.embedding.embedder_path = "/models/bge-small-zh"
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.settings_saved(old, new)
    assert "default" in no_modal[-1] and "re-indexed" in no_modal[-1]
    assert made["library"].reindexed == [("default", None)]  # None: the library re-reads every document
    assert window.bridge.settings.embedding.embedder_path == "/models/bge-small-zh"


def test_declining_the_reindex_keeps_the_old_embedder(qtbot, window_with, docs, monkeypatch):
    window, made = _window_with_indexed_kb(qtbot, window_with, docs)
    monkeypatch.setattr("app.gui.main_window.ask_yes_no", lambda *a: False)
    new = window.bridge.settings.model_copy(deep=True)
    new.embedding.embedder_path = "/models/other"
    window.settings_saved(window.bridge.settings, new)
    assert window.bridge.settings.embedding.embedder_path == ""
    assert Settings.load().embedding.embedder_path == ""


def test_switching_to_or_from_the_int8_embedder_runtime_asks_to_reindex(qtbot, window_with, docs, monkeypatch):
    window, made = _window_with_indexed_kb(qtbot, window_with, docs)
    asked = []
    monkeypatch.setattr("app.gui.main_window.ask_yes_no", lambda *a: asked.append(a[2]) or False)
    new = window.bridge.settings.model_copy(deep=True)
    new.embedding.runtime = "onnx-int8"  # int8 vectors differ from fp32 ones: the KB would not match
    window.settings_saved(window.bridge.settings, new)
    assert len(asked) == 1 and "default" in asked[0]
    assert window.bridge.settings.embedding.runtime == "openvino"
    assert Settings.load().embedding.runtime == "openvino"
    # OpenVINO, fp32 ONNX and torch give the same vectors: switching between them needs no re-index.
    old = window.bridge.settings.model_copy(deep=True)
    new = old.model_copy(deep=True)
    new.embedding.runtime = "torch"
    window.settings_saved(old, new)
    assert len(asked) == 1
    qtbot.waitUntil(lambda: window.bridge.settings.embedding.runtime == "torch")  # once no work runs


def test_conversations_persist_and_reopen(qtbot, window_with, docs, no_modal, monkeypatch, tmp_path):
    window, made = window_with()
    folder, _ = docs
    with qtbot.waitSignal(window.bridge.ingest_finished, timeout=10000):
        window.bridge.ingest([folder], "default")
    qtbot.waitUntil(lambda: window.library.selected_kbs() == ["default"])
    ask_and_wait(qtbot, window, "First question?")
    first = window.chat.conversation_id
    window.chat.new_conversation()
    ask_and_wait(qtbot, window, "Second question?")
    assert window.chat.conversations.count() == 2
    monkeypatch.setattr("app.gui.chat_view.ask_text", lambda *a, **k: "Renamed chat")
    window.chat._rename()
    assert window.store.get(window.chat.conversation_id).title == "Renamed chat"
    window.chat.open_conversation(first)
    assert "First question?" in window.chat.transcript.toPlainText()
    assert window.chat.messages[1]["sources"]  # citations come back from the database
    out = tmp_path / "chat.md"
    monkeypatch.setattr("app.gui.chat_view.QFileDialog.getSaveFileName", lambda *a, **k: (str(out), ""))
    window.chat._export()
    assert "**Question:** First question?" in out.read_text() and "1. handbook.md" in out.read_text()
    window.chat._delete()
    assert window.chat.conversations.count() == 1
