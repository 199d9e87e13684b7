"""Followed folders with real files: the knowledge base converges to exactly the folder's content.

Each test edits a real folder (create, modify, rename, delete) while it is watched, or while
nobody watches, and checks the result through search, the catalogue and the consistency check.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.services.chat import ChatService
from app.settings import Settings
from ingest import watch

TIMEOUT_S = 60


@pytest.fixture
def fast_sync(library):
    library.settings = Settings()
    library.settings.sync.debounce_s = 0.2
    return library


def wait_until(predicate, what: str, timeout: float = TIMEOUT_S) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def indexed(library, kb: str) -> dict[str, str]:
    """{file name: doc_id} of the visible documents."""
    return {Path(d.path).name: d.doc_id for d in library.open_kb(kb).documents() if d.status == "indexed"}


def chunk_texts(library, kb: str, path) -> list[str]:
    base = library.open_kb(kb)
    doc_id = base.document(str(path)).doc_id
    ids = [f"{doc_id}:{i}" for i in range(base.document(str(path)).chunks)]
    return [base.chunks(ids)[i].text for i in ids]


def wait_consistent(library, kb: str) -> None:
    """Wait for the vector store to agree with the catalogue.  A sync makes its catalogue change
    visible first and deletes the replaced vectors just after, so for a moment there are extra
    vectors; vectors that are never deleted still fail here, on the timeout."""
    base = library.open_kb(kb)
    problems: list[str] = []

    def agree() -> bool:
        problems[:] = base.consistency_problems()
        return not problems

    try:
        wait_until(agree, "the vector store to agree with the catalogue")
    except AssertionError:
        raise AssertionError(f"the knowledge base stayed inconsistent: {problems}") from None


def found(library, kb: str, query: str) -> set[str]:
    """File names whose passages keyword search finds for `query`."""
    base = library.open_kb(kb)
    hits = base.keyword_search(query, 20)
    return {Path(c.path).name for c in base.chunks([cid for cid, _ in hits]).values()}


def test_watched_folder_converges_through_create_modify_rename_delete(fast_sync, tmp_path):
    library = fast_sync
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "budget.txt").write_text("The zebra project budget is forty thousand euros.")
    (folder / "~$budget.docx").write_text("an Office lock file")
    library.follow("w", [folder])
    assert library.start_watching() == ["w"]
    wait_until(lambda: indexed(library, "w").keys() == {"budget.txt"}, "the reconcile on start")
    assert library.folders("w")[0].state in ("watching", "syncing") and library.folders("w")[0].last_sync

    (folder / "meetings.md").write_text("# Meetings\n\nQuokka meetings happen on Tuesdays.")
    wait_until(lambda: "meetings.md" in found(library, "w", "quokka"), "a new file to be searchable")

    (folder / "budget.txt").write_text("The zebra project budget is fifty thousand euros now.")
    wait_until(lambda: found(library, "w", "fifty") == {"budget.txt"}, "a change to be searchable")
    assert found(library, "w", "forty") == set()

    before = chunk_texts(library, "w", folder / "meetings.md")
    os.rename(folder / "meetings.md", folder / "weekly.md")
    wait_until(lambda: "weekly.md" in indexed(library, "w"), "a renamed file")
    assert indexed(library, "w").keys() == {"budget.txt", "weekly.md"}
    assert chunk_texts(library, "w", folder / "weekly.md") == before  # kept, not read again:
    weekly = lambda: [e.state for e in library.recent_sync_events("w") if e.path.endswith("weekly.md")]  # noqa: E731
    wait_until(lambda: weekly(), "the sync's events")  # recorded when the sync returns, just after its commit
    assert weekly() == ["moved"]
    assert found(library, "w", "quokka") == {"weekly.md"}

    (folder / "sub").mkdir()
    os.rename(folder / "weekly.md", folder / "sub" / "weekly.md")
    wait_until(lambda: any(d.path.endswith("sub/weekly.md") for d in library.documents("w")), "a file moved to a subfolder")

    os.remove(folder / "budget.txt")
    wait_until(lambda: "budget.txt" not in indexed(library, "w"), "a deletion")
    assert found(library, "w", "zebra") == set()
    chat = ChatService(library.settings, library)
    assert all("zebra" not in s.text for s in chat.search("zebra project budget", ["w"]))
    wait_consistent(library, "w")
    assert sorted(d.path for d in library.documents("w")) == [str(folder / "sub" / "weekly.md")]
    library.stop_watching()


def test_a_file_still_being_written_is_read_once_complete(fast_sync, tmp_path):
    library = fast_sync
    library.settings.sync.debounce_s = 1.0  # ten times the gap between writes: margin for a busy machine
    folder = tmp_path / "f"
    folder.mkdir()
    library.follow("w", [folder])
    library.start_watching()
    wait_until(lambda: library.folders("w")[0].last_sync is not None, "the first sync")
    with open(folder / "log.txt", "w") as fh:
        for i in range(10):  # a slow save: a piece every 0.1 s, never quiet for as long as the debounce
            fh.write(f"Line {i} of the platypus report.\n")
            fh.flush()
            time.sleep(0.1)
        fh.write("The platypus report ends here with the word wombat.\n")
    wait_until(lambda: "log.txt" in found(library, "w", "wombat"), "the complete file")
    time.sleep(1.0)  # room for a second, unwanted read to show up
    reads = [e for e in library.recent_sync_events("w") if e.path.endswith("log.txt") and e.state == "ok"]
    assert len(reads) == 1
    library.stop_watching()


def test_changes_made_while_closed_are_applied_on_start(library, tmp_path, embedder):
    from app.services.library import LibraryService

    folder = tmp_path / "f"
    folder.mkdir()
    for name, text in {"keep.txt": "Unchanged text about otters.", "edit.txt": "Old text about herons.",
                       "gone.txt": "Text about lemurs.", "same.txt": "Same bytes about ibises."}.items():
        (folder / name).write_text(text)
    library.follow("w", [folder])
    report = library.sync("w")
    assert report.ok == 4
    ids = indexed(library, "w")
    library.close()

    (folder / "edit.txt").write_text("New text about storks.")
    os.remove(folder / "gone.txt")
    (folder / "new.txt").write_text("Fresh text about tapirs.")
    os.utime(folder / "same.txt", (time.time() + 5, time.time() + 5))  # touched, same content

    settings = Settings()
    settings.sync.debounce_s = 0.2
    again = LibraryService(settings, embedder=embedder)
    try:
        again.start_watching()
        wait_until(lambda: indexed(again, "w").keys() == {"keep.txt", "edit.txt", "same.txt", "new.txt"}
                   and "edit.txt" in found(again, "w", "storks"), "the reconcile on start")
        now = indexed(again, "w")
        assert now["keep.txt"] == ids["keep.txt"] and now["same.txt"] == ids["same.txt"]  # not re-read
        assert now["edit.txt"] != ids["edit.txt"]
        assert found(again, "w", "lemurs") == set() and found(again, "w", "herons") == set()
        wait_consistent(again, "w")
    finally:
        again.close()


def test_periodic_rescan_catches_what_events_miss(library, tmp_path, monkeypatch):
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "a.txt").write_text("Network drive text about narwhals.")
    library.follow("w", [folder])
    base = library.open_kb("w")
    monkeypatch.setattr(watch.FolderSync, "_schedule", lambda self: setattr(self, "_folders", [str(folder)]))
    sync = watch.FolderSync(base, lambda files, token: library._pipeline(base, None, token).run(files),
                            debounce_s=0.2, rescan_s=0.5).start()
    try:
        wait_until(lambda: "a.txt" in found(library, "w", "narwhals"), "the first scan")
        os.remove(folder / "a.txt")
        (folder / "b.txt").write_text("Network drive text about belugas.")
        wait_until(lambda: indexed(library, "w").keys() == {"b.txt"}, "the rescan, with no events at all")
    finally:
        sync.stop()


def test_ignore_rules_apply_to_what_is_already_indexed(library, tmp_path):
    folder = tmp_path / "f"
    (folder / "drafts").mkdir(parents=True)
    (folder / "plan.md").write_text("A plan about kestrels.")
    (folder / "drafts" / "idea.txt").write_text("An idea about falcons.")
    (folder / "data.tmp").write_text("temporary")
    library.follow("w", [folder])
    library.sync("w")
    assert indexed(library, "w").keys() == {"plan.md", "idea.txt"}
    library.set_ignore_rules("w", library.ignore_rules("w") + "drafts/\n")
    report = library.sync("w")
    assert [e.state for e in report.events] == ["removed"] and indexed(library, "w").keys() == {"plan.md"}
    with pytest.raises(Exception, match="line 1"):
        library.set_ignore_rules("w", "!\n")


def test_follow_refuses_files_and_the_apps_own_data(library, tmp_path, localkb_home):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(Exception, match="not a folder"):
        library.follow("w", [tmp_path / "a.txt"])
    with pytest.raises(Exception, match="own data"):
        library.follow("w", [localkb_home])
    library.follow("w", [tmp_path])
    assert [f.folder for f in library.unfollow("w", [tmp_path])] == []


def test_a_folder_that_disappears_keeps_its_documents(library, tmp_path):
    """An unmounted drive is not an empty folder: its documents stay until it is back."""
    folder = tmp_path / "mount"
    folder.mkdir()
    (folder / "a.txt").write_text("Text about marmots on the network drive.")
    library.follow("w", [folder])
    library.sync("w")
    folder.rename(tmp_path / "unmounted")
    assert library.sync("w").events == []
    assert indexed(library, "w").keys() == {"a.txt"} and not library.folders("w")[0].exists
    (tmp_path / "unmounted").rename(folder)
    (folder / "a.txt").unlink()
    assert [e.state for e in library.sync("w").events] == ["removed"]


def test_changes_wait_behind_a_running_ingest_without_an_error(fast_sync, tmp_path, monkeypatch):
    library = fast_sync
    monkeypatch.setattr(watch, "WRITER_WAIT_S", 0.2)
    folder = tmp_path / "f"
    folder.mkdir()
    library.follow("w", [folder])
    library.start_watching()
    wait_until(lambda: library.folders("w")[0].last_sync is not None, "the first sync")
    base = library.open_kb("w")
    # The first sync records its time just before it lets go of the lock: wait for it to let go.
    with base.writer(wait_s=10):  # what a user's ingest holds while it runs
        (folder / "late.txt").write_text("Text about pangolins, saved during an ingest.")
        wait_until(lambda: library.folders("w")[0].state == "syncing", "the sync to wait its turn")
        time.sleep(0.5)
        assert library.folders("w")[0].state == "syncing" and library.folders("w")[0].error == ""
    wait_until(lambda: "late.txt" in found(library, "w", "pangolins"), "the change once the ingest ended")
    wait_until(lambda: library.folders("w")[0].state == "watching", "the watcher to be idle again")
    library.stop_watching()


def test_a_followed_folder_never_reaches_through_a_link_to_files_outside_it(tmp_path):
    from ingest.ignore import IgnoreRules

    outside = tmp_path / "secret.txt"
    outside.write_text("not chosen by the user")
    folder = tmp_path / "followed"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("chosen")
    (folder / "out.txt").symlink_to(outside)
    (folder / "sub" / "in.txt").symlink_to(folder / "sub" / "a.txt")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    rules = IgnoreRules()
    found = watch.scan([str(folder)], rules)
    assert sorted(Path(p).name for p in found) == ["a.txt", "in.txt"]
    # A touched sub-folder is scanned within its followed folder: a link to a sibling folder's file stays in.
    (folder / "other").mkdir()
    (folder / "other" / "b.txt").write_text("also chosen")
    (folder / "sub" / "to-other.txt").symlink_to(folder / "other" / "b.txt")
    sub = watch.scan([str(folder / "sub")], rules, within=str(folder))
    assert sorted(Path(p).name for p in sub) == ["a.txt", "in.txt", "to-other.txt"]
