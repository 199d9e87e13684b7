"""Damage inside Chroma's own files: found before Chroma reads them, named, and repaired from the
catalogue's texts with no document lost.

The knowledge base holds 1,200 passages, past Chroma's 1,000-vector threshold, so its HNSW index
files on disk (not only its write log) are what it searches; a few documents were replaced, so
the index also holds deleted nodes.  Each case breaks the files at the byte level.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

import kb_damage as damage
from app.errors import KnowledgeBaseDamaged
from ingest import repair
from ingest.kb import KnowledgeBase
from ingest.kb_check import chroma_problem
from ingest.pipeline import IngestOptions, IngestPipeline

DOCS = 30


def _write_docs(folder: Path, version: int = 0) -> None:
    rng = random.Random(version)
    words = [f"w{i}" for i in range(3000)]
    for i in range(DOCS):
        if version and i % 10:
            continue  # the second version changes every tenth document
        paras = [f"Document {i} paragraph {p} topic{i} version{version}. " + " ".join(rng.choice(words) for _ in range(45))
                 for p in range(40)]
        (folder / f"doc{i:03d}.txt").write_text("\n\n".join(paras))


def _ingest(kb: KnowledgeBase, files) -> list:
    with kb.writer():
        return IngestPipeline(kb, damage.HashEmbedder(), IngestOptions(chunk_size=300, chunk_overlap=40)).run(files)


def _state(kb: KnowledgeBase) -> dict[str, tuple[int, tuple[str, ...]]]:
    return {d.path: (d.chunks, tuple(sorted(r[0] for r in kb._conn.execute(
        "SELECT id FROM chunks WHERE doc_id = ?", (d.doc_id,))))) for d in kb.documents()}


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    base = tmp_path_factory.mktemp("chroma_damage")
    docs = base / "docs"
    docs.mkdir()
    _write_docs(docs)
    kb = KnowledgeBase(base / "kb", "hr")
    _ingest(kb, [docs])
    _write_docs(docs, version=1)
    _ingest(kb, [docs])  # replaced documents: deleted nodes in the index
    state = _state(kb)
    assert sum(n for n, _ in state.values()) >= 1200 and len(state) == DOCS
    kb.close()
    assert chroma_problem(base / "kb" / "chroma") == ""  # a sound store, deleted nodes and all, is not flagged
    return base / "kb", state


@pytest.fixture
def hr(big, tmp_path) -> Path:
    shutil.copytree(big[0], tmp_path / "hr")
    return tmp_path / "hr"


CASES = [
    (damage.garble_chroma_page, "its vector store's database is damaged (database disk image is malformed)"),
    (damage.cut_chroma_database, "its vector store's database is damaged"),
    (damage.cut_vector_file, "its vector index file data_level0.bin is cut short (1000 bytes of "),
    (damage.cut_index_header, "its vector index header is cut short (10 bytes of 100)"),
    (damage.garble_vector_links, "nodes link outside the index"),
    (damage.garble_one_vector, "its vector index is damaged: 1 of "),
    (damage.empty_vector_folder, "lacks header.bin, data_level0.bin, length.bin, link_lists.bin"),
    (damage.drop_vector_folder, "is missing"),
]


# Missing or cut-short index files are seen when the KB opens (so `localkb list` and the window's list
# name them); damage that needs the files read shows when the vector store opens, before Chroma loads.
ON_OPEN = {damage.cut_vector_file, damage.cut_index_header, damage.empty_vector_folder, damage.drop_vector_folder}


@pytest.mark.parametrize("harm, words", CASES, ids=[c[0].__name__ for c in CASES])
def test_damage_inside_chroma_is_found_before_chroma_reads_it(hr, harm, words):
    harm(hr)
    with pytest.raises(KnowledgeBaseDamaged) as raised:
        if harm in ON_OPEN:
            KnowledgeBase(hr, "hr")
        else:
            kb = KnowledgeBase(hr, "hr")  # the catalogue is sound: documents can still be listed
            assert len(kb.documents()) == DOCS
            try:
                kb.dense_search(damage.HashEmbedder().embed_query("Document 4 topic4"), 5)
            finally:
                kb.close()
    message = str(raised.value)
    assert message.startswith("Knowledge base 'hr' is damaged: ") and words in message, message
    assert message.endswith("localkb repair --kb hr") and "\n" not in message


def test_a_store_a_killed_writer_left_mid_transaction_is_rolled_back_not_called_damaged(hr):
    """A writer SIGKILLed inside a Chroma transaction leaves a hot rollback journal.  A read-only
    connection may not roll it back ("attempt to write a readonly database"), so the check called
    such a KB damaged (found by the slow kill trials); SQLite's own recovery is what is due."""
    import os
    import sqlite3
    import subprocess
    import sys

    database = hr / "chroma" / "chroma.sqlite3"
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA cache_size = 1')  # pages spill into the file before the commit\n"
        "conn.execute('BEGIN')\n"
        "conn.execute('CREATE TABLE unfinished (x)')\n"
        "conn.executemany('INSERT INTO unfinished VALUES (?)', ((os.urandom(500),) for _ in range(2000)))\n"
        "conn.execute('DELETE FROM embeddings')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"), str(database)], timeout=60)
    assert killed.returncode == -9
    assert (hr / "chroma" / "chroma.sqlite3-journal").stat().st_size > 0  # the hot journal is there
    assert chroma_problem(hr / "chroma") == ""
    kb = KnowledgeBase(hr, "hr")
    try:
        hits = kb.dense_search(damage.HashEmbedder().embed_query("Document 4 topic4"), 5)
        assert hits and kb.consistency_problems() == []
    finally:
        kb.close()
    conn = sqlite3.connect(database)
    try:  # rolled back: the killed transaction left nothing behind
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'unfinished'").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] > 0
    finally:
        conn.close()
    assert not os.path.exists(str(database) + "-journal")


