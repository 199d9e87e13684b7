"""Benchmarks of the question side, driven through the same services as the app.

`retrieval`: SQuAD- or BEIR-format data is written out as plain-text files, ingested by the real
pipeline (`LibraryService.ingest`) into a temporary KB under a temporary LOCALKB_HOME, and every
question goes through the real retrieval path (`ChatService.retrieve`).  A hit is any passage
from the gold document.  `scale`: query latency on a KB of N chunks filled by the real pipeline
and index code, with cheap random vectors standing in for document embeddings (embedding 100k
chunks for real takes about an hour on 2 cores); queries are embedded for real.
`qa`: SQuAD exact match / F1 of `ChatService.ask`, with time to first token and tokens/s compared
against the same prompt run through llama-cpp-python directly.
"""

from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import random
import re
import string
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from app.errors import LocalKBError

# -- data sets ---------------------------------------------------------------------------------


@dataclass
class Question:
    id: str
    text: str
    gold: dict[str, float]  # document key -> graded relevance
    answers: list[str] = field(default_factory=list)


@dataclass
class Dataset:
    documents: dict[str, str]  # document key -> text
    questions: list[Question]


def load_squad(path: str | Path, limit: int | None = None) -> Dataset:
    """Each paragraph is a document.  With `limit`, the first N questions and the paragraphs of
    every article they touch (the article's other paragraphs stay in as distractors)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LocalKBError(f"Not a SQuAD-format file: {path} ({exc})") from exc
    questions: list[Question] = []
    articles_used: set[int] = set()
    for ai, article in enumerate(data):
        for pi, para in enumerate(article.get("paragraphs", [])):
            for qa in para.get("qas", []):
                if limit is not None and len(questions) >= limit:
                    break
                answers = [a["text"] for a in qa.get("answers", [])]
                questions.append(Question(str(qa.get("id", len(questions))), qa["question"], {f"a{ai:04d}_p{pi:04d}": 1.0}, answers))
                articles_used.add(ai)
    docs = {}
    for ai, article in enumerate(data):
        if limit is not None and ai not in articles_used:
            continue
        for pi, para in enumerate(article.get("paragraphs", [])):
            docs[f"a{ai:04d}_p{pi:04d}"] = para["context"]
    return Dataset(docs, questions)


def _read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_beir(folder: str | Path, limit: int | None = None, split: str = "test") -> Dataset:
    """BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (query-id, corpus-id, score)."""
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for p in (folder / "corpus.jsonl", folder / "queries.jsonl", qrels_path):
        if not p.exists():
            raise LocalKBError(f"Not a BEIR-format folder: {p} is missing.")
    qrels: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for line in qrels_path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0] == "query-id":
            continue
        try:
            grade = float(parts[2])
        except ValueError:
            continue
        if grade > 0:
            qrels[parts[0]][parts[1]] = grade
    docs = {}
    for row in _read_jsonl(folder / "corpus.jsonl"):
        title, text = row.get("title") or "", row.get("text") or ""
        docs[str(row["_id"])] = f"{title}\n\n{text}".strip() if title else text
    questions = []
    for row in _read_jsonl(folder / "queries.jsonl"):
        qid = str(row["_id"])
        if qid in qrels:
            questions.append(Question(qid, row["text"], {d: g for d, g in qrels[qid].items() if d in docs}))
    questions = [q for q in questions if q.gold]
    if limit is not None:
        questions = questions[:limit]
    return Dataset(docs, questions)


def _file_name(key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:80]
    if safe != key:
        safe += "-" + hashlib.sha1(key.encode()).hexdigest()[:8]
    return safe + ".txt"


# -- metrics -----------------------------------------------------------------------------------


def ranking_metrics(ranked_docs: list[list[str]], golds: list[dict[str, float]]) -> dict[str, float]:
    """recall@1/5/10 (any gold document in the top k), MRR@10 and nDCG@10 (graded gains).

    `ranked_docs` holds each question's documents in passage order; a document repeated by a
    later passage counts once, at its first rank.
    """
    n = len(golds)
    if n == 0:
        return {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0}
    r = {1: 0, 5: 0, 10: 0}
    mrr = ndcg = 0.0
    for ranked, gold in zip(ranked_docs, golds):
        unique = list(dict.fromkeys(ranked))[:10]
        first = next((i for i, d in enumerate(unique) if d in gold), None)
        if first is not None:
            for k in r:
                if first < k:
                    r[k] += 1
            mrr += 1.0 / (first + 1)
        dcg = sum((2 ** gold.get(d, 0.0) - 1) / math.log2(i + 2) for i, d in enumerate(unique))
        ideal = sorted(gold.values(), reverse=True)[:10]
        idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg += dcg / idcg if idcg > 0 else 0.0
    return {"recall@1": r[1] / n, "recall@5": r[5] / n, "recall@10": r[10] / n, "mrr@10": mrr / n, "ndcg@10": ndcg / n}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return float(np.percentile(np.asarray(values), q))


_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_PUNCT = set("，。！？；：、“”‘’（）《》【】—…·「」『』")


def normalize_answer(text: str) -> str:
    """Official SQuAD v1.1 normalisation: lower, drop punctuation and articles, squeeze spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation) and ch not in _ZH_PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    """Whitespace tokens of the normalised text; Chinese is scored character by character."""
    norm = normalize_answer(text)
    if _CJK_CHAR.search(norm):
        out: list[str] = []
        for piece in norm.split():
            buf = ""
            for ch in piece:
                if _CJK_CHAR.match(ch):
                    if buf:
                        out.append(buf)
                        buf = ""
                    out.append(ch)
                else:
                    buf += ch
            if buf:
                out.append(buf)
        return out
    return norm.split()


