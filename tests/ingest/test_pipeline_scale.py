"""Big folders: a re-run over an unchanged folder reads no file's content, and parsed text never piles up
in front of the embedder (memory bounded whatever the folder size)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from ingest import pipeline as pipeline_module
from ingest.kb import KnowledgeBase
from ingest.pipeline import IngestOptions, IngestPipeline


class CheapEmbedder:
    """Random unit vectors: the pipeline's bookkeeping is under test, not the model."""

    name = "cheap"
    languages = frozenset()
    batch_size = 16
    window = 32
    dimension = 8

    def __init__(self, gate: threading.Event | None = None) -> None:
        self._rng = np.random.default_rng(0)
        self.gate = gate
        self.backlogs: list[int] = []
        self.pipeline: IngestPipeline | None = None

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if self.gate is not None:
            # Hold the first batch back, as a slow embedder would, until the pipeline stops parsing
            # (a bounded one stalls; an unbounded one reads nearly the whole folder meanwhile).
            self.gate.wait(timeout=30)
            self.gate = None
        if self.pipeline is not None:
            self.backlogs.append(self.pipeline._chunks_total - self.pipeline._chunks_embedded)
        v = self._rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _folder(root: Path, files: int, paragraphs: int = 1) -> Path:
    root.mkdir()
    for i in range(files):
        text = "\n\n".join(f"File {i} paragraph {p}: " + "words of a note " * 40 for p in range(paragraphs))
        (root / f"note{i:05d}.txt").write_text(text)
    return root


def _no_parse(path: str, ocr: bool, max_pages: int, timeout_s: float | None = None):
    raise AssertionError(f"{path} was read again")


def test_an_unchanged_folder_is_planned_from_stat_alone(tmp_path, monkeypatch):
    folder = _folder(tmp_path / "docs", 100)
    kb = KnowledgeBase(tmp_path / "kb", "kb")
    with kb.writer():
        first = IngestPipeline(kb, CheapEmbedder(), IngestOptions(parse_workers=2))
        assert {e.state for e in first.run([folder])} == {"ok"}
    assert first.files_hashed == 100

    def no_hash(path):
        raise AssertionError(f"{path} was hashed again")

    monkeypatch.setattr(pipeline_module, "file_hash", no_hash)
    with kb.writer():
        again = IngestPipeline(kb, CheapEmbedder(), IngestOptions(), parse=_no_parse)
        events = again.run([folder])
    assert len(events) == 100 and {e.state for e in events} == {"skipped"}
    assert again.files_hashed == 0
    kb.close()


def test_parsed_chunks_waiting_for_the_embedder_stay_bounded(tmp_path):
    # 48 files of 50 chunks: 2,400 chunks, over twice the pipeline's backlog bound.
    files, per_file = 48, 50
    folder = _folder(tmp_path / "docs", files, paragraphs=per_file)
    gate = threading.Event()
    embedder = CheapEmbedder(gate)
    kb = KnowledgeBase(tmp_path / "kb", "kb")
    with kb.writer():
        pipeline = IngestPipeline(kb, embedder, IngestOptions(chunk_size=800, chunk_overlap=0, parse_workers=2))
        embedder.pipeline = pipeline
        total = files * per_file
        bound = pipeline.max_backlog
        assert bound < total / 2

        def watch() -> None:
            # Opens the gate once parsing stalls for 1.5 s or has read 90% of the folder.
            last, still_since = -1, time.monotonic()
            while not gate.is_set():
                seen = pipeline._chunks_total
                if seen != last:
                    last, still_since = seen, time.monotonic()
                if seen >= total * 0.9 or (seen and time.monotonic() - still_since > 1.5):
                    gate.set()
                gate.wait(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        events = pipeline.run([folder])
        watcher.join()
    assert {e.state for e in events} == {"ok"} and sum(e.chunks for e in events) == total
    # The files in flight when the bound is reached (4 per parser) and one window may land on top.
    assert max(embedder.backlogs) <= bound + 8 * per_file + embedder.window
    assert kb.chunk_count() == total
    kb.close()
