"""`localkb bench ingest`: how close the full pipeline runs to the embedder's own speed.

The embedder is the bottleneck by design (DESIGN.md), so the figure of merit is the ratio of
full-pipeline chunks/s to embedder-alone chunks/s on the same chunks, measured in one run on the
same machine; parsing, splitting, keyword indexing and writes should hide behind embedding.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
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


def run_ingest_bench(data: Path, limit: int | None = None, settings: Settings | None = None) -> dict:
    from app.services.library import LibraryService

    settings = settings or Settings()
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
            service = LibraryService(settings)
            embedder = service.embedder()
            embedder.embed_documents(["warm up the model so loading is not timed"])
            started = time.perf_counter()
            report = service.ingest([source], "bench")
            pipeline_s = time.perf_counter() - started
            kb = service.open_kb("bench")
            texts = [r[0] for r in kb._conn.execute("SELECT text FROM chunks ORDER BY rowid")]
            started = time.perf_counter()
            for i in range(0, len(texts), embedder.batch_size):
                embedder.embed_documents(texts[i : i + embedder.batch_size])
            embed_s = time.perf_counter() - started
            service.close()
        finally:
            if old_home is None:
                os.environ.pop("LOCALKB_HOME", None)
            else:
                os.environ["LOCALKB_HOME"] = old_home
    n = len(texts)
    return {
        "files": len(report.events), "ok": report.ok, "failed": report.failed, "chunks": n,
        "pipeline_seconds": round(pipeline_s, 2), "pipeline_chunks_per_s": round(n / pipeline_s, 2),
        "embedder_seconds": round(embed_s, 2), "embedder_chunks_per_s": round(n / embed_s, 2),
        "ratio": round((n / pipeline_s) / (n / embed_s), 3),
        "embed_seconds_inside_pipeline": round(report.embed_seconds, 2),
    }
