"""`localkb bench ingest`: how close the full pipeline runs to the embedder's own speed, per runtime.

The embedder is the bottleneck by design (DESIGN.md), so the figure of merit is the ratio of
full-pipeline chunks/s to embedder-alone chunks/s on the same chunks, measured in one run on the
same machine; parsing, splitting, keyword indexing and writes should hide behind embedding.
With several runtimes (`--runtime openvino,torch`), each gets its own KB from the same files in
the same run, and the first is compared with the others (`speedup_vs_<runtime>`).

Each runtime ingests the files twice, into two KBs: the first run is what a one-shot `localkb
ingest` gives (it pays for importing Chroma and, when a chunk holds Chinese, loading jieba's
dictionary: about 2 CPU-s); the second (`warm_*`) is what the app's engine, a long-lived
process, gives from its second ingest on.  The embedder alone runs after each ingest, and each
ingest is compared with the runs next to it, so the machine's drift within a run weighs less.

CPU seconds are reported beside the rates because on a machine whose cores the embedder alone
already fills, the ratio cannot exceed embedder CPU / pipeline CPU: the other stages' CPU
(`other_cpu_seconds`: parsing in the worker processes, splitting, keyword indexing, Chroma's
writes, one-time loads) then comes out of the embedder's time, however well they overlap.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from collections import deque
from pathlib import Path

from app.settings import Settings


def squad_paragraph_files(squad_json: Path, out_dir: Path, limit: int | None = None) -> list[Path]:
    """Write each SQuAD paragraph as its own .txt file, the way a user's folder of notes would look."""
    data = json.loads(squad_json.read_text(encoding="utf-8"))["data"]
    files = []
    for a, article in enumerate(data):
        for p, para in enumerate(article["paragraphs"]):
            if limit is not None and len(files) >= limit:
                return files
            f = out_dir / f"{a:03d}_{p:03d}.txt"
            f.write_text(para["context"], encoding="utf-8")
            files.append(f)
    return files


def _one_runtime(source: Path, runtime: str, settings: Settings, kb_name: str, cache_dir: Path) -> dict:
    from app.services.library import LibraryService
    from ingest.embedder import Embedder

    s = settings.embedding
    embedder = Embedder(s.embedder_path, s.embedder_languages, s.batch_size, runtime=runtime, cache_dir=cache_dir)
    service = LibraryService(settings, embedder=embedder)
    try:
        embedder.embed_documents(["warm up the model so loading is not timed"])
        # Each ingest is followed by the embedder alone on the same chunks: this machine's speed
        # drifts by 10-15% within minutes (other tenants), and one embedder-alone run after both
        # ingests, as before, moved the ratio by +-0.08 from one run to the next.  The first ingest
        # is compared with the run just after it, the second with the mean of the runs on either side.
        runs, alone = [], []
        texts: list[str] = []
        for name in (kb_name, f"{kb_name}-again"):
            cpu_started = _cpu_seconds()
            started = time.perf_counter()
            report = service.ingest([source], name)
            # The parser processes are joined by now, so their CPU is counted.
            runs.append((time.perf_counter() - started, _cpu_seconds() - cpu_started, report))
            if name == kb_name:
                kb = service.open_kb(kb_name)
                texts = [r[0] for r in kb._conn.execute("SELECT text FROM chunks ORDER BY rowid")]
            alone.append(_embed_alone(embedder, texts))
        (pipeline_s, pipeline_cpu, report), (warm_s, warm_cpu, warm_report) = runs
        embed_s, embed_cpu = alone[0]
        warm_embed_s, warm_embed_cpu = (alone[0][0] + alone[1][0]) / 2, (alone[0][1] + alone[1][1]) / 2
    finally:
        service.close()
    n = len(texts)
    return {
        "runtime": embedder.runtime, "backend": embedder.backend, "precision": embedder.precision,
        "embedder": embedder.name, "onnx_file": str(embedder.onnx_file or ""),
        "files": len(report.events), "ok": report.ok, "failed": report.failed, "chunks": n,
        "pipeline_seconds": round(pipeline_s, 2), "pipeline_chunks_per_s": round(n / pipeline_s, 2),
        "embedder_seconds": round(embed_s, 2), "embedder_chunks_per_s": round(n / embed_s, 2),
        "ratio": round((n / pipeline_s) / (n / embed_s), 3),
        "embed_seconds_inside_pipeline": round(report.embed_seconds, 2),
        "commit_seconds_inside_pipeline": round(report.commit_seconds, 2), "commits": report.commits,
        "cores": os.cpu_count(),
        "pipeline_cpu_seconds": round(pipeline_cpu, 2), "embedder_cpu_seconds": round(embed_cpu, 2),
        "other_cpu_seconds": round(pipeline_cpu - embed_cpu, 2),
        "cores_busy_pipeline": round(pipeline_cpu / pipeline_s, 2), "cores_busy_embedder": round(embed_cpu / embed_s, 2),
        # The same files into a second KB of the same process, as the app's engine runs every
        # ingest after its first: Chroma and jieba are loaded by then.
        "warm_pipeline_seconds": round(warm_s, 2), "warm_pipeline_chunks_per_s": round(warm_report.chunks_added / warm_s, 2),
        "embedder_alone_seconds": [round(a[0], 2) for a in alone],  # after the first ingest, after the second
        "warm_embedder_seconds": round(warm_embed_s, 2), "warm_embedder_chunks_per_s": round(n / warm_embed_s, 2),
        "warm_ratio": round((warm_report.chunks_added / warm_s) / (n / warm_embed_s), 3),
        "warm_other_cpu_seconds": round(warm_cpu - warm_embed_cpu, 2), "warm_chunks": warm_report.chunks_added,
    }


