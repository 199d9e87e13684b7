"""Faults around a knowledge base: a full disk, a read-only folder, damaged files, a second process.

Each test builds a small KB with the real pipeline and embedder, breaks it the way a real fault
would, and checks what the user gets: a clear error naming the KB, nothing half-visible, and a
KB that works again once the fault is gone.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.errors import KnowledgeBaseDamaged, KnowledgeBaseError
from kb_damage import overwrite_keyword_block
from ingest.kb import KnowledgeBase, kb_exists, write_failure
from ingest.pipeline import IngestOptions, IngestPipeline
from ingest.store import VectorStore

TOPICS = ["annual leave", "hotel nights", "laptop refresh", "expense claims", "parking permits", "fire drills"]


def _docs(folder: Path) -> Path:
    folder.mkdir()
    for i, topic in enumerate(TOPICS):
        (folder / f"policy{i}.txt").write_text(f"Policy {i} on {topic}. " + f"Rule {i}: {topic} need approval. " * (20 + 15 * i))
    return folder


def _ingest(kb: KnowledgeBase, embedder, files) -> list:
    with kb.writer():
        return IngestPipeline(kb, embedder, IngestOptions(chunk_size=300, chunk_overlap=40)).run(files)


def _state(kb: KnowledgeBase) -> dict[str, tuple[str, int, tuple[str, ...]]]:
    """path -> (status, chunk count, chunk ids): what 'the same result' means."""
    out = {}
    for d in kb.documents():
        ids = tuple(sorted(r[0] for r in kb._conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (d.doc_id,))))
        out[d.path] = (d.status, d.chunks, ids)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory, embedder):
    """A KB ingested without faults, and its state."""
    base = tmp_path_factory.mktemp("clean")
    docs = _docs(base / "docs")
    kb = KnowledgeBase(base / "kb")
    _ingest(kb, embedder, [docs])
    state = _state(kb)
    assert len(state) == len(TOPICS) and sum(n for _, n, _ in state.values()) > len(TOPICS)
    kb.close()
    return base / "kb", docs, state


@pytest.fixture
def kb_copy(clean, tmp_path):
    root, docs, state = clean
    shutil.copytree(root, tmp_path / "kb")
    return tmp_path / "kb", docs, state


def test_a_full_disk_mid_ingest_is_a_clear_error_and_the_ingest_resumes(tmp_path, embedder, clean, monkeypatch):
    _root, docs, clean_state = clean
    third_path = next(p for p in clean_state if p.endswith("policy2.txt"))
    third = set(clean_state[third_path][2])  # chunk ids depend only on path and content
    real_add = VectorStore.add
    calls = []

    def add_until_the_disk_fills(self, ids, *args, **kwargs):
        calls.append(ids)
        # The group of files holding the third topic finds the disk full (files are committed in
        # groups, so which others share its fate depends on timing; each group is all or none).
        if any(i in third for i in ids):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_add(self, ids, *args, **kwargs)

    monkeypatch.setattr(VectorStore, "add", add_until_the_disk_fills)
    kb = KnowledgeBase(tmp_path / "kb")
    with pytest.raises(KnowledgeBaseError, match="The disk holding knowledge base 'kb' is full") as raised:
        _ingest(kb, embedder, [docs])
    assert "Free some space" in str(raised.value)
    assert kb.consistency_problems() == []
    state = _state(kb)
    indexed = {p: s for p, s in state.items() if s[0] == "indexed"}
    assert third_path not in indexed
    assert all(clean_state[p] == s for p, s in indexed.items())  # what was committed is whole
    assert all(s == ("failed", 0, ()) for p, s in state.items() if p not in indexed)
    assert {d.reason for d in kb.documents() if d.status == "failed"} == {"not indexed: the disk was full; add it again"}

    monkeypatch.setattr(VectorStore, "add", real_add)  # space is back
    events = _ingest(kb, embedder, [docs])
    assert sorted(e.state for e in events) == sorted(["ok"] * (len(TOPICS) - len(indexed)) + ["skipped"] * len(indexed))
    assert _state(kb) == clean_state
    assert kb.consistency_problems() == []


@pytest.mark.parametrize("error, words", [
    (OSError(errno.ENOSPC, "No space left on device"), "is full"),
    (sqlite3.OperationalError("database or disk is full"), "is full"),
    (Exception("error returned from database: (code: 13) database or disk is full"), "is full"),  # Chroma's core
    (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
    (OSError(errno.EROFS, "Read-only file system"), "read-only"),
])
def test_write_failures_in_any_library_get_the_same_words(tmp_path, error, words):
    failure = write_failure(error, "hr", tmp_path)
    assert failure is not None and words in str(failure) and "'hr'" in str(failure)


def test_a_failure_reading_a_source_file_is_not_taken_for_the_kb(tmp_path):
    outside = PermissionError(errno.EACCES, "Permission denied", "/home/someone/private.txt")
    assert write_failure(outside, "hr", tmp_path / "kb") is None
    assert write_failure(ValueError("bad value"), "hr", tmp_path) is None


def test_a_kb_opened_while_another_writes_leaves_the_writers_fresh_vectors_alone(kb_copy, embedder):
    """A second window or command opening the KB mid-commit must not delete vectors owed to the
    commit that is still to come (it used to: opening collected every owed deletion)."""
    root, _docs, _state = kb_copy
    writer = KnowledgeBase(root)
    with writer.writer():
        # The commit protocol's first two steps: owe the deletion, write the vectors.
        writer._conn.execute("INSERT INTO vector_gc VALUES ('newdoc')")
        writer.store.add(["newdoc:0"], embedder.embed_documents(["a fresh passage"]), "newdoc")
        reader = KnowledgeBase(root)
        assert "newdoc:0" in writer.store.all_ids()
        hits = reader.dense_search(embedder.embed_query("a fresh passage"), 50)
        assert hits and all(cid != "newdoc:0" for cid, _ in hits)  # not visible before its commit
        reader.close()
    writer.close()
    # Once no one writes, whoever opens it next collects what the interrupted commit left.
    again = KnowledgeBase(root)
    assert "newdoc:0" not in again.store.all_ids()
    assert again.consistency_problems() == []


def _truncate(root: Path) -> None:
    path = root / "catalog.sqlite3"
    os.truncate(path, path.stat().st_size // 2)


def _drop_chroma(root: Path) -> None:
    shutil.rmtree(root / "chroma")


def _drop_keyword_rows(root: Path) -> None:
    conn = sqlite3.connect(root / "catalog.sqlite3")
    conn.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks_fts LIMIT 2)")
    conn.commit()
    conn.close()


def _drop_catalogue(root: Path) -> None:
    for name in ("catalog.sqlite3", "catalog.sqlite3-wal", "catalog.sqlite3-shm"):
        (root / name).unlink(missing_ok=True)


@pytest.mark.parametrize("damage, words", [
    (_truncate, "its catalogue catalog.sqlite3 is cut short"),
    (_drop_chroma, "its vector store (the chroma folder) is missing"),
    (_drop_keyword_rows, "its keyword index holds"),
    (overwrite_keyword_block, "its keyword index is damaged: 1 of "),
    (_drop_catalogue, "its catalogue (catalog.sqlite3) is missing or empty while its vectors remain"),
])
def test_damage_is_found_on_open_with_the_kb_named(kb_copy, damage, words):
    root, _docs, _state = kb_copy
    damage(root)
    assert kb_exists(root)  # still listed, so it can be repaired
    with pytest.raises(KnowledgeBaseDamaged) as raised:
        KnowledgeBase(root, "hr")
    assert words in str(raised.value)
    assert raised.value.kb == "hr" and "localkb repair --kb hr" in str(raised.value)


def test_lost_vectors_are_found_when_the_store_opens(kb_copy):
    root, _docs, state = kb_copy
    kb = KnowledgeBase(root, "hr")
    first = next(iter(state.values()))[2][0]
    kb.store._collection.delete(ids=[first])  # a vector lost behind the catalogue's back
    kb.close()
    kb = KnowledgeBase(root, "hr")
    with pytest.raises(KnowledgeBaseDamaged, match="vector store holds"):
        kb.store  # noqa: B018 - opening it is the check


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs mounted for the test (root only): `resize(kb)` and `read_only(flag)` change it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; test_a_full_disk_mid_ingest_... covers a failing writer")
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("this machine does not let tests mount a tmpfs")

    class Disk:
        path = mount

        @staticmethod
        def remount(options: str) -> None:
            # Making it read-only fails with "mount point is busy" while the kernel still frees a
            # file deleted a moment ago (SQLite's and Chroma's: no process holds or maps any file
            # on it then, checked in /proc); that takes milliseconds, so try again for a while.
            for attempt in range(50):
                done = subprocess.run(["mount", "-o", f"remount,{options}", str(mount)], capture_output=True, text=True)
                if done.returncode == 0 or "busy" not in done.stderr or attempt == 49:
                    break
                time.sleep(0.1)
            done.check_returncode()

        @staticmethod
        def used_kb() -> int:
            st = os.statvfs(mount)
            return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024

    yield Disk
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_real_full_disk_then_a_read_only_one_keep_the_kb_intact_and_the_ingest_resumes(small_disk, embedder,
                                                                                          clean):
    _root, docs, clean_state = clean
    files = sorted(docs.iterdir())
    kb = KnowledgeBase(small_disk.path / "kb", "hr")
    _ingest(kb, embedder, files[:2])
    before = _state(kb)
    small_disk.remount(f"size={small_disk.used_kb() + 24}k")  # a little room: less than the rest needs
    with pytest.raises(KnowledgeBaseError, match="The disk holding knowledge base 'hr' is full"):
        _ingest(kb, embedder, files)
    assert kb.consistency_problems() == []
    after = _state(kb)
    assert {p: s for p, s in after.items() if s[0] == "indexed"} == before | {
        p: s for p, s in after.items() if s[0] == "indexed" and p not in before}
    assert all(s == clean_state[p] for p, s in after.items() if s[0] == "indexed")  # whatever is visible is whole
    assert kb.keyword_search("annual leave", 5)  # what was indexed before still answers

    kb.close()  # (Linux refuses to make a file system read-only while files on it are open to write)
    small_disk.remount("size=64m,ro")  # space is back, but the folder is read-only now
    try:
        kb = KnowledgeBase(small_disk.path / "kb", "hr")
    except KnowledgeBaseError as exc:  # SQLite could not open it at all (no -shm file left): a clear reason
        assert "LocalKB cannot write to knowledge base 'hr'" in str(exc) and "read-only" in str(exc)
        print("read-only folder: refused on open", file=sys.__stderr__)
    else:  # it opened for reading: it answers, and a write says why it cannot be done
        assert kb.keyword_search("annual leave", 5)
        with pytest.raises(KnowledgeBaseError, match="LocalKB cannot write to knowledge base 'hr'.*read-only"):
            _ingest(kb, embedder, files)
        kb.close()
        print("read-only folder: opened for reading, the write refused", file=sys.__stderr__)

    small_disk.remount("rw")
    kb = KnowledgeBase(small_disk.path / "kb", "hr")
    _ingest(kb, embedder, files)
    assert _state(kb) == clean_state  # resumed to exactly the clean result
    assert kb.consistency_problems() == []
    kb.close()
