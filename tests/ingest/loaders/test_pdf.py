"""PDF loader: page counts and text against known sample files, offsets, encryption, damage, OCR."""

from __future__ import annotations

import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from ingest.errors import CorruptFile, EmptyDocument, EncryptedFile
from ingest.loaders import LoadOptions, load_file
from ingest.loaders.pdf import page_text, pdfium_char_index

NO_OCR = LoadOptions(ocr=False)
# In files.json but not loadable on purpose: encrypted, image-only, damaged, or left out of the copy.
NOT_TEXT = {
    "005-libreoffice-writer-password/libreoffice-writer-password.pdf",
    "007-imagemagick-images/imagemagick-ASCII85Decode.pdf",
    "007-imagemagick-images/imagemagick-CCITTFaxDecode.pdf",
    "007-imagemagick-images/imagemagick-lzw.pdf",
    "009-pdflatex-geotopo/GeoTopo.pdf",
    "017-unreadable-meta-data/unreadablemetadata.pdf",
    "019-grayscale-image/grayscale-image.pdf",
    "023-cmyk-image/cmyk-image.pdf",
}


def test_page_counts_match_files_json(pdf_samples: Path, pdf_catalog: dict[str, dict]) -> None:
    checked = 0
    for rel, entry in pdf_catalog.items():
        if rel in NOT_TEXT:
            continue
        document = load_file(pdf_samples / rel, NO_OCR)
        assert document.file_type == "pdf"
        assert document.pages == entry["pages"], rel
        assert all(1 <= s.page <= entry["pages"] for s in document.sections), rel
        # In page order; a captioned table is a section of its own right after its page's.
        pages = [s.page for s in document.sections]
        assert pages == sorted(pages), rel
        assert all(s.heading_path for s, previous in zip(document.sections[1:], pages) if s.page == previous), rel
        checked += 1
    assert checked >= 20


def test_one_section_per_page_with_known_text(pdf_samples: Path) -> None:
    document = load_file(pdf_samples / "004-pdflatex-4-pages/pdflatex-4-pages.pdf")
    assert [s.page for s in document.sections] == [1, 2, 3, 4]
    assert all(not s.ocr for s in document.sections)
    assert document.sections[0].text.startswith("Hello, here is some text without a meaning.")
    geotopo = load_file(pdf_samples / "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf")
    assert geotopo.title == "Geometrie und Topologie"
    assert geotopo.pages == 117
    # pdfium keeps math glyphs that pypdf turns into NUL ("kx1 \x00x2k").
    assert any("x1 − x2" in s.text for s in geotopo.sections)
    assert not any("\x00" in s.text for s in geotopo.sections)


def test_page_text_keeps_pdfium_offsets(pdf_samples: Path) -> None:
    path = pdf_samples / "026-latex-multicolumn/multicolumn.pdf"
    section = load_file(path).sections[0]
    document = pdfium.PdfDocument(str(path))
    textpage = document[0].get_textpage()
    raw = textpage.get_text_range()
    assert len(section.text) == len(raw)
    assert "\r" not in section.text and "\ufffe" not in section.text
    # The hyphen pdfium dropped at a line break becomes a soft hyphen in place.
    assert "adip\u00adiscing" in section.text
    for word in ("Two-Column", "Lorem", "vestibulum", "consectetuer"):
        offset = section.text.index(word)
        assert raw[offset : offset + len(word)] == word
        for i in (offset, offset + len(word) - 1):
            char_index = pdfium_char_index(textpage, section.text, i)
            assert chr(pdfium.raw.FPDFText_GetUnicode(textpage.raw, char_index)) == section.text[i]
            left, bottom, right, top = textpage.get_charbox(char_index)
            assert right > left and top > bottom


def test_char_index_skips_inserted_line_breaks(office: Path) -> None:
    # On this page get_text_range() and pdfium's char list differ in length.
    path = office / "pdf/layout-parser-paper-fast.pdf"
    section = load_file(path, NO_OCR).sections[0]
    textpage = pdfium.PdfDocument(str(path))[0].get_textpage()
    assert textpage.count_chars() != len(section.text)
    offset = section.text.rindex("LayoutParser")
    for i in range(offset, offset + len("LayoutParser")):
        char_index = pdfium_char_index(textpage, section.text, i)
        assert chr(pdfium.raw.FPDFText_GetUnicode(textpage.raw, char_index)) == section.text[i]


def test_page_text_is_one_for_one() -> None:
    raw = "a\r\nb\x00c\ufffed\x07"
    cleaned = page_text(raw)
    assert cleaned == "a \nb c\u00add "
    assert len(cleaned) == len(raw)


