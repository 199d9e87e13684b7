"""`localkb bench qa`: is what the user reads correct, cited, honest, and quick?

One knowledge base per run, built by the real pipeline from a SQuAD-format file (SQuAD v1.1/v2.0,
CMRC 2018).  Two kinds of question go through the real `ChatService.ask`:

- answerable: the first N questions; their gold paragraphs are in the KB.  Scored by exact match
  and F1 of the answer's first sentence (citations removed), whether the quoted answer contains a
  gold answer, citation precision (of the answer's sentences that state a gold answer, the share
  whose checked citations point at a passage containing it), and false "not found".
- unanswerable: questions whose gold paragraph was removed from the KB before ingesting (the rest
  of their article stays in as distractors; a question whose answer text still occurs anywhere in
  the KB is not used), plus SQuAD v2.0 `is_impossible` questions.  Scored by the share the app
  answers "not in your documents".

Timings are from the question's submission: to the quoted answer and to the first generated
token (p50/p95), and the process's peak RSS.  `baseline=True` also runs each answer's exact
prompt through a bare llama-cpp-python instance, to show the app adds no overhead.
"""

from __future__ import annotations

import re
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.bench.data import Dataset, Question, load_squad, services, temporary_home, write_documents
from app.bench.metrics import exact_match, f1_score, normalize_answer, percentile
from app.errors import LocalKBError
from app.rag.citations import strip_citations

_FIRST_SENTENCE = re.compile(r"^(.+?[。！？!?]|.+?\.(?=\s|$))")


def clean_answer(text: str) -> str:
    """The answer as scored: citation markers removed, its first line, and of that the first sentence."""
    text = strip_citations(text)
    line = text.splitlines()[0].strip() if text else ""
    m = _FIRST_SENTENCE.match(line)
    return m.group(1).strip() if m else line


def contains_answer(text: str, answers: list[str]) -> bool:
    """A gold answer occurs in the text, compared as normalised SQuAD strings (Chinese without spaces)."""
    hay = normalize_answer(text)
    hay_flat = hay.replace(" ", "")
    for a in answers:
        na = normalize_answer(a)
        if na and (na in hay or na.replace(" ", "") in hay_flat):
            return True
    return False


@dataclass
class _Probe:
    question: Question
    removed: bool  # True: gold paragraph removed; False: SQuAD v2.0 is_impossible


def split_questions(full: Dataset, limit: int | None, unanswerable: int) -> tuple[list[Question], list[_Probe], dict[str, str]]:
    """(answerable questions, unanswerable probes, the KB's documents) for one benchmark run."""
    all_q = full.questions
    answerable = [q for q in all_q[:limit] if not q.impossible and q.answers] if limit else \
        [q for q in all_q if not q.impossible and q.answers]
    probes = [_Probe(q, False) for q in (all_q[:limit] if limit else all_q) if q.impossible]
    needed = {d for q in answerable for d in q.gold}
    article = lambda key: key.split("_")[0]  # noqa: E731 - keys are aNNNN_pNNNN
    articles = {article(d) for d in needed} | {article(d) for p in probes for d in p.question.gold}
    removed: set[str] = set()
    if unanswerable > 0:
        seen: set[str] = set()
        start = len(all_q[:limit]) if limit else 0
        # Twice as many candidates as wanted: some are dropped below because their answer text
        # still occurs in another paragraph of the KB.
        for q in all_q[start:]:
            doc = next(iter(q.gold))
            if q.impossible or not q.answers or doc in needed or doc in seen:
                continue
            seen.add(doc)
            removed.add(doc)
            articles.add(article(doc))
            probes.append(_Probe(q, True))
            if sum(p.removed for p in probes) >= 2 * unanswerable:
                break
    documents = {k: v for k, v in full.documents.items() if article(k) in articles and k not in removed}
    texts = [normalize_answer(t) for t in documents.values()]
    kept: list[_Probe] = []
    for p in probes:
        if p.removed:
            if sum(k.removed for k in kept) >= unanswerable:
                continue
            if any(normalize_answer(a) and normalize_answer(a) in t for a in p.question.answers for t in texts):
                continue
        kept.append(p)
    return answerable, kept, documents


