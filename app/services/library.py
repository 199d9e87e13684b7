"""Knowledge bases and their documents: create, list, ingest, remove, re-index.

The one place that wires settings to the ingestion engine.  Knowledge bases are opened once and
cached; the embedder is shared by all of them and loads on first use.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from app import paths
from app.errors import KnowledgeBaseError
from app.settings import Settings
from ingest.embedder import Embedder
from ingest.kb import KnowledgeBase, kb_exists, validate_name
from ingest.pipeline import IngestOptions, IngestPipeline
from ingest.progress import CancelToken, FileEvent, ProgressSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KBInfo:
    name: str
    documents: int
    chunks: int
    embedder: str


@dataclass(frozen=True)
class DocumentInfo:
    path: str
    status: str  # indexed | pending | failed
    reason: str
    file_type: str
    pages: int | None
    chunks: int
    updated: float


@dataclass
class IngestReport:
    events: list[FileEvent] = field(default_factory=list)
    chunks_added: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    def count(self, state: str) -> int:
        return sum(1 for e in self.events if e.state == state)

    @property
    def ok(self) -> int:
        return self.count("ok")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def failed(self) -> int:
        return self.count("failed")


class LibraryService:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """`embedder` pins one model for the service's life (tests share a loaded one)."""
        self.settings = settings
        self._kbs: dict[str, KnowledgeBase] = {}
        self._pinned = embedder
        self._embedder: Embedder | None = None
        self._embedder_key: tuple | None = None
        self._lock = threading.RLock()

    # -- shared resources --------------------------------------------------------------------

    def embedder(self) -> Embedder:
        if self._pinned is not None:
            return self._pinned
        s = self.settings.embedding
        key = (s.embedder_path, s.embedder_languages, s.batch_size)
        with self._lock:
            # Settings can change while the app runs: a new embedder setting means a new model.
            if self._embedder is None or self._embedder_key != key:
                self._embedder = Embedder(*key)
                self._embedder_key = key
            return self._embedder

    def open_kb(self, name: str, create: bool = False) -> KnowledgeBase:
        name = validate_name(name)
        with self._lock:
            kb = self._kbs.get(name)
            if kb is None:
                root = paths.kb_dir(name)
                if not kb_exists(root) and not create:
                    raise KnowledgeBaseError(f"No knowledge base named '{name}'. Existing: {', '.join(self.kb_names()) or 'none'}.")
                kb = KnowledgeBase(root, name)
                self._kbs[name] = kb
            return kb

    def close(self) -> None:
        with self._lock:
            for kb in self._kbs.values():
                kb.close()
            self._kbs.clear()

    # -- knowledge bases ---------------------------------------------------------------------

    def kb_names(self) -> list[str]:
        root = paths.kbs_dir()
        if not root.exists():
            return []
        return sorted(p.name for p in root.iterdir() if p.is_dir() and kb_exists(p))

    def list_kbs(self) -> list[KBInfo]:
        out = []
        for name in self.kb_names():
            kb = self.open_kb(name)
            docs, chunks = kb.sizes()
            out.append(KBInfo(name, docs, chunks, kb.meta("embedder") or ""))
        return out

    def create_kb(self, name: str) -> None:
        name = validate_name(name)
        if kb_exists(paths.kb_dir(name)):
            raise KnowledgeBaseError(f"A knowledge base named '{name}' already exists.")
        self.open_kb(name, create=True)

    def rename_kb(self, old: str, new: str) -> None:
        old, new = validate_name(old), validate_name(new)
        if kb_exists(paths.kb_dir(new)):
            raise KnowledgeBaseError(f"A knowledge base named '{new}' already exists.")
        kb = self.open_kb(old)
        with kb.writer():
            with self._lock:
                kb.close()
                self._kbs.pop(old, None)
                paths.kb_dir(old).rename(paths.kb_dir(new))

    def delete_kb(self, name: str) -> None:
        kb = self.open_kb(name)
        with kb.writer():
            with self._lock:
                kb.close()
                self._kbs.pop(kb.name, None)
                shutil.rmtree(paths.kb_dir(kb.name))

    # -- documents ---------------------------------------------------------------------------

    def documents(self, kb: str) -> list[DocumentInfo]:
        return [DocumentInfo(d.path, d.status, d.reason, d.file_type, d.pages, d.chunks, d.updated)
                for d in self.open_kb(kb).documents()]

    def ingest(self, paths_: Sequence[Path | str], kb: str = "default", progress: ProgressSink | None = None,
               cancel: CancelToken | None = None, force: bool = False) -> IngestReport:
        base = self.open_kb(kb, create=True)
        s = self.settings.ingest
        options = IngestOptions(s.chunk_size, s.chunk_overlap, s.max_file_mb, s.file_timeout_s, s.max_pages, s.ocr,
                                s.parse_workers, force)
        started = time.monotonic()
        with base.writer():
            # The app's own data is never ingested, even when a user drops their home folder.
            pipeline = IngestPipeline(base, self.embedder(), options, progress, cancel, exclude=[paths.data_dir()])
            events = pipeline.run(paths_)
        return IngestReport(events, sum(e.chunks for e in events if e.state == "ok"), time.monotonic() - started,
                            pipeline.embed_seconds)

    def reindex(self, kb: str, paths_: Sequence[Path | str] | None = None, progress: ProgressSink | None = None,
                cancel: CancelToken | None = None) -> IngestReport:
        """Re-read documents (all of them when paths_ is None), e.g. after changing the embedder."""
        base = self.open_kb(kb)
        targets = list(paths_) if paths_ is not None else [d.path for d in base.documents()]
        if paths_ is None and base.meta("embedder") not in (None, self.embedder().name):
            # A new embedder's vectors must never mix with the old ones: start the vectors afresh.
            with base.writer():
                for d in base.documents():
                    base.remove_document(d.path)
                base.set_meta("embedder", self.embedder().name)
        return self.ingest(targets, kb, progress, cancel, force=True)

    def remove(self, kb: str, paths_: Sequence[Path | str]) -> list[FileEvent]:
        base = self.open_kb(kb)
        events = []
        with base.writer():
            known = {d.path for d in base.documents()}
            for raw in paths_:
                p = str(Path(raw).expanduser().resolve()) if str(raw) not in known else str(raw)
                # A folder removes every document under it.
                matches = [k for k in known if k == p or k.startswith(p.rstrip("/") + "/")]
                if not matches:
                    events.append(FileEvent(str(raw), "failed", f"not in knowledge base '{base.name}'"))
                for m in sorted(matches):
                    base.remove_document(m)
                    events.append(FileEvent(m, "removed"))
        return events

    def page_text(self, kb: str, path: str, page: int | None, section: int | None = None) -> str:
        return self.open_kb(kb).page_text(path, page, section)
