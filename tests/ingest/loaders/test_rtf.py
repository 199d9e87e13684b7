"""RTF: headings from outline levels, table rows with column names, code pages, broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import CorruptFile
from ingest.loaders import load_file


def test_heading_and_table_rows(office: Path) -> None:
    document = load_file(office / "fake-doc.rtf")
    assert document.file_type == "rtf"
    section = document.sections[0]
    assert section.heading_path == ("My First Heading",)
    lines = section.text.splitlines()
    assert "My first paragraph." in lines
    assert "Column 1: Row 2, Cell 1; Column 2: Row 2, Cell 2" in lines


def test_real_multilingual_file(office: Path) -> None:
    text = "\n".join(s.text for s in load_file(office / "language-docs/eng_spa_mult.rtf").sections)
    assert "Todos los seres humanos nacen libres e iguales en dignidad y derechos" in text
    assert "\\" not in text and "{" not in text


def test_declared_code_page(tmp_path: Path) -> None:
    path = tmp_path / "ru.rtf"
    path.write_bytes(b"{\\rtf1\\ansi\\ansicpg1251 {\\pard \\'cf\\'f0\\'e8\\'e2\\'e5\\'f2 world\\par}}")
    assert load_file(path).sections[0].text == "Привет world"


def test_not_rtf_fails_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.rtf"
    path.write_bytes(b"%PDF-1.4 this is not rtf")
    with pytest.raises(CorruptFile, match=r"corrupt RTF: the file does not start with \{\\rtf"):
        load_file(path)
