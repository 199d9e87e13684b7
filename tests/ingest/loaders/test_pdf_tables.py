"""PDF tables: ruled tables become rows with column names; page text offsets stay pdfium's; cost is bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.loaders import LoadOptions, load_file
from ingest.loaders import pdf_tables


def _pdfium_text(path: Path, index: int) -> str:
    import pypdfium2 as pdfium

    from ingest.loaders.pdf import page_text

    document = pdfium.PdfDocument(str(path))
    try:
        textpage = document[index].get_textpage()
        return page_text(textpage.get_text_range())
    finally:
        document.close()


def test_ruled_table_rows_carry_column_names(pdf_samples: Path) -> None:
    path = pdf_samples / "011-google-doc-document/google-doc-document.pdf"
    page = load_file(path).sections[0]
    lines = page.text.splitlines()
    assert "Currency; Indonesia: Rupia; Germany: EUR (€); Vatican: -" in lines
    assert "Capital; Indonesia: Jakarta; Germany: Berlin; Austria: Vienna; France: Paris; Vatican: Vatican City" in lines
    # The table's characters are blanked in the page text, not repeated, and every other
    # character keeps its pdfium index, so highlights still land on the right words.
    raw = _pdfium_text(path, 0)
    assert page.text.count("Jakarta") == 1 and raw.count("Jakarta") == 1
    head = page.text[: len(raw)]
    assert len(head) == len(raw) and all(a == b or a == " " for a, b in zip(head, raw))
    assert head.index("Readability counts.") == raw.index("Readability counts.")


def test_header_row_from_a_report(office: Path) -> None:
    pages = {s.page: s.text for s in load_file(office / "pdf/failure-after-repair.pdf").sections}
    assert ("Status: PR+; Description: Cancer cells with progesterone receptors are called progesterone "
            "receptor positive.") in pages[18].splitlines()


def test_repeated_page_rules_stop_table_search(office: Path, monkeypatch) -> None:
    calls: list[int] = []
    original = pdf_tables.TableReader._tables

    def counting(self, index, *args):
        calls.append(index)
        return original(self, index, *args)

    monkeypatch.setattr(pdf_tables.TableReader, "_tables", counting)
    document = load_file(office / "pdf/pdf2image-memory-error-test-400p.pdf")
    assert len(document.sections) > 300
    assert len(calls) <= pdf_tables.MAX_MISSES_IN_A_ROW


def test_table_reader_failure_keeps_page_text(office: Path, monkeypatch) -> None:
    def broken(self, index, *args):
        raise RuntimeError("pdfminer cannot parse this page")

    monkeypatch.setattr(pdf_tables.TableReader, "_tables", broken)
    page = load_file(office / "pdf/failure-after-repair.pdf").sections
    assert any("oestrogen receptor positive" in s.text for s in page)


def _table_sections(document) -> list:
    return [s for s in document.sections if s.heading_path]


def test_open_table_rows_carry_column_names_under_their_caption(office: Path) -> None:
    # A journal table drawn with three horizontal rules only ("booktabs"), caption above it.
    path = office / "pdf/embedded-images-tables.pdf"
    document = load_file(path)
    [table] = _table_sections(document)
    assert table.page == 1
    assert table.heading_path[0].startswith("Table 1 Potentiodynamic polarization data for stainless steel")
    assert ("Inhibitor concentration (g): 6; bc (V/dec): 0.3233; ba (V/dec): 0.0540; Ecorr (V): 0.8027; "
            "icorr (A/cm 2 ): 5.39E-05; Polarization resistance (Ω): 373.180; Corrosion rate (mm/year): 0.4318"
            ) in table.text.splitlines()
    # Its cells are blanked in the page text (same length as pdfium's), and its own section's
    # offsets start past the page's last pdfium index, so no highlight lands on other words.
    raw = _pdfium_text(path, 0)
    page = next(s for s in document.sections if s.page == 1 and not s.heading_path)
    assert "373.180" in raw and "373.180" not in page.text
    assert page.text.index("Fig. 4. Anodic") == raw.index("Fig. 4. Anodic")
    assert table.text[: len(raw)].strip() == "" and table.text[len(raw):].strip().startswith("Table 1")


def test_open_table_with_a_header_centred_over_close_columns(office: Path) -> None:
    document = load_file(office / "pdf/layout-parser-paper-with-table.pdf")
    [table] = _table_sections(document)
    assert table.heading_path == ("Table 1: Current layout detection models in the LayoutParser model zoo",)
    assert ("Dataset: TableBank [18]; Base Model 1: F; Large Model: F; "
            "Notes: Table region on modern scientific and business document") in table.text.splitlines()


def test_open_tables_beside_a_column_of_prose(office: Path, pdf_samples: Path) -> None:
    # LaTeX and ACL papers: tables inside one column of a two-column page, caption below or above.
    document = load_file(pdf_samples / "026-latex-multicolumn/multicolumn.pdf")
    [table] = _table_sections(document)
    assert table.heading_path == ("Table 1: EU Countries Information",)
    assert any(line.startswith("Country: Austria; Population (millions): 8.9; Area (km 2 ): 83,879; Capital: Vienna")
               for line in table.text.splitlines())
    rows = [line for s in load_file(office / "pdf/multi-column.pdf").sections for line in s.text.splitlines()
            if line.startswith("Dataset: ")]
    assert "Dataset: Natural Questions; Train: 79,168; 58,880; Dev: 8,757; Test: 3,610" in rows
    # No cell of the neighbouring prose column was taken into a row.
    assert not any("in-batch negatives" in line for line in rows)


def test_prose_and_layout_do_not_become_open_tables(office: Path, monkeypatch) -> None:
    # Pages measured to fool a column detector: a magazine layout, bullet lists in two columns,
    # a three-column strategy grid, two-column prose with a "Table" caption on the same page.
    found: list = []
    original = pdf_tables.open_tables

    def spy(lines, taken):
        tables = original(lines, taken)
        found.extend(tables)
        return tables

    monkeypatch.setattr(pdf_tables, "open_tables", spy)
    for name in ("reliance.pdf", "list-item-example.pdf", "invalid-pdf-structure-pdfminer-one-page.pdf"):
        load_file(office / "pdf" / name)
        assert found == [], name
    load_file(office / "pdf/multi-column.pdf")
    assert found  # its real tables are found ...
    for _bbox, rows, _caption in found:  # ... and none of their cells is a line of running prose
        assert all(len(cell.split()) <= 8 for row in rows for cell in row), rows


def test_open_table_chunks_point_past_the_page_text(office: Path) -> None:
    from ingest.splitter import Splitter

    document = load_file(office / "pdf/embedded-images-tables.pdf")
    index = next(i for i, s in enumerate(document.sections) if s.heading_path)
    width = len(_pdfium_text(office / "pdf/embedded-images-tables.pdf", 0))
    chunks = [c for c in Splitter().split(document, "x.pdf", "d") if c.section == index]
    assert chunks and all(c.start > width and c.heading_path == document.sections[index].heading_path for c in chunks)
    assert any("Corrosion rate (mm/year): 0.4318" in c.text for c in chunks)


@pytest.mark.slow
def test_open_tables_on_all_shared_pdfs_are_real_tables(docs: Path, monkeypatch) -> None:
    # The false-positive measurement: across the 68 shared PDFs, aligned-column tables are found
    # only in the four files that hold such tables.
    found: dict[str, int] = {}
    original = pdf_tables.open_tables
    current = [""]

    def spy(lines, taken):
        tables = original(lines, taken)
        found[current[0]] = found.get(current[0], 0) + len(tables)
        return tables

    monkeypatch.setattr(pdf_tables, "open_tables", spy)
    for path in sorted(docs.rglob("*.pdf")):
        current[0] = path.name
        try:
            load_file(path, LoadOptions(ocr=False))
        except IngestError:
            pass
    assert {name for name, count in found.items() if count} == {
        "embedded-images-tables.pdf", "layout-parser-paper-with-table.pdf", "multi-column.pdf", "multicolumn.pdf"}
