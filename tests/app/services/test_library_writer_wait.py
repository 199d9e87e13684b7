"""A user's ingest or removal queues behind a brief holder of the writer lock (a folder sync's
round) instead of being refused; a cancel ends the wait with the refusal, not a hang."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.paths import kb_dir
from ingest.kb import WriterBusy, writer_lock
from ingest.progress import CancelToken


def _hold_lock(name: str, release: threading.Event, held: threading.Event) -> threading.Thread:
    def run() -> None:
        with writer_lock(kb_dir(name), name):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert held.wait(10)
    return thread


def test_an_ingest_waits_for_a_brief_writer_then_runs(library, tmp_path: Path) -> None:
    doc = tmp_path / "memo.txt"
    doc.write_text("The parking permit for the north garage costs 35 EUR per month.")
    library.open_kb("work", create=True)
    release, held = threading.Event(), threading.Event()
    holder = _hold_lock("work", release, held)
    # Let go a moment after the ingest has asked for the lock: without the wait it is refused at once.
    timer = threading.Timer(0.5, release.set)
    timer.start()
    report = library.ingest([doc], kb="work")
    holder.join(10)
    assert [e.state for e in report.events if e.state != "started"] == ["ok"]
    assert [d.path for d in library.documents("work")] == [str(doc.resolve())]

    release2, held2 = threading.Event(), threading.Event()
    holder = _hold_lock("work", release2, held2)
    threading.Timer(0.5, release2.set).start()
    events = library.remove("work", [doc])
    holder.join(10)
    assert [e.state for e in events] == ["removed"]


def test_a_cancelled_wait_is_refused_and_writes_nothing(library, tmp_path: Path) -> None:
    doc = tmp_path / "memo.txt"
    doc.write_text("Visitors park in the front yard.")
    library.open_kb("work", create=True)
    release, held = threading.Event(), threading.Event()
    holder = _hold_lock("work", release, held)
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    try:
        with pytest.raises(WriterBusy, match="being changed by another LocalKB window or command"):
            library.ingest([doc], kb="work", cancel=cancel)
    finally:
        release.set()
        holder.join(10)
    assert library.documents("work") == []
