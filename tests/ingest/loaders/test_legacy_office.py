"""Legacy binary Office (.doc, .xls, .ppt) and WPS files: real samples, files in disguise, broken files."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from ingest.errors import CorruptFile, EncryptedFile
from ingest.loaders import load_file


def test_doc_body_and_table_rows(office: Path) -> None:
    assert load_file(office / "fake.doc").sections[0].text == "Lorem ipsum dolor sit amet."
    document = load_file(office / "fake-doc-emphasized-text.doc")
    assert document.file_type == "doc"
    lines = document.sections[0].text.splitlines()
    # Rows end where the paragraph properties say, and carry the header's column names.
    assert lines[:2] == ["Header Col 1 | Header Col 2",
                         "Header Col 1: A bold italic bold-italic example; Header Col 2: A Link example"]
    assert "I am a bold italic bold-italic text." in lines


def test_doc_heading_styles_make_the_heading_path(office: Path) -> None:
    # The same documents saved as .docx give these headings through python-docx.
    for name, heading in (("duplicate-paragraphs", "This document contains duplicates"),
                          ("simple", "These are a few of my favorite things:")):
        doc = load_file(office / f"{name}.doc")
        docx = load_file(office / f"{name}.docx")
        assert [s.heading_path for s in doc.sections] == [(heading,)]
        assert [s.heading_path for s in doc.sections] == [s.heading_path for s in docx.sections]
        assert doc.sections[0].text == docx.sections[0].text


def test_doc_row_with_an_empty_last_cell_ends_at_its_row_mark() -> None:
    from ingest.loaders.legacy_office import _word_body

    # Word writes a cell mark (0x07) after every cell and one more, flagged "row end" in the
    # paragraph properties, after each row.  Row 2's last cell is empty, so its marks read
    # 0x07 0x07 0x07: the doubled-mark rule would end the row one mark early.
    body = "Name\x07Note\x07\x07Ann\x07\x07\x07After the table\r"
    marks = {i: (0, False) for i, ch in enumerate(body) if ch in "\x07\r"}
    marks[10] = marks[16] = (0, True)
    [section] = _word_body(body, marks)
    assert section.text.splitlines() == ["Name | Note", "Name: Ann", "", "After the table"]


def test_doc_unicode_pieces_and_fields(office: Path) -> None:
    text = load_file(office / "simple.doc").sections[0].text
    # The bullets are UTF-16 pieces among 8-bit ones; the piece table puts them in order.
    assert "• Parrots" in text and "This is my first thought. This is my second thought." in text
    assert "\x13" not in text and "\x07" not in text and "DOYLESTOWN, PA 18901" in text


def test_doc_that_is_really_docx_and_wps_suffix(office: Path, tmp_path: Path) -> None:
    disguised = load_file(office / "language-docs/eng_spa_mult.doc")
    assert disguised.file_type == "docx"
    assert "Todos los seres humanos nacen libres" in "\n".join(s.text for s in disguised.sections)
    wps = tmp_path / "memo.wps"
    shutil.copy(office / "fake.doc", wps)
    assert load_file(wps).sections[0].text == "Lorem ipsum dolor sit amet."


def test_ppt_slides_titles_and_text_boxes(office: Path) -> None:
    document = load_file(office / "fake-power-point.ppt")
    assert document.file_type == "ppt" and document.pages == 1
    slide = document.sections[0]
    assert slide.page == 1 and slide.heading_path == ("Adding a Bullet Slide",)
    assert "Use _TextFrame.add_paragraph() for subsequent bullets" in slide.text
    assert "Here is some text in a text box!" in slide.text  # a shape's text, not a placeholder's


def test_ppt_that_is_really_pptx(office: Path) -> None:
    document = load_file(office / "language-docs/eng_spa_mult.ppt")
    assert document.file_type == "pptx" and document.sections[0].heading_path == ("Testing multiple languages",)


def test_xls_sheets_rows_and_header_names(office: Path) -> None:
    document = load_file(office / "tests-example.xls")
    assert document.file_type == "xls" and document.pages == 3
    first, abbreviations, _readme = document.sections
    assert (first.page, first.label, first.heading_path) == (1, "Example Test", ("Example Test",))
    assert "TF | Bagpipes are awesome. | true" in first.text
    # A one-cell title row above a table is not taken for its header.
    assert "Abbreviation: MC; Question Type: Multiple Choice" in abbreviations.text.splitlines()
    assert abbreviations.page == 2


@pytest.mark.parametrize(("name", "kind"), [("simple.doc", "DOC"), ("fake-power-point.ppt", "PPT"),
                                            ("tests-example.xls", "XLS")])
def test_truncated_file_fails_alone_with_reason(office: Path, tmp_path: Path, name: str, kind: str) -> None:
    broken = tmp_path / name
    broken.write_bytes((office / name).read_bytes()[:1500])
    with pytest.raises(CorruptFile, match=f"corrupt {kind}") as info:
        load_file(broken)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["notes.doc", "deck.ppt", "book.xls"])
def test_not_an_office_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00\x01garbage that is no Office format" * 10)
    with pytest.raises(CorruptFile, match=r"not a (DOC|PPT|XLS) file"):
        load_file(path)


def test_doc_with_encryption_flag_says_password(office: Path, tmp_path: Path) -> None:
    import olefile

    path = tmp_path / "locked.doc"
    shutil.copy(office / "fake.doc", path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        word = bytearray(ole.openstream("WordDocument").read())
        flags = struct.unpack_from("<H", word, 0x0A)[0] | 0x0100  # FIB fEncrypted
        struct.pack_into("<H", word, 0x0A, flags)
        ole.write_stream("WordDocument", bytes(word))
    with pytest.raises(EncryptedFile, match="password-protected DOC"):
        load_file(path)


def _record(rec_type: int, body: bytes, container: bool = False, instance: int = 0) -> bytes:
    import struct

    return struct.pack("<HHI", (instance << 4) | (0xF if container else 0), rec_type, len(body)) + body


def _ppt_stream(slides: list[tuple[str, int]], notes: list[tuple[int, str]]) -> bytes:
    """A minimal "PowerPoint Document" stream: slides (title, notesIdRef) and notes (notes id, text),
    each notes page stored under its own persist id, in the order given."""
    import struct

    def text(kind: int, value: str) -> bytes:
        return _record(0x0F9F, struct.pack("<I", kind)) + _record(0x0FA0, value.encode("utf-16-le"))

    def persist(persist_id: int, slide_id: int) -> bytes:
        return _record(0x03F3, struct.pack("<IIiII", persist_id, 0, 0, slide_id, 0))

    persist_ids = iter(range(1, 100))
    slide_entries, notes_entries, records = [], [], []
    for number, (title, notes_ref) in enumerate(slides):
        pid = next(persist_ids)
        slide_entries.append(persist(pid, 256 + number))
        atom = _record(0x03EF, struct.pack("<I8sIIHH", 0, b"\0" * 8, 0, notes_ref, 0, 0))
        records.append((pid, _record(0x03EE, atom + text(0, title) + text(1, f"body of {title}"), container=True)))
    for notes_id, value in notes:
        pid = next(persist_ids)
        notes_entries.append(persist(pid, notes_id))
        records.append((pid, _record(0x03F0, text(2, value), container=True)))
    document = _record(0x03E8, _record(0x0FF0, b"".join(slide_entries), True, 0)
                       + _record(0x0FF0, b"".join(notes_entries), True, 2), container=True)
    out, offsets = document, {}
    for pid, data in records:
        offsets[pid] = len(out)
        out += data
    directory = struct.pack("<I", (len(offsets) << 20) | 1) + b"".join(struct.pack("<I", offsets[p]) for p in sorted(offsets))
    return out + _record(0x1772, directory)


def test_ppt_notes_follow_the_notes_id_each_slide_names() -> None:
    from ingest.loaders.legacy_office import ppt_slides

    # Slide 2 has no notes page, and the notes pages are stored in the opposite order: pairing
    # by position would give slide 1 the notes of slide 3.
    stream = _ppt_stream([("Intro", 0x101), ("Agenda", 0), ("Results", 0x100)],
                         [(0x100, "say the revenue figure"), (0x101, "welcome everyone")])
    slides = ppt_slides(stream)
    assert [(title, notes) for title, _lines, notes in slides] == [
        ("Intro", ["welcome everyone"]), ("Agenda", []), ("Results", ["say the revenue figure"])]
    assert "body of Agenda" in slides[1][1]


def test_ppt_notes_without_ids_pair_in_order_when_counts_agree() -> None:
    from ingest.loaders.legacy_office import ppt_slides

    slides = ppt_slides(_ppt_stream([("One", 0), ("Two", 0)], [(0x100, "first notes"), (0x101, "second notes")]))
    assert [notes for _title, _lines, notes in slides] == [["first notes"], ["second notes"]]