def exact_match(prediction: str, truths: list[str]) -> float:
    p = "".join(answer_tokens(prediction)) if _CJK_CHAR.search(prediction) else normalize_answer(prediction)
    for t in truths:
        tt = "".join(answer_tokens(t)) if _CJK_CHAR.search(t) else normalize_answer(t)
        if p == tt:
            return 1.0
    return 0.0


def f1_score(prediction: str, truths: list[str]) -> float:
    best = 0.0
    pred = answer_tokens(prediction)
    for truth in truths:
        gold = answer_tokens(truth)
        common = collections.Counter(pred) & collections.Counter(gold)
        same = sum(common.values())
        if same == 0 or not pred or not gold:
            continue
        precision, recall = same / len(pred), same / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


# -- temporary home ----------------------------------------------------------------------------


@contextmanager
def temporary_home(keep: str | None = None) -> Iterator[Path]:
    """Point LOCALKB_HOME at a fresh folder for the benchmark, restoring it afterwards.

    Yields a work folder whose `home` subfolder is LOCALKB_HOME; documents go beside it, never
    inside it (the app refuses to ingest its own data folder)."""
    old = os.environ.get("LOCALKB_HOME")
    with tempfile.TemporaryDirectory(prefix="localkb-bench-") as tmp:
        work = Path(keep) if keep else Path(tmp)
        home = work / "home"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["LOCALKB_HOME"] = str(home)
        try:
            yield work
        finally:
            if old is None:
                os.environ.pop("LOCALKB_HOME", None)
            else:
                os.environ["LOCALKB_HOME"] = old


def _services(settings=None, embedder=None):
    from app.services.chat import ChatService
    from app.services.library import LibraryService
    from app.settings import Settings

    settings = settings or Settings()
    library = LibraryService(settings, embedder=embedder)
    return settings, library, ChatService(settings, library)


def _write_documents(dataset: Dataset, folder: Path) -> dict[str, str]:
    """Write each document as a .txt file; returns path -> document key."""
    folder.mkdir(parents=True, exist_ok=True)
    by_path = {}
    for key, text in dataset.documents.items():
        p = folder / _file_name(key)
        p.write_text(text, encoding="utf-8")
        by_path[str(p.resolve())] = key
    return by_path


# -- retrieval ---------------------------------------------------------------------------------


