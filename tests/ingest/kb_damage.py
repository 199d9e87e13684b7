"""Ways a knowledge base's files get damaged on disk, for the fault tests; and a cheap embedder.

Each function breaks the files of a closed knowledge base the way a bad sector, a stray write, an
interrupted copy or a careless clean-up would, at the byte level, never through SQLite or Chroma.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import zlib
from pathlib import Path

import numpy as np


class HashEmbedder:
    """Words hashed into 256 dimensions: real enough for dense search to find the right document,
    fast enough to fill a knowledge base past Chroma's in-memory threshold (1,000 vectors) in a
    default-suite test, where its HNSW files on disk are what it searches."""

    name = "test-hash-256"
    dimension = 256
    batch_size = 256
    languages = frozenset({"en"})
    loaded = True

    def embed_query(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            v[zlib.crc32(w.encode()) % self.dimension] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.embed_query(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)


def _flip(path: Path, at: int, n: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(at)
        data = fh.read(n)
        fh.seek(at)
        fh.write(bytes(b ^ 0xFF for b in data))


def overwrite_keyword_block(root: Path) -> None:
    """Change 32 bytes of one keyword-index block inside the file, as a bad sector or a stray write
    would: same file size, SQLite's own page structure intact, so SQLite reads it without complaint."""
    path = root / "catalog.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # A block SQLite keeps whole inside one 4 KiB page (so it lies contiguous in the file); how
    # many segments, and how long, depends on how the ingest grouped its commits.
    block = conn.execute("SELECT block FROM chunks_fts_data WHERE id > 10 AND length(block) BETWEEN 200 AND 4000 "
                         "ORDER BY length(block) DESC").fetchone()[0]
    conn.close()
    data = path.read_bytes()
    at = data.find(block)
    assert at > 0 and data.find(block, at + 1) < 0
    _flip(path, at + len(block) // 2, 32)
    assert path.stat().st_size == len(data)


def segment_folder(root: Path) -> Path:
    """The folder of the collection's vector index (HNSW) files."""
    folders = [p for p in (root / "chroma").iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def garble_chroma_page(root: Path) -> None:
    """Damage the first page of Chroma's `embeddings` table (the map from its vector ids to ours)."""
    path = root / "chroma" / "chroma.sqlite3"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'embeddings'").fetchone()[0]
    conn.close()
    _flip(path, (page - 1) * page_size + 8, 200)


def cut_chroma_database(root: Path) -> None:
    path = root / "chroma" / "chroma.sqlite3"
    os.truncate(path, path.stat().st_size // 2)


def cut_vector_file(root: Path) -> None:
    os.truncate(segment_folder(root) / "data_level0.bin", 1000)


def cut_index_header(root: Path) -> None:
    os.truncate(segment_folder(root) / "header.bin", 10)  # Chroma aborts the process on this one


def garble_vector_links(root: Path) -> None:
    _flip(segment_folder(root) / "data_level0.bin", 2000, 60000)  # Chroma segfaults on this one


def garble_one_vector(root: Path) -> None:
    """Change 64 bytes of one stored vector: Chroma would rank with it silently."""
    folder = segment_folder(root)
    per_element = int.from_bytes((folder / "header.bin").read_bytes()[28:36], "little")
    _flip(folder / "data_level0.bin", 500 * per_element + 200, 64)


def empty_vector_folder(root: Path) -> None:
    for f in segment_folder(root).iterdir():
        f.unlink()


def drop_vector_folder(root: Path) -> None:
    shutil.rmtree(segment_folder(root))
