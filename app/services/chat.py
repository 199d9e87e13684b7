"""Asking questions: retrieval, prompt packing and streamed, cited answers.

One service serves the GUI, the CLI, the benchmarks and the tests.  `search` finds passages;
`ask` rewrites a follow-up into a standalone question, retrieves, packs passages into the model's
window, streams the answer and maps its [n] citations back to sources.  When no passage passes
the score threshold the answer says the documents do not cover the question (or, if the user
chose so, answers from the model's own knowledge, clearly marked), without inventing a citation.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from app.errors import ModelError
from app.llm.llama import ChatModel, Generation
from app.rag import citations, coverage, guards, prompts
from app.rag.budget import SAFETY_TOKENS, pack
from app.rag.quote import Quote, best_quote
from app.rag.retrieve import Passage, Retriever, SearchResult
from app.settings import Settings

log = logging.getLogger(__name__)

SNIPPET_CHARS = 240


@dataclass
class Source:
    n: int  # the [n] the answer cites it by
    kb: str
    path: str
    page: int | None
    heading_path: tuple
    snippet: str
    text: str
    score: float
    start: int  # character offsets within that page's extracted section text
    end: int
    supports: list[str] = field(default_factory=list)  # sentences of the answer that cite [n]
    section: int = 0


@dataclass
class Answer:
    text: str
    sources: list[Source]
    not_found: bool
    from_model_knowledge: bool
    cut_passages: int
    timings: dict = field(default_factory=dict)
    cut_sources: list[Source] = field(default_factory=list)  # passages retrieved but left out for room
    standalone_question: str = ""
    cancelled: bool = False
    quote: "QuotedAnswer | None" = None  # the best sentences of the top passages, shown before the model writes
    sentences: list[citations.CheckedSentence] = field(default_factory=list)  # the checked answer, sentence by sentence
    fallback: str = ""  # why the model's text was replaced by the quote (a loop, an echo of the prompt)
    model_text: str = ""  # what the model wrote, before its citations were checked
    model_name: str = ""


def _stand_in(question: str, history: Sequence[tuple[str, str]]) -> str:
    """A follow-up made searchable without the model: the previous question, then this one."""
    return f"{history[-1][0].strip()} {question.strip()}"


@dataclass
class QuotedAnswer:
    """Sentences quoted from the passages, each with the source it comes from (`sources[i]` for `parts[i]`)."""

    text: str  # as shown: each sentence followed by its [n]
    parts: list[str]
    sources: list[Source]
    score: float


@dataclass
class AnswerEvent:
    """Progress of an answer before and between its tokens, for `ask(on_event=...)`.

    kind 'quote': `quote` is set, right after retrieval.  'model': `detail` is the model's state
    ('loading' / 'ready').  'prompt': the model is reading its prompt, `done` of `total` tokens.
    """

    kind: str
    quote: QuotedAnswer | None = None
    done: int = 0
    total: int = 0
    detail: str = ""


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def passage_to_source(n: int, p: Passage) -> Source:
    return Source(n=n, kb=p.kb, path=p.path, page=p.page, heading_path=tuple(p.heading_path), snippet=_snippet(p.text),
                  text=p.text, score=p.score, start=p.start, end=p.end, section=p.section)


_CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")


def map_citations(answer_text: str, sources: list[Source]) -> list[Source]:
    """Fill each source's `supports` with the answer sentences citing it; return those cited first."""
    by_n = {s.n: s for s in sources}
    for s in sources:
        s.supports = []
    for sentence in _SENTENCE.findall(answer_text):
        for group in _CITE.findall(sentence):
            for num in re.findall(r"\d+", group):
                src = by_n.get(int(num))
                clean = sentence.strip()
                if src is not None and clean and clean not in src.supports:
                    src.supports.append(clean)
    cited = [s for s in sources if s.supports]
    return cited + [s for s in sources if not s.supports]