@dataclass
class _Tally:
    em: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    quote_hit: list[bool] = field(default_factory=list)
    cite_ok: int = 0
    cite_all: int = 0
    not_found: list[bool] = field(default_factory=list)
    quote_at: list[float] = field(default_factory=list)
    first_token_at: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    fallbacks: int = 0
    unsupported_sentences: int = 0
    sentences: int = 0


def bench_qa(data: str | Path, limit: int | None = None, model_path: str | None = None, settings=None,
             max_tokens: int = 64, unanswerable: int | None = None, builtin: str | None = None,
             baseline: bool = False, details: bool = False, progress=None, offset: int = 0) -> dict:
    """Run the QA benchmark on a SQuAD-format file; returns one JSON-able dict of figures.

    `offset` skips the file's first questions: tuning on a later slice keeps the reported first
    N questions unseen.
    """
    from app.settings import Settings

    full = load_squad(data)
    full.questions = full.questions[max(0, offset):]
    if not full.questions:
        raise LocalKBError(f"No questions in {data}.")
    if unanswerable is None:
        unanswerable = max(1, (limit or 100) // 2)
    answerable, probes, documents = split_questions(full, limit, unanswerable)
    if not answerable and not probes:
        raise LocalKBError(f"No usable questions in {data}.")
    settings = settings or Settings()
    if model_path:
        settings.model.model_path = model_path
    if builtin:
        settings.model.builtin = builtin
    if not settings.model.model_path:
        # Resolve (and if need be join) the built-in model in the real data folder, before the
        # throw-away home replaces it: otherwise every run would copy 1 GB into a temp folder.
        from app.llm import builtin as builtins

        settings.model.model_path = str(builtins.ensure(settings.model.builtin))
    settings.model.max_tokens = max(16, max_tokens)  # the settings schema's lower bound
    ans, una = _Tally(), _Tally()
    rows: list[dict] = []
    with temporary_home() as work:
        settings, library, chat = services(settings)
        try:
            write_documents(Dataset(documents, []), work / "docs")
            report = library.ingest([work / "docs"], kb="bench")
            model = chat.model()
            model.load()
            raw = _Baseline(model) if baseline else None
            jobs = [(q, True) for q in answerable] + [(p.question, False) for p in probes]
            for i, (q, is_answerable) in enumerate(jobs):
                row = _ask(chat, q, is_answerable, ans if is_answerable else una)
                if raw is not None and model.last_prompt is not None and row["model_ran"]:
                    raw.run(model, settings.model.max_tokens)
                if details:
                    rows.append(row)
                if progress is not None:
                    progress(i + 1, len(jobs))
            if raw is not None:
                raw.close()
        finally:
            library.close()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB

    def p(values, q):
        return round(percentile(values, q), 3) if values else None

    def pct(values):
        return round(100 * float(np.mean(values)), 1) if values else None

    out = {
        "data": str(data), "offset": offset, "model": str(model.path), "template": model.template_source,
        "documents": len(documents), "chunks_failed": report.failed,
        "answerable": len(answerable), "unanswerable": len(probes),
        "unanswerable_removed_paragraph": sum(p.removed for p in probes),
        "exact_match": pct(ans.em), "f1": pct(ans.f1),
        "quote_contains_answer_pct": pct(ans.quote_hit),
        "citation_precision": round(ans.cite_ok / ans.cite_all, 3) if ans.cite_all else None,
        "cited_answer_sentences": ans.cite_all,
        "false_not_found_pct": pct(ans.not_found),
        "not_found_on_unanswerable_pct": pct(una.not_found),
        "quote_at_s_p50": p(ans.quote_at + una.quote_at, 50), "quote_at_s_p95": p(ans.quote_at + una.quote_at, 95),
        "first_token_at_s_p50": p(ans.first_token_at + una.first_token_at, 50),
        "first_token_at_s_p95": p(ans.first_token_at + una.first_token_at, 95),
        "prompt_tokens_p50": p(ans.prompt_tokens + una.prompt_tokens, 50),
        "fallbacks": ans.fallbacks + una.fallbacks,
        "unsupported_sentences": ans.unsupported_sentences + una.unsupported_sentences,
        "sentences": ans.sentences + una.sentences,
        "peak_rss_mb": round(peak_rss_mb),
        "max_tokens": settings.model.max_tokens,
    }
    if raw is not None:
        out.update(raw.summary(ans.ttft + una.ttft))
    if details:
        out["details"] = rows
    return out


def _ask(chat, q: Question, is_answerable: bool, tally: _Tally) -> dict:
    answer = chat.ask(q.text, ["bench"])
    t = answer.timings
    if t.get("quote_at_s") is not None:
        tally.quote_at.append(t["quote_at_s"])
    if t.get("first_token_at_s") is not None:
        tally.first_token_at.append(t["first_token_at_s"])
    if t.get("ttft_s") is not None:
        tally.ttft.append(t["ttft_s"])
    if t.get("prompt_tokens"):
        tally.prompt_tokens.append(t["prompt_tokens"])
    tally.not_found.append(bool(answer.not_found))
    tally.fallbacks += bool(answer.fallback)
    tally.sentences += len(answer.sentences)
    tally.unsupported_sentences += sum(s.status == "unsupported" for s in answer.sentences)
    predicted = clean_answer(answer.text)
    quote = answer.quote.text if answer.quote is not None else ""
    row = {"id": q.id, "question": q.text, "gold": q.answers, "answerable": is_answerable, "answer": answer.text,
           "model_text": answer.model_text, "quote": quote, "not_found": answer.not_found, "fallback": answer.fallback,
           "statuses": [s.status for s in answer.sentences], "model_ran": t.get("ttft_s") is not None,
           # What the citation check read: with these, a change to the check can be replayed on
           # the same answers without running the model again (greedy decoding repeats them).
           "passages": {s.n: s.text for s in answer.sources}}
    if not is_answerable:
        return row
    tally.em.append(0.0 if answer.not_found else exact_match(predicted, q.answers))
    tally.f1.append(0.0 if answer.not_found else f1_score(predicted, q.answers))
    tally.quote_hit.append(contains_answer(quote, q.answers))
    by_n = {s.n: s.text for s in answer.sources}
    for s in answer.sentences:
        if contains_answer(s.text, q.answers):
            tally.cite_all += 1
            tally.cite_ok += any(contains_answer(by_n.get(n, ""), q.answers) for n in s.citations)
    row.update(em=tally.em[-1], f1=round(tally.f1[-1], 3), quote_hit=tally.quote_hit[-1])
    return row


class _Baseline:
    """The app's exact prompts through a bare llama-cpp-python instance: the app's overhead, if any."""

    def __init__(self, model) -> None:
        import llama_cpp

        self.llm = llama_cpp.Llama(model_path=str(model.path), n_ctx=model.n_ctx, n_threads=model.n_threads,
                                   n_threads_batch=model.n_threads, n_gpu_layers=model.n_gpu_layers, seed=model.seed,
                                   verbose=False)
        self.ttft: list[float] = []

    def run(self, model, max_tokens: int) -> None:
        tokens, stop, criteria = model.last_prompt
        started = time.perf_counter()
        stream = self.llm.create_completion(tokens, max_tokens=max_tokens, temperature=model.temperature,
                                            stop=stop or None, stopping_criteria=criteria, stream=True,
                                            seed=model.seed, repeat_penalty=model.repeat_penalty)
        try:
            for chunk in stream:
                if chunk["choices"][0].get("text"):
                    self.ttft.append(time.perf_counter() - started)
                    break
        finally:
            stream.close()

    def close(self) -> None:
        self.llm.close()

    def summary(self, app_ttft: list[float]) -> dict:
        if not self.ttft or not app_ttft:
            return {}
        app, raw = float(np.median(app_ttft)), float(np.median(self.ttft))
        return {"app_ttft_s_p50": round(app, 3), "raw_ttft_s_p50": round(raw, 3),
                "ttft_ratio_app_over_raw": round(app / raw, 3) if raw else None}
