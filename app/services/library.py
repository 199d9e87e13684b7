"""Knowledge bases and their documents: create, list, ingest, remove, re-index, follow folders.

The one place that wires settings to the ingestion engine.  Knowledge bases are opened once and
cached; the embedder is shared by all of them and loads on first use.  Followed folders are
watched by one `ingest.watch.FolderSync` per knowledge base, started by `start_watching` (the
GUI's engine process does; the CLI only runs `sync` once).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from app import paths
from app.errors import KnowledgeBaseDamaged, KnowledgeBaseError, ModelError
from app.settings import Settings
from ingest.embedder import Embedder
from ingest.kb import WRITER_WAIT_S, KnowledgeBase, kb_exists, validate_name, writer_lock
from ingest.pipeline import IngestOptions, IngestPipeline
from ingest.progress import CancelToken, FileEvent, ProgressSink
from ingest import repair as kb_repair
from ingest import shared as shared_kb
from ingest import watch
from ingest.ignore import validate as validate_rules
from ingest.store import ServerAddress, VectorStore, guarded, open_client
from ingest.types import CHILD_SEPARATOR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KBInfo:
    name: str
    documents: int
    chunks: int
    embedder: str
    damaged: str = ""  # why it cannot be used until repaired; '' when it is sound
    # Indexed by another embedder than the one set now (e.g. the int8 default of earlier
    # versions): it still answers, but takes no new files until it is re-indexed.
    other_embedder: bool = False


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
    commit_seconds: float = 0.0
    commits: int = 0

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


@dataclass(frozen=True)
class FolderInfo:
    folder: str
    exists: bool
    state: str  # watching | syncing | paused | error | not watching
    pending: int  # files in the sync under way or queued for it
    error: str
    last_sync: float | None  # when the knowledge base last finished a sync


class LibraryService:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """`embedder` pins one model for the service's life (tests share a loaded one)."""
        self.settings = settings
        self._kbs: dict[str, KnowledgeBase] = {}
        self._pinned = embedder
        self._embedder: Embedder | None = None
        self._embedder_key: tuple | None = None
        self._lock = threading.RLock()
        self._syncs: dict[str, watch.FolderSync] = {}
        self._paused: set[str] = set()
        self._watching = False
        self._client = None  # the Chroma server's client, when knowledge bases live there
        # Where this computer keeps its copies of shared catalogues; tests give two services two.
        self.replica_root: Path | None = None

    # -- shared resources --------------------------------------------------------------------

    def embedder(self) -> Embedder:
        if self._pinned is not None:
            return self._pinned
        s = self.settings.embedding
        key = (s.embedder_path, s.embedder_languages, s.batch_size, s.runtime)
        with self._lock:
            # Settings can change while the app runs: a new embedder setting means a new model.
            if self._embedder is None or self._embedder_key != key:
                self._embedder = Embedder(s.embedder_path, s.embedder_languages, s.batch_size, runtime=s.runtime)
                self._embedder_key = key
            return self._embedder

    def open_kb(self, name: str, create: bool = False) -> KnowledgeBase:
        name = validate_name(name)
        with self._lock:
            kb = self._kbs.get(name)
            if kb is not None and kb.stale:  # rebuilt by another process: its files were set aside
                kb.close()
                kb = None
            if kb is None:
                if self._server() is not None:
                    kb = self._open_shared_kb(name, create)
                else:
                    root = paths.kb_dir(name)
                    if not kb_exists(root) and not create:
                        raise KnowledgeBaseError(f"No knowledge base named '{name}'. Existing: {', '.join(self.kb_names()) or 'none'}.")
                    kb = KnowledgeBase(root, name)
                self._kbs[name] = kb
            return kb

    # -- knowledge bases on a Chroma server ----------------------------------------------------

    def _server(self) -> ServerAddress | None:
        s = self.settings.store
        return ServerAddress(s.host, s.port, s.token, s.tls, s.tls_ca_path) if s.backend == "server" else None

    def _server_client(self):
        with self._lock:
            if self._client is None:  # a failed connection is not kept: the next call tries again
                self._client = open_client(server=self._server())
            return self._client

    def _shared_root(self, name: str) -> Path:
        server = self._server()
        assert server is not None
        # This computer's copy of the catalogue and keyword index, one folder per server.
        return (self.replica_root or paths.data_dir() / "shared") / f"{server.host}_{server.port}" / name

    def _open_shared_kb(self, name: str, create: bool) -> KnowledgeBase:
        server = self._server()
        client = self._server_client()
        writer = self.settings.store.writer
        if name not in self.kb_names():
            if not create:
                raise KnowledgeBaseError(f"No knowledge base named '{name}' on the Chroma server at {server.url}. "
                                         f"Existing: {', '.join(self.kb_names()) or 'none'}.")
            if not writer:
                raise KnowledgeBaseError(f"Knowledge base '{name}' cannot be created from this computer: it only reads "
                                         "the Chroma server's knowledge bases (settings: store.writer).")
        chunks_name, _ = shared_kb.collection_names(name)

        def store() -> VectorStore:
            return VectorStore(client=client, name=chunks_name, server=server,
                               metadata={"localkb_kb": name, "localkb_role": "chunks"})

        kb = KnowledgeBase(self._shared_root(name), name, store_factory=store,
                           shared_factory=lambda s: shared_kb.SharedCatalog(client, name, s._guard),
                           read_only=not writer)
        kb.shared  # noqa: B018 - creates the catalogue collection, which is what lists the KB
        if writer:
            try:
                with kb.writer():  # publishes what a crash left unpublished, adopts what only the server has
                    pass
            except KnowledgeBaseError as exc:
                log.info("not reconciling '%s' now: %s", name, exc)
        else:
            kb.refresh(force=True)
        return kb

    def close(self) -> None:
        self.stop_watching()
        with self._lock:
            for kb in self._kbs.values():
                kb.close()
            self._kbs.clear()

    # -- knowledge bases ---------------------------------------------------------------------

    def kb_names(self) -> list[str]:
        server = self._server()
        if server is not None:
            client = self._server_client()
            return guarded(server, lambda: shared_kb.list_shared_kbs(client), "listing knowledge bases")
        root = paths.kbs_dir()
        if not root.exists():
            return []
        return sorted(p.name for p in root.iterdir() if p.is_dir() and kb_exists(p))

    def warm_up(self, names: Sequence[str]) -> list[str]:
        """Load the embedder and the vector indexes of `names` now; returns the KBs loaded.

        Chroma reads a KB's vector index on its first search: 1.5-2 s at 116,000 passages on this
        2-core box, which the first question would otherwise wait for (its quote included), and
        the embedder's first query loads its model (~1 s of the first quote in the window), and the
        first Chinese question loads jieba's dictionary (1.5 s, 72 MB: only for a KB holding Chinese).
        The window calls this when a KB is selected, while the user is still typing.  A KB that is
        damaged or gone is left alone: the list already says so."""
        import numpy as np

        from ingest.keyword import cut_words

        warmed = []
        if names:
            self.embedder().embed_query("warm-up")  # the first question's embedding loads the model otherwise
        for name in names:
            try:
                kb = self.open_kb(name)
                dimension = kb.meta("dimension")
                if not dimension or not kb.chunk_count():
                    continue
                probe = np.zeros(int(dimension), dtype=np.float32)
                probe[0] = 1.0
                kb.dense_search(probe, 1)
                if kb.has_language("zh"):
                    cut_words("预热")
                warmed.append(name)
            except KnowledgeBaseError as exc:
                log.info("not warming up %s: %s", name, exc)
        return warmed

    def list_kbs(self) -> list[KBInfo]:
        """Every knowledge base; a damaged one is listed with why, so it can be repaired."""
        try:
            current = self.embedder().name  # names the embedder without loading its model
        except ModelError:
            current = ""
        out = []
        for name in self.kb_names():
            try:
                kb = self.open_kb(name)
                docs, chunks = kb.sizes()
            except KnowledgeBaseDamaged as exc:
                out.append(KBInfo(name, 0, 0, "", str(exc)))
                continue
            used = kb.meta("embedder") or ""
            out.append(KBInfo(name, docs, chunks, used, other_embedder=bool(chunks and used and current and used != current)))
        return out

    def repair(self, kb: str, progress: ProgressSink | None = None,
               note: Callable[[str], None] | None = None) -> kb_repair.RepairReport:
        """Check a knowledge base fully and rebuild whatever is damaged (see `ingest.repair`).

        From the catalogue's own texts where it is readable, else from the source files it still
        names and the folders it follows; damaged files are kept aside in the KB's folder.
        """
        name = validate_name(kb)
        if self._server() is not None:
            raise KnowledgeBaseError(f"Knowledge base '{name}' lives on a Chroma server; this computer's copy of its "
                                     "catalogue is rebuilt from the server when it is opened again.")
        root = paths.kb_dir(name)
        if not kb_exists(root):
            raise KnowledgeBaseError(f"No knowledge base named '{name}'. Existing: {', '.join(self.kb_names()) or 'none'}.")
        self.stop_watching(name)
        with self._lock:
            cached = self._kbs.pop(name, None)
        if cached is not None:
            cached.close()  # its connection and Chroma client point at files about to be set aside

        def ingest_files(base: KnowledgeBase, files: list[str]) -> list[FileEvent]:
            return self._pipeline(base, progress).run(files)

        embedder = self.embedder()
        report = kb_repair.repair(root, name, embedder.name, embedder.embed_documents, ingest_files, note)
        if report.from_sources:
            base = self.open_kb(name)
            if watch.followed_folders(base):
                report.events += self.sync(name, progress).events
        if self._watching:
            self.start_watching()
        return report

    def create_kb(self, name: str) -> None:
        name = validate_name(name)
        if kb_exists(paths.kb_dir(name)) if self._server() is None else name in self.kb_names():
            raise KnowledgeBaseError(f"A knowledge base named '{name}' already exists.")
        self.open_kb(name, create=True)

    def rename_kb(self, old: str, new: str) -> None:
        old, new = validate_name(old), validate_name(new)
        if self._server() is not None:
            raise KnowledgeBaseError("A knowledge base on a Chroma server cannot be renamed; create a new one and follow the same folders.")
        if kb_exists(paths.kb_dir(new)):
            raise KnowledgeBaseError(f"A knowledge base named '{new}' already exists.")
        kb = self.open_kb(old)
        self.stop_watching(old)
        with kb.writer():
            with self._lock:
                kb.close()
                self._kbs.pop(old, None)
                paths.kb_dir(old).rename(paths.kb_dir(new))
        if self._watching:
            self.start_watching()

    def delete_kb(self, name: str) -> None:
        try:
            kb = self.open_kb(name)
        except KnowledgeBaseDamaged:
            if self._server() is not None:
                raise
            # A damaged KB can still be deleted: its folder goes under the writer lock, unopened.
            name = validate_name(name)
            self.stop_watching(name)
            with writer_lock(paths.kb_dir(name), name):
                shutil.rmtree(paths.kb_dir(name))
            return
        self.stop_watching(kb.name)
        with kb.writer():
            with self._lock:
                kb.close()
                self._kbs.pop(kb.name, None)
                if self._server() is not None:
                    client = self._server_client()
                    guarded(self._server(), lambda: shared_kb.delete_shared_kb(client, kb.name), "deleting")
                shutil.rmtree(kb.root)

    # -- documents ---------------------------------------------------------------------------

    def documents(self, kb: str) -> list[DocumentInfo]:
        return [DocumentInfo(d.path, d.status, d.reason, d.file_type, d.pages, d.chunks, d.updated)
                for d in self.open_kb(kb).documents()]

    def ingest(self, paths_: Sequence[Path | str], kb: str = "default", progress: ProgressSink | None = None,
               cancel: CancelToken | None = None, force: bool = False, wait_s: float = WRITER_WAIT_S) -> IngestReport:
        """Read `paths_` into `kb`; waits up to `wait_s` (or until `cancel`) for another writer to finish."""
        base = self.open_kb(kb, create=True)
        started = time.monotonic()
        with base.writer(wait_s=wait_s, cancel=cancel):
            pipeline = self._pipeline(base, progress, cancel, force)
            events = pipeline.run(paths_)
        return IngestReport(events, sum(e.chunks for e in events if e.state == "ok"), time.monotonic() - started,
                            pipeline.embed_seconds, pipeline.commit_seconds, pipeline.commits)

    def _pipeline(self, base: KnowledgeBase, progress: ProgressSink | None = None, cancel: CancelToken | None = None,
                  force: bool = False) -> IngestPipeline:
        s = self.settings.ingest
        options = IngestOptions(s.chunk_size, s.chunk_overlap, s.max_file_mb, s.file_timeout_s, s.max_pages, s.ocr,
                                s.parse_workers, force)
        # The app's own data is never ingested, even when a user drops their home folder.
        return IngestPipeline(base, self.embedder(), options, progress, cancel, exclude=[paths.data_dir()])

    def reindex(self, kb: str, paths_: Sequence[Path | str] | None = None, progress: ProgressSink | None = None,
                cancel: CancelToken | None = None) -> IngestReport:
        """Re-read documents (all of them when paths_ is None), e.g. after changing the embedder."""
        base = self.open_kb(kb)
        # A KB of another embedder is re-read whole whatever is asked (the pipeline takes every
        # document down and reads it again, so two embedders' vectors never mix).
        moving = base.meta("embedder") not in (None, self.embedder().name)
        targets = list(paths_) if paths_ is not None else [] if moving else [d.path for d in base.documents()]
        return self.ingest(targets, kb, progress, cancel, force=True)

    def remove(self, kb: str, paths_: Sequence[Path | str], wait_s: float = WRITER_WAIT_S) -> list[FileEvent]:
        base = self.open_kb(kb)
        events = []
        with base.writer(wait_s=wait_s):
            known = {d.path for d in base.documents()}
            for raw in paths_:
                p = str(Path(raw).expanduser().resolve()) if str(raw) not in known else str(raw)
                # A folder removes every document under it; a file, the documents read from inside
                # it (`mail.eml › a.pdf`), which would otherwise stay searchable with no way back to them.
                matches = [k for k in known if k == p or k.startswith(p.rstrip("/") + "/")
                           or k.startswith(p + CHILD_SEPARATOR)]
                if not matches:
                    events.append(FileEvent(str(raw), "failed", f"not in knowledge base '{base.name}'"))
                for m in sorted(matches):
                    base.remove_document(m)
                    events.append(FileEvent(m, "removed"))
        return events

    def page_text(self, kb: str, path: str, page: int | None, section: int | None = None) -> str:
        return self.open_kb(kb).page_text(path, page, section)

    # -- followed folders --------------------------------------------------------------------

    def follow(self, kb: str, folders: Sequence[Path | str]) -> list[FolderInfo]:
        """Follow folders (creating the knowledge base if needed); watched at once when watching is on."""
        base = self.open_kb(kb, create=True)
        if base.read_only:
            with base.writer():  # raises the reader's "changes are made on the writer" message
                pass
        data = paths.data_dir().resolve()
        wanted = []
        for raw in folders:
            folder = Path(raw).expanduser().resolve()
            if not folder.is_dir():
                raise KnowledgeBaseError(f"Cannot follow '{raw}': it is not a folder.")
            if folder == data or folder in data.parents or data in folder.parents:
                raise KnowledgeBaseError(f"Cannot follow '{folder}': it holds LocalKB's own data ({data}).")
            wanted.append(str(folder))
        current = watch.followed_folders(base)
        watch.set_followed_folders(base, current + [f for f in wanted if f not in current])
        self._reload_sync(base.name)
        return self.folders(base.name)

    def unfollow(self, kb: str, folders: Sequence[Path | str]) -> list[FolderInfo]:
        """Stop following folders; their documents stay until removed."""
        base = self.open_kb(kb)
        drop = {str(Path(f).expanduser().resolve()) for f in folders} | {str(f) for f in folders}
        current = watch.followed_folders(base)
        missing = [str(f) for f in folders if str(f) not in current and str(Path(f).expanduser().resolve()) not in current]
        if missing:
            raise KnowledgeBaseError(f"Knowledge base '{base.name}' does not follow {', '.join(missing)}.")
        watch.set_followed_folders(base, [f for f in current if f not in drop])
        self._reload_sync(base.name)
        return self.folders(base.name)

    def folders(self, kb: str) -> list[FolderInfo]:
        base = self.open_kb(kb)
        with self._lock:
            sync = self._syncs.get(base.name)
        if sync is not None:
            st = sync.status()
            state, pending, error, last = st.state, st.pending, st.error, st.last_sync
        else:
            state = "paused" if base.name in self._paused else "not watching"
            pending, error, last = 0, "", watch.last_sync(base)
        return [FolderInfo(f, Path(f).is_dir(), state, pending, error, last) for f in watch.followed_folders(base)]

    def recent_sync_events(self, kb: str) -> list[FileEvent]:
        """What the watcher's latest syncs did (up to 50 events), newest last."""
        with self._lock:
            sync = self._syncs.get(validate_name(kb))
        return list(sync.status().last_events) if sync is not None else []

    def ignore_rules(self, kb: str) -> str:
        return watch.ignore_rules_text(self.open_kb(kb))

    def set_ignore_rules(self, kb: str, text: str) -> None:
        """New rules apply at once: newly ignored documents are removed, newly allowed files read."""
        base = self.open_kb(kb)
        try:
            validate_rules(text)
        except ValueError as exc:
            raise KnowledgeBaseError(str(exc)) from exc
        base.set_meta(watch.META_RULES, text)
        self._reload_sync(base.name)

    def sync(self, kb: str, progress: ProgressSink | None = None, cancel: CancelToken | None = None) -> IngestReport:
        """Make the knowledge base match its followed folders now (moves, changes, deletions)."""
        base = self.open_kb(kb)
        if not watch.followed_folders(base):
            raise KnowledgeBaseError(f"Knowledge base '{base.name}' follows no folders; add one with localkb watch.")
        started = time.monotonic()
        pipeline_box: list[IngestPipeline] = []

        def ingest_files(files: list[str], token: CancelToken) -> list[FileEvent]:
            pipeline = self._pipeline(base, progress, token)
            pipeline_box.append(pipeline)
            return pipeline.run(files)

        events, _plan = watch.sync_once(base, ingest_files, cancel, exclude=[str(paths.data_dir())])
        if progress is not None:
            for e in events:
                if e.state in ("moved", "removed"):
                    progress.file_event(e)
        return IngestReport(events, sum(e.chunks for e in events if e.state == "ok"), time.monotonic() - started,
                            sum(p.embed_seconds for p in pipeline_box))

    def start_watching(self) -> list[str]:
        """Watch the followed folders of every knowledge base (idempotent); each first reconciles with the disk."""
        if not self.settings.sync.watch:
            return []
        self._watching = True
        for name in self.kb_names():
            try:
                base = self.open_kb(name)
            except KnowledgeBaseDamaged as exc:  # the others are still watched; the window offers the rebuild
                log.warning("not watching %s: %s", name, exc)
                continue
            with self._lock:
                if name in self._syncs or name in self._paused or not watch.followed_folders(base):
                    continue
                self._syncs[name] = self._new_sync(base).start()
        with self._lock:
            return sorted(self._syncs)

    def _new_sync(self, base: KnowledgeBase) -> watch.FolderSync:
        def ingest_files(files: list[str], token: CancelToken) -> list[FileEvent]:
            return self._pipeline(base, None, token).run(files)

        s = self.settings.sync
        return watch.FolderSync(base, ingest_files, s.debounce_s, s.rescan_minutes * 60.0, exclude=[paths.data_dir()])

    def _reload_sync(self, name: str) -> None:
        with self._lock:
            sync = self._syncs.get(name)
        if sync is None:
            if self._watching and name not in self._paused:  # watching is on: follow the new folders too
                self.start_watching()
            return
        if not watch.followed_folders(sync.kb):
            with self._lock:
                self._syncs.pop(name, None)
            sync.stop()
        else:
            sync.reload()

    def pause_watching(self, kb: str, paused: bool) -> None:
        base = self.open_kb(kb)
        with self._lock:
            if paused:
                self._paused.add(base.name)
            else:
                self._paused.discard(base.name)
            sync = self._syncs.get(base.name)
        if sync is not None:
            sync.set_paused(paused)
        elif not paused:
            self.start_watching()

    def stop_watching(self, kb: str | None = None) -> None:
        """Stop watching one knowledge base, or all of them."""
        with self._lock:
            if kb is None:
                self._watching = False
                syncs, self._syncs = list(self._syncs.values()), {}
            else:
                syncs = [s for s in [self._syncs.pop(kb, None)] if s is not None]
        for sync in syncs:
            sync.stop()
