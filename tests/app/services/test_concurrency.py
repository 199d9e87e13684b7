"""Two processes on one knowledge base: `localkb ingest` writes while this process asks questions and
tries to write too.  Questions never fail and never see half a document; a second writer is refused
with a clear message, never let in.  Slow (a real ingest process, about a minute here); the
in-process version of the reader's side is in tests/ingest/test_kb_faults.py."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.paths import kb_dir
from app.services.chat import ChatService
from app.settings import Settings
from ingest.kb import WriterBusy

ROOT = Path(__file__).resolve().parents[3]


def _ids_by_path(catalogue: Path) -> dict[str, tuple[str, ...]]:
    conn = sqlite3.connect(catalogue, timeout=30)
    try:
        rows = conn.execute("SELECT d.path, c.id FROM documents d JOIN chunks c ON c.doc_id = d.doc_id").fetchall()
    finally:
        conn.close()
    out: dict[str, list[str]] = {}
    for path, cid in rows:
        out.setdefault(path, []).append(cid)
    return {p: tuple(sorted(ids)) for p, ids in out.items()}


def _pending(catalogue: Path) -> bool:
    if not catalogue.exists():
        return False
    conn = sqlite3.connect(catalogue, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*) FROM documents WHERE status = 'pending'").fetchone()[0] > 0
    except sqlite3.OperationalError:  # its tables are still being created
        return False
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_questions_during_an_ingest_in_another_process_see_only_whole_documents(library, tmp_path, localkb_home):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(16):
        (docs / f"memo{i:02d}.txt").write_text(
            f"Memo {i}. The budget for project {i} is {i * 1000} EUR and the office is in region {i % 4}. " * (10 + i))
    env = dict(os.environ, LOCALKB_HOME=str(localkb_home))
    writer = subprocess.Popen([sys.executable, "-m", "app", "ingest", str(docs), "--kb", "work"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    catalogue = kb_dir("work") / "catalog.sqlite3"
    chat = ChatService(Settings(), library)
    seen: list[tuple[str, tuple[str, ...]]] = []  # (path of a hit, that document's chunk ids then)
    asked = refused = 0
    try:
        while writer.poll() is None and not _pending(catalogue):  # it has planned: it holds the lock
            try:
                writer.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        # A short wait (the default is 30 s) ends in the refusal while the other process writes on.
        with pytest.raises(WriterBusy, match="being changed by another LocalKB window or command"):
            library.ingest([docs / "memo00.txt"], kb="work", wait_s=0.5)
        with pytest.raises(WriterBusy):
            library.remove("work", [docs / "memo00.txt"], wait_s=0.5)
        refused += 1
        while writer.poll() is None:
            sources = chat.search("What is the budget for the project in region 2?", ["work"])
            asked += 1
            now = _ids_by_path(catalogue)
            seen += [(s.path, now[s.path]) for s in sources]
        out, err = writer.communicate(timeout=600)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, err
    assert len(out.splitlines()) == 16 and all(line.startswith("ok ") for line in out.splitlines())
    final = _ids_by_path(catalogue)
    assert len(final) == 16
    assert asked >= 3 and refused == 1 and seen, (asked, refused, len(seen))
    # Every document a question saw was already whole: the same chunks it has now that all is done.
    assert all(ids == final[path] for path, ids in seen)
    kb = library.open_kb("work")
    assert kb.consistency_problems() == []  # this process's opening it mid-write deleted nothing
    print(f"{asked} questions during the ingest, {len(seen)} passages seen, {len({p for p, _ in seen})} documents",
          file=sys.__stderr__)
