"""Find what is damaged in a knowledge base and rebuild it: catalogue, keyword index, vectors.

The catalogue is the source of truth, so it decides how much can be kept:
- readable (every document, passage and section row can be read): the keyword index is built
  again from the passages' texts, missing vectors are embedded again from the same texts, and a
  catalogue that is only partly damaged is copied row by row into a fresh file;
- unreadable (cut short, overwritten, deleted): the files it still names, and the followed
  folders it records, are read again from disk.
Damaged files are moved to `damaged-<time>/` inside the knowledge base's folder, never deleted.
Everything runs under the writer lock, so no ingest or sync writes meanwhile.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ingest import catalog, keyword
from ingest.kb import KnowledgeBase, writer_lock
from ingest.kb_check import chroma_problem
from ingest.progress import FileEvent
from ingest.types import file_of

log = logging.getLogger(__name__)

CATALOGUE = "catalog.sqlite3"
_TABLES = ("meta", "documents", "sections", "chunks")  # what a rebuilt catalogue copies; FTS is rebuilt
# Meta keys a catalogue rebuilt from the source files keeps: the user's folder choices, not the
# state of the old index (its embedder and sync times belong to vectors that are gone).
_KEPT_META = ("sync.folders", "sync.ignore_rules")

IngestFiles = Callable[[KnowledgeBase, list[str]], list[FileEvent]]


@dataclass
class Diagnosis:
    catalogue: str = ""  # why the catalogue cannot be used as it is; '' when it can
    readable: bool = True  # whether every row that matters can still be read (a copy can save it)
    keyword: str = ""
    vectors: str = ""

    @property
    def problems(self) -> list[str]:
        return [p for p in (self.catalogue, self.keyword, self.vectors) if p]


@dataclass
class RepairReport:
    kb: str
    problems: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    set_aside: str = ""  # where the damaged files went
    events: list[FileEvent] = field(default_factory=list)  # files read again from disk
    missing: list[str] = field(default_factory=list)  # files the old catalogue named that are gone
    remaining: list[str] = field(default_factory=list)  # what a final check still finds (empty: repaired)
    from_sources: bool = False  # the catalogue was started afresh and the files read again


def _read_all(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    return {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in _TABLES}  # noqa: S608 - fixed names


def diagnose(root: Path, name: str) -> Diagnosis:
    """A full check (it reads every page of the catalogue and lists every vector id)."""
    d = Diagnosis()
    path = root / CATALOGUE
    chroma = root / "chroma"
    if not path.exists() or path.stat().st_size == 0:
        if chroma.is_dir() and any(chroma.iterdir()):
            d.catalogue, d.readable = "the catalogue is missing or empty", False
        return d  # without vectors either, it is simply an empty knowledge base
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.Error as exc:
        d.catalogue, d.readable = f"the catalogue cannot be opened ({exc})", False
        return d
    try:
        try:
            check = [r[0] for r in conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            check = [str(exc)]
        cut = catalog.truncation(path)
        if cut:
            check = [cut] + [c for c in check if c != "ok"]
        try:
            rows = _read_all(conn)
            counts = dict(conn.execute("SELECT doc_id, COUNT(*) FROM chunks GROUP BY doc_id").fetchall())
        except sqlite3.DatabaseError as exc:
            d.catalogue, d.readable = f"the catalogue cannot be read ({exc})", False
            return d
        wrong = [r for r in conn.execute("SELECT path, doc_id, chunks FROM documents WHERE doc_id IS NOT NULL")
                 if counts.get(r[1], 0) != r[2]]
        if wrong:
            d.catalogue, d.readable = f"{len(wrong)} documents have lost passages (first: {wrong[0][0]})", False
            return d
        if check != ["ok"]:
            # Every row that matters reads back whole, so the damage is in pages a copy leaves behind
            # (the keyword index, free pages): copying the rows into a fresh file saves everything.
            d.catalogue = f"the catalogue file is damaged ({'; '.join(check[:3])})"
        try:
            indexed = conn.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
            conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
            if indexed != len(rows["chunks"]):
                d.keyword = f"the keyword index holds {indexed} passages of {len(rows['chunks'])}"
        except sqlite3.DatabaseError as exc:
            d.keyword = f"the keyword index is broken ({exc})"
        if not d.keyword:
            try:
                broken = keyword.damage(conn)
            except sqlite3.DatabaseError as exc:
                broken = str(exc)
            if broken:
                d.keyword = f"the keyword index is damaged: {broken}"
        chunk_ids = {r[0] for r in conn.execute("SELECT id FROM chunks")}
    finally:
        conn.close()
    if not chunk_ids:
        return d
    if not chroma.is_dir():
        d.vectors = "the vector store (the chroma folder) is missing"
        return d
    damaged = chroma_problem(chroma)
    if damaged:  # not opened: Chroma may abort the process on a cut-short index
        d.vectors = damaged.removeprefix("its ")
        return d
    kb = None
    try:
        kb = KnowledgeBase(root, name, check=False)
        have = kb.store.all_ids()
        missing = len(chunk_ids - have)
        if missing:
            d.vectors = f"the vector store lacks {missing} of {len(chunk_ids)} vectors"
    except Exception as exc:  # noqa: BLE001 - a damaged Chroma folder fails in many ways
        d.vectors = f"the vector store cannot be read ({type(exc).__name__}: {exc})"
    finally:
        if kb is not None:
            kb.close()
    return d


def _set_aside(root: Path, aside: Path, names: list[str]) -> None:
    aside.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = root / name
        if src.exists():
            shutil.move(str(src), str(aside / name))


def _catalogue_files() -> list[str]:
    return [CATALOGUE, CATALOGUE + "-wal", CATALOGUE + "-shm"]


def _copy_catalogue(old: Path, new: Path) -> None:
    """Copy the rows that matter into a fresh catalogue; its keyword index is built from them."""
    src = sqlite3.connect(str(old), isolation_level=None)
    try:
        rows = _read_all(src)
        columns = {t: [r[1] for r in src.execute(f"PRAGMA table_info({t})")] for t in _TABLES}
    finally:
        src.close()
    dst = catalog.connect(new)
    try:
        dst.execute("BEGIN IMMEDIATE")
        for table, data in rows.items():
            if not data:
                continue
            cols = columns[table]
            names = ", ".join(f'"{c}"' for c in cols)
            dst.executemany(f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})", data)
        dst.execute("COMMIT")
    finally:
        dst.close()


def _salvage(old: Path) -> tuple[list[str], dict[str, str]]:
    """The document paths and kept settings still readable in a damaged catalogue, best effort.

    Rows are read one at a time along three different paths through the file (the table, the
    path index, the passages' own path column), so a damaged page costs only the rows on it.
    """
    paths: set[str] = set()
    meta: dict[str, str] = {}
    try:
        conn = sqlite3.connect(str(old), isolation_level=None)
        # SQLite refuses a file shorter than its header says unless the schema is writable; then
        # it reads the pages that are there (nothing is written: the file is only queried).
        conn.execute("PRAGMA writable_schema = ON")
    except sqlite3.Error:
        return [], {}
    queries = ["SELECT path FROM documents", "SELECT path FROM documents ORDER BY path",
               "SELECT DISTINCT path FROM chunks"]
    try:
        for query in queries:
            try:
                for row in conn.execute(query):
                    paths.add(file_of(row[0]))
            except sqlite3.Error:
                continue
        try:
            for key, value in conn.execute("SELECT key, value FROM meta"):
                if key in _KEPT_META:
                    meta[key] = value
        except sqlite3.Error:
            pass
    finally:
        conn.close()
    return sorted(paths), meta


def repair(root: Path, name: str, embedder_name: str, embed: Callable[[list[str]], np.ndarray],
           ingest_files: IngestFiles, note: Callable[[str], None] | None = None) -> RepairReport:
    """Rebuild what `diagnose` finds damaged; `ingest_files(kb, paths)` reads files again from disk."""
    say = note or (lambda _text: None)
    report = RepairReport(name)
    with writer_lock(root, name):
        d = diagnose(root, name)
        report.problems = d.problems
        if not d.problems:
            return report
        aside = root / time.strftime("damaged-%Y%m%d-%H%M%S")
        report.set_aside = str(aside)
        if d.catalogue and d.readable:
            say("copying the catalogue's readable rows into a new file")
            fresh = root / (CATALOGUE + ".rebuilt")
            fresh.unlink(missing_ok=True)
            _copy_catalogue(root / CATALOGUE, fresh)
            _set_aside(root, aside, _catalogue_files())
            fresh.rename(root / CATALOGUE)
            report.actions.append("copied the catalogue's rows into a new catalogue and rebuilt its keyword index")
            d = diagnose(root, name)
        if d.catalogue:
            _from_sources(root, name, aside, ingest_files, report, say)
        else:
            kb = KnowledgeBase(root, name, check=False)
            try:
                if d.keyword:
                    say("rebuilding the keyword index from the catalogue")
                    n = kb.rebuild_keyword_index()
                    report.actions.append(f"rebuilt the keyword index from the catalogue ({n} passages)")
                if d.vectors:
                    used = kb.meta("embedder")
                    if used not in (None, embedder_name):
                        kb.close()
                        kb = None
                        say(f"the vectors were made by '{used}', not '{embedder_name}': reading the files again")
                        _from_sources(root, name, aside, ingest_files, report, say)
                    else:
                        say("embedding the catalogue's passages again")
                        n = kb.rebuild_vectors(embed, aside, lambda path, k: say(f"embedded {k} passages of {path}"))
                        report.actions.append(f"embedded the catalogue's {n} passages again into a new vector store")
            finally:
                if kb is not None:
                    kb.close()
        final = diagnose(root, name)
        report.remaining = final.problems
        if not final.problems:
            kb = KnowledgeBase(root, name)
            try:
                report.remaining = kb.consistency_problems()
            finally:
                kb.close()
    return report


def _from_sources(root: Path, name: str, aside: Path, ingest_files: IngestFiles, report: RepairReport,
                  say: Callable[[str], None]) -> None:
    """Start a fresh catalogue and vector store and read the old catalogue's files again."""
    say("the catalogue cannot be used: setting it aside and reading the files again")
    report.from_sources = True
    _set_aside(root, aside, _catalogue_files() + ["chroma"])
    paths, meta = _salvage(aside / CATALOGUE)
    kb = KnowledgeBase(root, name)
    try:
        for key, value in meta.items():
            kb.set_meta(key, value)
        present = [p for p in paths if Path(p).exists()]
        report.missing = [p for p in paths if not Path(p).exists()]
        if present:
            report.events = ingest_files(kb, present)
        if not paths and "sync.folders" not in meta:
            report.actions.append("no file names could be read from the old catalogue: add the files again")
            return
        folders = " and its followed folders" if "sync.folders" in meta else ""
        report.actions.append(f"set the catalogue and vectors aside and read {len(present)} files again{folders}"
                              + (f" ({len(report.missing)} files it named are gone)" if report.missing else ""))
    finally:
        kb.close()
