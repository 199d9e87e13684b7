"""A knowledge base on disk: the catalogue (with its keyword index) plus a Chroma collection.

Crash safety rests on one rule: a document becomes visible only when the single SQLite
transaction that writes its chunk rows, its keyword rows and its catalogue row commits.  Vectors
are written to Chroma *before* that transaction and are invisible until it commits, because every
dense hit is resolved through the catalogue's chunk table and ids it lacks are dropped.  Vectors
that may have to go (a replaced or removed version, or a write interrupted by a crash) are listed
in `vector_gc` in the same transaction, and deleted from Chroma afterwards or on the next open.

A knowledge base on a Chroma server (`ingest.shared`) adds one step after that commit: the
writer publishes the new version to the server's catalogue; readers rebuild their own catalogue
from it (`refresh`) and never write.  What a crash or an unreachable server left unpublished is
published at the start of the writer's next write.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import shlex
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from app.errors import KnowledgeBaseDamaged, KnowledgeBaseError
from ingest import catalog, keyword
from ingest import shared as shared_kb
from ingest.kb_check import chroma_problem_settled
from ingest.store import StoreUnavailable, VectorStore
from ingest.types import CHILD_SEPARATOR, Chunk, LoadedDocument

log = logging.getLogger(__name__)

KB_NAME = re.compile(r"^[\w][\w .\-]{0,63}$", re.UNICODE)


@dataclass
class NewVersion:
    """A parsed, split and embedded file, ready to be made visible."""

    path: str
    doc_id: str
    content_hash: str
    size: int | None
    mtime: float | None
    doc: LoadedDocument
    chunks: list[Chunk]
    vectors: np.ndarray


class WriterBusy(KnowledgeBaseError):
    """Another process (or an ingest in this one) is writing the knowledge base; try again later."""


# How long one writer waits for another before WriterBusy: a folder sync behind a user's ingest,
# and a user's ingest or removal behind a sync's round (often a moment).  A long ingest in another
# window or command is still refused after this wait.
WRITER_WAIT_S = 30.0


@contextmanager
def writer_lock(root: Path, name: str, wait_s: float = 0.0, cancel=None) -> Iterator[None]:
    """The writer lock of the KB in `root`: an flock, so a second holder is refused whether it is
    another process or another KnowledgeBase object of this one (folder sync waits behind a
    user's ingest in the same engine)."""
    try:
        fh = open(root / ".writer.lock", "w")
    except OSError as exc:
        raise write_failure(exc, name, root) or KnowledgeBaseError(
            f"Cannot open knowledge base '{name}' for writing: {exc.strerror or exc}.") from exc
    deadline = time.monotonic() + wait_s
    with fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline or (cancel is not None and cancel.cancelled):
                    raise WriterBusy(
                        f"Knowledge base '{name}' is being changed by another LocalKB window or command; try again when it finishes."
                    ) from exc
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_FULL_WORDS = ("no space left", "disk is full", "os error 28", "errno 28", "quota exceeded")
_READ_ONLY_WORDS = ("read-only file system", "readonly database", "os error 30", "errno 30", "permission denied",
                    "os error 13", "errno 13", "operation not permitted")


def write_failure(exc: BaseException, name: str, root: Path) -> KnowledgeBaseError | None:
    """A user's words for a write that failed because the disk is full or the folder is read-only.

    SQLite, Chroma's Rust core and Python each report these differently (an errno, "database or
    disk is full", "os error 28"), so the whole cause chain is read.  None: some other failure.
    """
    chain, seen = [], set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    codes = {e.errno for e in chain if isinstance(e, OSError)}
    text = " | ".join(f"{type(e).__name__}: {e}" for e in chain).lower()
    elsewhere = [e for e in chain if isinstance(e, OSError) and e.filename
                 and not os.path.realpath(str(e.filename)).startswith(os.path.realpath(root))]
    if elsewhere:  # a source file, not the knowledge base: the pipeline's own per-file reasons cover it
        return None
    if codes & {errno.ENOSPC, errno.EDQUOT} or any(w in text for w in _FULL_WORDS):
        return KnowledgeBaseError(
            f"The disk holding knowledge base '{name}' is full ({root}). Free some space, then add the files "
            "again: what was already indexed is intact, and the rest is read where it stopped.")
    # SQLite says only "unable to open database file" when it cannot create its -shm file beside a
    # catalogue on a read-only file system; the folder itself tells which it is.
    cannot_open = "unable to open database file" in text or "attempt to write" in text
    if (codes & {errno.EROFS, errno.EACCES, errno.EPERM} or any(w in text for w in _READ_ONLY_WORDS)
            or (cannot_open and _read_only(root))):
        return KnowledgeBaseError(
            f"LocalKB cannot write to knowledge base '{name}' ({root}): the folder is read-only or belongs to "
            "someone else. Make it writable and try again; nothing in it was changed.")
    return None


def _read_only(root: Path) -> bool:
    try:
        if os.statvfs(root).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(root, os.W_OK)


def repair_hint(name: str) -> str:
    return f"Rebuild it with Rebuild in the window, or: localkb repair --kb {shlex.quote(name)}"


def validate_name(name: str) -> str:
    name = name.strip()
    if not KB_NAME.match(name) or name in {".", ".."}:
        raise KnowledgeBaseError(
            f"Invalid knowledge base name {name!r}: use letters, digits, spaces, '.', '-' or '_' (at most 64)."
        )
    return name


@dataclass(frozen=True)
class ChunkRecord:
    id: str
    doc_id: str
    seq: int
    section: int
    text: str
    path: str
    page: int | None
    heading_path: tuple[str, ...]
    start: int
    end: int
    lang: str


@dataclass(frozen=True)
class DocumentRow:
    path: str
    doc_id: str | None
    content_hash: str | None
    size: int | None
    mtime: float | None
    file_type: str
    pages: int | None
    title: str
    status: str
    reason: str
    chunks: int
    warnings: str
    updated: float
    failed_hash: str | None = None


_CHUNK_COLUMNS = 'id, doc_id, seq, section, text, path, page, heading_path, start, "end", lang'


def _chunk_record(row) -> ChunkRecord:
    return ChunkRecord(row["id"], row["doc_id"], row["seq"], row["section"], row["text"], row["path"],
                       row["page"], tuple(json.loads(row["heading_path"])), row["start"], row["end"], row["lang"])


class KnowledgeBase:
    REFRESH_S = 1.0  # a shared knowledge base's reader asks the server for news at most this often

    def __init__(self, root: Path, name: str | None = None, store_factory: Callable[[], VectorStore] | None = None,
                 shared_factory: Callable[[VectorStore], "shared_kb.SharedCatalog"] | None = None,
                 read_only: bool = False, check: bool = True) -> None:
        """`store_factory` opens the vector store (default: embedded under `root`); `shared_factory`
        makes this a shared knowledge base, written here unless `read_only`.

        Opening checks, cheaply, that the catalogue is whole and that the keyword index and the
        vectors are all there, and raises `KnowledgeBaseDamaged` if not; `check=False` opens a
        damaged knowledge base for repair.
        """
        self.root = root
        self.name = name or root.name
        self._check = check
        self._embedded = store_factory is None
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_failure(exc, self.name, root) or KnowledgeBaseError(
                f"Cannot create knowledge base '{self.name}' in {root}: {exc.strerror or exc}.") from exc
        self._lock = threading.RLock()
        self._writing = 0  # writer() blocks this object is inside; only a writer collects garbage
        self._term_frequencies = keyword.TermFrequencies()  # prunes common terms from large indexes
        if check:
            problem = self._catalogue_problem()
            if problem:
                raise self.damaged(problem)
        try:
            self._conn = catalog.connect(root / "catalog.sqlite3")
        except sqlite3.DatabaseError as exc:
            if catalog.is_corruption(exc):
                raise self.damaged(f"its catalogue cannot be read ({exc})") from exc
            raise write_failure(exc, self.name, root) or exc
        self._inode = self._catalogue_inode()
        self._store: VectorStore | None = None
        self._store_factory = store_factory or (lambda: VectorStore(self.root / "chroma"))
        self._shared_factory = shared_factory
        self._shared: shared_kb.SharedCatalog | None = None
        self.read_only = read_only
        self._refresh_lock = threading.Lock()
        self._last_refresh = 0.0
        if check:
            problem = self._index_problem()
            if problem:
                self._conn.close()
                raise self.damaged(problem)
        if read_only:  # a reader owns no vectors: it must never delete the writer's
            with self._lock:
                self._conn.execute("DELETE FROM vector_gc")
        else:
            self.collect_garbage()

    # -- damage ------------------------------------------------------------------------------

    def _catalogue_inode(self) -> int | None:
        try:
            return (self.root / "catalog.sqlite3").stat().st_ino
        except OSError:
            return None

    @property
    def stale(self) -> bool:
        """Whether another process rebuilt this KB (a repair sets the old files aside) since it was
        opened: this object still reads and would write the old files."""
        return self._catalogue_inode() != self._inode

    def damaged(self, what: str) -> KnowledgeBaseDamaged:
        return KnowledgeBaseDamaged(f"Knowledge base '{self.name}' is damaged: {what}. {repair_hint(self.name)}",
                                    self.name)

    def _catalogue_problem(self) -> str:
        """A catalogue that is cut short, or gone (or emptied) while vectors remain."""
        path = self.root / "catalog.sqlite3"
        cut = catalog.truncation(path)
        if cut:
            return f"its catalogue {cut}"
        empty = not path.exists() or path.stat().st_size == 0
        chroma = self.root / "chroma"
        if empty and self._embedded and chroma.is_dir() and any(chroma.iterdir()):
            return "its catalogue (catalog.sqlite3) is missing or empty while its vectors remain"
        return ""

    def _index_problem(self) -> str:
        """Cheap checks on open: the keyword index holds every passage and matches its checksums; the
        vector folder and its index files are there, at the sizes their header gives."""
        try:
            with self._lock:
                chunks = self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
                indexed = self._conn.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if catalog.is_corruption(exc) or "no such table" in str(exc):
                return f"its catalogue or keyword index cannot be read ({exc})"
            raise
        if chunks != indexed:
            return f"its keyword index holds {indexed} passages of {chunks}"
        with self._lock:
            try:
                broken = keyword.damage(self._conn)
            except sqlite3.DatabaseError as exc:
                if catalog.is_corruption(exc):
                    return f"its keyword index cannot be read ({exc})"
                raise
        if broken:
            return f"its keyword index is damaged: {broken}"
        if chunks and self._embedded and not (self.root / "chroma").is_dir():
            return f"its vector store (the chroma folder) is missing, with {chunks} passages indexed"
        if chunks and self._embedded:
            return chroma_problem_settled(self.root / "chroma", full=False)  # the full check waits for Chroma's load
        return ""

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn a corrupt page met while reading into the damaged-KB message, not a traceback."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if catalog.is_corruption(exc):
                raise self.damaged(f"its catalogue cannot be read ({exc})") from exc
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def store(self) -> VectorStore:
        # Chroma is opened on first use: listing documents must not pay for it.
        with self._lock:
            if self._store is None:
                self._store = self._open_store(self._check)
            return self._store

    def _open_store(self, check: bool) -> VectorStore:
        if not self._embedded:
            return self._store_factory()
        # Passages are counted before vectors: vectors are written before their passages commit
        # and deleted after, so a writer in another process can only make the vectors more.
        chunks = self.chunk_count()
        if check:
            # Before Chroma reads them: on a cut-short index it answers from part of the vectors or
            # aborts the whole process.
            problem = chroma_problem_settled(self.root / "chroma")
            if problem and not (chunks == 0 and self._discard_unused_store(problem)):
                raise self.damaged(problem)
        store = None
        try:
            store = self._store_factory()
            vectors = store.count() if check else 0
        except Exception as exc:  # noqa: BLE001 - Chroma's core raises many types for a bad folder
            if store is not None:
                store.close()
            failure = write_failure(exc, self.name, self.root)
            if failure is not None:
                raise failure from exc
            if check and chunks == 0 and self._discard_unused_store(f"Chroma failed to open it ({exc})"):
                return self._open_store(check=False)
            raise self.damaged(f"its vector store cannot be opened ({type(exc).__name__}: {exc})") from exc
        if check:
            if vectors < chunks:
                store.close()
                raise self.damaged(f"its vector store holds {vectors} vectors for {chunks} passages")
        return store

    def _discard_unused_store(self, problem: str) -> bool:
        """Delete a damaged vector store that no passage needs; whether it was deleted.

        With no passage committed, every vector in it is an interrupted ingest's garbage, and the
        likeliest damage is an ingest killed while Chroma created its database (its tables half
        made): asking the user to repair a KB that holds nothing would be absurd.  Only under the
        writer lock, so a writer creating the store this moment in another process is left alone.
        """
        def discard() -> bool:
            if self.chunk_count():  # a writer committed passages meanwhile: they need these vectors
                return False
            log.warning("knowledge base '%s' holds no passages and %s; its vector store is made afresh",
                        self.name, problem)
            shutil.rmtree(self.root / "chroma", ignore_errors=True)
            with self._lock:
                self._conn.execute("DELETE FROM vector_gc")  # those vectors went with the folder
            return True

        if self.read_only or not self._embedded:
            return False
        if self._writing:  # this object holds the lock already; flock would refuse a second hold
            return discard()
        try:
            with writer_lock(self.root, self.name):
                return discard()
        except KnowledgeBaseError:  # WriterBusy, or a folder it cannot write: report the damage
            return False

    @property
    def is_shared(self) -> bool:
        return self._shared_factory is not None

    @property
    def shared(self) -> "shared_kb.SharedCatalog":
        with self._lock:
            if self._shared is None:
                assert self._shared_factory is not None
                self._shared = self._shared_factory(self.store)
            return self._shared

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._store is not None:
                self._store.close()
                self._store = None

    @contextmanager
    def writer(self, wait_s: float = 0.0, cancel=None) -> Iterator[None]:
        """Exclusive write access across processes: two LocalKB processes never write one KB at once.

        `wait_s` > 0 waits that long for the lock (folder sync waits behind a user's ingest
        instead of failing); `cancel` (a CancelToken) ends the wait early.
        """
        if self.read_only:
            raise KnowledgeBaseError(
                f"Knowledge base '{self.name}' is shared on a Chroma server and this computer only reads it; "
                "changes are made on the computer set as its writer (settings: store.writer).")
        with writer_lock(self.root, self.name, wait_s, cancel):
            if self.stale:
                raise KnowledgeBaseError(f"Knowledge base '{self.name}' was rebuilt by another LocalKB window or "
                                         "command meanwhile; try again (it is opened afresh).")
            self._writing += 1
            try:
                if self.is_shared:
                    self.reconcile_published()
                yield
            except KnowledgeBaseError:
                raise
            except Exception as exc:
                # A full disk or a read-only folder says so, instead of a traceback from deep inside
                # SQLite or Chroma; every write before it committed whole, so the KB stays intact.
                failure = write_failure(exc, self.name, self.root)
                if failure is not None:
                    self._settle_pending("the disk was full" if " is full " in str(failure) else "the folder is read-only")
                    raise failure from exc
                if catalog.is_corruption(exc):
                    raise self.damaged(f"its catalogue cannot be read ({exc})") from exc
                raise
            finally:
                self._writing -= 1

    def _settle_pending(self, why: str) -> None:
        """After a write failed: files this writer queued say why they are not indexed, instead of
        looking as if they were still being read; a queued new version of an indexed file leaves
        the old one as it was.  Best effort: on a full or read-only disk this may not be written
        either, and pending rows are read again by the next ingest just the same."""
        try:
            with catalog.Transaction(self._conn, self._lock) as conn:
                conn.execute("UPDATE documents SET status = 'indexed' WHERE status = 'pending' AND doc_id IS NOT NULL")
                conn.execute("UPDATE documents SET status = 'failed', failed_hash = NULL, reason = ? "
                             "WHERE status = 'pending'", (f"not indexed: {why}; add it again",))
        except sqlite3.Error as exc:
            log.info("could not record why files of '%s' were not indexed: %s", self.name, exc)

    def collect_garbage(self) -> None:
        """Delete vectors owed deletion (replaced, removed, or written by an interrupted ingest).

        Only the writer collects: an entry may be an ingest's vectors written a moment ago in
        another process, whose catalogue commit is still to come.  A process that opens the KB
        while another writes leaves the entries to it.
        """
        with self._lock:
            owed = [r[0] for r in self._conn.execute("SELECT doc_id FROM vector_gc")]
        if not owed:
            return
        if self._writing:
            self._collect()
            return
        try:
            with writer_lock(self.root, self.name):
                self._collect()
        except WriterBusy:
            log.debug("'%s' is being written elsewhere; its writer collects the %d owed deletions", self.name, len(owed))
        except KnowledgeBaseError as exc:  # e.g. a read-only folder: nothing can be deleted now anyway
            log.info("not collecting '%s' now: %s", self.name, exc)

    def _collect(self) -> None:
        with self._lock:
            owed = [r[0] for r in self._conn.execute("SELECT doc_id FROM vector_gc")]
            live = {r[0] for r in self._conn.execute("SELECT doc_id FROM documents WHERE doc_id IS NOT NULL")}
        for doc_id in owed:
            if doc_id not in live:
                self.store.delete_document(doc_id)
                if self.is_shared:
                    self.shared.delete_doc(doc_id)
            with self._lock:
                self._conn.execute("DELETE FROM vector_gc WHERE doc_id = ?", (doc_id,))

    # -- metadata ----------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                               (key, value))

    # -- documents ---------------------------------------------------------------------------

    def document(self, path: str) -> DocumentRow | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM documents WHERE path = ?", (path,)).fetchone()
        return self._document_row(row) if row else None

    def documents(self) -> list[DocumentRow]:
        self._refresh_quietly()
        return self._documents_local()

    def member_paths(self) -> list[str]:
        """Paths of the documents read from inside another file (`mail.eml › a.pdf`), without
        reading every row: an ingest asks at its first commit, whatever the KB's size."""
        self._refresh_quietly()
        with self._lock, self._reading():
            return [r[0] for r in self._conn.execute("SELECT path FROM documents WHERE instr(path, ?) > 0",
                                                     (CHILD_SEPARATOR,))]

    def _documents_local(self) -> list[DocumentRow]:
        with self._lock, self._reading():
            rows = self._conn.execute("SELECT * FROM documents ORDER BY path").fetchall()
        return [self._document_row(r) for r in rows]

    @staticmethod
    def _document_row(r) -> DocumentRow:
        return DocumentRow(r["path"], r["doc_id"], r["content_hash"], r["size"], r["mtime"], r["file_type"], r["pages"],
                           r["title"], r["status"], r["reason"], r["chunks"], r["warnings"], r["updated"],
                           r["failed_hash"])

    def mark_pending(self, path: str, size: int, mtime: float) -> None:
        """Record that a file is queued; an already indexed version stays visible meanwhile."""
        now = time.time()
        with self._lock:
            self._conn.execute(
                """INSERT INTO documents (path, status, size, mtime, created, updated) VALUES (?, 'pending', ?, ?, ?, ?)
                   ON CONFLICT(path) DO UPDATE SET status = 'pending', reason = '', updated = excluded.updated""",
                (path, size, mtime, now, now),
            )

    def mark_failed(self, path: str, reason: str, file_type: str = "", content_hash: str | None = None) -> None:
        """Record a failure; `content_hash` (of the content that failed) lets an unchanged file be skipped."""
        now = time.time()
        with self._lock:
            self._conn.execute(
                """INSERT INTO documents (path, status, reason, file_type, failed_hash, created, updated)
                   VALUES (?, 'failed', ?, ?, ?, ?, ?)
                   ON CONFLICT(path) DO UPDATE SET status = 'failed', reason = excluded.reason,
                   file_type = CASE WHEN excluded.file_type != '' THEN excluded.file_type ELSE file_type END,
                   failed_hash = excluded.failed_hash, updated = excluded.updated""",
                (path, reason, file_type, content_hash, now, now),
            )

    def touch(self, path: str, mtime: float) -> None:
        """Same content, new mtime: remember it so the next run skips on stat alone."""
        with self._lock:
            self._conn.execute("UPDATE documents SET mtime = ?, status = 'indexed', reason = '' WHERE path = ? AND doc_id IS NOT NULL",
                               (mtime, path))

    def commit_document(self, path: str, doc_id: str, content_hash: str, size: int, mtime: float,
                        doc: LoadedDocument, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Make a new version of `path` visible atomically, replacing any older one."""
        self.commit_documents([NewVersion(path, doc_id, content_hash, size, mtime, doc, chunks, vectors)])

    def commit_documents(self, versions: Sequence["NewVersion"]) -> None:
        """Make new versions of several files visible together, in one vector write and one
        catalogue transaction: all of them or, after a crash, none.

        Why a group: a commit costs a Chroma upsert and a catalogue transaction (~70 ms here)
        whatever its size, which capped a folder of one-chunk notes at ~14 files/s once the int8
        embedder outran it; the pipeline hands over every file finished meanwhile.
        """
        if not versions:
            return
        with catalog.Transaction(self._conn, self._lock) as conn:
            # If the process dies between the vector write and the commit below, the next open
            # deletes these vectors: they belong to no visible document.
            conn.executemany("INSERT OR IGNORE INTO vector_gc VALUES (?)", [(v.doc_id,) for v in versions])
        ids: list[str] = []
        owners: list[str] = []
        texts: list[str] | None = [] if self.is_shared else None
        metas: list[dict] | None = [] if self.is_shared else None
        for v in versions:
            ids.extend(c.id for c in v.chunks)
            owners.extend([v.doc_id] * len(v.chunks))
            if self.is_shared:
                t, m = shared_kb.chunk_payload(v.chunks)
                texts.extend(t)  # type: ignore[union-attr]
                metas.extend(m)  # type: ignore[union-attr]
        vectors = np.vstack([v.vectors for v in versions]) if len(versions) > 1 else versions[0].vectors
        self.store.add(ids, vectors, owners, texts, metas)
        with catalog.Transaction(self._conn, self._lock) as conn:
            replaced = self._write_versions(conn, versions)
        if self.is_shared:
            for v in versions:
                self._publish(v.path)
        if replaced:
            self.collect_garbage()

    def _write_document(self, path: str, doc_id: str, content_hash: str, size: int | None, mtime: float | None,
                        doc: LoadedDocument, chunks: list[Chunk]) -> None:
        """The one transaction that makes a version visible."""
        with catalog.Transaction(self._conn, self._lock) as conn:
            self._write_versions(conn, [NewVersion(path, doc_id, content_hash, size, mtime, doc, chunks, None)])

    def _write_versions(self, conn: sqlite3.Connection, versions: Sequence[NewVersion]) -> bool:
        """The versions' catalogue rows, inside the caller's transaction; True when one replaced an
        older version (whose vectors are then owed deletion).

        Every older row is deleted before any new one is inserted.  Interleaved (delete A, insert
        A', delete B, ...), FTS5 must write out its pending inserts in mid-transaction, and with
        the checksum triggers on its tables that left an index whose searches were right but whose
        'integrity-check' failed, so `repair` called it broken (SQLite 3.40)."""
        replaced = False
        gone: list[str] = []
        for v in versions:
            old = conn.execute("SELECT doc_id FROM documents WHERE path = ?", (v.path,)).fetchone()
            old_id = old[0] if old else None
            if old_id and old_id != v.doc_id:
                replaced = True
                gone.append(old_id)
                if not self.read_only:
                    conn.execute("INSERT OR IGNORE INTO vector_gc VALUES (?)", (old_id,))
            elif old_id == v.doc_id:  # re-indexing identical content (forced): rewrite its rows
                gone.append(v.doc_id)
        self._delete_rows_of(conn, gone)
        now = time.time()
        for v in versions:
            doc, chunks, doc_id = v.doc, v.chunks, v.doc_id
            conn.executemany(
                "INSERT INTO sections VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(doc_id, i, s.page, s.label, json.dumps(list(s.heading_path), ensure_ascii=False), int(s.ocr), s.text)
                 for i, s in enumerate(doc.sections)],
            )
            rowids = []
            for c in chunks:
                cur = conn.execute(
                    f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (c.id, c.doc_id, c.seq, c.section, c.text, c.path, c.page,
                     json.dumps(list(c.heading_path), ensure_ascii=False), c.start, c.end, c.lang),
                )
                rowids.append((cur.lastrowid, c.text))
            keyword.add(conn, rowids)
            conn.execute(
                """INSERT INTO documents (path, doc_id, content_hash, size, mtime, file_type, pages, title, status, reason,
                                          chunks, warnings, created, updated)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'indexed', '', ?, ?, ?, ?)
                   ON CONFLICT(path) DO UPDATE SET doc_id = excluded.doc_id, content_hash = excluded.content_hash,
                     size = excluded.size, mtime = excluded.mtime, file_type = excluded.file_type, pages = excluded.pages,
                     title = excluded.title, status = 'indexed', reason = '', chunks = excluded.chunks,
                     warnings = excluded.warnings, updated = excluded.updated""",
                (v.path, doc_id, v.content_hash, v.size, v.mtime, doc.file_type, doc.pages, doc.title, len(chunks),
                 "\n".join(doc.warnings), now, now),
            )
            conn.execute("DELETE FROM vector_gc WHERE doc_id = ?", (doc_id,))
        return replaced

    def remove_document(self, path: str) -> bool:
        if self.is_shared:
            self._owe_unpublish([path])
        with catalog.Transaction(self._conn, self._lock) as conn:
            row = conn.execute("SELECT doc_id FROM documents WHERE path = ?", (path,)).fetchone()
            if row is None:
                return False
            if row[0]:
                self._delete_rows(conn, row[0])
                conn.execute("INSERT OR IGNORE INTO vector_gc VALUES (?)", (row[0],))
            conn.execute("DELETE FROM documents WHERE path = ?", (path,))
        if self.is_shared:
            self._settle_unpublish()
        self.collect_garbage()
        return True

    def change_embedder(self, name: str, dimension: int) -> list[str]:
        """Move this knowledge base to another embedder: every document is taken down and its path
        returned, to be read again, so two embedders' vectors never mix.  The emptied vector store
        is made afresh, so an embedder of another dimension can write to it.

        The documents' rows stay, pending with no visible version: a process killed before it has
        read them all again leaves the rest listed as not indexed, and the next re-index reads
        them.  (Removed, as they were, the files not yet read again dropped out of the knowledge
        base unnoticed.)  A store of this knowledge base alone is dropped whole instead of one
        deletion per document, each a Chroma query."""
        if self.is_shared:  # others' vectors share the collection: take this catalogue's down one by one
            documents = [d.path for d in self.documents()]
            for path in documents:
                self.remove_document(path)
            if not self.store.count():
                self.store.reset()
        else:
            with catalog.Transaction(self._conn, self._lock) as conn:
                documents = [r[0] for r in conn.execute("SELECT path FROM documents")]
                # Owed until the store is dropped: a crash before that leaves them to collect_garbage.
                conn.execute("INSERT OR IGNORE INTO vector_gc SELECT doc_id FROM documents WHERE doc_id IS NOT NULL")
                conn.execute("DELETE FROM chunks")
                conn.execute("DELETE FROM sections")
                keyword.drop(conn)
                keyword.create(conn)
                conn.execute("UPDATE documents SET doc_id = NULL, content_hash = NULL, chunks = 0, status = 'pending', "
                             "reason = '', updated = ?", (time.time(),))
            self.store.reset()
            with self._lock:
                self._conn.execute("DELETE FROM vector_gc")
        self.set_meta("embedder", name)
        self.set_meta("dimension", str(dimension))
        return documents

    def move_document(self, old: str, new: str) -> bool:
        """Give an indexed document a new path without reading or embedding it again (a moved file).

        Its chunks keep their text and vectors; only their ids move to the id the new path gives
        (`document_id(path, hash)`), so the same bytes put back at the old path later get ids of
        their own.  The vectors are copied under the new ids before the one transaction that
        switches the catalogue, and the old ones deleted after it, as for any new version.
        """
        from ingest.splitter import document_id

        row = self.document(old)
        if row is None or row.doc_id is None or not row.content_hash:
            return False
        old_id, new_id = row.doc_id, document_id(new, row.content_hash)
        if self.is_shared:
            self._owe_unpublish([old])
        with catalog.Transaction(self._conn, self._lock) as conn:
            conn.execute("INSERT OR IGNORE INTO vector_gc VALUES (?)", (new_id,))
        self.store.copy_document(old_id, new_id)
        with catalog.Transaction(self._conn, self._lock) as conn:
            now_row = conn.execute("SELECT doc_id FROM documents WHERE path = ?", (old,)).fetchone()
            if now_row is None or now_row[0] != old_id:
                return False  # changed meanwhile; vector_gc removes the copies
            there = conn.execute("SELECT doc_id FROM documents WHERE path = ?", (new,)).fetchone()
            if there is not None:
                if there[0]:
                    self._delete_rows(conn, there[0])
                    conn.execute("INSERT OR IGNORE INTO vector_gc VALUES (?)", (there[0],))
                conn.execute("DELETE FROM documents WHERE path = ?", (new,))
            conn.execute("UPDATE chunks SET id = ? || substr(id, ?), doc_id = ?, path = ? WHERE doc_id = ?",
                         (new_id, len(old_id) + 1, new_id, new, old_id))
            conn.execute("UPDATE sections SET doc_id = ? WHERE doc_id = ?", (new_id, old_id))
            conn.execute("UPDATE documents SET path = ?, doc_id = ?, updated = ? WHERE path = ?", (new, new_id, time.time(), old))
            conn.execute("INSERT OR IGNORE INTO vector_gc VALUES (?)", (old_id,))
            conn.execute("DELETE FROM vector_gc WHERE doc_id = ?", (new_id,))
        if self.is_shared:
            self._publish(new)
            self._settle_unpublish()
        self.collect_garbage()
        return True

    # -- sharing through a Chroma server ---------------------------------------------------------

    def _publish(self, path: str) -> None:
        """Publish the visible version of `path` as this catalogue holds it."""
        row = self.document(path)
        if row is None or row.doc_id is None:
            return
        pointer = {"doc_id": row.doc_id, "content_hash": row.content_hash, "size": row.size, "mtime": row.mtime,
                   "chunks": row.chunks, "updated": row.updated}
        self.shared.publish(path, pointer, self._loaded_document(row), self.meta("embedder") or "")

    def _loaded_document(self, row: DocumentRow) -> LoadedDocument:
        from ingest.types import Section

        with self._lock:
            rows = self._conn.execute("SELECT * FROM sections WHERE doc_id = ? ORDER BY idx", (row.doc_id,)).fetchall()
        sections = [Section(r["text"], r["page"], tuple(json.loads(r["heading_path"])), r["label"], bool(r["ocr"]))
                    for r in rows]
        return LoadedDocument(row.file_type, sections, row.pages, row.title,
                              [w for w in row.warnings.split("\n") if w])

    def _owe_unpublish(self, paths: list[str]) -> None:
        # Recorded before the local change, so a crash or a lost server between the two is made
        # good by the next reconcile instead of leaving a removed document published.
        owed = json.loads(self.meta("shared.unpublish") or "[]")
        self.set_meta("shared.unpublish", json.dumps(sorted(set(owed) | set(paths)), ensure_ascii=False))

    def _settle_unpublish(self) -> None:
        owed = json.loads(self.meta("shared.unpublish") or "[]")
        live = {d.path for d in self._documents_local() if d.doc_id}
        gone = [p for p in owed if p not in live]
        self.shared.unpublish(gone, self.meta("embedder") or "")
        self.set_meta("shared.unpublish", "[]")

    def reconcile_published(self) -> None:
        """Writer: publish what is unpublished, unpublish what is owed, adopt what only the server has."""
        self._settle_unpublish()
        manifest = self.shared.manifest()
        local = {d.path: d for d in self._documents_local() if d.doc_id}
        for path, row in local.items():
            pointer = manifest.get(path)
            if pointer is None or pointer.get("doc_id") != row.doc_id:
                self._publish(path)
        for path, pointer in manifest.items():
            if path not in local and self.document(path) is None:
                fetched = self.shared.fetch(path, pointer, self.store)
                if fetched is not None:
                    self._write_document(path, pointer["doc_id"], pointer.get("content_hash", ""), pointer.get("size"),
                                         pointer.get("mtime"), *fetched)

    def refresh(self, force: bool = False) -> bool:
        """Reader: apply what the writer has published since the last refresh; True if anything changed."""
        if not self.read_only:
            return False
        with self._refresh_lock:
            if not force and time.monotonic() - self._last_refresh < self.REFRESH_S:
                return False
            self._last_refresh = time.monotonic()
            generation = self.shared.generation_meta()
            if not generation or generation.get("value") == self.meta("shared.generation"):
                return False
            manifest = self.shared.manifest()
            local = {d.path: d for d in self._documents_local()}
            complete = True
            for path, pointer in manifest.items():
                row = local.get(path)
                if row is not None and row.doc_id == pointer.get("doc_id"):
                    continue
                fetched = self.shared.fetch(path, pointer, self.store)
                if fetched is None:  # still being written: the next refresh picks it up
                    complete = False
                    continue
                self._write_document(path, pointer["doc_id"], pointer.get("content_hash", ""), pointer.get("size"),
                                     pointer.get("mtime"), *fetched)
            for path in local:
                if path not in manifest:
                    with catalog.Transaction(self._conn, self._lock) as conn:
                        gone = conn.execute("SELECT doc_id FROM documents WHERE path = ?", (path,)).fetchone()
                        if gone is not None and gone[0]:
                            self._delete_rows(conn, gone[0])
                        conn.execute("DELETE FROM documents WHERE path = ?", (path,))
            if generation.get("embedder"):
                self.set_meta("embedder", str(generation["embedder"]))
            if complete:
                self.set_meta("shared.generation", str(generation["value"]))
            return True

    def _refresh_quietly(self) -> None:
        """Refresh before a listing or keyword search; while the server is away, the last copy serves."""
        if not self.read_only:
            return
        try:
            self.refresh()
        except StoreUnavailable as exc:
            log.warning("%s", exc)

    @staticmethod
    def _delete_rows(conn, doc_id: str) -> None:
        KnowledgeBase._delete_rows_of(conn, [doc_id])

    @staticmethod
    def _delete_rows_of(conn, doc_ids: list[str]) -> None:
        # In ascending rowid order, as FTS5 wants its changes (see _write_versions).
        rowids = sorted(r[0] for d in doc_ids for r in conn.execute("SELECT rowid FROM chunks WHERE doc_id = ?", (d,)))
        keyword.delete(conn, rowids)
        for d in doc_ids:
            conn.execute("DELETE FROM chunks WHERE doc_id = ?", (d,))
            conn.execute("DELETE FROM sections WHERE doc_id = ?", (d,))

    # -- reading -----------------------------------------------------------------------------

    def chunk_count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def has_language(self, lang: str) -> bool:
        """Whether any passage is in `lang` ("zh", "en"), as the splitter detected it."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM chunks WHERE lang = ? LIMIT 1", (lang,)).fetchone() is not None

    def chunks(self, ids: list[str]) -> dict[str, ChunkRecord]:
        out: dict[str, ChunkRecord] = {}
        with self._lock, self._reading():
            for i in range(0, len(ids), 500):
                batch = ids[i : i + 500]
                marks = ",".join("?" * len(batch))
                for row in self._conn.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", batch):
                    out[row["id"]] = _chunk_record(row)
        return out

    def neighbours(self, chunk_id: str, before: int = 1, after: int = 1) -> list[ChunkRecord]:
        """The chunk and its neighbours in the same section, in order."""
        with self._lock:
            row = self._conn.execute("SELECT doc_id, section, seq FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
            if row is None:
                return []
            rows = self._conn.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? AND section = ? AND seq BETWEEN ? AND ? ORDER BY seq",
                (row["doc_id"], row["section"], row["seq"] - before, row["seq"] + after),
            ).fetchall()
        return [_chunk_record(r) for r in rows]

    def dense_search(self, query_vec: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of visible chunks, best first."""
        if self.read_only:
            self.refresh()  # the server is needed for the query anyway: its errors are the question's
        store = self.store
        try:
            hits = store.query(query_vec, k)
        except Exception as exc:
            # Chroma's core fails a search over damaged files with an internal error; say which KB
            # and how to rebuild it (a server's failures are already StoreUnavailable).
            if not self._embedded or not type(exc).__module__.startswith("chromadb"):
                raise
            raise write_failure(exc, self.name, self.root) or self.damaged(
                f"its vector store failed a search ({type(exc).__name__}: {exc})") from exc
        if not hits:
            return []
        visible = self._visible([cid for cid, _ in hits])
        return [(cid, score) for cid, score in hits if cid in visible]

    def keyword_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; only visible chunks are in the keyword index."""
        self._refresh_quietly()
        with self._lock, self._reading():
            hits = keyword.search(self._conn, query, k, self._term_frequencies)
            if not hits:
                return []
            marks = ",".join("?" * len(hits))
            ids = dict(self._conn.execute(f"SELECT rowid, id FROM chunks WHERE rowid IN ({marks})", [r for r, _ in hits]))
        return [(ids[rowid], score) for rowid, score in hits if rowid in ids]

    def _visible(self, ids: list[str]) -> set[str]:
        with self._lock, self._reading():
            marks = ",".join("?" * len(ids))
            return {r[0] for r in self._conn.execute(f"SELECT id FROM chunks WHERE id IN ({marks})", ids)}

    def page_text(self, path: str, page: int | None, section: int | None = None) -> str:
        """The extracted text of one page (or section) of a visible document, as chunk offsets index it."""
        with self._lock:
            row = self._conn.execute("SELECT doc_id FROM documents WHERE path = ?", (path,)).fetchone()
            if row is None or row[0] is None:
                raise KnowledgeBaseError(f"'{path}' is not in knowledge base '{self.name}'.")
            if section is not None:
                found = self._conn.execute("SELECT text FROM sections WHERE doc_id = ? AND idx = ?", (row[0], section)).fetchone()
            else:
                found = self._conn.execute("SELECT text FROM sections WHERE doc_id = ? AND page IS ? ORDER BY idx LIMIT 1",
                                           (row[0], page)).fetchone()
        if found is None:
            raise KnowledgeBaseError(f"Page {page} of '{path}' is not in knowledge base '{self.name}'.")
        return found[0]

    def sizes(self) -> tuple[int, int]:
        """(documents indexed, chunks)."""
        self._refresh_quietly()
        with self._lock:
            docs = self._conn.execute("SELECT COUNT(*) FROM documents WHERE doc_id IS NOT NULL").fetchone()[0]
        return docs, self.chunk_count()


    def consistency_problems(self) -> list[str]:
        """Ways the catalogue, keyword index and vector store disagree; empty when they agree."""
        problems = []
        with self._lock:
            conn = self._conn
            for path, doc_id, n in conn.execute("SELECT path, doc_id, chunks FROM documents WHERE doc_id IS NOT NULL"):
                have = conn.execute("SELECT COUNT(*) FROM chunks WHERE doc_id = ?", (doc_id,)).fetchone()[0]
                if have != n:
                    problems.append(f"{path}: catalogue says {n} chunks, chunk table has {have}")
            orphans = conn.execute("SELECT COUNT(*) FROM chunks WHERE doc_id NOT IN "
                                   "(SELECT doc_id FROM documents WHERE doc_id IS NOT NULL)").fetchone()[0]
            if orphans:
                problems.append(f"{orphans} chunks belong to no visible document")
            chunk_rowids = {r[0] for r in conn.execute("SELECT rowid FROM chunks")}
            fts_rowids = {r[0] for r in conn.execute("SELECT rowid FROM chunks_fts")}
            if chunk_rowids != fts_rowids:
                problems.append(f"keyword index has {len(fts_rowids - chunk_rowids)} extra and "
                                f"{len(chunk_rowids - fts_rowids)} missing rows")
            chunk_ids = {r[0] for r in conn.execute("SELECT id FROM chunks")}
        vector_ids = self.store.all_ids()
        if vector_ids != chunk_ids:
            problems.append(f"vector store has {len(vector_ids - chunk_ids)} extra and "
                            f"{len(chunk_ids - vector_ids)} missing vectors")
        return problems


    # -- repair ------------------------------------------------------------------------------

    def rebuild_keyword_index(self) -> int:
        """Index every visible passage again from the texts the catalogue keeps; returns how many."""
        with catalog.Transaction(self._conn, self._lock) as conn:
            keyword.drop(conn)
            keyword.create(conn)
            rows = [(r[0], r[1]) for r in conn.execute("SELECT rowid, text FROM chunks ORDER BY rowid")]
            keyword.add(conn, rows)
        return len(rows)

    def rebuild_vectors(self, embed: Callable[[list[str]], np.ndarray], set_aside: Path,
                        on_document: Callable[[str, int], None] | None = None) -> int:
        """Embed every visible passage again from the catalogue's texts into a fresh vector store.

        The old store's folder is moved to `set_aside`, not deleted, so nothing is lost if this is
        interrupted; chunk ids stay the same, so the catalogue needs no change.  Returns the count.
        """
        if not self._embedded:
            raise KnowledgeBaseError(f"Knowledge base '{self.name}' keeps its vectors on a Chroma server; "
                                     "it is rebuilt there, not here.")
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            folder = self.root / "chroma"
            if folder.exists():
                set_aside.mkdir(parents=True, exist_ok=True)
                shutil.move(str(folder), str(set_aside / "chroma"))
            self._store = self._open_store(check=False)
            with self._reading():
                docs = [(r[0], r[1]) for r in self._conn.execute(
                    "SELECT doc_id, path FROM documents WHERE doc_id IS NOT NULL ORDER BY path")]
        total = 0
        for doc_id, path in docs:
            with self._lock, self._reading():
                rows = self._conn.execute("SELECT id, text FROM chunks WHERE doc_id = ? ORDER BY section, seq",
                                          (doc_id,)).fetchall()
            if rows:
                self._store.add([r[0] for r in rows], embed([r[1] for r in rows]), doc_id)
            total += len(rows)
            if on_document is not None:
                on_document(path, len(rows))
        with self._lock:
            self._conn.execute("DELETE FROM vector_gc")  # the old vectors went with the old folder
        return total


def kb_exists(root: Path) -> bool:
    """A knowledge base's folder: its catalogue, or the vectors of one whose catalogue was lost."""
    chroma = root / "chroma"
    return (root / "catalog.sqlite3").exists() or (chroma.is_dir() and any(chroma.iterdir()))


__all__ = ["KnowledgeBase", "ChunkRecord", "DocumentRow", "WriterBusy", "validate_name", "kb_exists",
           "writer_lock", "write_failure"]