class ChatService:
    def __init__(self, settings: Settings, library, model=None) -> None:
        """`library` is a LibraryService; `model` pins a loaded ChatModel (tests, benchmarks)."""
        self.settings = settings
        self.library = library
        self._pinned_model = model
        self._model: ChatModel | None = None
        self._model_key: tuple | None = None
        self._reranker = None
        self._reranker_key: str | None = None
        self._lock = threading.RLock()

    # -- retrieval ---------------------------------------------------------------------------

    def _reranker_for(self, path: str):
        if not path:
            return None
        with self._lock:
            if self._reranker is None or self._reranker_key != path:
                from app.rag.rerank import CrossEncoderReranker

                self._reranker = CrossEncoderReranker(path)
                self._reranker_key = path
            return self._reranker

    def retriever(self) -> Retriever:
        s = self.settings.retrieval
        return Retriever.from_settings(s, self.library.embedder(), self._reranker_for(s.reranker_path))

    def retrieve(self, question: str, kbs: Sequence[str], top_k: int | None = None) -> SearchResult:
        opened = [self.library.open_kb(name) for name in dict.fromkeys(kbs or ["default"])]
        return self.retriever().search(question, opened, top_k=top_k)

    def search(self, question: str, kbs: Sequence[str], top_k: int | None = None) -> list[Source]:
        result = self.retrieve(question, kbs, top_k)
        return [passage_to_source(i + 1, p) for i, p in enumerate(result.passages)]

    # -- the model ---------------------------------------------------------------------------

    def model(self) -> ChatModel:
        """The chat model for the current settings; a changed model setting means a new model."""
        with self._lock:
            if self._pinned_model is not None:
                return self._pinned_model
            key = tuple(sorted(self.settings.model.model_dump().items()))
            if self._model is None or self._model_key != key:
                if self._model is not None:
                    self._model.close()
                self._model = ChatModel.from_settings(self.settings.model)
                self._model_key = key
            return self._model

    def model_state(self) -> str:
        """'not loaded', 'loading', 'ready' or 'error: <reason>'."""
        with self._lock:
            model = self._pinned_model or self._model
        return model.state if model is not None else "not loaded"

    def load_model(self) -> None:
        """Load the chat model now (the GUI calls this on a worker thread); raises ModelError."""
        self.model().load()

    # -- answering ---------------------------------------------------------------------------

    def _rewrite(self, question: str, history: list[tuple[str, str]], lang: str, cancel) -> str:
        """A follow-up turned into a standalone question for retrieval.

        The model rewrites it; a rewrite that is empty, rambling or multi-line is refused and the
        cheap fallback -- the previous question followed by this one -- is used instead, so the
        retrievers still see what "it" or "that" refers to.
        """
        if not history:
            return question
        fallback = _stand_in(question, history)
        try:
            gen = self.model().stream(prompts.condense_messages(question, history[-2:], lang), cancel=cancel,
                                      max_tokens=64, temperature=0.0)
        except ModelError:
            return fallback
        text = gen.text.strip().strip('"“”').strip()
        if gen.cancelled or not text or "\n" in text or len(text) > 3 * len(question) + 120 or gen.finish_reason == "length":
            return fallback
        return text

    def _topic(self, question: str, result: SearchResult) -> tuple[coverage.Coverage, bool]:
        """How far the passages cover the question's terms, and whether that makes them off-topic."""
        topic = coverage.coverage(question, [p.text for p in result.passages])
        return topic, self.settings.answer.check_question_terms and coverage.off_topic(topic)

    def _quote_for(self, question: str, kbs: Sequence[str]) -> QuotedAnswer | None:
        """Retrieve for `question` and quote, with the same off-topic rule as an answer."""
        result = self.retrieve(question, kbs)
        if not result.passages or self._topic(question, result)[1]:
            return None
        return self.quote(question, result)

    def quote(self, question: str, result: SearchResult) -> QuotedAnswer | None:
        """The quoted answer for retrieved passages (numbered 1..n in their order)."""
        if not result.passages:
            return None
        embed = query_vec = None
        embedder = self.library.embedder()
        if result.query_lang in getattr(embedder, "languages", ()) and hasattr(embedder, "embed_short"):
            # One call for the question and the sentences; the sentences are embedded inside best_quote.
            query_vec = embedder.embed_short([question])[0]
            embed = embedder.embed_short
        found: Quote | None = best_quote(question, [(i + 1, p.text, p.score) for i, p in enumerate(result.passages)],
                                         embed=embed, query_vec=query_vec)
        if found is None:
            return None
        lang = prompts.answer_language(question)
        sources = []
        for part in found.parts:
            p = result.passages[part.n - 1]
            src = passage_to_source(part.n, p)
            # Point the source at the quoted sentence so a click highlights exactly it.
            src.start, src.end = p.start + part.start, p.start + part.end
            src.snippet = _snippet(part.text)
            sources.append(src)
        parts = [_plain(q.text) for q in found.parts]
        sep = "" if lang == "zh" else " "
        return QuotedAnswer(sep.join(citations.attach(t, [q.n]) for t, q in zip(parts, found.parts)), parts, sources,
                            found.score)

    def ask(self, question: str, kbs: Sequence[str], history: Sequence = (), on_token: Callable[[str], None] | None = None,
            cancel=None, on_event: Callable[[AnswerEvent], None] | None = None) -> Answer:
        """Answer `question` from the passages of `kbs`, streaming text to `on_token`.

        `history` holds earlier (question, answer) pairs, oldest first.  `on_event` receives the
        quoted answer right after retrieval, then the model's progress through its prompt.  A
        cancelled answer comes back with what was written so far and `cancelled=True`.
        """
        started = time.perf_counter()
        timings: dict[str, float] = {}
        lang = prompts.answer_language(question)
        turns = max(0, self.settings.answer.history_turns)
        hist = [_as_pair(turn) for turn in (list(history)[-turns:] if turns else [])]
        notify = on_event or (lambda _event: None)

        def emit(piece: str) -> None:
            if "first_token_at_s" not in timings:
                timings["first_token_at_s"] = round(time.perf_counter() - started, 4)
            if on_token is not None:
                on_token(piece)

        early: QuotedAnswer | None = None
        if hist:
            # A follow-up first waits for the model to rewrite it (seconds; tens with a 7B model).
            # The quote found for the stand-in the rewrite falls back to is shown at once; the
            # answer then carries the rewritten question's own quote, which takes its place.
            early = self._quote_for(_stand_in(question, hist), kbs)
            if early is not None:
                timings["quote_at_s"] = round(time.perf_counter() - started, 4)
                notify(AnswerEvent("quote", quote=early))
        t0 = time.perf_counter()
        standalone = self._rewrite(question, hist, lang, cancel)
        timings["rewrite_s"] = round(time.perf_counter() - t0, 4)
        if cancel is not None and cancel.cancelled:
            return Answer("", [], False, False, 0, timings, standalone_question=standalone, cancelled=True)

        t0 = time.perf_counter()
        result = self.retrieve(standalone, kbs)
        timings["retrieve_s"] = round(time.perf_counter() - t0, 4)
        quoted = None
        # Passages about something other than what the question names: say so at once, naming what
        # is missing, rather than show an unrelated quote and let the model answer from it.
        topic, off_topic = self._topic(standalone, result)
        timings["question_coverage"] = round(topic.score, 3)
        if result.passages and not off_topic:
            t0 = time.perf_counter()
            quoted = self.quote(standalone, result)
            timings["quote_s"] = round(time.perf_counter() - t0, 4)
            timings.setdefault("quote_at_s", round(time.perf_counter() - started, 4))
            if quoted is not None and (early is None or quoted.text != early.text):
                notify(AnswerEvent("quote", quote=quoted))
        model = self.model()
        settings = self.settings

        def ready() -> None:
            # Loaded after the quote is out: the first question never waits on the model to see evidence.
            if not model.loaded:
                notify(AnswerEvent("model", detail="loading"))
                model.load()
                notify(AnswerEvent("model", detail="ready"))

        if not result.passages or off_topic:
            if settings.answer.when_not_found != "model_knowledge":
                text = prompts.NOT_FOUND[lang]
                closest: list[Source] = []
                if off_topic:
                    text += prompts.missing_terms_note(topic.missing, lang)
                    closest = [passage_to_source(i + 1, p) for i, p in enumerate(result.passages)]
                emit(text)
                timings["total_s"] = round(time.perf_counter() - started, 4)
                return Answer(text, closest, True, False, 0, timings, standalone_question=standalone)
            label = prompts.MODEL_KNOWLEDGE_LABEL[lang] + "\n\n"
            ready()
            emit(label)
            gen = model.stream(prompts.knowledge_messages(question, hist, lang), on_token=emit, cancel=cancel)
            self._generation_timings(timings, gen)
            timings["total_s"] = round(time.perf_counter() - started, 4)
            return Answer(label + gen.text.strip(), [], True, True, 0, timings, standalone_question=standalone,
                          cancelled=gen.cancelled)

        ready()
        t0 = time.perf_counter()
        candidates = [prompts.PromptPassage(i + 1, prompts.passage_label(p.path, p.page, p.heading_path, lang), p.text)
                      for i, p in enumerate(result.passages)]

        use_examples = _learns_from_examples(model)
        # The quoted sentences, by candidate number, shown to the model as the likely evidence.
        evidence = [(part, src.n) for part, src in zip(quoted.parts, quoted.sources)] if quoted is not None else []

        def build(q, ps, h, numbering=None):
            # `numbering` maps candidate numbers to the prompt's (None while packing: candidates
            # keep their own); evidence from a passage left out is not shown.
            shown = {p.n for p in ps}
            ev = [(t, numbering.get(n) if numbering is not None else n) for t, n in evidence]
            ev = [(t, n) for t, n in ev if n in shown]
            # Best passage last, nearest the question: small models attend most to what they read
            # last (on SQuAD questions 300-340 this and the evidence line took F1 from 45 to 60).
            return prompts.answer_messages(q, list(reversed(ps)), h, lang, settings.answer, examples=use_examples,
                                           evidence=ev)

        # The window the prompt may use: the model's context, capped by the prompt budget, because
        # on a CPU every prompt token is paid for in waiting before the first word.
        # The worked examples are the same for every question, so llama.cpp reuses their state and
        # they cost no waiting: they are not charged to the budget.
        examples = sum(model.count_tokens(q) + model.count_tokens(a)
                       for q, a in (prompts.example_turns(lang, settings.answer) if use_examples else []))
        window = min(model.n_ctx, settings.answer.prompt_tokens + examples + model.max_tokens + SAFETY_TOKENS)
        # Where each passage's evidence lies: a passage too long for the window is sent around it.
        focus: dict[int, tuple[int, int]] = {}
        for src in (quoted.sources if quoted is not None else []):
            at = result.passages[src.n - 1].start  # a quote's source points into the document
            lo, hi = focus.get(src.n, (src.start - at, src.end - at))
            focus[src.n] = (min(lo, src.start - at), max(hi, src.end - at))
        packed = pack(question, candidates, hist, build, model, window, model.max_tokens, focus)
        if not packed.passages and evidence:
            # The evidence line repeats sentences of the passages; where it alone leaves no room for
            # any of them (SmolLM2 spends several tokens on a Chinese character), the passages go
            # without it: the excerpt is still centred on the evidence.
            evidence = []
            packed = pack(question, candidates, hist, build, model, window, model.max_tokens, focus)
        # Number the passages that made it 1..k, in rank order, so the citations are contiguous.
        kept_idx = [p.n - 1 for p in packed.passages]
        # A passage sent only in part is a source (it was used) and also reported as cut.
        cut_idx = [p.n - 1 for p in packed.cut if p.n != packed.truncated]
        timings["truncated_passage"] = packed.truncated is not None
        final = [prompts.PromptPassage(i + 1, p.label, p.text) for i, p in enumerate(packed.passages)]
        sources = [passage_to_source(i + 1, result.passages[j]) for i, j in enumerate(kept_idx)]
        cut_sources = [passage_to_source(len(final) + i + 1, result.passages[j]) for i, j in enumerate(cut_idx)]
        if packed.truncated is not None:
            sources[0].text = packed.passages[0].text
        timings["pack_s"] = round(time.perf_counter() - t0, 4)
        timings["history_dropped"] = packed.history_dropped
        if not final:
            raise ModelError(f"The question and the answer room ({model.max_tokens} tokens) leave no room for any passage "
                             f"in the model's {model.n_ctx}-token context: raise model.n_ctx or lower model.max_tokens.")

        numbering = {j + 1: i + 1 for i, j in enumerate(kept_idx)}
        gen = model.stream(build(question, final, packed.history, numbering), on_token=emit, cancel=cancel,
                           on_prompt=lambda done, total: notify(AnswerEvent("prompt", done=done, total=total)),
                           stop_when=guards.repeats_itself)
        self._generation_timings(timings, gen)
        model_text = gen.text.strip()
        numbering = dict(numbering)
        numbering.update({j + 1: len(final) + i + 1 for i, j in enumerate(cut_idx)})
        final_quote = _renumber(quoted, numbering)
        fallback = ""
        if not gen.cancelled:
            if gen.finish_reason == "loop":
                fallback = "loop"
            elif guards.echoes_prompt(model_text, question):
                fallback = "echo"
        if fallback and final_quote is not None:
            text = final_quote.text
        elif fallback:
            text = prompts.NOT_FOUND[lang]  # nothing to quote and nothing usable written
        else:
            text = model_text
        checked = citations.check(text, {s.n: s.text for s in sources}, question, list(prompts.NOT_FOUND.values()))
        text = citations.rewrite(text, checked)
        ordered = map_citations(text, sources)
        # An answer none of whose statements any passage backs is the model answering from its own
        # knowledge (or inventing): the documents do not contain the answer, whatever it says.
        not_found = _says_not_found(text, lang) or citations.unbacked(checked)
        timings["total_s"] = round(time.perf_counter() - started, 4)
        return Answer(text, ordered, not_found, False, len(cut_sources), timings, cut_sources=cut_sources,
                      standalone_question=standalone, cancelled=gen.cancelled, quote=final_quote, sentences=checked,
                      fallback=fallback, model_text=model_text, model_name=model.path.name if model.path else "")

    @staticmethod
    def _generation_timings(timings: dict, gen: Generation) -> None:
        timings.update({
            "prompt_tokens": gen.prompt_tokens, "cached_tokens": gen.cached_tokens, "tokens": gen.tokens,
            "ttft_s": round(gen.ttft_s, 4) if gen.ttft_s is not None else None,
            "generate_s": round(gen.total_s, 4),
            "tokens_per_s": round(gen.tokens_per_s, 2) if gen.tokens_per_s else None,
        })


