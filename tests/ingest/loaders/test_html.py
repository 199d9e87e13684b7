"""HTML and EPUB: charsets, boilerplate removal, heading sections, never a network access."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ingest.loaders import load_file


def test_headings_build_sections(office: Path) -> None:
    document = load_file(office / "fake-html.html")
    paths = [s.heading_path for s in document.sections]
    assert paths == [("My First Heading",), ("My First Heading", "My Second Heading"),
                     ("My First Heading", "My Second Heading", "A Third Heading")]
    table = document.sections[2].text.splitlines()
    assert "Column 1: Row 1, Cell 1; Column 2: Row 1, Cell 2" in table


def test_utf16_page_and_title(office: Path) -> None:
    document = load_file(office / "example-steelJIS-datasheet-utf-16.html")
    assert document.title.startswith("SNB22-3 - SteelJIS")
    text = "\n".join(s.text for s in document.sections)
    assert "日本語" in text and "Chromium molybdenum steel" in text


def test_cp1252_page(office: Path) -> None:
    text = load_file(office / "fake-html-cp1252.html").sections[0].text
    assert "Die schöne Frau" in text and "15,50 €" in text and "Kvinnan åt köttbullar" in text


def test_scripts_and_boilerplate_are_dropped(office: Path) -> None:
    scripts = "\n".join(s.text for s in load_file(office / "example-with-scripts.html").sections)
    assert "Russian Offensive Campaign Assessment" in scripts
    assert "function(" not in scripts and "window." not in scripts
    framed = load_file(office / "fake-html-with-footer-and-header.html").sections
    assert "\n".join(s.text for s in framed) == "My First Heading\n\nMy first paragraph."


def test_hidden_xbrl_header_is_not_text(office: Path) -> None:
    first = load_file(office / "example-10k.html").sections[0].text
    assert first.startswith("UNITED STATES")


def test_no_network_access(tmp_path: Path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the HTML loader opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    page = tmp_path / "remote.html"
    page.write_text(
        '<html><head><link rel="stylesheet" href="http://example.com/a.css">'
        '<script src="http://example.com/x.js"></script><title>Remote</title></head>'
        '<body><img src="http://example.com/logo.png"><iframe src="http://example.com"></iframe>'
        "<p>Local text only.</p></body></html>"
    )
    document = load_file(page)
    assert document.title == "Remote"
    assert document.sections[0].text == "Local text only."


def test_epub_chapters_in_reading_order(office: Path) -> None:
    document = load_file(office / "winter-sports.epub")
    assert document.file_type == "epub" and document.title == "Winter Sports in Switzerland"
    pages = [s.page for s in document.sections]
    assert pages == sorted(pages) and 1 <= pages[0] and pages[-1] <= document.pages
    headings = [s.heading_path[-1] for s in document.sections if s.heading_path]
    assert "CONTENTS" in headings
    assert headings.index("CONTENTS") < headings.index("CHAPTER I") if "CHAPTER I" in headings else True
    assert any("Ski-ing" in s.text for s in document.sections)


def test_not_an_epub(tmp_path: Path) -> None:
    from ingest.errors import CorruptFile

    path = tmp_path / "book.epub"
    path.write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(CorruptFile, match="corrupt EPUB: not a valid zip archive"):
        load_file(path)


def test_table_caption_heads_rows_with_declared_header(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(
        "<h1>Quarterly report</h1><p>Figures below.</p>"
        "<table><caption>Revenue by region</caption><thead><tr><th>Region</th><th>Q3 revenue</th></tr></thead>"
        "<tbody><tr><td>East</td><td>1.2 M</td></tr><tr><td>West</td><td>0.8 M</td></tr></tbody></table>"
        "<p>Closing remarks.</p>")
    by_path = {s.heading_path: s.text.splitlines() for s in load_file(page).sections}
    rows = by_path[("Quarterly report", "Revenue by region")]
    assert rows == ["Revenue by region", "Region | Q3 revenue", "Region: East; Q3 revenue: 1.2 M", "Region: West; Q3 revenue: 0.8 M"]
    assert "Closing remarks." in by_path[("Quarterly report",)]


def test_a_table_paragraph_before_a_table_is_its_caption_once(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(
        "<h1>Quarterly report</h1><p>Figures below.</p><p><b>Table 2: Revenue by region</b></p>"
        "<table><tr><th>Region</th><th>Q3 revenue</th></tr><tr><td>East</td><td>1.2 M</td></tr></table>"
        "<p>Table 3 is in the appendix.</p><p>Closing remarks.</p>")
    by_path = {s.heading_path: s.text for s in load_file(page).sections}
    assert "Region: East; Q3 revenue: 1.2 M" in by_path[("Quarterly report", "Table 2: Revenue by region")]
    report = by_path[("Quarterly report",)]
    assert "Table 2" not in report  # not also left as a paragraph
    assert "Table 3 is in the appendix." in report  # no table follows it: a plain paragraph


def test_spanning_headers_and_row_keys_keep_every_value_under_its_own_column(tmp_path: Path) -> None:
    page = tmp_path / "sales.html"
    page.write_text(
        "<table><caption>Sales</caption><thead>"
        "<tr><th rowspan=2>Region</th><th rowspan=2>Office</th><th colspan=2>Revenue</th></tr>"
        "<tr><th>Q3</th><th>Q4</th></tr></thead><tbody>"
        "<tr><td rowspan=2>East</td><td>Leeds</td><td>1.2 M</td><td>1.4 M</td></tr>"
        "<tr><td>York</td><td>0.3 M</td><td>0.2 M</td></tr>"
        "<tr><td>West</td><td>Bath</td><td colspan=2>closed</td></tr>"
        "</tbody></table>")
    rows = load_file(page).sections[-1].text.splitlines()
    assert rows[1] == "Region | Office | Revenue / Q3 | Revenue / Q4"
    # York's row keeps its region, and its figures stay under their quarters instead of moving left.
    assert rows[2:] == ["Region: East; Office: Leeds; Revenue / Q3: 1.2 M; Revenue / Q4: 1.4 M",
                        "Region: East; Office: York; Revenue / Q3: 0.3 M; Revenue / Q4: 0.2 M",
                        "Region: West; Office: Bath; Revenue / Q3: closed"]


def test_a_header_cell_spanning_rows_ends_with_its_row_group(tmp_path: Path) -> None:
    # Browsers clip a rowspan at the end of its <thead>/<tbody>: "Region" names a column, it is no
    # value of the first data row.
    page = tmp_path / "regions.html"
    page.write_text(
        "<table><thead><tr><th rowspan=3>Region</th><th>Sales</th></tr></thead>"
        "<tbody><tr><td>East</td><td>120</td></tr><tr><td>West</td><td>80</td></tr></tbody></table>")
    rows = load_file(page).sections[-1].text.splitlines()
    assert rows == ["Region | Sales", "Region: East; Sales: 120", "Region: West; Sales: 80"]


def test_a_span_past_a_short_row_and_bad_span_values_do_not_break_the_grid(tmp_path: Path) -> None:
    page = tmp_path / "odd.html"
    page.write_text(
        "<table><tr><th>Item</th><th>Note</th><th>Owner</th></tr>"
        "<tr><td>Desk</td><td colspan='x'>ok</td><td rowspan=3>Ana</td></tr>"
        "<tr><td>Lamp</td></tr>"
        "<tr><td>Chair</td><td rowspan=-4>worn</td></tr></table>")
    rows = load_file(page).sections[-1].text.splitlines()
    assert rows[1:] == ["Item: Desk; Note: ok; Owner: Ana", "Item: Lamp; Owner: Ana", "Item: Chair; Note: worn; Owner: Ana"]


def test_layout_tables_are_not_data_tables(office: Path) -> None:
    text = "\n".join(s.text for s in load_file(office / "example-steelJIS-datasheet.html").sections)
    assert "C: 0.39 - 0.46; Si: 0.2 - 0.35; Mn: 0.65 - 1.1" in text  # a data table inside the page's layout tables
    assert "Grade : | SNB22-3" in text  # a two-column layout row stays as it was
