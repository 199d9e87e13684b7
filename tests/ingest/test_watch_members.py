"""Followed folders holding containers: attachments and zip members live, die and move with their file.

A real folder holds an e-mail with an attached file and a zip with a text member.  It is synced
through the real LibraryService and watch code, then left alone, deleted from and renamed in; the
members are checked in the catalogue, the keyword index and the vector store.
"""

from __future__ import annotations

import os
import time
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from app.services.chat import ChatService
from ingest.types import CHILD_SEPARATOR

MAIL_ATTACHMENT = "Attached minutes: the okapi enclosure reopens on the ninth of March."
ZIP_MEMBER = "Archived note: the axolotl tank is cleaned every Thursday morning."


def write_mail(path: Path) -> None:
    message = EmailMessage()
    message["From"] = "keeper@example.org"
    message["To"] = "staff@example.org"
    message["Subject"] = "Minutes of the keepers' meeting"
    message.set_content("Please read the minutes attached to this mail.")
    message.add_attachment(MAIL_ATTACHMENT.encode(), maintype="text", subtype="plain", filename="minutes.txt")
    path.write_bytes(bytes(message))


def write_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes/tank.txt", ZIP_MEMBER)


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    folder = tmp_path / "zoo"
    folder.mkdir()
    write_mail(folder / "meeting.eml")
    write_zip(folder / "archive.zip")
    return folder


def members(folder: Path) -> dict[str, str]:
    """{word in the member's text: member document path} of the two members, under `folder`."""
    return {"okapi": f"{folder / 'meeting.eml'}{CHILD_SEPARATOR}minutes.txt",
            "axolotl": f"{folder / 'archive.zip'}{CHILD_SEPARATOR}notes/tank.txt"}


def catalogue(library) -> dict[str, str | None]:
    return {d.path: d.doc_id for d in library.open_kb("w").documents() if d.status == "indexed"}


def keyword_paths(library, query: str) -> set[str]:
    base = library.open_kb("w")
    hits = base.keyword_search(query, 20)
    return {c.path for c in base.chunks([cid for cid, _ in hits]).values()}


def vector_paths(library, query: str) -> set[str]:
    """Paths of the visible chunks nearest to the query by embedding alone."""
    base = library.open_kb("w")
    hits = base.dense_search(library.embedder().embed_query(query), 50)
    return {c.path for c in base.chunks([cid for cid, _ in hits]).values()}


def stored_vectors_of(library, doc_ids) -> set[str]:
    """Vector ids still in the vector store for any of these document ids, visible or not."""
    prefixes = tuple(f"{d}:" for d in doc_ids)
    return {i for i in library.open_kb("w").store.all_ids() if i.startswith(prefixes)}


def assert_members_searchable(library, folder: Path) -> None:
    for word, path in members(folder).items():
        assert path in catalogue(library), f"{path} is not in the catalogue"
        assert keyword_paths(library, word) == {path}
        assert path in vector_paths(library, word)
        assert path in {s.path for s in ChatService(library.settings, library).search(word, ["w"])}


def test_a_sync_without_changes_keeps_the_members(library, zoo: Path) -> None:
    library.follow("w", [zoo])
    library.sync("w")
    before = catalogue(library)
    assert set(members(zoo).values()) <= before.keys()

    report = library.sync("w")
    assert [e for e in report.events if e.state in ("removed", "moved", "ok")] == []
    assert catalogue(library) == before
    assert_members_searchable(library, zoo)
    assert library.open_kb("w").consistency_problems() == []


def test_a_changed_container_is_read_again_with_its_members(library, zoo: Path) -> None:
    library.follow("w", [zoo])
    library.sync("w")
    with zipfile.ZipFile(zoo / "archive.zip", "w") as z:
        z.writestr("notes/tank.txt", ZIP_MEMBER)
        z.writestr("feeding.txt", "The capybara is fed twice a day.")
    os.utime(zoo / "archive.zip", (time.time() + 5, time.time() + 5))
    library.sync("w")
    assert_members_searchable(library, zoo)
    assert keyword_paths(library, "capybara") == {f"{zoo / 'archive.zip'}{CHILD_SEPARATOR}feeding.txt"}
    assert library.open_kb("w").consistency_problems() == []


def test_deleting_a_container_removes_its_members_everywhere(library, zoo: Path) -> None:
    library.follow("w", [zoo])
    library.sync("w")
    ids = catalogue(library)
    gone = [zoo / "meeting.eml", zoo / "archive.zip"]
    gone_ids = [ids[str(p)] for p in gone] + [ids[m] for m in members(zoo).values()]

    for path in gone:
        path.unlink()
    report = library.sync("w")
    assert {e.path for e in report.events if e.state == "removed"} == {str(p) for p in gone} | set(members(zoo).values())
    assert catalogue(library) == {}
    for word in ("okapi", "axolotl"):
        assert keyword_paths(library, word) == set()
        assert vector_paths(library, word) == set()
        assert ChatService(library.settings, library).search(word, ["w"]) == []
    assert stored_vectors_of(library, gone_ids) == set()
    assert library.open_kb("w").consistency_problems() == []


