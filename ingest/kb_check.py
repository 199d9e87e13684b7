"""Cheap checks of a knowledge base's Chroma files, made before Chroma reads them.

Chroma trusts its files: a cut-short or missing HNSW index file makes it answer from part of the
vectors (silently wrong results) or abort the process (a double free in its Rust core), and a
damaged page of its SQLite file fails a later query with an internal error.  These checks use
only what Chroma itself records: the vector segment's persisted sequence number in
chroma.sqlite3 says an index was saved, the index's 100-byte hnswlib header says how large each
of its files must be, and SQLite's quick_check finds damaged pages.  Together they read the small
files whole, SQLite's pages, and the index's data file once in slices, so the check costs about
what Chroma's own load of the same files costs.  The data file has no checksum, but it carries its
own invariants: each node's neighbour count and ids must lie within the index (garbage there
crashes Chroma), and a cosine index stores unit vectors (garbage there gives wrong answers).
"""

from __future__ import annotations

import sqlite3
import struct
import time
from pathlib import Path

import numpy as np

_VECTOR_SEGMENT = "urn:chroma:segment/vector/hnsw-local-persisted"
# hnswlib's saveIndex header as Chroma's fork writes it: a format version, then offsetLevel0,
# max_elements, cur_element_count, size_data_per_element, label_offset, offsetData (size_t),
# maxlevel (int), enterpoint_node (uint), maxM, maxM0, M (size_t), mult (double), ef_construction.
_HEADER = struct.Struct("<iQQQQQQiIQQQdQ")
_INDEX_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin", "index_metadata.pickle")


def _segments(sqlite_path: Path, full: bool) -> list[tuple[str, int, int | None, bool]]:
    """(segment id, persisted sequence number, dimension, cosine?) of each vector segment; raises on damage."""
    try:
        return _read_segments(sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=5), full)
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorname", "") != "SQLITE_READONLY_ROLLBACK":
            raise
    # A writer killed inside a transaction left a hot journal, which only a connection that may
    # write can roll back; Chroma's own open would do the same.  No live writer is undone: SQLite
    # treats a journal as hot only when no process holds the database's write lock.
    return _read_segments(sqlite3.connect(f"file:{sqlite_path}?mode=rw", uri=True, timeout=5), full)


def _read_segments(conn: sqlite3.Connection, full: bool) -> list[tuple[str, int, int | None, bool]]:
    try:
        check = [r[0] for r in conn.execute("PRAGMA quick_check") if not r[0].startswith("*** in database")] \
            if full else ["ok"]
        if check != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(check[:2]))
        return [(sid, seq or 0, dim, bool(cosine)) for sid, seq, dim, cosine in conn.execute(
            "SELECT s.id, m.seq_id, c.dimension, EXISTS (SELECT 1 FROM collection_metadata WHERE collection_id = c.id "
            "AND key = 'hnsw:space' AND str_value = 'cosine') FROM segments s JOIN collections c ON c.id = s.collection "
            "LEFT JOIN max_seq_id m ON m.segment_id = s.id WHERE s.type = ?", (_VECTOR_SEGMENT,))]
    finally:
        conn.close()


def _index_problem(folder: Path, dimension: int | None, cosine: bool, full: bool) -> str:
    if not folder.is_dir():
        return f"its vector index folder {folder.name} is missing"
    missing = [n for n in _INDEX_FILES if not (folder / n).is_file()]
    if missing:
        return f"its vector index {folder.name} lacks {', '.join(missing)}"
    head = (folder / "header.bin").read_bytes()
    if len(head) < _HEADER.size:
        return f"its vector index header is cut short ({len(head)} bytes of {_HEADER.size})"
    (_version, offset0, max_elements, count, per_element, label_offset, data_offset, _maxlevel, _enter,
     _max_m, max_m0, *_rest) = _HEADER.unpack_from(head)
    sane = (offset0 == 0 and count <= max_elements and 4 + 4 * max_m0 == data_offset < label_offset
            and label_offset + 8 == per_element <= 1 << 20)
    if dimension:
        sane = sane and label_offset - data_offset == 4 * dimension
    if not sane:
        return "its vector index header does not describe an index"
    for name, need in (("data_level0.bin", count * per_element), ("length.bin", count * 4)):
        size = (folder / name).stat().st_size
        if size < need:
            return f"its vector index file {name} is cut short ({size} bytes of {need})"
    if not full:
        return ""
    return _nodes_problem(folder / "data_level0.bin", count, per_element, data_offset, label_offset, max_m0, cosine)


def _nodes_problem(path: Path, count: int, per_element: int, data_offset: int, label_offset: int, max_m0: int,
                   cosine: bool) -> str:
    """Check each node of the level-0 graph: its links, and (cosine) that its vector is a unit vector."""
    if not count:
        return ""
    nodes = np.memmap(path, dtype=np.uint8, mode="r", shape=(count, per_element))
    step = max(1, (64 << 20) // per_element)  # 64 MB at a time, whatever the index's size
    bad_links = bad_vectors = 0
    for start in range(0, count, step):
        part = np.ascontiguousarray(nodes[start:start + step])
        links = part[:, :data_offset].view(np.uint32)
        n_links = links[:, 0] & 0xFFFF  # hnswlib keeps the count in the low 16 bits
        used = np.arange(max_m0)[None, :] < n_links[:, None]
        bad_links += int(np.count_nonzero((n_links > max_m0) | np.any(used & (links[:, 1:] >= count), axis=1)))
        if cosine:
            vectors = part[:, data_offset:label_offset].view(np.float32)
            with np.errstate(all="ignore"):
                norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
            bad_vectors += int(np.count_nonzero(~(np.abs(norms - 1.0) < 1e-3)))
    del nodes
    if bad_links:
        return f"its vector index is damaged: {bad_links} of {count} nodes link outside the index"
    if bad_vectors:
        return f"its vector index is damaged: {bad_vectors} of {count} stored vectors are not unit vectors"
    return ""


def chroma_problem(chroma: Path, full: bool = True) -> str:
    """Why the Chroma folder `chroma` cannot be trusted, or '' (also '' for one not written yet).

    `full=False` only looks at which files are there and their sizes (microseconds: for listing
    knowledge bases); the full check also reads SQLite's pages and the index's nodes."""
    sqlite_path = chroma / "chroma.sqlite3"
    if not sqlite_path.is_file():
        return ""  # a missing store is the vector count's business (0 vectors for N passages)
    try:
        segments = _segments(sqlite_path, full)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return ""  # a writer holds it this moment: Chroma's own open will wait or fail
        return f"its vector store's database cannot be read ({exc})"
    except sqlite3.DatabaseError as exc:
        return f"its vector store's database is damaged ({exc})"
    for segment_id, persisted, dimension, cosine in segments:
        if persisted <= 0:
            continue  # vectors still only in Chroma's log: no index files yet
        problem = _index_problem(chroma / segment_id, dimension, cosine, full)
        if problem:
            return problem
    return ""


def chroma_problem_settled(chroma: Path, full: bool = True, tries: int = 3, pause_s: float = 0.3) -> str:
    """`chroma_problem`, asked again briefly before believing it: a writer in another process may
    be half-way through saving the index files this moment."""
    problem = chroma_problem(chroma, full)
    for _ in range(tries - 1):
        if not problem:
            break
        time.sleep(pause_s)
        problem = chroma_problem(chroma, full)
    return problem
