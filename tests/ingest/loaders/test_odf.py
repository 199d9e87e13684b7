"""OpenDocument text, spreadsheets and presentations: real .odt samples, generated .ods/.odp, broken files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ingest.errors import CorruptFile, EncryptedFile
from ingest.loaders import load_file

_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
       'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
       'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
       'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
       'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"')


def write_odf(path: Path, body: str, mimetype: str, manifest: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", mimetype)
        z.writestr("content.xml", f'<?xml version="1.0"?><office:document-content {_NS}><office:body>{body}'
                                  "</office:body></office:document-content>")
        if manifest:
            z.writestr("META-INF/manifest.xml", manifest)
    return path


def test_odt_table_rows_carry_column_names(office: Path) -> None:
    text = load_file(office / "fake.odt").sections[0].text
    assert text.startswith("Lorem ipsum dolor sit amet.")
    assert "Header row: Color; Mon: Blue; Wed: Red; Fri: Green" in text.splitlines()


def test_odt_headings_and_languages(office: Path) -> None:
    document = load_file(office / "simple.odt")
    assert document.sections[0].heading_path == ("These are a few of my favorite things:",)
    assert "This is my first thought." in document.sections[0].text
    spanish = "\n".join(s.text for s in load_file(office / "language-docs/eng_spa_mult.odt").sections)
    assert "Todos los seres humanos nacen libres e iguales" in spanish


def test_odt_caption_heads_its_table(tmp_path: Path) -> None:
    body = ('<office:text><text:h text:outline-level="1">Sales</text:h><text:p>Intro.</text:p>'
            '<text:p>Table 1: Revenue by region</text:p><table:table>'
            '<table:table-row><table:table-cell><text:p>Region</text:p></table:table-cell>'
            '<table:table-cell><text:p>Q3 revenue</text:p></table:table-cell></table:table-row>'
            '<table:table-row><table:table-cell><text:p>East</text:p></table:table-cell>'
            '<table:table-cell><text:p>1.2 M</text:p></table:table-cell></table:table-row>'
            '</table:table><text:p>After the table.</text:p></office:text>')
    document = load_file(write_odf(tmp_path / "sales.odt", body, "application/vnd.oasis.opendocument.text"))
    by_path = {s.heading_path: s.text for s in document.sections}
    assert "Region: East; Q3 revenue: 1.2 M" in by_path[("Sales", "Table 1: Revenue by region")]
    assert "After the table." in by_path[("Sales",)]


def test_a_cell_spanning_rows_keys_every_row_it_covers(tmp_path: Path) -> None:
    def cell(text: str, attrs: str = "") -> str:
        return f'<table:table-cell {attrs}><text:p>{text}</text:p></table:table-cell>'

    covered = "<table:covered-table-cell/>"
    down, across = 'table:number-rows-spanned="2"', 'table:number-columns-spanned="2"'
    body = ('<office:text><table:table>'
            f'<table:table-row>{cell("Region")}{cell("Office")}{cell("Staff")}</table:table-row>'
            f'<table:table-row>{cell("East", down)}{cell("Leeds")}{cell("12")}</table:table-row>'
            f'<table:table-row>{covered}{cell("York")}{cell("4")}</table:table-row>'
            f'<table:table-row>{cell("West")}{cell("Bath", across)}{covered}</table:table-row>'
            '</table:table></office:text>')
    text = load_file(write_odf(tmp_path / "staff.odt", body, "application/vnd.oasis.opendocument.text")).sections[0].text
    assert "Region: East; Office: York; Staff: 4" in text.splitlines()
    assert "Region: West; Office: Bath" in text.splitlines()  # a cell spanning columns is read once


def test_ods_sheets_with_repeated_cells(tmp_path: Path) -> None:
    body = ('<office:spreadsheet><table:table table:name="Q3">'
            '<table:table-row><table:table-cell><text:p>Region</text:p></table:table-cell>'
            '<table:table-cell><text:p>Revenue</text:p></table:table-cell>'
            '<table:table-cell table:number-columns-repeated="16000"/></table:table-row>'
            '<table:table-row table:number-rows-repeated="2"><table:table-cell><text:p>East</text:p></table:table-cell>'
            '<table:table-cell><text:p>1.2 M</text:p></table:table-cell></table:table-row>'
            '<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/>'
            '</table:table-row></table:table><table:table table:name="Notes"><table:table-row>'
            '<table:table-cell><text:p>checked by Ann</text:p></table:table-cell></table:table-row></table:table>'
            '</office:spreadsheet>')
    document = load_file(write_odf(tmp_path / "q3.ods", body, "application/vnd.oasis.opendocument.spreadsheet"))
    q3, notes = document.sections
    assert (q3.page, q3.label, notes.page, notes.label) == (1, "Q3", 2, "Notes")
    assert q3.text.splitlines() == ["Region | Revenue", "Region: East; Revenue: 1.2 M", "Region: East; Revenue: 1.2 M"]


def test_odp_slides_titles_and_notes(tmp_path: Path) -> None:
    body = ('<office:presentation><draw:page draw:name="p1">'
            '<draw:frame presentation:class="title"><draw:text-box><text:p>Roadmap 2024</text:p></draw:text-box></draw:frame>'
            '<draw:frame><draw:text-box><text:list><text:list-item><text:p>Ship the desktop app</text:p></text:list-item>'
            '</text:list></draw:text-box></draw:frame>'
            '<presentation:notes><draw:frame><draw:text-box><text:p>Say it slowly.</text:p></draw:text-box></draw:frame>'
            '</presentation:notes></draw:page>'
            '<draw:page draw:name="p2"><draw:frame><draw:text-box><text:p>Thanks</text:p></draw:text-box></draw:frame>'
            '</draw:page></office:presentation>')
    document = load_file(write_odf(tmp_path / "deck.odp", body, "application/vnd.oasis.opendocument.presentation"))
    first, second = document.sections
    assert document.pages == 2 and (first.page, second.page) == (1, 2)
    assert first.heading_path == ("Roadmap 2024",)
    assert first.text == "Roadmap 2024\nShip the desktop app\n\nNotes:\nSay it slowly."


def test_broken_odf_files_fail_alone(tmp_path: Path) -> None:
    not_zip = tmp_path / "a.odt"
    not_zip.write_bytes(b"plain text, not a zip")
    with pytest.raises(CorruptFile, match="corrupt ODT: not a valid zip archive"):
        load_file(not_zip)
    no_content = tmp_path / "b.ods"
    with zipfile.ZipFile(no_content, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(CorruptFile, match="corrupt ODS: content.xml is missing"):
        load_file(no_content)
    bad_xml = tmp_path / "c.odp"
    with zipfile.ZipFile(bad_xml, "w") as z:
        z.writestr("content.xml", "<office:document-content><unclosed>")
    with pytest.raises(CorruptFile, match="corrupt ODP: content.xml is not well-formed XML"):
        load_file(bad_xml)


def test_encrypted_odf_says_password(tmp_path: Path) -> None:
    manifest = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/></manifest:file-entry>'
                '</manifest:manifest>')
    path = write_odf(tmp_path / "secret.odt", "<office:text/>", "application/vnd.oasis.opendocument.text", manifest)
    with pytest.raises(EncryptedFile, match="password-protected ODT"):
        load_file(path)
