"""Ruled tables in PDF pages, found with pdfplumber, as rows that carry their column names.

pdfplumber (over pdfminer.six) finds tables from the lines and boxes a page draws; measured on the
shared PDFs it finds the real ruled tables (google-doc-document.pdf, failure-after-repair.pdf's
team tables, all-number-table.pdf) but costs 0.3-1.5 s a page, ~100 times pdfium's text
extraction.  So it runs only on pages likely to hold a table: pdfium lists the page's path objects
first (a millisecond), and pages without both horizontal and vertical rules (or a grid of boxes),
or with thousands of paths (figures, maps), are never handed to pdfplumber; after 30 candidate
pages in a row without a table, or past half the file's time budget, a document is not examined
further.  Tables drawn without any lines (aligned
columns of text) are not detected and stay plain page text.

The page's Section text must keep pdfium's characters one for one (pdf.py), so a table is not cut
out of it: its characters are replaced by spaces (same length, offsets unchanged) and its rows are
appended after the page text, where no highlight offset points.
"""

from __future__ import annotations

from typing import Any

MAX_PATHS = 1500  # more path objects than this is a drawing, not a table
MIN_FILLED_SHARE = 0.5  # at least half the cells hold text, or it is a frame or a form
MAX_TABLE_PAGES = 300  # pages per document handed to pdfplumber, bounding the cost on huge files
# Candidate pages in a row without a table before the document is given up on: a rule or frame
# that the page template repeats on every page would otherwise send every page to pdfplumber.
MAX_MISSES_IN_A_ROW = 30


def likely_table(page: Any) -> bool:
    """Cheap pdfium test: does the page draw enough horizontal and vertical rules or cell boxes?"""
    import pypdfium2.raw as pdfium_c

    horizontal = vertical = boxes = count = 0
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_PATH,), max_depth=4):
        count += 1
        if count > MAX_PATHS:
            return False
        left, bottom, right, top = obj.get_bounds()
        width, height = right - left, top - bottom
        if height < 2.5 and width > 10:
            horizontal += 1
        elif width < 2.5 and height > 10:
            vertical += 1
        elif width > 10 and height > 5:
            boxes += 1
    # Boxes alone are usually frames, callouts and form fields; they count only when the page
    # draws nothing else (a grid of cell boxes).
    return (horizontal >= 2 and vertical >= 2) or (boxes >= 2 and boxes == count)


# Icon fonts (flags, arrows) map their glyphs to private-use code points, noise in a column name.
_PRIVATE_USE = {c: None for r in (range(0xE000, 0xF900), range(0xF0000, 0xF0000 + 0x10000)) for c in r}


class TableReader:
    """Opens the PDF with pdfplumber on first use; one per document."""

    def __init__(self, path: str, deadline: float | None = None) -> None:
        self.path = path
        self.deadline = deadline  # time.monotonic() after which no more pages are examined
        self._pdf: Any = None
        self.pages_read = 0
        self.misses = 0
        self.failed = False

    def tables(self, index: int) -> list[tuple[tuple[float, float, float, float], list[list[str]]]]:
        """(bbox in pdfplumber's top-left coordinates, cell rows) of the real tables on a page.

        Best effort: pdfminer fails on some files pdfium reads well, and then the page text is
        simply kept as it is.
        """
        import time

        if (self.failed or self.pages_read >= MAX_TABLE_PAGES or self.misses >= MAX_MISSES_IN_A_ROW
                or (self.deadline and time.monotonic() > self.deadline)):
            return []
        try:
            found = self._tables(index)
        except Exception:
            self.failed = True
            return []
        self.misses = 0 if found else self.misses + 1
        return found

    def _tables(self, index: int) -> list[tuple[tuple[float, float, float, float], list[list[str]]]]:
        if self._pdf is None:
            import logging

            import pdfplumber

            # pdfminer logs every odd font it meets; a worker has no one to read them.
            logging.getLogger("pdfminer").setLevel(logging.ERROR)
            self._pdf = pdfplumber.open(self.path)
        self.pages_read += 1
        page = self._pdf.pages[index]
        found = []
        try:
            for table in page.find_tables():
                rows = [[" ".join((cell or "").translate(_PRIVATE_USE).split()) for cell in row] for row in table.extract()]
                cells = [c for row in rows for c in row]
                filled = sum(1 for c in cells if c)
                if len(rows) >= 2 and max(len(r) for r in rows) >= 2 and filled >= 3 and filled >= MIN_FILLED_SHARE * len(cells):
                    found.append((table.bbox, rows))
        finally:
            page.close()  # pdfplumber caches each page's objects until closed
        return found

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def blank_regions(textpage: Any, text: str, page_top: float, page_left: float,
                  boxes: list[tuple[float, float, float, float]]) -> str:
    """`text` with the characters inside the boxes (pdfplumber coordinates) replaced by spaces."""
    import pypdfium2.raw as pdfium_c

    if any(ord(ch) > 0xFFFF for ch in text):  # text indices would need remapping; keep the text
        return text
    regions = [(page_left + x0, page_top - bottom, page_left + x1, page_top - top) for x0, top, x1, bottom in boxes]
    chars = list(text)
    for char_index in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(char_index)
        cx, cy = (left + right) / 2, (bottom + top) / 2
        if any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in regions):
            text_index = pdfium_c.FPDFText_GetTextIndexFromCharIndex(textpage.raw, char_index)
            if 0 <= text_index < len(chars) and chars[text_index] != "\n":
                chars[text_index] = " "
    return "".join(chars)


def rows_text(tables: list[list[list[str]]], caption_lines: list[str]) -> str:
    """The tables' rows with header names carried in; a page's "Table N" caption heads a lone table."""
    from ingest.loaders.office import table_lines

    blocks = []
    for rows in tables:
        lines = list(table_lines([list(r) for r in rows]))
        if len(tables) == 1 and len(caption_lines) == 1:
            lines.insert(0, caption_lines[0])
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