def test_encrypted_pdf_needs_its_password(pdf_samples: Path) -> None:
    path = pdf_samples / "005-libreoffice-writer-password/libreoffice-writer-password.pdf"
    # The empty password does not open it (pdfium tries it when none is given)...
    with pytest.raises(pdfium.PdfiumError):
        pdfium.PdfDocument(str(path), password="")
    with pytest.raises(EncryptedFile, match="encrypted PDF: open it with its password"):
        load_file(path)
    # ...and the file itself is sound: its documented password opens it.
    assert "Lorem ipsum" in pdfium.PdfDocument(str(path), password="openpassword")[0].get_textpage().get_text_range()


def test_owner_password_only_pdf_opens(office: Path) -> None:
    document = load_file(office / "pdf/copy-protected.pdf", NO_OCR)
    assert document.pages == 2 and document.text_chars > 1000


def test_truncated_pdf_is_corrupt(pdf_samples: Path, tmp_path: Path) -> None:
    data = (pdf_samples / "004-pdflatex-4-pages/pdflatex-4-pages.pdf").read_bytes()
    path = tmp_path / "half.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFile, match="corrupt PDF"):
        load_file(path)


def test_damaged_pdf_is_read_leniently_and_a_non_pdf_is_corrupt(pdf_samples: Path, tmp_path: Path) -> None:
    # pdfium and pypdf refuse it (its page tree points at a missing object); pdfminer finds the data sheet.
    document = load_file(pdf_samples / "017-unreadable-meta-data/unreadablemetadata.pdf")
    text = "\n".join(s.text for s in document.sections)
    assert "Rotary Potentiometer" in text and "Data Sheet" in text  # fake bold read once, not "DDaattaa"
    assert all(s.page for s in document.sections)
    assert any("damaged" in w and "lenient reader" in w for w in document.warnings)
    fake = tmp_path / "fake.pdf"
    fake.write_text("<html>not a pdf</html>")
    with pytest.raises(CorruptFile, match="corrupt PDF"):
        load_file(fake)


def test_max_pages_stops_reading_and_warns(pdf_samples: Path) -> None:
    document = load_file(pdf_samples / "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf", LoadOptions(max_pages=3))
    assert document.pages == 117
    assert max(s.page for s in document.sections) <= 3
    assert any("first 3 of 117 pages" in w for w in document.warnings)


def test_scanned_page_is_ocred_only_when_asked(office: Path) -> None:
    path = office / "pdf/loremipsum-flat.pdf"
    with pytest.raises(EmptyDocument):
        load_file(path, NO_OCR)
    document = load_file(path)
    assert [s.page for s in document.sections] == [1]
    assert document.sections[0].ocr
    text = document.sections[0].text
    # PP-OCRv4 (Chinese + English) sometimes drops spaces in English ("Loremipsum"): check words.
    for word in ("dolor", "consequat", "Phasellus", "vestibulum"):
        assert word in text


def test_page_with_a_figure_and_text_is_not_ocred(pdf_samples: Path, monkeypatch) -> None:
    import ingest.loaders.ocr as ocr

    monkeypatch.setattr(ocr, "ocr_image", lambda image: pytest.fail("OCR ran on a page with a text layer"))
    document = load_file(pdf_samples / "003-pdflatex-image/pdflatex-image.pdf")
    assert not document.sections[0].ocr and "Your Chapter" in document.sections[0].text


def test_textless_page_with_a_small_image_is_ocred(office: Path) -> None:
    # The table is a picture covering well under a third of the page, and there is no text layer.
    section = load_file(office / "pdf/single_table.pdf").sections[0]
    assert section.ocr and "64,058" in section.text


def test_ocr_stops_at_the_deadline_and_says_so(office: Path, pdf_samples: Path, tmp_path: Path, monkeypatch) -> None:
    import ingest.loaders.ocr as ocr

    # A text page followed by a scanned page.
    merged = pdfium.PdfDocument.new()
    merged.import_pages(pdfium.PdfDocument(str(pdf_samples / "003-pdflatex-image/pdflatex-image.pdf")), [0])
    merged.import_pages(pdfium.PdfDocument(str(office / "pdf/loremipsum-flat.pdf")), [0])
    merged.save(str(tmp_path / "mixed.pdf"))
    monkeypatch.setattr(ocr, "ocr_image", lambda image: pytest.fail("OCR ran after its deadline"))
    document = load_file(tmp_path / "mixed.pdf", LoadOptions(ocr_deadline=time.monotonic() - 1))
    assert [s.page for s in document.sections] == [1] and "Your Chapter" in document.sections[0].text
    assert any("1 scanned page(s) were not read" in w for w in document.warnings)
