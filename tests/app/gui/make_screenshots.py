"""Drive the real window through its main screens and save PNGs: `python -m tests.app.gui.make_screenshots OUT_DIR`.

Uses the real LibraryService and ChatService; when ChatService cannot answer yet (no `ask`), the
answer text is composed from the real retrieved passages so the citations and viewer are real.

`python -m tests.app.gui.make_screenshots OUT_DIR answers` shows a checked answer in English and
in Chinese (the Chinese one in the Chinese interface), asked of the sample knowledge base with the
built-in model: the quote while the model reads its prompt, the finished answer, and the source
viewer opened from the quote.  So that the "not found in the sources" mark is always on screen,
one sentence no passage backs is appended to the model's answer and the real citation check is
run again over the whole text; everything else is what the services produced.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOCALKB_HOME", tempfile.mkdtemp(prefix="localkb-shots-"))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

PDF = Path("/work/shared/data/docs/pdf-sample-files/004-pdflatex-4-pages/pdflatex-4-pages.pdf")
BAD = Path("/work/shared/data/docs/pdf-sample-files/005-libreoffice-writer-password")


def wait_for(signal, timeout_ms: int = 600000) -> list:
    """Block this script (not the app: the event loop keeps running) until `signal` fires."""
    loop, got = QEventLoop(), []
    signal.connect(lambda *args: (got.extend(args), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    return got


def settle(ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def until(predicate, timeout_ms: int = 60000) -> None:
    waited = 0
    while not predicate() and waited < timeout_ms:
        settle(50)
        waited += 50


class RetrievalOnlyChat:
    """Stands in for ChatService.ask until it exists: real retrieval, answer text quoted from passage 1."""

    def __init__(self, chat) -> None:
        self.chat = chat

    def __getattr__(self, name):
        return getattr(self.chat, name)

    def model_state(self) -> str:
        return "ready"

    def load_model(self) -> None:
        pass

    def ask(self, question, kbs, history=(), on_token=None, cancel=None):
        from app.services.chat import Answer

        sources = self.chat.search(question, kbs)
        if not sources:
            return Answer("Not in your documents.", [], True, False, 0)
        text = f"According to the documents: {sources[0].snippet.strip()} [1]"
        if len(sources) > 1:
            text += f"\n\n- See also [2]: {sources[1].snippet.strip()[:120]}"
        for word in text.split(" "):
            on_token and on_token(word + " ")
        return Answer(text, sources[:3], False, False, 0)


# Sentences that no sample document backs, so the citation check marks them.
UNBACKED = {"en": "Hotel bookings above the limit are approved automatically by the finance team.",
            "zh": "超出保修期的维修一律免费上门服务。"}
QUESTIONS = {"en": "How much can I spend on a hotel night when travelling?", "zh_CN": "FieldLogger 的保修期是多久？"}
# Questions that make the default model state something no passage backs, checked without any injection:
# the battery's replacement price is in no document, and the model borrows the calibration fee (380 元);
# no document converts euros to dollars, and the model invents an amount.
PROVOKING = {"en": "What is the daily allowance in Paris, and what is it in US dollars?",
             "zh_CN": "FieldLogger 的电池续航多久？换一次电池要多少钱？"}


class WithAnUnbackedSentence:
    """The real ChatService, with one unbacked sentence added to each answer and the check run again."""

    def __init__(self, chat) -> None:
        self.chat = chat

    def __getattr__(self, name):
        return getattr(self.chat, name)

    def ask(self, question, kbs, history=(), on_token=None, cancel=None, on_event=None):
        from app.rag import citations, prompts

        answer = self.chat.ask(question, kbs, history, on_token=on_token, cancel=cancel, on_event=on_event)
        if answer.cancelled or answer.fallback or not answer.sources or any(
                s.status == citations.UNSUPPORTED for s in answer.sentences):
            return answer
        print(f"model wrote: {answer.model_text!r}", file=sys.stderr)
        lang = prompts.answer_language(question)
        text = answer.text.rstrip()
        if lang == "zh" and not re.search(r"[。！？.!?]$", text):
            text += "。"  # a separate sentence, not a continuation of the model's last one
        extra = ("" if lang == "zh" else " ") + UNBACKED[lang]
        on_token and on_token(extra)
        text += extra
        answer.sentences = citations.check(text, {s.n: s.text for s in answer.sources}, question,
                                           list(prompts.NOT_FOUND.values()))
        answer.text = citations.rewrite(text, answer.sentences)
        return answer


def answers(out: Path, questions: dict = QUESTIONS, inject: bool = True) -> None:
    """The checked answers with their quotes, in English and in Chinese, each in its own window.

    `inject` adds one unbacked sentence to each answer; without it the marks are the model's own.
    """
    from app.gui import build_window, install_translators, save_screenshot
    from app.settings import Settings

    app = QApplication.instance() or QApplication(["localkb"])
    made: dict = {}

    def shared(settings):
        # One set of services for both windows: the embedder and the model load once.
        if "services" not in made:
            library, chat = factory(settings)
            made["services"] = library, (WithAnUnbackedSentence(chat) if inject else chat)
        return made["services"]

    for language, question in questions.items():
        translators = install_translators(app, language)
        settings = Settings()
        settings.ui.language = language
        window = build_window(settings, shared)
        window.show()
        until(lambda: not window.bridge.busy)
        if "sample" not in [k.name for k in window.library.kb_infos()]:
            window.add_sample()
            wait_for(window.bridge.ingest_finished)
            window.progress_dock.hide()
        until(lambda: "sample" in [k.name for k in window.library.kb_infos()])
        window.library.select_kb("sample")
        until(lambda: window.library.selected_kbs() == ["sample"])
        name = "zh" if language != "en" else "en"
        window.chat.new_conversation()  # the store is shared: start afresh rather than continue the last one
        window.chat.question.setText(question)
        progress: list = []
        window.bridge.answer_progress.connect(lambda done, total: progress.append((done, total)))
        window.chat.ask()
        until(lambda: bool(progress) or not window.chat.busy, 600000)
        settle(120)  # the view redraws its status line at most every 50 ms
        save_screenshot(window, out / f"10_answer_{name}_reading.png")
        if window.chat.busy:
            wait_for(window.bridge.answer_finished)
        settle()
        save_screenshot(window, out / f"11_answer_{name}.png")
        last = len(window.chat.messages) - 1
        from PySide6.QtCore import QUrl

        quote = window.chat.messages[last].get("quote")
        if quote:
            # The last quoted sentence: the first is sometimes a heading that leads into it.
            window.chat.transcript.anchorClicked.emit(QUrl(f"quote:{last}:{len(quote['parts']) - 1}"))
            wait_for(window.sources.shown, 30000)
            settle()
            save_screenshot(window, out / f"12_answer_{name}_quote_source.png")
        window.hide()  # not close(): closing shuts down the services the next window shares
        for t in translators:
            app.removeTranslator(t)


def factory(settings):
    from app.services import chat as chat_mod
    from app.services.library import LibraryService

    library = LibraryService(settings)
    chat = chat_mod.ChatService(settings, library)
    return library, chat if hasattr(chat, "ask") else RetrievalOnlyChat(chat)


def main(out: Path, language: str = "en") -> None:
    from app.gui import build_window, install_translators, save_screenshot
    from app.settings import Settings

    app = QApplication.instance() or QApplication(["localkb"])
    install_translators(app, language)
    settings = Settings()
    settings.ui.language = language
    window = build_window(settings, factory)
    window.show()
    until(lambda: not window.bridge.busy)
    suffix = "" if language == "en" else f"_{language}"

    window.add_sample()
    wait_for(window.bridge.ingest_finished)
    until(lambda: window.library.current_kb() == "sample" and window.library.model.rowCount() > 0)
    if language != "en":
        window.chat.question.setText("FieldLogger 的保修期是多久？")
    window.chat.ask()
    wait_for(window.bridge.answer_finished)
    settle()
    save_screenshot(window, out / f"02_answer{suffix}.png")
    window.chat.transcript.anchorClicked.emit(__import__("PySide6.QtCore").QtCore.QUrl(
        f"cite:{len(window.chat.messages) - 1}:1"))
    wait_for(window.sources.shown, 30000)
    settle()
    save_screenshot(window, out / f"03_source_text{suffix}.png")
    if language != "en":
        return

    window.bridge.create_kb("manuals")
    until(lambda: "manuals" in [k.name for k in window.library.kb_infos()])
    window.library.select_kb("manuals")
    settle()
    window.add_paths([str(PDF), str(BAD)])
    wait_for(window.bridge.ingest_finished)
    until(lambda: window.library.model.rowCount() >= 2)
    settle()
    save_screenshot(window, out / "04_ingest_progress.png")
    window.progress_dock.hide()
    window.chat.new_conversation()
    window.chat.question.setText("What does the document say on page 3?")
    window.chat.ask()
    wait_for(window.bridge.answer_finished)
    pdf_sources = [s for s in window.chat.messages[-1]["sources"] if s["path"].endswith(".pdf")]
    if pdf_sources:
        window.show_source(pdf_sources[0])
        wait_for(window.sources.shown, 30000)
        settle()
    save_screenshot(window, out / "05_source_pdf.png")

    dialog = window.open_settings()
    settle()
    save_screenshot(dialog, out / "06_settings.png")
    dialog.reject()
    page = window.open_models()
    wait_for(page.scanned, 30000)
    page.table.selectRow(0)
    settle()
    save_screenshot(page, out / "07_models.png")
    page.reject()
    window.close()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots")
    mode = sys.argv[2] if len(sys.argv) > 2 else "en"
    if mode == "answers":
        answers(target)
    elif mode == "provoked":
        answers(target, PROVOKING, inject=False)
    else:
        main(target, mode)
