"""Text and Markdown: encoding detection on real files, headings, cleaning, speed."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from ingest.errors import EmptyDocument
from ingest.loaders import load_file
from ingest.loaders.text import clean_text, decode_bytes, detect_encoding

FIRST_LINE = "This is a test document to use for unit tests."


@pytest.mark.parametrize(
    "name", ["fake-text.txt", "fake-text-utf-16.txt", "fake-text-utf-16-le.txt", "fake-text-utf-16-be.txt", "fake-text-utf-32.txt"]
)
def test_unicode_encodings_with_and_without_bom(office: Path, name: str) -> None:
    document = load_file(office / name)
    assert document.file_type == "txt"
    text = document.sections[0].text
    assert text.startswith(FIRST_LINE)
    assert "Doylestown, PA 18901" in text
    assert "\x00" not in text and "\ufeff" not in text


def test_legacy_code_pages(office: Path) -> None:
    assert "können" in load_file(office / "umlauts-non-utf8.md").sections[0].text
    assert "äöüß" in load_file(office / "umlauts-non-utf8.md").sections[0].text
    french = "L'été était très chaud cette année. Le café coûtait 3,50 €. Kvinnan åt köttbullar."
    assert decode_bytes(french.encode("cp1252")) == french


def test_gb18030_chinese(tmp_path: Path) -> None:
    text = "公司年度报告：本年度销售收入增长百分之十二，研发中心设在深圳。员工总数达到三千人。"
    path = tmp_path / "报告.txt"
    path.write_bytes(text.encode("gb18030"))
    assert detect_encoding(text.encode("gb18030")) == "gb18030"
    assert load_file(path).sections[0].text == text


def test_hebrew_iso_8859_8(office: Path) -> None:
    # The shared file is base64 of a 40-byte ISO-8859-8 line: as a file it is plain ASCII text.
    raw = (office / "hebrew-text-base64-iso88598i.txt").read_bytes()
    assert load_file(office / "hebrew-text-base64-iso88598i.txt").sections[0].text == raw.decode().strip()
    # Its decoded 40 bytes (and even one long sentence) are too few for charset-normalizer to tell
    # Hebrew from Cyrillic code pages; a paragraph is enough.
    assert base64.b64decode(raw).decode("iso-8859-8").startswith("עדכון")
    hebrew = (
        "עדכון Tesla - נדרשת חתימה על הסכם השירות החדש. אנחנו מבקשים מכל העובדים לקרוא את המסמך ולחתום עליו עד סוף השבוע. "
        "תודה רבה על שיתוף הפעולה. אם יש לכם שאלות, אפשר לפנות למחלקת משאבי אנוש בכל יום בין השעות תשע לחמש. "
        "המסמך החדש כולל את תנאי העבודה, את מדיניות החופשות ואת הנהלים לעבודה מהבית."
    )
    assert decode_bytes(hebrew.encode("iso-8859-8")) == hebrew


def test_utf8_file_with_odd_content(office: Path) -> None:
    text = load_file(office / "norwich-city.txt").sections[0].text
    assert text.startswith("Iwan Roberts\nRoberts celebrating after scoring a goal for Norwich City")


def test_whitespace_only_and_empty(office: Path) -> None:
    for name in ("empty.txt", "fake-text-all-whitespace.txt"):
        with pytest.raises(EmptyDocument):
            load_file(office / name)


def test_markdown_heading_sections(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "# Guide\nIntro text.\n\n## Install\nRun the installer.\n\n```bash\n# not a heading\n```\n\n"
        "### Linux\nUse the AppImage.\n\n## Use\nDrag files in.\n\nFAQ\n===\nAsk away.\n"
    )
    document = load_file(path)
    assert document.title == "Guide"
    paths = [s.heading_path for s in document.sections]
    assert paths == [("Guide",), ("Guide", "Install"), ("Guide", "Install", "Linux"), ("Guide", "Use"), ("FAQ",)]
    assert "# not a heading" in document.sections[1].text
    assert document.sections[2].text == "Linux\nUse the AppImage."


def test_real_markdown_and_other_plain_text(office: Path) -> None:
    readme = load_file(office / "UPSTREAM_README.md")
    assert [s.heading_path for s in readme.sections] == [("Example Docs",), ("Example Docs", "XBRL 10-K")]
    for name, kind in (("simple.json", "json"), ("simple.yaml", "yaml"), ("README.rst", "rst"), ("factbook-utf-16.xml", "xml")):
        document = load_file(office / name)
        assert document.file_type == kind and document.text_chars > 20
    assert "<factbook>" in load_file(office / "factbook-utf-16.xml").sections[0].text


def test_clean_text() -> None:
    assert clean_text("a\r\nb\x00c\x07\n\n\n\n\n\nd  \n") == "a\nbc\n\n\nd"


def test_big_book_is_fast(office: Path) -> None:
    start = time.perf_counter()
    document = load_file(office / "book-war-and-peace-1225p.txt")
    assert time.perf_counter() - start < 5
    assert document.text_chars > 3_000_000
    assert "Natasha" in document.sections[0].text