def _no_file_read(_kb, paths):
    raise AssertionError(f"repair read files again: {paths[:3]}")


@pytest.mark.parametrize("harm", [damage.garble_chroma_page, damage.cut_vector_file, damage.garble_vector_links,
                                  damage.drop_vector_folder], ids=lambda f: f.__name__)
def test_repair_embeds_the_kept_passages_again_and_loses_no_document(hr, big, harm):
    harm(hr)
    embedder = damage.HashEmbedder()
    report = repair.repair(hr, "hr", embedder.name, embedder.embed_documents, _no_file_read)
    assert len(report.problems) == 1 and report.problems[0].startswith("vector"), report.problems
    assert report.actions == [f"embedded the catalogue's {sum(n for n, _ in big[1].values())} passages again "
                              "into a new vector store"]
    assert report.remaining == [] and not report.from_sources
    assert (Path(report.set_aside) / "chroma" / "chroma.sqlite3").exists()  # the damaged store is kept
    kb = KnowledgeBase(hr, "hr")
    assert _state(kb) == big[1]  # every document, with the same passages
    assert kb.consistency_problems() == []
    hits = kb.dense_search(embedder.embed_query("Document 4 paragraph 7 topic4"), 3)
    assert kb.chunks([hits[0][0]])[hits[0][0]].path.endswith("doc004.txt")
    kb.close()


def test_a_chroma_failure_during_a_search_names_the_kb_and_the_repair(hr, monkeypatch):
    """Damage that appears after the store opened (Chroma then fails inside its core) is the same
    one-line message, not an InternalError traceback."""
    from chromadb.errors import InternalError

    kb = KnowledgeBase(hr, "hr")
    store = kb.store

    def broken(*_a, **_k):
        raise InternalError("Error executing plan: Failed to apply logs to the hnsw segment writer")

    monkeypatch.setattr(store._collection, "query", broken)
    with pytest.raises(KnowledgeBaseDamaged, match=r"^Knowledge base 'hr' is damaged: its vector store failed a "
                                                   r"search \(InternalError: .*localkb repair --kb hr$"):
        kb.dense_search(damage.HashEmbedder().embed_query("topic4"), 5)
    kb.close()


def _drop_chroma_tables(root: Path) -> None:
    """What an ingest killed while Chroma created its database leaves: the file, some tables missing."""
    import sqlite3

    conn = sqlite3.connect(root / "chroma" / "chroma.sqlite3")
    conn.execute("DROP TABLE segments")
    conn.commit()
    conn.close()


def test_a_half_made_store_of_a_kb_with_no_passages_is_made_afresh(tmp_path, hr):
    """A first ingest killed while Chroma made its tables leaves nothing to keep: the next open
    starts a new store instead of asking for a repair; with passages, the same damage is reported."""
    empty = KnowledgeBase(tmp_path / "new", "new")
    empty.store.count()
    empty.close()
    _drop_chroma_tables(tmp_path / "new")
    assert "no such table: segments" in chroma_problem(tmp_path / "new" / "chroma")
    kb = KnowledgeBase(tmp_path / "new", "new")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Document 1 topic1 about the harbour crane and its yearly inspection.")
    _ingest(kb, [docs])
    assert kb.consistency_problems() == [] and kb.chunk_count() == 1
    hits = kb.dense_search(damage.HashEmbedder().embed_query("harbour crane inspection"), 1)
    assert kb.chunks([hits[0][0]])[hits[0][0]].path.endswith("a.txt")
    kb.close()

    _drop_chroma_tables(hr)
    with pytest.raises(KnowledgeBaseDamaged, match="no such table: segments"):
        KnowledgeBase(hr, "hr")
    assert (hr / "chroma" / "chroma.sqlite3").exists()  # the vectors of kept passages stay for the repair