def test_renaming_a_container_moves_its_members(library, zoo: Path) -> None:
    library.follow("w", [zoo])
    library.sync("w")
    old_ids = catalogue(library)
    base = library.open_kb("w")
    old_text = {m: [c.text for c in base.chunks([f"{old_ids[m]}:0"]).values()] for m in members(zoo).values()}

    (zoo / "old").mkdir()
    os.rename(zoo / "meeting.eml", zoo / "old" / "meeting-2024.eml")
    os.rename(zoo / "archive.zip", zoo / "backup.zip")
    report = library.sync("w")

    new = {"okapi": f"{zoo / 'old' / 'meeting-2024.eml'}{CHILD_SEPARATOR}minutes.txt",
           "axolotl": f"{zoo / 'backup.zip'}{CHILD_SEPARATOR}notes/tank.txt"}
    assert sorted(catalogue(library)) == sorted([str(zoo / "old" / "meeting-2024.eml"), str(zoo / "backup.zip"),
                                                 *new.values()])
    moved = {e.path for e in report.events if e.state == "moved"}
    assert moved == {str(zoo / "old" / "meeting-2024.eml"), str(zoo / "backup.zip"), *new.values()}
    assert [e for e in report.events if e.state in ("ok", "removed")] == []  # moved, not read again
    for (word, path), old in zip(new.items(), members(zoo).values()):
        assert keyword_paths(library, word) == {path}
        assert vector_paths(library, word) & {path, old} == {path}
        assert [c.text for c in base.chunks([f"{catalogue(library)[path]}:0"]).values()] == old_text[old]
    left = [d.path for d in base.documents() if str(zoo / "meeting.eml") in d.path or str(zoo / "archive.zip") in d.path]
    assert left == []
    assert stored_vectors_of(library, [old_ids[p] for p in old_ids]) == set()
    assert base.consistency_problems() == []

    # A sync after the move changes nothing: the moved members are not taken for gone files.
    assert [e for e in library.sync("w").events if e.state != "skipped"] == []
    assert sorted(catalogue(library)) == sorted([str(zoo / "old" / "meeting-2024.eml"), str(zoo / "backup.zip"),
                                                 *new.values()])


def test_a_watched_folder_keeps_members_across_rescans(library, zoo: Path) -> None:
    """The watcher's reconcile and its event-driven syncs plan with the same rules."""
    from ingest import watch
    from ingest.ignore import IgnoreRules

    library.follow("w", [zoo])
    library.sync("w")
    base = library.open_kb("w")
    # Touched paths scope the plan to the file and what is under it, members included.
    plan = watch.plan_sync(base, [str(zoo)], IgnoreRules(watch.ignore_rules_text(base)),
                           touched=[str(zoo / "archive.zip")])
    assert plan.size == 0
    (zoo / "archive.zip").unlink()
    plan = watch.plan_sync(base, [str(zoo)], IgnoreRules(watch.ignore_rules_text(base)),
                           touched=[str(zoo / "archive.zip")])
    assert plan.removed == [str(zoo / "archive.zip"), members(zoo)["axolotl"]]


def test_a_container_that_cannot_be_moved_is_read_again_with_its_members(library, zoo: Path) -> None:
    """No orphans and no duplicates when a planned move falls back to reading the file."""
    from ingest import watch
    from ingest.ignore import IgnoreRules
    from ingest.progress import CancelToken

    library.follow("w", [zoo])
    library.sync("w")
    base = library.open_kb("w")
    os.rename(zoo / "archive.zip", zoo / "renamed.zip")
    with base.writer():
        plan = watch.plan_sync(base, [str(zoo)], IgnoreRules(watch.ignore_rules_text(base)))
        assert plan.moved == [(str(zoo / "archive.zip"), str(zoo / "renamed.zip")),
                              (members(zoo)["axolotl"], f"{zoo / 'renamed.zip'}{CHILD_SEPARATOR}notes/tank.txt")]
        base.remove_document(str(zoo / "archive.zip"))  # the container's row vanished after planning
        watch.apply_sync(base, plan, lambda files, token: library._pipeline(base, None, token).run(files),
                         CancelToken())
    assert keyword_paths(library, "axolotl") == {f"{zoo / 'renamed.zip'}{CHILD_SEPARATOR}notes/tank.txt"}
    assert not any("archive.zip" in p for p in catalogue(library))
    assert base.consistency_problems() == []
