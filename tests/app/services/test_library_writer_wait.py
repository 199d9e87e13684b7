"""A user's ingest or removal queues behind a brief holder of the writer lock (a folder sync's
round) instead of being refused; a cancel ends the wait with the refusal, not a hang."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.paths import kb_dir
from ingest.kb import WriterBusy, writer_lock
from ingest.progress import CancelToken


def _hold_lock(name: str, release_after_s: float | None) -> tuple[threading.Thread, threading.Event]:
    """Another writer takes the KB's lock now and lets go after `release_after_s` (or when told)."""
    release, held = threading.Event(), threading.Event()

    def run() -> None:
        with writer_lock(kb_dir(name), name):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert held.wait(10)
    if release_after_s is not None:
        # It lets go a moment after the caller has asked for the lock: without a wait, that is refused at once.
        threading.Timer(release_after_s, release.set).start()
    return thread, release


def test_an_ingest_waits_for_a_brief_writer_then_runs(library, tmp_path: Path) -> None:
    doc = tmp_path / "memo.txt"
    doc.write_text("The parking permit for the north garage costs 35 EUR per month.")
    library.open_kb("work", create=True)
    holder, _ = _hold_lock("work", release_after_s=0.5)
    report = library.ingest([doc], kb="work")
    holder.join(10)
    assert [e.state for e in report.events if e.state != "started"] == ["ok"]
    assert [d.path for d in library.documents("work")] == [str(doc.resolve())]

    holder, _ = _hold_lock("work", release_after_s=0.5)
    events = library.remove("work", [doc])
    holder.join(10)
    assert [e.state for e in events] == ["removed"]


def test_a_cancelled_wait_is_refused_and_writes_nothing(library, tmp_path: Path) -> None:
    doc = tmp_path / "memo.txt"
    doc.write_text("Visitors park in the front yard.")
    library.open_kb("work", create=True)
    holder, release = _hold_lock("work", release_after_s=None)
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    try:
        with pytest.raises(WriterBusy, match="being changed by another LocalKB window or command"):
            library.ingest([doc], kb="work", cancel=cancel)
    finally:
        release.set()
        holder.join(10)
    assert library.documents("work") == []