def bench_retrieval(data: str | Path, fmt: str = "squad", limit: int | None = None, settings=None,
                    progress=None, details: bool = False) -> dict:
    dataset = load_squad(data, limit) if fmt == "squad" else load_beir(data, limit)
    if not dataset.questions:
        raise LocalKBError(f"No questions with gold documents in {data}.")
    with temporary_home() as home:
        settings, library, chat = _services(settings)
        try:
            by_path = _write_documents(dataset, home / "docs")
            report = library.ingest([home / "docs"], kb="bench", progress=progress)
            failed = report.failed
            kb = library.open_kb("bench")
            chunks = kb.chunk_count()
            chat.retrieve("warm up", ["bench"], top_k=10)  # load the embedder outside the timings
            ranked, latencies, langs = [], [], collections.Counter()
            per_lang: dict[str, list[int]] = collections.defaultdict(list)
            for i, q in enumerate(dataset.questions):
                t0 = time.perf_counter()
                result = chat.retrieve(q.text, ["bench"], top_k=10)
                latencies.append(time.perf_counter() - t0)
                ranked.append([by_path.get(p.path, p.path) for p in result.passages])
                langs[result.query_lang] += 1
                per_lang[result.query_lang].append(i)
            metrics = ranking_metrics(ranked, [q.gold for q in dataset.questions])
            by_lang = {
                lang: ranking_metrics([ranked[i] for i in idx], [dataset.questions[i].gold for i in idx])
                for lang, idx in per_lang.items()
            } if len(per_lang) > 1 else {}
        finally:
            library.close()
    out = {
        "data": str(data), "format": fmt, "questions": len(dataset.questions), "documents": len(dataset.documents),
        "documents_failed": failed, "chunks": chunks,
        **{k: round(v, 4) for k, v in metrics.items()},
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "latency_p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "ingest_seconds": round(report.seconds, 2),
        "ingest_chunks_per_s": round(report.chunks_added / report.seconds, 2) if report.seconds else None,
        "query_languages": dict(langs),
        "settings": settings.retrieval.model_dump(),
    }
    if by_lang:
        out["by_language"] = {k: {m: round(v, 4) for m, v in d.items()} for k, d in by_lang.items()}
    return out


class _CheapDocumentEmbedder:
    """Real query embeddings, random unit vectors for documents: for latency-only runs."""

    def __init__(self, real) -> None:
        self._real = real
        self.name = real.name
        self.languages = real.languages
        self.batch_size = 512
        self._rng = np.random.default_rng(0)

    @property
    def dimension(self) -> int:
        return self._real.dimension

    @property
    def loaded(self) -> bool:
        return True

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        v = self._rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self._real.embed_query(text)


