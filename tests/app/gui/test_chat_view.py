"""The chat view on its own: the quote before the answer, prompt progress, checked sentences, reopening.

The bridge's answer signals are emitted by hand (its `ask` only records the call), so each test
sets exactly the order in which a quote, progress, tokens and the final answer arrive.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl

from app.gui.bridge import ServiceBridge
from app.gui.chat_view import ChatView, mark_sentences
from app.rag.citations import CheckedSentence
from app.services.chat import Answer, QuotedAnswer, Source
from app.services.conversations import ConversationStore
from app.settings import Settings

PASSAGE = "Travel. Hotels cost up to 150 EUR per night. Taxis need a receipt."
QUOTED = "Hotels cost up to 150 EUR per night."
UNSUPPORTED = "Breakfast is always included."


def source(n: int = 1, start: int = 0, end: int = len(PASSAGE)) -> Source:
    return Source(n, "default", "/docs/travel.md", None, ("Travel",), PASSAGE[start:end], PASSAGE, 0.9, start, end)


def quote(n: int = 1) -> QuotedAnswer:
    at = PASSAGE.index(QUOTED)
    return QuotedAnswer(f"{QUOTED} [{n}]", [QUOTED], [source(n, at, at + len(QUOTED))], 0.8)


def answer(fallback: str = "") -> Answer:
    text = f"Hotels cost at most 150 EUR[1]. {UNSUPPORTED}\n\n- Taxis need a receipt[1]."
    checks = [CheckedSentence("Hotels cost at most 150 EUR.", [2], [1], "corrected"),
              CheckedSentence(UNSUPPORTED, [], [], "unsupported", ["Breakfast", "included"]),
              CheckedSentence("- Taxis need a receipt.", [1], [1], "supported")]
    if fallback:
        text, checks = quote().text, [CheckedSentence(QUOTED, [1], [1], "supported")]
    return Answer(text, [source()], False, False, 0, quote=quote(), sentences=checks, fallback=fallback,
                  model_text=text, model_name="fake.gguf")


@pytest.fixture
def store(localkb_home):
    s = ConversationStore(localkb_home / "chats.sqlite3")
    yield s
    s.close()


@pytest.fixture
def view(qtbot, store):
    bridge = ServiceBridge(Settings(), factory=lambda settings: (None, None))
    bridge.ask = lambda *args: bridge.asked.append(args)  # the test plays the worker
    bridge.asked = []
    v = ChatView(bridge, store, lambda: ["default"])
    qtbot.addWidget(v)
    v.show()
    v.ask("How much for a hotel?")
    assert bridge.asked and v.busy
    return v


def text_of(view: ChatView) -> str:
    return view.transcript.toPlainText()


def test_the_quote_shows_at_once_then_progress_then_the_streamed_answer(qtbot, view):
    bridge = view.bridge
    qtbot.waitUntil(lambda: "Searching your documents" in text_of(view))
    bridge.answer_quote.emit(quote())
    assert "From your documents" in text_of(view) and QUOTED in text_of(view)  # no timer: shown at once
    bridge.model_state_changed.emit("loading")
    qtbot.waitUntil(lambda: "Loading the model…" in text_of(view))
    bridge.answer_progress.emit(450, 900)
    qtbot.waitUntil(lambda: "Reading 900 tokens of passages… 50%" in text_of(view))
    bridge.answer_progress.emit(900, 900)
    qtbot.waitUntil(lambda: "Writing the answer…" in text_of(view))
    for piece in ("Hotels ", "cost ", "**at most** "):
        bridge.answer_token.emit(piece)
    qtbot.waitUntil(lambda: "at most" in text_of(view))
    shown = text_of(view)
    assert shown.index(QUOTED) < shown.index("Hotels cost at most")  # the quote stays above the answer
    assert "Writing the answer" not in shown


def test_a_quote_citation_opens_the_quoted_sentence_while_and_after_answering(qtbot, view):
    view.bridge.answer_quote.emit(quote())
    at = PASSAGE.index(QUOTED)
    with qtbot.waitSignal(view.citation_clicked, timeout=1000) as clicked:
        view.transcript.anchorClicked.emit(QUrl("quote:live:0"))
    assert (clicked.args[0]["start"], clicked.args[0]["end"]) == (at, at + len(QUOTED))
    view.bridge.answer_finished.emit(answer())
    assert 'href="quote:1:0"' in view.transcript.toHtml()
    with qtbot.waitSignal(view.citation_clicked, timeout=1000) as clicked:
        view.transcript.anchorClicked.emit(QUrl("quote:1:0"))
    assert (clicked.args[0]["start"], clicked.args[0]["end"]) == (at, at + len(QUOTED))
    # The answer's own [1] opens the answer's source, the whole passage.
    with qtbot.waitSignal(view.citation_clicked, timeout=1000) as clicked:
        view.transcript.anchorClicked.emit(QUrl("cite:1:1"))
    assert (clicked.args[0]["start"], clicked.args[0]["end"]) == (0, len(PASSAGE))


def unsupported_spans(view: ChatView) -> list[str]:
    """The text of every fragment drawn in the unsupported colour, from the laid-out document."""
    found, block = [], view.transcript.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().foreground().color().name() == "#8f2d00":
                found.append(fragment.text())
            it += 1
        block = block.next()
    return found


def test_unsupported_sentences_are_marked_and_corrections_explained(qtbot, view):
    view.bridge.answer_quote.emit(quote())
    view.bridge.answer_finished.emit(answer())
    html, shown = view.transcript.toHtml(), text_of(view)
    assert "".join(unsupported_spans(view)).strip() == UNSUPPORTED
    assert "not found in the sources" in shown
    assert "Breakfast, included" in html  # the tooltip names what no passage holds
    assert "Citation corrected: the model cited [2]" in html
    assert "cite:1:1" in html and "Taxis need a receipt" in shown
    assert shown.index(QUOTED) < shown.index("Hotels cost at most 150 EUR")
    assert not view.busy and view.ask_btn.isEnabled()


@pytest.mark.parametrize("kind, words", [("loop", "kept repeating itself"), ("echo", "only repeated the question")])
def test_a_fallback_answer_says_why_the_quote_stands_in(qtbot, view, kind, words):
    view.bridge.answer_finished.emit(answer(kind))
    shown = text_of(view)
    assert words in shown and "quote from your documents is shown instead" in shown
    assert shown.split("Sources")[0].count(QUOTED) == 1  # the quote is not repeated as the answer


def test_a_reopened_conversation_shows_the_quote_and_the_marks(qtbot, view, store):
    view.bridge.answer_finished.emit(answer())
    conversation = view.conversation_id
    stored = store.messages(conversation)[-1]
    assert stored.details["quote"]["parts"] == [QUOTED]
    assert [c["status"] for c in stored.details["checks"]] == ["corrected", "unsupported", "supported"]
    view.new_conversation()
    assert QUOTED not in text_of(view)
    view.open_conversation(conversation)
    assert "From your documents" in text_of(view)
    assert "".join(unsupported_spans(view)).strip() == UNSUPPORTED
    with qtbot.waitSignal(view.citation_clicked, timeout=1000) as clicked:
        view.transcript.anchorClicked.emit(QUrl("quote:1:0"))
    assert clicked.args[0]["start"] == PASSAGE.index(QUOTED)
    md = store.export_markdown(conversation)
    assert f"> From your documents: {QUOTED} [1]" in md and f"- {UNSUPPORTED}" in md


def test_stop_keeps_the_quote(qtbot, view):
    view.bridge.answer_quote.emit(quote())
    view.stop()
    shown = text_of(view)
    assert QUOTED in shown and "Stopped." in shown
    assert view.store.messages(view.conversation_id)[-1].details["quote"]["parts"] == [QUOTED]


def test_mark_sentences_keeps_markdown_and_chinese_intact():
    checks = [{"text": "- 住宿每晚不超过500元。", "status": "unsupported"}, {"text": "1.", "status": "unsupported"},
              {"text": "出租车需要发票。", "status": "supported"}]
    text = "- 住宿每晚不超过500元[1]。\n1. 出租车需要发票[2]。"
    marked = mark_sentences(text, checks, {"unsupported"})
    assert marked.startswith("- \ue0000\ue001住宿每晚不超过500元[1]。\ue0020\ue001\n1. ")  # the list marker stays outside
    assert marked.count("\ue000") == 1  # neither a bare list number nor a supported sentence is marked
