"""Ctrl-C during `localkb ingest`: the run stops within seconds and keeps what it committed."""

from __future__ import annotations

import _thread
import signal
import threading
import time

import pytest

from ingest.kb import KnowledgeBase
from ingest.progress import CancelToken, FileEvent


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler, as an interactive `localkb ingest` has: a process a shell
    starts in the background ignores SIGINT, and then interrupt_main() does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_promptly_and_keeps_committed_files(library, tmp_path, monkeypatch, python_sigint):
    groups: list[list[str]] = []  # files committed together, in order
    real_commit = KnowledgeBase.commit_documents

    def recorded(self, versions):
        groups.append([v.path for v in versions])
        return real_commit(self, versions)

    monkeypatch.setattr(KnowledgeBase, "commit_documents", recorded)
    for i in range(40):
        (tmp_path / f"f{i:02}.txt").write_text(f"Document number {i} talks about topic {i}. " * 20)
    token = CancelToken()
    after_interrupt: list[FileEvent] = []
    interrupted = threading.Event()
    interrupted_at: list[float] = []

    class CtrlCAfterFirst:
        def file_event(self, event):
            if interrupted.is_set():
                after_interrupt.append(event)
            elif event.state == "ok":
                interrupted.set()
                interrupted_at.append(time.monotonic())
                _thread.interrupt_main()  # what SIGINT does: KeyboardInterrupt in the main thread
                # The writer (this thread) holds back until the pipeline has turned the interrupt
                # into a stop; before the fix it never did, and every queued file was committed.
                token._event.wait(timeout=10)

        def progress(self, progress):
            pass

    with pytest.raises(KeyboardInterrupt):
        library.ingest([tmp_path], "t", progress=CtrlCAfterFirst(), cancel=token)
    # From Ctrl-C to the end of the run: one embedder batch at most, not every queued file.
    assert time.monotonic() - interrupted_at[0] < 60
    assert token.cancelled
    # Nothing committed after Ctrl-C: only the group that was being reported when it came (files
    # are committed in groups, so the rest of that group's files are reported after it).
    assert len(groups) == 1
    assert len([e for e in after_interrupt if e.state == "ok"]) == len(groups[0]) - 1
    kb = library.open_kb("t")
    assert kb.consistency_problems() == []
    docs = library.documents("t")
    assert sum(d.status == "indexed" for d in docs) == len(groups[0])
    # The rest is marked to be read again by the next run (as after a cancel, which
    # test_pipeline.py follows through a second run).
    assert all(d.status in ("indexed", "failed") for d in docs)