def bench_scale(data: str | Path, chunks: int = 100_000, queries: int = 500, settings=None, progress=None,
                keep_home: str | None = None) -> dict:
    """Query latency on a KB of about `chunks` chunks built from the sentences of a SQuAD file.

    Documents are shuffled sentence mixes (real vocabulary, so BM25 posting lists are realistic),
    ingested by the real pipeline into the real Chroma store and FTS5 index; their vectors are
    random (cheap), queries are embedded by the real embedder.  Latency only: recall here means
    nothing.
    """
    from ingest.embedder import Embedder
    from app.settings import Settings

    settings = settings or Settings()
    dataset = load_squad(data)
    sentences = [s.strip() for text in dataset.documents.values() for s in re.split(r"(?<=[.!?。！？])\s*", text) if len(s.strip()) > 20]
    rng = random.Random(0)
    chunk_chars = settings.ingest.chunk_size
    docs_needed = max(1, chunks // 40)
    with temporary_home(keep_home) as home:
        real = Embedder(settings.embedding.embedder_path, settings.embedding.embedder_languages)
        cheap = _CheapDocumentEmbedder(real)
        settings, library, chat = _services(settings, embedder=cheap)
        folder = home / "docs"
        folder.mkdir(parents=True, exist_ok=True)
        # ~40 chunks per file: paragraphs of ~chunk_size characters separated by blank lines.
        for d in range(docs_needed):
            paras = []
            for _ in range(40):
                para, size = [], 0
                while size < chunk_chars * 0.8:
                    s = rng.choice(sentences)
                    para.append(s)
                    size += len(s) + 1
                paras.append(" ".join(para))
            (folder / f"doc{d:06d}.txt").write_text("\n\n".join(paras), encoding="utf-8")
        try:
            report = library.ingest([folder], kb="scale", progress=progress)
            kb = library.open_kb("scale")
            n_chunks = kb.chunk_count()
            qs = [q.text for q in dataset.questions]
            rng.shuffle(qs)
            chat.retrieve("warm up", ["scale"])
            latencies, parts = [], collections.defaultdict(list)
            for q in qs[:queries]:
                t0 = time.perf_counter()
                result = chat.retrieve(q, ["scale"])
                latencies.append(time.perf_counter() - t0)
                for k, v in result.timings.items():
                    parts[k].append(v)
        finally:
            library.close()
    return {
        "chunks": n_chunks, "queries": len(latencies),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "latency_p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "stage_p95_ms": {k: round(percentile(v, 95) * 1000, 2) for k, v in parts.items()},
        "ingest_seconds": round(report.seconds, 1),
        "note": "document vectors are random (latency only); queries embedded by the real embedder; "
                "real pipeline, Chroma store and FTS5 keyword index",
    }


# -- question answering ------------------------------------------------------------------------

_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def clean_answer(text: str) -> str:
    """The answer as scored: citation markers removed, first line only."""
    text = _CITATION.sub("", text).strip()
    return text.splitlines()[0].strip() if text else ""


def _raw_run(llm, tokens: list[int], stop: list[str], criteria, max_tokens: int, temperature: float, seed: int) -> dict:
    """The same prompt through llama-cpp-python alone: the baseline for the app's overhead."""
    started = time.perf_counter()
    first = None
    n = 0
    for chunk in llm.create_completion(tokens, max_tokens=max_tokens, temperature=temperature, stop=stop or None,
                                       stopping_criteria=criteria, stream=True, seed=seed):
        if chunk["choices"][0].get("text"):
            n += 1
            if first is None:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    tps = (n - 1) / (total - first) if first is not None and n > 1 and total > first else None
    return {"ttft_s": first, "tokens": n, "tokens_per_s": tps}


def bench_qa(data: str | Path, limit: int | None = None, model_path: str | None = None, settings=None,
             max_tokens: int = 64) -> dict:
    """EM/F1 of `ChatService.ask` on SQuAD-format data, and its speed against llama-cpp-python alone.

    Each question is answered by the app (retrieval, packing, template, streaming); the exact
    prompt tokens it sent are then run through a second, bare `llama_cpp.Llama` with the same
    parameters.  Both keep their own prompt cache, so both reuse the stable system prompt.
    """
    from app.llm.llama import ChatModel
    from app.settings import Settings

    dataset = load_squad(data, limit)
    if not dataset.questions:
        raise LocalKBError(f"No questions in {data}.")
    settings = settings or Settings()
    if model_path:
        settings.model.model_path = model_path
    max_tokens = max(16, max_tokens)  # the settings schema's lower bound
    settings.model.max_tokens = max_tokens
    with temporary_home() as work:
        settings, library, chat = _services(settings)
        try:
            _write_documents(dataset, work / "docs")
            library.ingest([work / "docs"], kb="bench")
            model: ChatModel = chat.model()
            model.load()
            import llama_cpp

            raw = llama_cpp.Llama(model_path=str(model.path), n_ctx=model.n_ctx, n_threads=model.n_threads,
                                  n_threads_batch=model.n_threads, n_gpu_layers=model.n_gpu_layers, seed=model.seed,
                                  verbose=False)
            em = f1 = 0.0
            not_found = 0
            app_ttft, app_tps, raw_ttft, raw_tps, retrieve_s = [], [], [], [], []
            for q in dataset.questions:
                answer = chat.ask(q.text, ["bench"])
                predicted = clean_answer(answer.text)
                em += exact_match(predicted, q.answers)
                f1 += f1_score(predicted, q.answers)
                not_found += answer.not_found
                retrieve_s.append(answer.timings.get("retrieve_s", 0.0))
                if answer.timings.get("ttft_s") is None or model.last_prompt is None:
                    continue  # answered without the model (not found)
                app_ttft.append(answer.timings["ttft_s"])
                if answer.timings.get("tokens_per_s"):
                    app_tps.append(answer.timings["tokens_per_s"])
                tokens, stop, criteria = model.last_prompt
                base = _raw_run(raw, tokens, stop, criteria, max_tokens, model.temperature, model.seed)
                if base["ttft_s"] is not None:
                    raw_ttft.append(base["ttft_s"])
                if base["tokens_per_s"]:
                    raw_tps.append(base["tokens_per_s"])
            raw.close()
        finally:
            library.close()
    n = len(dataset.questions)

    def med(v):
        return round(float(np.median(v)), 4) if v else None

    out = {
        "data": str(data), "questions": n, "model": str(model.path), "template": model.template_source,
        "exact_match": round(100 * em / n, 2), "f1": round(100 * f1 / n, 2), "not_found": not_found,
        "app_ttft_s_p50": med(app_ttft), "raw_ttft_s_p50": med(raw_ttft),
        "app_tokens_per_s_p50": med(app_tps), "raw_tokens_per_s_p50": med(raw_tps),
        "retrieve_s_p50": med(retrieve_s), "max_tokens": max_tokens,
    }
    if out["app_ttft_s_p50"] and out["raw_ttft_s_p50"]:
        out["ttft_ratio_app_over_raw"] = round(out["app_ttft_s_p50"] / out["raw_ttft_s_p50"], 3)
    if out["app_tokens_per_s_p50"] and out["raw_tokens_per_s_p50"]:
        out["tokens_per_s_ratio_app_over_raw"] = round(out["app_tokens_per_s_p50"] / out["raw_tokens_per_s_p50"], 3)
    return out
