"""Kill the ingest process at many points; on restart nothing is half-visible and the job completes."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]


def _corpus(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for i in range(24):
        body = f"Section {i}. Employees in region {i} report to office {i % 5}. " * (8 + i)
        (docs / f"doc{i:02d}.txt").write_text(body)
    (docs / "中文.md").write_text("# 制度\n\n" + "员工每年享有十五天带薪年假，病假需提供证明。" * 20, encoding="utf-8")
    return docs


def _ingest(home: Path, docs: Path, crash_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, LOCALKB_HOME=str(home))
    env.pop("LOCALKB_TEST_CRASH_AT", None)
    if crash_at:
        env["LOCALKB_TEST_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-m", "app", "ingest", str(docs), "--kb", "c"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check(home: Path) -> KnowledgeBase:
    kb = KnowledgeBase(home / "kbs" / "c")  # opening replays owed vector deletions
    assert kb.consistency_problems() == []
    for doc in kb.documents():
        # A document is either fully visible or not at all; consistency_problems() has already
        # checked that no chunk, keyword row or vector exists without its visible document.
        assert (doc.doc_id is not None) == (doc.status == "indexed") or doc.status == "pending"
    return kb


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Chunk count of an uninterrupted run over the same corpus."""
    base = tmp_path_factory.mktemp("ref")
    docs = _corpus(base)
    proc = _ingest(base / "home", docs)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    kb = KnowledgeBase(base / "home" / "kbs" / "c")
    return docs.name, kb.chunk_count(), len(kb.documents())


def _finish_and_compare(home: Path, docs: Path, reference) -> None:
    _check(home).close()
    proc = _ingest(home, docs)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert all(line.startswith(("ok ", "skipped ")) for line in out.splitlines()), out
    kb = _check(home)
    _, chunks, n_docs = reference
    assert (kb.chunk_count(), len(kb.documents())) == (chunks, n_docs)
    assert all(d.status == "indexed" for d in kb.documents())


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_crash_inside_the_commit_protocol(tmp_path, reference, point):
    docs = _corpus(tmp_path)
    proc = _ingest(tmp_path / "home", docs, crash_at=point)
    proc.communicate(timeout=600)
    assert proc.returncode == 137
    _finish_and_compare(tmp_path / "home", docs, reference)


@pytest.mark.parametrize("after_ok_lines", [0, 3, 12])
def test_sigkill_while_ingesting(tmp_path, reference, after_ok_lines):
    docs = _corpus(tmp_path)
    home = tmp_path / "home"
    proc = _ingest(home, docs)
    seen = 0
    if after_ok_lines == 0:
        # As soon as the catalogue exists: files are pending, nothing committed yet.
        while not (home / "kbs" / "c" / "catalog.sqlite3").exists() and proc.poll() is None:
            pass
    else:
        for line in proc.stdout:
            seen += line.startswith("ok ")
            if seen >= after_ok_lines:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    _finish_and_compare(home, docs, reference)
