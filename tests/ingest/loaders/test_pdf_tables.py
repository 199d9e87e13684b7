"""PDF tables: ruled tables become rows with column names; page text offsets stay pdfium's; cost is bounded."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import load_file
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

    def counting(self, index):
        calls.append(index)
        return original(self, index)

    monkeypatch.setattr(pdf_tables.TableReader, "_tables", counting)
    document = load_file(office / "pdf/pdf2image-memory-error-test-400p.pdf")
    assert len(document.sections) > 300
    assert len(calls) <= pdf_tables.MAX_MISSES_IN_A_ROW


def test_table_reader_failure_keeps_page_text(office: Path, monkeypatch) -> None:
    def broken(self, index):
        raise RuntimeError("pdfminer cannot parse this page")

    monkeypatch.setattr(pdf_tables.TableReader, "_tables", broken)
    page = load_file(office / "pdf/failure-after-repair.pdf").sections
    assert any("oestrogen receptor positive" in s.text for s in page)
