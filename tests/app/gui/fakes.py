"""Small fakes with the exact API of LibraryService and ChatService, for GUI tests without models.

The fakes return the real services' own dataclasses, so a change to their fields breaks these
tests instead of drifting away from what the GUI really receives.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

from app.errors import KnowledgeBaseError
from app.rag.citations import CheckedSentence
from app.services.chat import Answer, AnswerEvent, QuotedAnswer, Source
from app.services.library import DocumentInfo, IngestReport, KBInfo
from ingest.progress import CancelToken, FileEvent, NullProgress, Progress

SUPPORTED = {".md", ".txt", ".pdf", ".docx"}


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file())
        else:
            out.append(p)
    return out


class FakeLibrary:
    def __init__(self, settings=None, file_delay_s: float = 0.0) -> None:
        self.kbs: dict[str, dict[str, DocumentInfo]] = {}
        self.file_delay_s = file_delay_s
        self.closed = False
        self.thread_ids: set[int] = set()
        self.warmed: list[list[str]] = []

    def warm_up(self, names) -> list[str]:
        self.warmed.append(list(names))
        return [n for n in names if n in self.kbs]

    def list_kbs(self) -> list[KBInfo]:
        self.thread_ids.add(threading.get_ident())
        return [KBInfo(name, len(docs), sum(d.chunks for d in docs.values()), "all-MiniLM-L6-v2")
                for name, docs in sorted(self.kbs.items())]

    def create_kb(self, name: str) -> None:
        if name in self.kbs:
            raise KnowledgeBaseError(f"A knowledge base named '{name}' already exists.")
        self.kbs[name] = {}

    def rename_kb(self, old: str, new: str) -> None:
        self.kbs[new] = self.kbs.pop(old)

    def delete_kb(self, name: str) -> None:
        del self.kbs[name]

    def documents(self, kb: str) -> list[DocumentInfo]:
        return sorted(self.kbs.get(kb, {}).values(), key=lambda d: d.path)

    def ingest(self, paths, kb="default", progress=None, cancel: CancelToken | None = None) -> IngestReport:
        progress = progress or NullProgress()
        start = time.monotonic()
        docs = self.kbs.setdefault(kb, {})
        files = _files(list(paths))
        events, chunks_done = [], 0
        for i, f in enumerate(files):
            if cancel:
                cancel.check()
            progress.file_event(FileEvent(str(f), "started"))
            if self.file_delay_s:
                (cancel._event if cancel else threading.Event()).wait(self.file_delay_s)
                if cancel:
                    cancel.check()
            if f.suffix.lower() not in SUPPORTED:
                event = FileEvent(str(f), "failed", f"unsupported file type '{f.suffix}'")
                docs[str(f)] = DocumentInfo(str(f), "failed", event.reason, f.suffix[1:], None, 0, time.time())
            else:
                n = max(1, os.path.getsize(f) // 800)
                pages = 1 if f.suffix == ".pdf" else None
                event = FileEvent(str(f), "ok", chunks=n, pages=pages)
                docs[str(f)] = DocumentInfo(str(f), "indexed", "", f.suffix[1:], pages, n, time.time())
                chunks_done += n
            events.append(event)
            progress.file_event(event)
            progress.progress(Progress(i + 1, len(files), chunks_done, chunks_done, 0.5 * (len(files) - i - 1)))
        return IngestReport(events, chunks_done, time.monotonic() - start)

    def reindex(self, kb, paths=None, progress=None, cancel=None) -> IngestReport:
        self.reindexed = getattr(self, "reindexed", []) + [(kb, paths)]
        paths = paths if paths is not None else [d.path for d in self.documents(kb)]
        return self.ingest(paths, kb, progress, cancel)

    def remove(self, kb: str, paths) -> list[FileEvent]:
        return [FileEvent(p, "removed") for p in paths if self.kbs[kb].pop(p, None)]

    def page_text(self, kb: str, path: str, page: int | None, section: int | None = None) -> str:
        return Path(path).read_text(encoding="utf-8")

    def close(self) -> None:
        self.closed = True


QUOTED = "Hotels cost up to 150 EUR per night."
UNSUPPORTED_SENTENCE = "Breakfast is always included."
PROMPT_TOKENS = 900


class FakeChat:
    """Answers by citing the first document of the first KB asked, as `ChatService.ask` does.

    It sends a quote event, model and prompt-progress events, streams tokens and returns an
    `Answer` whose checked sentences include one the sources do not back.  `token_delay_s` paces
    streaming; `hold_tokens` (an Event) holds the answer halfway through its prompt until a test sets it;
    `fallback` ('loop' / 'echo') makes the answer one whose model text was replaced by the quote.
    """

    def __init__(self, settings, library: FakeLibrary, token_delay_s: float = 0.0) -> None:
        self.library = library
        self.state = "not loaded"
        self.token_delay_s = token_delay_s
        self.cancelled = threading.Event()
        self.sources: list[Source] | None = None  # set to force the sources returned
        self.hold_tokens: threading.Event | None = None
        self.fallback = ""

    def model_state(self) -> str:
        return self.state

    def load_model(self) -> None:
        self.state = "ready"

    def search(self, question, kbs, top_k=None) -> list[Source]:
        if self.sources is not None:
            return self.sources
        docs = [d for kb in kbs for d in self.library.documents(kb) if d.status == "indexed"]
        if not docs:
            return []
        text = Path(docs[0].path).read_text(encoding="utf-8", errors="replace") if docs[0].file_type != "pdf" else ""
        return [Source(1, kbs[0], docs[0].path, docs[0].pages, ("Intro",), text[:60], text[:200], 0.9, 0,
                       min(40, len(text)))]

    def quote_for(self, sources: list[Source]) -> QuotedAnswer:
        """The quote: one sentence of source 1, pointing at where it stands in that passage."""
        first = sources[0]
        start = first.text.find(QUOTED)
        start = max(start, 0)
        quoted = Source(**{**first.__dict__, "start": first.start + start, "end": first.start + start + len(QUOTED),
                           "snippet": QUOTED, "supports": []})
        return QuotedAnswer(f"{QUOTED} [1]", [QUOTED], [quoted], 0.8)

    def ask(self, question, kbs, history=(), on_token: Callable[[str], None] | None = None,
            cancel: CancelToken | None = None, on_event: Callable[[AnswerEvent], None] | None = None) -> Answer:
        notify = on_event or (lambda _e: None)
        sources = self.search(question, kbs)
        if not sources:
            return Answer("That is not in your documents.", [], not_found=True, from_model_knowledge=False,
                          cut_passages=0)
        quote = self.quote_for(sources)
        notify(AnswerEvent("quote", quote=quote))
        if self.state != "ready":
            notify(AnswerEvent("model", detail="loading"))
            self.state = "ready"
            notify(AnswerEvent("model", detail="ready"))
        for done in (300, PROMPT_TOKENS // 2):  # the first call reports the cached prefix
            notify(AnswerEvent("prompt", done=done, total=PROMPT_TOKENS))
        if self.hold_tokens is not None:
            self.hold_tokens.wait(10)
        notify(AnswerEvent("prompt", done=PROMPT_TOKENS, total=PROMPT_TOKENS))
        words = ["The ", "answer ", "is ", "**forty-two** ", "[1].", f" {UNSUPPORTED_SENTENCE}", "\n\n",
                 "- one\n", "- two\n"]
        words += [f"more{i} " for i in range(200 if self.token_delay_s else 0)]
        text = ""
        for word in words:
            if cancel is not None and cancel.cancelled:
                self.cancelled.set()
                from ingest.progress import Cancelled
                raise Cancelled("cancelled")
            if self.token_delay_s:
                time.sleep(self.token_delay_s)
            text += word
            if on_token:
                on_token(word)
        model_text = text.strip()
        first = "The answer is **forty-two**"
        checked = [CheckedSentence(first + ".", [1], [1], "supported", start=0, end=len(first) + 4),
                   CheckedSentence(UNSUPPORTED_SENTENCE, [], [], "unsupported", ["Breakfast", "included"],
                                   start=len(first) + 5, end=len(first) + 5 + len(UNSUPPORTED_SENTENCE))]
        final = text
        if self.fallback:
            final = quote.text
            checked = [CheckedSentence(QUOTED, [1], [1], "supported", start=0, end=len(quote.text))]
        return Answer(final, sources, False, False, 0, timings={"total_s": 0.1}, quote=quote, sentences=checked,
                      fallback=self.fallback, model_text=model_text, model_name="fake.gguf")


def fake_factory(file_delay_s: float = 0.0, token_delay_s: float = 0.0) -> Callable:
    made: dict = {}

    def factory(settings):
        library = FakeLibrary(settings, file_delay_s)
        chat = FakeChat(settings, library, token_delay_s)
        made["library"], made["chat"] = library, chat
        return library, chat

    factory.made = made  # type: ignore[attr-defined]
    return factory
