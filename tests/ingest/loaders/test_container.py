"""Zip archives and the bounds on files inside files: names that never escape, depth, size, encryption."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from ingest.errors import EmptyDocument, EncryptedFile
from ingest.loaders import container, load_file
from ingest.loaders.container import safe_name


def test_zip_members_are_documents(office: Path) -> None:
    document = load_file(office / "simple.zip")
    assert document.file_type == "zip"
    assert "ideas-page.html" in document.sections[0].text and "stanley-cups.csv" in document.sections[0].text
    members = {a.name: a for a in document.attachments}
    assert set(members) == {"ideas-page.html", "stanley-cups.csv"}
    cups = members["stanley-cups.csv"]
    assert "Team: Maple Leafs; Location: TOR; Stanley Cups: 13" in cups.document.sections[0].text
    assert len(cups.content_hash) == 64 and cups.size == 89


@pytest.mark.parametrize(("raw", "label"), [
    ("../../etc/passwd.txt", "etc/passwd.txt"),
    ("/abs/path/a.txt", "abs/path/a.txt"),
    ("C:\\Users\\x\\..\\b.txt", "Users/x/b.txt"),
    ("./a/./b.txt", "a/b.txt"),
    ("..", "fallback"),
])
def test_member_names_never_escape(raw: str, label: str) -> None:
    assert safe_name(raw, "fallback") == label


def test_traversal_member_is_read_but_never_written_outside(tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("../../outside.txt", "escaped text")
    before = set(os.listdir(tmp_path.parent))
    document = load_file(path)
    assert [a.name for a in document.attachments] == ["outside.txt"]
    assert document.attachments[0].document.sections[0].text == "escaped text"
    assert set(os.listdir(tmp_path.parent)) == before and not (tmp_path.parent / "outside.txt").exists()


def _nest(levels: int) -> bytes:
    data = b"deepest text"
    name = "note.txt"
    for level in range(levels):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr(name, data)
        data, name = buffer.getvalue(), f"level{level}.zip"
    return data


def test_nesting_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "outer.zip"
    path.write_bytes(_nest(container.MAX_DEPTH + 1))
    document = load_file(path)
    names = [a.name for a in document.attachments]
    assert names == ["level2.zip", "level2.zip › level1.zip", "level2.zip › level1.zip › level0.zip"]
    assert "note.txt (nested more than 3 containers deep)" in document.warnings[0]
    shallow = tmp_path / "shallow.zip"
    shallow.write_bytes(_nest(2))
    inner = load_file(shallow).attachments
    assert inner[-1].name == "level0.zip › note.txt" and inner[-1].document.sections[0].text == "deepest text"


def test_total_size_is_bounded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(container, "MAX_TOTAL_BYTES", 1000)
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.txt", "a" * 600)
        z.writestr("b.txt", "b" * 600)
    document = load_file(path)
    assert [a.name for a in document.attachments] == ["a.txt"]
    assert "b.txt (over the" in document.warnings[0]


def test_unknown_members_are_listed_not_failed(tmp_path: Path) -> None:
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("song.mp3", b"ID3\x00\x00")
        z.writestr("broken.docx", b"not a zip at all")
        z.writestr("ok.md", "# Title\nbody")
    document = load_file(path)
    assert [a.name for a in document.attachments] == ["ok.md"]
    warning = document.warnings[0]
    assert warning.startswith("2 attached file(s) not read:")
    assert "song.mp3 (.mp3 is not a document type LocalKB reads)" in warning
    assert "broken.docx (corrupt DOCX: not a valid zip archive)" in warning


def test_encrypted_and_empty_zip(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("secret.txt", "ciphertext")
    data = bytearray(buffer.getvalue())
    # Set the "encrypted" flag an encrypting tool writes, in the local header and the directory
    # (zipfile itself refuses to write it).
    data[6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    locked = tmp_path / "locked.zip"
    locked.write_bytes(bytes(data))
    with pytest.raises(EncryptedFile, match="password-protected zip"):
        load_file(locked)
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(EmptyDocument, match="the zip archive is empty"):
        load_file(empty)


def _slow_text(monkeypatch) -> None:
    """Text members that start with SLOW take (much) longer than any budget in these tests."""
    import time as _time

    from ingest.loaders import text

    original = text.load_text

    def load_text(path, options):
        if Path(path).read_bytes().startswith(b"SLOW"):
            _time.sleep(30)  # interrupted by the member's timer; the test fails on a timeout otherwise
        return original(path, options)

    monkeypatch.setattr(text, "load_text", load_text)


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return path


def test_each_member_has_a_time_budget_of_its_own(tmp_path: Path, monkeypatch) -> None:
    import time as _time

    from ingest.loaders import LoadOptions

    _slow_text(monkeypatch)
    path = _zip(tmp_path / "mixed.zip", {"slow-1.txt": "SLOW one", "slow-2.txt": "SLOW two",
                                         "minutes.txt": "The board approved the budget for 2025."})
    started = _time.monotonic()
    # With one shared budget of 0.6 s the third member would be skipped; each gets 0.6 s of its own.
    document = load_file(path, LoadOptions(time_budget_s=0.6, container_deadline=started + 20))
    took = _time.monotonic() - started
    assert [a.name for a in document.attachments] == ["minutes.txt"]
    assert "2 attached file(s) not read" in document.warnings[0]
    assert "slow-1.txt (reading took longer than 0.6 s" in document.warnings[0]
    assert "slow-2.txt (reading took longer than 0.6 s" in document.warnings[0]
    assert 1.1 < took < 10


def test_all_members_together_stay_within_the_containers_deadline(tmp_path: Path, monkeypatch) -> None:
    import time as _time

    from ingest.loaders import LoadOptions

    _slow_text(monkeypatch)
    path = _zip(tmp_path / "many.zip", {f"slow-{i:02}.txt": "SLOW" for i in range(40)})
    started = _time.monotonic()
    document = load_file(path, LoadOptions(time_budget_s=0.5, container_deadline=started + 1.2))
    took = _time.monotonic() - started
    assert took < 5  # 40 members x 0.5 s each would be 20 s
    warning = document.warnings[0]
    assert warning.startswith("40 attached file(s) not read")
    assert "slow-00.txt (reading took longer than 0.5 s" in warning
    assert "the container's time budget ran out" in warning


def test_nested_member_timer_gives_the_outer_one_back(tmp_path: Path, monkeypatch) -> None:
    import time as _time

    from ingest.loaders import LoadOptions

    _slow_text(monkeypatch)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("deep-slow.txt", "SLOW")
        archive.writestr("deep.txt", "Inner minutes of the meeting.")
    path = _zip(tmp_path / "outer.zip", {"inner.zip": "", "after.txt": "Outer minutes."})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("inner.zip", inner.getvalue())
        archive.writestr("after.txt", "Outer minutes of the meeting.")
    started = _time.monotonic()
    document = load_file(path, LoadOptions(time_budget_s=0.5, container_deadline=started + 20))
    names = {a.name for a in document.attachments}
    assert names == {"inner.zip", "inner.zip › deep.txt", "after.txt"}
    assert "deep-slow.txt (reading took longer than 0.5 s" in document.warnings[0]
    assert _time.monotonic() - started < 10


def test_pipeline_gives_a_container_more_time_than_a_file() -> None:
    from ingest.loaders import CONTAINER_TIME_FACTOR
    from ingest.parse_worker import hard_timeout

    assert hard_timeout("/x/report.pdf", 300) == 300
    assert hard_timeout("/x/mail.EML", 300) == hard_timeout("/x/a.zip", 300) == 300 * CONTAINER_TIME_FACTOR
