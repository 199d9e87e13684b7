"""Benchmarks for followed folders and shared knowledge bases.

`save_to_searchable`: a watched folder with default sync settings; each trial saves a new file
holding a word found nowhere else and times how long until keyword search finds it.

`store_comparison`: the same SQuAD paragraphs ingested into an embedded KB and into a KB on a
real `chroma run` server (behind the token gate, as a team would run it), then the same
questions searched through each: ingest rate and query latency side by side, in one run.

    python -m app.bench.sync latency [--trials 10]
    python -m app.bench.sync stores SQUAD.json [--limit 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

from app.bench.data import load_squad, services, temporary_home, write_documents
from app.settings import Settings


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def save_to_searchable(trials: int = 10, settings: Settings | None = None) -> dict:
    """Seconds from a file's save to its text being found by search (watching, default settings)."""
    with temporary_home() as work:
        settings, library, _chat = services(settings)
        folder = work / "followed"
        folder.mkdir()
        (folder / "seed.txt").write_text("A first document so the embedder and parser are warm.")
        library.follow("bench", [folder])
        library.start_watching()
        base = library.open_kb("bench")
        _wait(lambda: getattr(base.document(str(folder / "seed.txt")), "status", "") == "indexed", 300)
        times = []
        for i in range(trials):
            word = "zq" + uuid.uuid4().hex[:10]
            path = folder / f"note-{i}.txt"
            started = time.monotonic()
            path.write_text(f"Meeting note {i}: the code word is {word}.\n", encoding="utf-8")
            _wait(lambda: bool(base.keyword_search(word, 1)), 120, poll=0.01)
            times.append(time.monotonic() - started)
        library.close()
    return {"trials": trials, "debounce_s": settings.sync.debounce_s, "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3), "max_s": round(max(times), 3), "all_s": [round(t, 3) for t in times]}


def _wait(predicate, timeout: float, poll: float = 0.05) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError("timed out")
        time.sleep(poll)


def store_comparison(squad: Path, limit: int = 100, token: str = "bench-token") -> dict:
    """Ingest rate and query latency, embedded vs a Chroma server, same data, same run."""
    import uvicorn

    from app.chroma_gate import TokenGate, free_port, start_chroma
    from ingest.embedder import Embedder

    dataset = load_squad(squad, limit)
    embedder = Embedder()
    results = {}
    with temporary_home() as work:
        docs = work / "docs"
        write_documents(dataset, docs)
        inner, port = free_port(), free_port()
        chroma = start_chroma(work / "chroma-data", inner)
        gate = uvicorn.Server(uvicorn.Config(TokenGate(f"http://127.0.0.1:{inner}", [token]), host="127.0.0.1",
                                             port=port, log_level="warning", lifespan="on"))
        threading.Thread(target=gate.run, daemon=True).start()
        _wait(lambda: gate.started, 30)
        try:
            for label in ("embedded", "server"):
                settings = Settings()
                if label == "server":
                    settings.store.backend, settings.store.port = "server", port
                    settings.store.token, settings.store.writer = token, True
                settings, library, chat = services(settings, embedder)
                warm = work / f"warm-{label}"
                warm.mkdir()
                (warm / "warm.txt").write_text("Warm-up text, so the first timed file pays no start-up cost.")
                library.ingest([warm], f"warm-{label}")
                started = time.monotonic()
                report = library.ingest([docs], "bench")
                ingest_s = time.monotonic() - started
                base = library.open_kb("bench")
                chat.search(dataset.questions[0].text, ["bench"])  # warm
                dense, full = [], []
                for q in dataset.questions:
                    vec = embedder.embed_query(q.text)
                    t0 = time.perf_counter()
                    base.dense_search(vec, settings.retrieval.candidates)
                    dense.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    chat.search(q.text, ["bench"])
                    full.append(time.perf_counter() - t0)
                results[label] = {
                    "documents": report.ok, "chunks": report.chunks_added, "ingest_s": round(ingest_s, 2),
                    "chunks_per_s": round(report.chunks_added / ingest_s, 1),
                    "dense_query_p50_ms": round(1000 * _percentile(dense, 0.5), 1) if dense else None,
                    "dense_query_p95_ms": round(1000 * _percentile(dense, 0.95), 1) if dense else None,
                    "search_p50_ms": round(1000 * _percentile(full, 0.5), 1),
                    "search_p95_ms": round(1000 * _percentile(full, 0.95), 1), "queries": len(full)}
                library.close()
        finally:
            gate.should_exit = True
            chroma.terminate()
            chroma.wait(20)
    results["load_average_1m"] = round(os.getloadavg()[0], 1)  # other work on the machine skews both alike
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.sync")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("latency")
    p.add_argument("--trials", type=int, default=10)
    p = sub.add_parser("stores")
    p.add_argument("squad", type=Path)
    p.add_argument("--limit", type=int, default=100)
    args = parser.parse_args(argv)
    out = save_to_searchable(args.trials) if args.what == "latency" else store_comparison(args.squad, args.limit)
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
