"""The SQLite catalogue: the source of truth for what a knowledge base holds.

One row per source file (status pending/indexed/failed with the reason), the chunks and section
texts of each visible document, the FTS5 keyword index, and a list of vector-store deletions still
owed.  Schema changes are an append-only list of named migrations, as in simonw/llm (SQL, or a
function of the connection where Python must compute something).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from ingest import keyword

MIGRATIONS: list[tuple[str, str | Callable[[sqlite3.Connection], None]]] = [
    (
        "001_initial",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE documents (
            path TEXT PRIMARY KEY,
            doc_id TEXT,                       -- the visible version, NULL until first indexed
            content_hash TEXT, size INTEGER, mtime REAL,
            file_type TEXT NOT NULL DEFAULT '', pages INTEGER, title TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL CHECK (status IN ('pending', 'indexed', 'failed')),
            reason TEXT NOT NULL DEFAULT '',
            chunks INTEGER NOT NULL DEFAULT 0,
            warnings TEXT NOT NULL DEFAULT '',
            created REAL NOT NULL, updated REAL NOT NULL
        );
        CREATE TABLE sections (
            doc_id TEXT NOT NULL, idx INTEGER NOT NULL, page INTEGER, label TEXT NOT NULL DEFAULT '',
            heading_path TEXT NOT NULL DEFAULT '[]', ocr INTEGER NOT NULL DEFAULT 0, text TEXT NOT NULL,
            PRIMARY KEY (doc_id, idx)
        );
        CREATE TABLE chunks (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL, seq INTEGER NOT NULL, section INTEGER NOT NULL,
            path TEXT NOT NULL, page INTEGER, heading_path TEXT NOT NULL, start INTEGER NOT NULL,
            "end" INTEGER NOT NULL, lang TEXT NOT NULL, text TEXT NOT NULL
        );
        CREATE INDEX chunks_by_doc ON chunks (doc_id, section, seq);
        -- Vector-store deletions owed: written in the same transaction as the catalogue change,
        -- cleared once Chroma has done them, replayed on open after a crash.
        CREATE TABLE vector_gc (doc_id TEXT PRIMARY KEY);
        """
        + keyword.FTS_SCHEMA
        + ";",
    ),
    (
        # The hash of content that failed to load, so an unchanged failing file is not re-read
        # (and re-OCRed) on every run; a changed file, or --reindex, tries again.
        "002_failed_hash",
        "ALTER TABLE documents ADD COLUMN failed_hash TEXT",
    ),
    # A CRC-32 per keyword-index block, so blocks damaged in place are found on open.
    ("003_keyword_checksums", keyword.add_checksums),
    # The trigger on FTS5's term index made FTS5's integrity-check fail after large transactions
    # (see keyword.CHECKSUM_SCHEMA); the segments it watched are now found from their blocks.
    ("004_keyword_idx_trigger", "DROP TRIGGER IF EXISTS kw_i1"),
]


_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_HEADER = b"SQLite format 3\x00"


def is_corruption(exc: BaseException) -> bool:
    """Whether an sqlite3 error means the file is damaged (as opposed to locked, full or read-only)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def truncation(path: Path) -> str:
    """Why `path` is shorter than its own header says it is, or '' when it is not.

    SQLite reads a truncated file happily until a query reaches a missing page; the header's page
    count (valid when its two change counters agree) finds the damage on open instead.
    """
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        # Pages not yet checkpointed live in the WAL (a checkpoint that met a full disk can leave
        # the header ahead of the file): SQLite reads them from there, so this is not damage.
        return ""
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
        size = os.path.getsize(path)
    except FileNotFoundError:
        return ""
    if not head:
        return ""
    if len(head) < 100 or not head.startswith(_HEADER):
        return f"{path.name} is not a SQLite database ({size} bytes)"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    if head[24:28] == head[92:96] and pages and size < pages * page_size:
        return f"{path.name} is cut short: {size} bytes of {pages * page_size}"
    return ""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if callable(sql):
                sql(conn)
            else:
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class Transaction:
    """`with Transaction(conn, lock):` -- BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error.

    Before COMMIT the keyword blocks the transaction changed are checksummed, in the same
    transaction, so no crash can leave a block without its checksum."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self.conn = conn
        self.lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                try:
                    keyword.seal(self.conn)
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
