"""Kill `localkb ingest` at exact points of the commit protocol and at random moments.

After every kill: the KB opens, `localkb list` and both indexes (Chroma and the keyword index)
agree with the catalogue, no search returns a passage of a document that is not whole, and a
re-run ends in exactly the clean result (same documents, chunk counts and chunk ids).

The random moments are drawn from a seeded generator (LOCALKB_KILL_SEED changes the seed), so a
failing trial can be replayed.  The default suite runs three random kills into a first ingest;
the slow test runs 20 more into re-ingests that replace every document, where a kill must leave
each document whole in its old or its new version.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import run as cli_run
from ingest.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("LOCALKB_KILL_SEED", "20261126"))
QUERY = "employees region office"


def _write_corpus(docs: Path, version: int) -> None:
    """Version 0 and 1 differ in every file (content and chunk count), at the same paths."""
    docs.mkdir(exist_ok=True)
    for i in range(16):
        body = f"Section {i} v{version}. Employees in region {i} report to office {(i + version) % 5}. "
        (docs / f"doc{i:02d}.txt").write_text(body * (8 + i + 9 * version))
    (docs / "中文.md").write_text("# 制度\n\n" + f"员工每年享有{15 + version}天带薪年假，病假需提供证明。" * (20 + 10 * version),
                                 encoding="utf-8")


def _ingest(home: Path, docs: Path, crash_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, LOCALKB_HOME=str(home))
    env.pop("LOCALKB_TEST_CRASH_AT", None)
    if crash_at:
        env["LOCALKB_TEST_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-m", "app", "ingest", str(docs), "--kb", "c"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


State = dict[str, tuple[str, int, tuple[str, ...]]]


def _state(kb: KnowledgeBase) -> State:
    """path -> (status, chunk count, chunk ids)."""
    out = {}
    for d in kb.documents():
        ids = kb._conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (d.doc_id,)).fetchall() if d.doc_id else []
        out[d.path] = (d.status, d.chunks, tuple(sorted(r[0] for r in ids)))
    return out


class Corpus:
    """One docs folder (chunk ids depend on the path) and the clean result of each version, run
    once when first needed."""

    def __init__(self, base: Path) -> None:
        self.base, self.docs = base, base / "docs"
        self._refs: dict[int, tuple[State, float]] = {}

    def ref(self, version: int) -> tuple[State, float]:
        """(clean state, seconds a clean run took) of `version`; leaves the docs at that version."""
        _write_corpus(self.docs, version)
        if version not in self._refs:
            home = self.base / f"ref{version}"
            started = time.monotonic()
            proc = _ingest(home, self.docs)
            _out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
            kb = KnowledgeBase(home / "kbs" / "c")
            state = _state(kb)
            kb.close()
            assert {s for s, _, _ in state.values()} == {"indexed"} and len(state) == 17
            self._refs[version] = state, time.monotonic() - started
        return self._refs[version]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("kill"))


def _check_after_kill(home: Path, refs: list[State], embedder, monkeypatch, capsys) -> KnowledgeBase:
    """The KB opens; list, keyword index and vectors agree; every searchable document is whole."""
    kb = KnowledgeBase(home / "kbs" / "c")  # opening replays owed vector deletions
    assert kb.consistency_problems() == []  # catalogue rows = chunk rows = keyword rows = vectors
    state = _state(kb)
    monkeypatch.setenv("LOCALKB_HOME", str(home))
    capsys.readouterr()
    assert cli_run(["list", "--kb", "c", "--json"]) == 0
    listed = {d["path"]: (d["status"], d["chunks"]) for d in json.loads(capsys.readouterr().out)["documents"]}
    assert listed == {p: (s, n) for p, (s, n, _ids) in state.items()}
    whole = {p: {ref[p][2] for ref in refs if p in ref} for p in state}
    for path, (status, n, ids) in state.items():
        # Visible means whole: exactly one clean version's passages, or (never indexed) none at all.
        if ids:
            assert ids in whole[path] and n == len(ids), path
        else:
            assert status in ("pending", "failed") and n == 0, path
    hits = kb.keyword_search(QUERY, 1000) + kb.dense_search(embedder.embed_query(QUERY), 1000)
    assert bool(hits) == any(ids for _, _, ids in state.values())  # whatever is visible is found
    found = kb.chunks([cid for cid, _ in hits])
    for cid, _score in hits:
        path = found[cid].path
        assert state[path][2] in whole[path] and cid in state[path][2], (cid, path)
    return kb


def _finish_and_compare(home: Path, docs: Path, ref: State) -> float:
    """Run the ingest to the end and compare with the clean result; returns how long it ran."""
    started = time.monotonic()
    proc = _ingest(home, docs)
    out, err = proc.communicate(timeout=600)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, err
    assert all(line.startswith(("ok ", "skipped ")) for line in out.splitlines()), out
    kb = KnowledgeBase(home / "kbs" / "c")
    assert kb.consistency_problems() == []
    assert _state(kb) == ref  # exactly the clean result: same documents, chunk counts, chunk ids
    kb.close()
    return seconds


def _kill_at_random(home: Path, docs: Path, delay_s: float, after_first_commit: bool = False) -> str:
    """SIGKILL an ingest `delay_s` after it starts (or after its first document committed, where
    the commits go on); what it had done by then, for the record."""
    proc = _ingest(home, docs)
    lines: list[str] = []
    if after_first_commit:
        for line in proc.stdout:  # blocks on the pipe until the first "ok" line or the end
            lines.append(line)
            if line.startswith("ok "):
                break
    try:
        proc.wait(timeout=delay_s)
        outcome = "finished before the kill"
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        outcome = "killed"
    lines += proc.stdout.read().splitlines()
    proc.stdout.close()
    proc.stderr.close()
    when = f"{delay_s:.1f}s after its first commit" if after_first_commit else f"{delay_s:.1f}s"
    return f"{outcome} at {when}, after {sum(line.startswith('ok ') for line in lines)} ok lines"


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_crash_inside_the_commit_protocol(tmp_path, corpus, point, embedder, monkeypatch, capsys):
    ref, _seconds = corpus.ref(0)
    proc = _ingest(tmp_path / "home", corpus.docs, crash_at=point)
    proc.communicate(timeout=600)
    assert proc.returncode == 137
    _check_after_kill(tmp_path / "home", [ref], embedder, monkeypatch, capsys).close()
    _finish_and_compare(tmp_path / "home", corpus.docs, ref)


@pytest.mark.parametrize("trial", range(3))
def test_sigkill_at_a_random_moment_of_a_first_ingest(tmp_path, corpus, trial, embedder, monkeypatch, capsys):
    ref, seconds = corpus.ref(0)
    delay = random.Random(SEED + trial).uniform(0.5, seconds)
    outcome = _kill_at_random(tmp_path / "home", corpus.docs, delay)
    print(f"trial {trial} (seed {SEED + trial}): {outcome}", file=sys.__stderr__)  # capsys holds sys.stderr
    if (tmp_path / "home" / "kbs" / "c" / "catalog.sqlite3").exists():
        _check_after_kill(tmp_path / "home", [ref], embedder, monkeypatch, capsys).close()
    _finish_and_compare(tmp_path / "home", corpus.docs, ref)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_twenty_sigkills_at_random_moments_of_re_ingests(tmp_path, corpus, embedder, monkeypatch, capsys):
    """Each trial switches every file to the other version, kills the ingest at a random moment,
    checks, and finishes it; the next trial replaces everything again.  Moments are drawn within
    the last full run's duration (this box's speed varies with its load), every other one counted
    from the first commit; a draw that lands after the ingest ended is checked too but not
    counted, until 20 kills have landed."""
    refs = {v: corpus.ref(v) for v in (1, 0)}  # leaves the files at version 0
    home, docs = tmp_path / "home", corpus.docs
    last_run = _finish_and_compare(home, docs, refs[0][0])
    rng = random.Random(SEED)
    outcomes: list[str] = []
    version = 0
    while sum(o.startswith("killed") for o in outcomes) < 20:
        assert len(outcomes) < 40, outcomes
        version = 1 - version
        _write_corpus(docs, version)
        # Half the moments anywhere in a run, half among its commits (most of a run is start-up).
        commits = len(outcomes) % 2 == 1
        delay = rng.uniform(0.0, last_run / 4) if commits else rng.uniform(0.5, last_run)
        outcome = _kill_at_random(home, docs, delay, after_first_commit=commits)
        _check_after_kill(home, [refs[0][0], refs[1][0]], embedder, monkeypatch, capsys).close()
        last_run = _finish_and_compare(home, docs, refs[version][0])
        outcomes.append(outcome)
        print(f"trial {len(outcomes)} (seed {SEED}, version {version}): {outcome}; checks passed", file=sys.__stderr__)
    killed = sum(o.startswith("killed") for o in outcomes)
    print(f"{killed} kills landed mid-ingest in {len(outcomes)} trials; every check passed", file=sys.__stderr__)
