"""`localkb bench retrieval`: recall, MRR and nDCG through the real ingest and retrieval path, and latency at scale.

SQuAD- or BEIR-format data is written out as plain-text files, ingested by the real pipeline
(`LibraryService.ingest`) into a temporary KB under a temporary LOCALKB_HOME, and every question
goes through the real retrieval path (`ChatService.retrieve`).  A hit is any passage from the
gold document.  `scale`: query latency on a KB of N chunks filled by the real pipeline and index
code, with cheap random vectors standing in for document embeddings (embedding 100k chunks for
real takes about an hour on 2 cores); queries are embedded for real.
"""

from __future__ import annotations

import collections
import random
import re
import resource
import time
from pathlib import Path

import numpy as np

from app.bench.data import load_beir, load_squad, services, temporary_home, write_documents
from app.bench.metrics import percentile, ranking_metrics
from app.errors import LocalKBError

def _embedder(settings, runtime: str | None):
    """The embedder a benchmark uses, its ONNX export cached in the real models folder (made once,
    not once per throw-away home)."""
    from app.settings import Settings
    from ingest.embedder import DEFAULT_RUNTIME, Embedder
    from ingest.onnx_export import default_cache_dir

    s = (settings or Settings()).embedding
    return Embedder(s.embedder_path, s.embedder_languages, s.batch_size, runtime=runtime or DEFAULT_RUNTIME,
                    cache_dir=default_cache_dir())


def bench_retrieval(data: str | Path, fmt: str = "squad", limit: int | None = None, settings=None,
                    progress=None, details: bool = False, runtime: str | None = None) -> dict:
    dataset = load_squad(data, limit) if fmt == "squad" else load_beir(data, limit)
    if not dataset.questions:
        raise LocalKBError(f"No questions with gold documents in {data}.")
    embedder = _embedder(settings, runtime)
    with temporary_home() as home:
        settings, library, chat = services(settings, embedder=embedder)
        try:
            by_path = write_documents(dataset, home / "docs")
            report = library.ingest([home / "docs"], kb="bench", progress=progress)
            failed = report.failed
            kb = library.open_kb("bench")
            chunks = kb.chunk_count()
            chat.retrieve("warm up", ["bench"], top_k=10)  # load the embedder outside the timings
            ranked, latencies, embed_latencies, langs = [], [], [], collections.Counter()
            per_lang: dict[str, list[int]] = collections.defaultdict(list)
            for i, q in enumerate(dataset.questions):
                t0 = time.perf_counter()
                result = chat.retrieve(q.text, ["bench"], top_k=10)
                latencies.append(time.perf_counter() - t0)
                if "embed_s" in result.timings:
                    embed_latencies.append(result.timings["embed_s"])
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
        "query_embed_p50_ms": round(percentile(embed_latencies, 50) * 1000, 2) if embed_latencies else None,
        "query_embed_p95_ms": round(percentile(embed_latencies, 95) * 1000, 2) if embed_latencies else None,
        "embedder": embedder.name, "runtime": embedder.runtime,
        "ingest_seconds": round(report.seconds, 2),
        "ingest_chunks_per_s": round(report.chunks_added / report.seconds, 2) if report.seconds else None,
        "query_languages": dict(langs),
        "settings": settings.retrieval.model_dump(),
    }
    if by_lang:
        out["by_language"] = {k: {m: round(v, 4) for m, v in d.items()} for k, d in by_lang.items()}
    return out


_COLD_OPEN = """
import json, sys, time
import numpy as np
t0 = time.perf_counter()
from app.services.library import LibraryService
from app.settings import Settings
t1 = time.perf_counter()
library = LibraryService(Settings())
kb = library.open_kb(sys.argv[1])
t2 = time.perf_counter()
dim = int(kb.meta("dimension"))
kb.dense_search(np.ones(dim, dtype=np.float32) / dim ** 0.5, 50)
kb.keyword_search("the river bridge", 50)
t3 = time.perf_counter()
library.close()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "first_search_s": t3 - t2}))
"""


def _cold_open(home: Path, kb: str) -> dict:
    """Open the KB in a fresh process (no cached client or index) and run one dense and one
    keyword search: what a user waits for between launching the app and the first results."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, LOCALKB_HOME=str(home))
    out = subprocess.run([sys.executable, "-c", _COLD_OPEN, kb], capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        return {"cold_open_error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
    t = json.loads(out.stdout.strip().splitlines()[-1])
    return {"cold_open_s": round(t["open_s"], 3), "cold_first_search_s": round(t["first_search_s"], 3),
            "cold_open_then_search_s": round(t["open_s"] + t["first_search_s"], 3)}


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
                keep_home: str | None = None, answers: int = 0, runtime: str | None = None) -> dict:
    """Query latency on a KB of about `chunks` chunks built from the sentences of a SQuAD file.

    Documents are shuffled sentence mixes (real vocabulary, so BM25 posting lists are realistic),
    ingested by the real pipeline into the real Chroma store and FTS5 index; their vectors are
    random (cheap), queries are embedded by the real embedder.  Latency only: recall here means
    nothing.  With `answers`, that many questions are then answered by the chat model on the same
    KB, and the process's peak RSS says what the app needs at that size.  `cold_open_s` and
    `cold_first_search_s`: opening the KB and searching it once in a fresh process.
    """
    from app.settings import Settings

    settings = settings or Settings()
    if answers and not settings.model.model_path:
        from app.llm import builtin  # joined in the real data folder, not the throw-away home

        settings.model.model_path = str(builtin.ensure(settings.model.builtin))
    dataset = load_squad(data)
    sentences = [s.strip() for text in dataset.documents.values() for s in re.split(r"(?<=[.!?。！？])\s*", text) if len(s.strip()) > 20]
    rng = random.Random(0)
    chunk_chars = settings.ingest.chunk_size
    docs_needed = max(1, chunks // 40)
    with temporary_home(keep_home) as home:
        real = _embedder(settings, runtime)
        cheap = _CheapDocumentEmbedder(real)
        settings, library, chat = services(settings, embedder=cheap)
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
            answered = []
            for q in qs[queries:queries + answers]:
                a = chat.ask(q, ["scale"])
                answered.append({"quote_at_s": a.timings.get("quote_at_s"), "first_token_at_s": a.timings.get("first_token_at_s"),
                                 "prompt_tokens": a.timings.get("prompt_tokens"), "total_s": a.timings.get("total_s")})
        finally:
            library.close()
        opening = _cold_open(home / "home", "scale")
    return {
        "chunks": n_chunks, "queries": len(latencies), **opening,
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "latency_p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "stage_p95_ms": {k: round(percentile(v, 95) * 1000, 2) for k, v in parts.items()},
        "ingest_seconds": round(report.seconds, 1),
        "answers": answered,
        "model": settings.model.model_path if answers else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "note": "document vectors are random (latency only); queries embedded by the real embedder; "
                "real pipeline, Chroma store and FTS5 keyword index",
    }