def _embed_alone(embedder, texts: list[str]) -> tuple[float, float]:
    """Seconds and CPU seconds of the embedder alone on `texts`, handed the same windows the
    pipeline hands it, the next one submitted before the last is waited for, as the pipeline does
    (OpenVINO's streams then never idle between windows; other runtimes compute each window when
    it is submitted)."""
    step = getattr(embedder, "window", embedder.batch_size)
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    inflight: deque = deque()
    for i in range(0, len(texts), step):
        inflight.append(embedder.submit_documents(texts[i : i + step]))
        if len(inflight) == 2:
            inflight.popleft().result()
    while inflight:
        inflight.popleft().result()
    return time.perf_counter() - started, _cpu_seconds() - cpu_started


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the parser processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_ingest_bench(data: Path, limit: int | None = None, settings: Settings | None = None,
                     runtimes: list[str] | None = None) -> dict:
    """The first runtime's figures at the top level (as before); every runtime's under `runtimes`."""
    from ingest.embedder import DEFAULT_RUNTIME
    from ingest.onnx_export import default_cache_dir

    settings = settings or Settings()
    runtimes = runtimes or [DEFAULT_RUNTIME]
    cache_dir = default_cache_dir()  # the real one: an export is made once, not once per benchmark home
    with tempfile.TemporaryDirectory(prefix="localkb-bench-") as tmp:
        tmp_path = Path(tmp)
        if data.suffix == ".json":
            source = tmp_path / "docs"
            source.mkdir()
            squad_paragraph_files(data, source, limit)
        else:
            source = data
        old_home = os.environ.get("LOCALKB_HOME")
        os.environ["LOCALKB_HOME"] = str(tmp_path / "home")
        try:
            results = [_one_runtime(source, rt, settings, f"bench-{i}", cache_dir) for i, rt in enumerate(runtimes)]
        finally:
            if old_home is None:
                os.environ.pop("LOCALKB_HOME", None)
            else:
                os.environ["LOCALKB_HOME"] = old_home
    out = dict(results[0])
    for other in results[1:]:
        key = other["runtime"].replace("-", "_")
        out[f"speedup_vs_{key}"] = round(out["pipeline_chunks_per_s"] / other["pipeline_chunks_per_s"], 3)
        out[f"same_chunks_as_{key}"] = other["chunks"] == out["chunks"]
    if len(results) > 1:
        out["runtimes"] = {r["runtime"]: r for r in results}
    return out


class _RandomVectors:
    """Random unit vectors: planning and bookkeeping are measured, not the model."""

    name = "random-vectors"
    languages = frozenset()
    batch_size = 256
    window = 256
    dimension = 384

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self._rng = np.random.default_rng(0)

    def embed_documents(self, texts: list[str]):
        v = self._rng.standard_normal((len(texts), self.dimension)).astype(self._np.float32)
        return v / self._np.linalg.norm(v, axis=1, keepdims=True)


def run_plan_bench(files: int = 10_000, subfolders: int = 100) -> dict:
    """Plan a folder of `files` small text files: the first ingest (every file new, hashed), then
    a re-run over the unchanged folder, which must read no file's content (`files_hashed` 0).
    Document vectors are random: the time is planning, parsing and writing, not embedding."""
    import resource

    from ingest.kb import KnowledgeBase
    from ingest.pipeline import IngestOptions, IngestPipeline

    with tempfile.TemporaryDirectory(prefix="localkb-bench-plan-") as tmp:
        folder = Path(tmp) / "share"
        for i in range(files):
            sub = folder / f"dept{i % subfolders:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"note{i:06d}.txt").write_text(f"Note {i}: the meeting about project {i % 97} moved to room {i % 13}.")
        kb = KnowledgeBase(Path(tmp) / "kb", "plan")
        runs = []
        try:
            for _ in range(2):
                with kb.writer():
                    pipeline = IngestPipeline(kb, _RandomVectors(), IngestOptions(parse_workers=max(1, (os.cpu_count() or 1))))
                    started = time.perf_counter()
                    events = pipeline.run([folder])
                    runs.append({"seconds": round(time.perf_counter() - started, 2),
                                 "plan_seconds": round(pipeline.plan_seconds, 2), "files_hashed": pipeline.files_hashed,
                                 "ok": sum(e.state == "ok" for e in events),
                                 "skipped": sum(e.state == "skipped" for e in events)})
        finally:
            kb.close()
    return {"files": files, "first_run": runs[0], "unchanged_rerun": runs[1],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
