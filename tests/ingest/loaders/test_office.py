"""Office loaders: docx headings and tables in order, pptx slides, xlsx sheets, csv/tsv rows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.errors import EmptyDocument, EncryptedFile
from ingest.loaders import LoadOptions, load_file
from ingest.loaders import office


def _make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Price list"
    document.add_heading("Products", level=1)
    document.add_paragraph("Our products, in stock.")
    table = document.add_table(rows=3, cols=2)
    for row, values in zip(table.rows, [("Name", "Price"), ("Widget", "12.50"), ("Gadget", "7")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    document.add_paragraph("Prices include tax.")
    document.add_heading("Widgets", level=2)
    document.add_paragraph("Widgets are blue.")
    document.add_heading("Services", level=1)
    document.add_paragraph("We also repair things.")
    document.sections[0].header.paragraphs[0].text = "ACME confidential"
    document.save(str(path))


def test_docx_heading_sections_with_table_in_order(tmp_path: Path) -> None:
    path = tmp_path / "prices.docx"
    _make_docx(path)
    document = load_file(path)
    assert document.file_type == "docx" and document.title == "Price list"
    by_path = {s.heading_path: s for s in document.sections}
    products = by_path[("Products",)].text
    assert products.splitlines()[0] == "Products"
    # Table rows sit between the paragraphs around them, with header names carried in.
    assert products.index("Our products") < products.index("Name: Widget; Price: 12.50") < products.index("Prices include")
    assert "Name: Gadget; Price: 7" in products
    assert "Widgets are blue." in by_path[("Products", "Widgets")].text
    assert "We also repair things." in by_path[("Services",)].text  # level 1 closes the level 2
    assert all(s.page is None for s in document.sections)
    # The page header is kept once, not repeated in every section.
    assert sum("ACME confidential" in s.text for s in document.sections) == 1


def test_docx_real_files(office: Path) -> None:
    tables = load_file(office / "fake_table.docx").sections[0].text
    assert "Header Col 1: Lorem ipsum; Header Col 2: A Link example" in tables
    assert tables.index("Header Col 1 |") < tables.index("Dolor sit amet")
    hdrftr = load_file(office / "docx-hdrftr.docx")
    assert hdrftr.sections[0].text == "Main document"
    assert hdrftr.sections[-1].label == "headers and footers"


def test_large_docx_is_fast_and_structured(office: Path) -> None:
    start = time.perf_counter()
    document = load_file(office / "handbook-872p.docx")
    elapsed = time.perf_counter() - start
    assert elapsed < 15, elapsed
    assert len(document.sections) > 100
    assert ("CHAPTER 1 – INTRODUCTION", "A. PURPOSE") in {s.heading_path for s in document.sections}


def test_pptx_slides_tables_groups_and_notes(office: Path) -> None:
    table = load_file(office / "fake-power-point-table.pptx")
    assert table.pages == 1
    slide = table.sections[0]
    assert slide.page == 1 and slide.heading_path == ("A Slide with a Table",)
    assert "Column 1: Red; Column 2: Green; Column 3: Blue" in slide.text
    nested = load_file(office / "group-shapes-nested.pptx").sections[0].text.split()
    assert sorted(nested) == list("ABCDEFGHIJ")  # every shape of the nested groups
    many = load_file(office / "sample-presentation.pptx")
    assert [s.page for s in many.sections] == [1, 2, 3, 4]
    assert "Table: 2; A: A2; B: B2; C: C2" in many.sections[3].text


def test_pptx_speaker_notes(tmp_path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    for title, notes in (("Budget", "Mention the 12% increase."), ("Hiring", "")):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = f"{title} details"
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    path = tmp_path / "deck.pptx"
    deck.save(str(path))
    first, second = load_file(path).sections
    assert first.heading_path == ("Budget",) and first.text.endswith("Notes:\nMention the 12% increase.")
    assert second.page == 2 and "Notes:" not in second.text


def test_malformed_pptx_still_yields_its_slide(office: Path) -> None:
    # The file has a broken date placeholder; python-pptx reads it, and so must we.
    document = load_file(office / "fake-power-point-malformed.pptx")
    assert document.sections[0].heading_path == ("Test Slide",)


def test_pptx_max_pages(office: Path) -> None:
    document = load_file(office / "sample-presentation.pptx", LoadOptions(max_pages=2))
    assert [s.page for s in document.sections] == [1, 2]
    assert document.warnings == ["only the first 2 of 4 slides were read"]


def test_xlsx_sheets_with_header_names_carried(office: Path) -> None:
    document = load_file(office / "stanley-cups.xlsx")
    assert document.pages == 2
    first, second = document.sections
    assert (first.page, first.label, second.page, second.label) == (1, "Stanley Cups", 2, "Stanley Cups Since 67")
    lines = first.text.splitlines()
    assert lines[0] == "Stanley Cups"  # a title row above the header is not a column name
    assert "Team: Maple Leafs; Location: TOR; Stanley Cups: 13" in lines
    assert "Team: Maple Leafs; Location: TOR; Stanley Cups: 0" in second.text


def test_xlsx_row_cap_warns(office: Path, monkeypatch) -> None:
    import ingest.loaders.office as office_loader

    monkeypatch.setattr(office_loader, "MAX_TABLE_ROWS", 3)
    document = load_file(office / "stanley-cups.xlsx")
    assert len(document.sections[0].text.splitlines()) == 3
    assert any("only the first 3 rows" in w for w in document.warnings)


def test_encrypted_xlsx(office: Path) -> None:
    with pytest.raises(EncryptedFile):
        load_file(office / "password_protected.xlsx")


@pytest.mark.parametrize("name", ["stanley-cups.csv", "stanley-cups.tsv", "stanley-cups-utf-16.csv"])
def test_csv_delimiters_and_encodings(office: Path, name: str) -> None:
    document = load_file(office / name)
    assert document.file_type == name.rsplit(".", 1)[1]
    assert "Team: Maple Leafs; Location: TOR; Stanley Cups: 13" in document.sections[0].text


def test_csv_semicolons_and_quoted_commas(office: Path) -> None:
    text = load_file(office / "semicolon-delimited.csv").sections[0].text
    assert "Lorem, ipsum: consectetur; dolor sit: adipiscing; amet: elit" in text
    money = load_file(office / "table-semicolon-delimiter.csv").sections[0].text
    assert "Year: 2023; Month: 2; Revenue: 143,1; Costs: -814,38" in money


def test_long_csv_is_split_into_labelled_sections(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    rows = ["order,customer,total"] + [f"{i},cust{i},{i * 3}" for i in range(1, 1201)]
    path.write_text("\n".join(rows) + "\n")
    document = load_file(path)
    sizes = [len(s.text.splitlines()) for s in document.sections]
    assert sizes == [500, 500, 201]
    assert [s.label for s in document.sections] == ["rows 1-500", "rows 501-1000", "rows 1001-1201"]
    assert all(s.page is None for s in document.sections)
    assert "order: 1200; customer: cust1200; total: 3600" in document.sections[-1].text


def test_headerless_numeric_table_is_joined_with_bars() -> None:
    assert list(office.table_lines([["1", "2"], ["3", "4"]])) == ["1 | 2", "3 | 4"]
    assert office.cell_text(3.0) == "3" and office.cell_text(None) == ""


def test_docx_table_with_broken_grid_and_nested_tables(office: Path) -> None:
    # python-docx's row.cells raises on this file; Word opens it.
    assert "Merged B1-B3" in load_file(office / "grid_offset_error.docx").sections[0].text
    text = load_file(office / "docx-tables.docx").sections[0].text
    assert "e f g&t h" in text  # the nested table's text is kept inside its cell


def test_docx_cells_merged_down_a_column_keep_their_key_on_every_row(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=4, cols=3)
    values = [("Region", "Office", "Staff"), ("East", "Leeds", "12"), ("", "York", "4"), ("West", "Bath", "7")]
    for row, cells in zip(table.rows, values):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    table.cell(1, 0).merge(table.cell(2, 0))  # "East" spans Leeds and York
    path = tmp_path / "staff.docx"
    document.save(str(path))
    text = load_file(path).sections[0].text
    assert "Region: East; Office: York; Staff: 4" in text
    assert "Region: East; Office: Leeds; Staff: 12" in text and "Region: West; Office: Bath; Staff: 7" in text


def _picture_of(text: str, path: Path) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (900, 140), "white")
    ImageDraw.Draw(image).text((30, 40), text, fill="black", font=ImageFont.load_default(size=44))
    image.save(path)
    return path


def test_a_word_file_of_pictures_only_is_read_by_ocr(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_picture(str(_picture_of("Invoice number 48213", tmp_path / "scan.png")))
    path = tmp_path / "scan.docx"
    document.save(str(path))
    loaded = load_file(path)
    assert loaded.sections[0].ocr and "48213" in loaded.sections[0].text
    with pytest.raises(EmptyDocument, match="OCR is off"):
        load_file(path, LoadOptions(ocr=False))


def test_a_slide_of_pictures_only_is_read_by_ocr_and_a_slide_with_text_is_not(tmp_path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    picture = _picture_of("Invoice number 48213", tmp_path / "scan.png")
    only_picture = deck.slides.add_slide(deck.slide_layouts[6])
    only_picture.shapes.add_picture(str(picture), Inches(1), Inches(1))
    with_text = deck.slides.add_slide(deck.slide_layouts[5])
    with_text.shapes.title.text = "Summary"
    with_text.shapes.add_picture(str(_picture_of("Logo text 777", tmp_path / "logo.png")), Inches(1), Inches(3))
    path = tmp_path / "deck.pptx"
    deck.save(str(path))
    by_page = {s.page: s for s in load_file(path).sections}
    assert by_page[1].ocr and "48213" in by_page[1].text
    assert not by_page[2].ocr and "777" not in by_page[2].text  # a slide with text keeps its pictures unread


def _word_table(path: Path, values: list[tuple[str, ...]], merges: list[tuple[int, int, int, int]] = (),
                repeat_header_rows: int = 0) -> Path:
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    table = document.add_table(rows=len(values), cols=len(values[0]))
    for row, cells in zip(table.rows, values):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    for r1, c1, r2, c2 in merges:
        table.cell(r1, c1).merge(table.cell(r2, c2))
    for row in table.rows[:repeat_header_rows]:  # Word's "Repeat as header row at the top of each page"
        row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    document.save(str(path))
    return path


def test_word_two_row_header_names_each_column_by_its_group_and_its_own_name(tmp_path: Path) -> None:
    values = [("Region", "2023", "", "2024", ""), ("", "Sales", "Units", "Sales", "Units"),
              ("North", "10", "5", "12", "6"), ("South", "8", "3", "9", "4")]
    # "Region" spans both header rows; each year spans its two columns.
    path = _word_table(tmp_path / "sales.docx", values, [(0, 0, 1, 0), (0, 1, 0, 2), (0, 3, 0, 4)])
    text = load_file(path).sections[0].text
    assert "Region: North; 2023 / Sales: 10; 2023 / Units: 5; 2024 / Sales: 12; 2024 / Units: 6" in text
    assert "Region: South; 2023 / Sales: 8; 2023 / Units: 3; 2024 / Sales: 9; 2024 / Units: 4" in text


def test_word_declared_header_rows_are_the_header_even_when_they_look_like_data(tmp_path: Path) -> None:
    values = [("Name", "Contact", ""), ("", "Phone", "E-mail"), ("Ann", "555 0101", "ann@example.com")]
    path = _word_table(tmp_path / "staff.docx", values, [(0, 1, 0, 2)], repeat_header_rows=2)
    text = load_file(path).sections[0].text
    assert "Name: Ann; Contact / Phone: 555 0101; Contact / E-mail: ann@example.com" in text


def test_word_header_rows_switched_off_are_not_the_header(tmp_path: Path) -> None:
    from docx.oxml.ns import qn

    values = [("Total", "9"), ("Ann", "4"), ("Bob", "5")]
    path = _word_table(tmp_path / "totals.docx", values, repeat_header_rows=1)
    import docx

    document = docx.Document(str(path))
    document.tables[0].rows[0]._tr.trPr.find(qn("w:tblHeader")).set(qn("w:val"), "0")
    document.save(str(path))
    assert load_file(path).sections[0].text.splitlines() == ["Total | 9", "Ann | 4", "Bob | 5"]


def test_word_header_cell_spanning_columns_names_both_and_a_data_row_below_it_stays_data(tmp_path: Path) -> None:
    values = [("Name", "Address", ""), ("Ann", "12 Mill Lane", "Leeds"), ("Bob", "3 High Street", "York")]
    text = load_file(_word_table(tmp_path / "addresses.docx", values, [(0, 1, 0, 2)])).sections[0].text
    assert "Name: Ann; Address: 12 Mill Lane; Address: Leeds" in text
    assert "Name: Bob; Address: 3 High Street; Address: York" in text