_EMPHASIS = re.compile(r"(\*\*|__|`)")


def _plain(text: str) -> str:
    """A quoted sentence as read: Markdown emphasis marks dropped, hard line wraps joined."""
    return " ".join(_EMPHASIS.sub("", text).split())


def _renumber(quoted: QuotedAnswer | None, numbering: dict[int, int]) -> QuotedAnswer | None:
    """The quote with the answer's final source numbers (packing renumbers the passages it kept)."""
    if quoted is None:
        return None
    new_sources, parts = [], []
    for text, src in zip(quoted.parts, quoted.sources):
        n = numbering.get(src.n, src.n)
        moved = Source(**{**src.__dict__, "n": n, "supports": []})
        new_sources.append(moved)
        parts.append(citations.attach(text, [n]))
    sep = "" if prompts.answer_language(quoted.text) == "zh" else " "  # Chinese sentences join without spaces
    return QuotedAnswer(sep.join(parts), list(quoted.parts), new_sources, quoted.score)


def _as_pair(turn) -> tuple[str, str]:
    """An earlier turn as (question, answer): a pair, a dict, or an object with those fields."""
    if isinstance(turn, dict):
        return str(turn.get("question", "")), str(turn.get("answer", ""))
    if hasattr(turn, "question") and hasattr(turn, "answer"):
        answer = turn.answer
        return str(turn.question), str(getattr(answer, "text", answer))
    question, answer = turn
    return str(question), str(getattr(answer, "text", answer))


# A model file under this size (SmolLM2-135M is 98 MB) copies the last worked example's answer
# instead of learning its format: on SQuAD's first 30 questions SmolLM2 said "not found" to 40% of
# answerable ones with the examples and 17% without (F1 14.6 vs 15.9); Qwen-1.5B (1 GB) gains from them.
EXAMPLES_MIN_MODEL_BYTES = 500 * 1024 * 1024


def _learns_from_examples(model) -> bool:
    path = getattr(model, "path", None)
    try:
        return path is None or path.stat().st_size >= EXAMPLES_MIN_MODEL_BYTES
    except (OSError, AttributeError):
        return True


def _says_not_found(text: str, lang: str) -> bool:
    probe = "".join(text.split()).lower()
    for phrase in prompts.NOT_FOUND.values():
        if "".join(phrase.split()).lower().rstrip(".。") in probe:
            return True
    return False
