"""Ruled tables in PDF pages, found with pdfplumber, as rows that carry their column names.

pdfplumber (over pdfminer.six) finds tables from the lines and boxes a page draws; measured on the
shared PDFs it finds the real ruled tables (google-doc-document.pdf, failure-after-repair.pdf's
team tables, all-number-table.pdf) but costs 0.3-1.5 s a page, ~100 times pdfium's text
extraction.  So it runs only on pages likely to hold a table: pdfium lists the page's path objects
first (a millisecond), and pages without both horizontal and vertical rules (or a grid of boxes),
or with thousands of paths (figures, maps), are never handed to pdfplumber; after 30 candidate
pages in a row without a table, or past half the file's time budget, a document is not examined
further.

Tables drawn without lines (aligned columns of text, or "booktabs" tables with only a few
horizontal rules) are found by `open_tables` from pdfplumber's words: consecutive lines split into
the same columns by wide gaps.  pdfplumber's own "text" strategy was measured first and rejected:
on a whole page it turns prose into columns and drops the spaces between words.  Aligned columns
are only looked for on pages that name a table ("Table 3 ...") and where the lines strategy
found a "booktabs" table (rules above and below the header and at the end only); they need three
rows, three columns (two with a caption) and most rows filled, and a neighbouring column of running
prose is not part of them, so that multi-column pages do not become tables.

The page's Section text must keep pdfium's characters one for one (pdf.py), so a table is not cut
out of it: its characters are replaced by spaces (same length, offsets unchanged) and its rows are
appended after the page text, where no highlight offset points.
"""

from __future__ import annotations

import re
from typing import Any

MAX_PATHS = 1500  # more path objects than this is a drawing, not a table
MIN_FILLED_SHARE = 0.5  # at least half the cells hold text, or it is a frame or a form
MAX_TABLE_PAGES = 300  # pages per document handed to pdfplumber, bounding the cost on huge files
# Candidate pages in a row without a table before the document is given up on: a rule or frame
# that the page template repeats on every page would otherwise send every page to pdfplumber.
MAX_MISSES_IN_A_ROW = 30


def likely_table(page: Any) -> bool:
    """Cheap pdfium test: does the page draw enough horizontal and vertical rules or cell boxes?"""
    return table_hint(page, "")[0]


def table_hint(page: Any, text: str) -> tuple[bool, bool]:
    """(ruled, open): may the page hold a ruled table, and may it hold one drawn without grid lines?

    Open tables are looked for only where a line of the page names a table ("Table 3: ...").
    Measured on the shared PDFs, pages with aligned columns but no caption were mostly running
    heads, tables of contents, magazine layouts and formulas, so they are left as page text.
    """
    import pypdfium2.raw as pdfium_c

    from ingest.loaders.text import looks_like_caption

    captioned = any(looks_like_caption(line) for line in text.splitlines() if line[:1].strip())
    horizontal = vertical = boxes = count = 0
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_PATH,), max_depth=4):
        count += 1
        if count > MAX_PATHS:
            return False, captioned
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
    ruled = (horizontal >= 2 and vertical >= 2) or (boxes >= 2 and boxes == count)
    return ruled, captioned


# Icon fonts (flags, arrows) map their glyphs to private-use code points, noise in a column name.
_PRIVATE_USE = {c: None for r in (range(0xE000, 0xF900), range(0xF0000, 0xF0000 + 0x10000)) for c in r}


Table = tuple[tuple[float, float, float, float], list[list[str]], str]  # bbox (top-left origin), rows, caption


class TableReader:
    """Opens the PDF with pdfplumber on first use; one per document."""

    def __init__(self, path: str, deadline: float | None = None) -> None:
        self.path = path
        self.deadline = deadline  # time.monotonic() after which no more pages are examined
        self._pdf: Any = None
        self.pages_read = 0
        self.misses = 0
        self.failed = False

    def tables(self, index: int, ruled: bool = True, open_: bool = False) -> list[Table]:
        """(bbox in pdfplumber's top-left coordinates, cell rows, caption or "") of a page's tables.

        Best effort: pdfminer fails on some files pdfium reads well, and then the page text is
        simply kept as it is.
        """
        import time

        if (self.failed or self.pages_read >= MAX_TABLE_PAGES or self.misses >= MAX_MISSES_IN_A_ROW
                or (self.deadline and time.monotonic() > self.deadline)):
            return []
        try:
            found = self._tables(index, ruled, open_)
        except Exception:
            self.failed = True
            return []
        self.misses = 0 if found else self.misses + 1
        return found

    def _tables(self, index: int, ruled: bool = True, open_: bool = False) -> list[Table]:
        if self._pdf is None:
            import logging

            import pdfplumber

            # pdfminer logs every odd font it meets; a worker has no one to read them.
            logging.getLogger("pdfminer").setLevel(logging.ERROR)
            self._pdf = pdfplumber.open(self.path)
        self.pages_read += 1
        page = self._pdf.pages[index]
        found: list[Table] = []
        try:
            words = None
            if ruled:
                for table in page.find_tables():
                    raw = table.extract()
                    rows = [[_cell(cell) for cell in row] for row in raw]
                    cells = [c for row in rows for c in row]
                    filled = sum(1 for c in cells if c)
                    # A "booktabs" table has rules above and below the header and at the end only:
                    # the lines strategy then makes one row whose cells hold every body line.  Such
                    # a table is left to the aligned-columns reader below.
                    stacked = sum(1 for row in raw[1:] for c in row if c and c.count("\n") >= 2)
                    if len(rows) <= 3 and stacked * 2 >= max(1, sum(1 for row in raw[1:] for c in row if c)):
                        open_ = True
                        continue
                    if len(rows) >= 2 and max(len(r) for r in rows) >= 2 and filled >= 3 and filled >= MIN_FILLED_SHARE * len(cells):
                        found.append((table.bbox, rows, ""))
            if open_ or found:
                words = page.extract_words(x_tolerance=1.5, y_tolerance=2, extra_attrs=["size"])
                lines = _lines(words)
                if found:
                    found = [(bbox, rows, _caption_above(lines, bbox)) for bbox, rows, _ in found]
                if open_:
                    taken = [bbox for bbox, _rows, _caption in found]
                    found.extend(open_tables(lines, taken))
        finally:
            page.close()  # pdfplumber caches each page's objects until closed
        return found

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def _figure(cell: str) -> bool:
    """A number with at most a short unit or footnote mark: "79,168", "5.39E-05", "12 %", "$1.2M"."""
    return any(ch.isdigit() for ch in cell) and sum(ch.isalpha() for ch in cell) <= 3
_CID = re.compile(r"\(cid:\d+\)")  # a glyph pdfminer could not map to a character


def _cell(text: str | None) -> str:
    return " ".join(_CID.sub("", text or "").translate(_PRIVATE_USE).split())


# Open tables.  A gap between words wider than this many font sizes separates columns: word
# spaces are ~0.25-0.35 em and justified prose stretches them to ~0.6 em.
COLUMN_GAP_EM = 1.0
MIN_OPEN_ROWS = 3
MIN_OPEN_COLUMNS = 3
MAX_LINE_GAP_EM = 2.5  # a wider vertical gap ends the table


class _Line:
    __slots__ = ("words", "top", "bottom", "size")

    def __init__(self, word: dict) -> None:
        self.words = [word]
        self.top, self.bottom, self.size = word["top"], word["bottom"], word.get("size") or 10.0

    def segments(self) -> list[tuple[float, float]]:
        """x-extents of the runs of words separated by column-wide gaps."""
        words = sorted(self.words, key=lambda w: w["x0"])
        runs = [[words[0]["x0"], words[0]["x1"]]]
        for word in words[1:]:
            if word["x0"] - runs[-1][1] > COLUMN_GAP_EM * self.size:
                runs.append([word["x0"], word["x1"]])
            else:
                runs[-1][1] = max(runs[-1][1], word["x1"])
        return [(a, b) for a, b in runs]


def _lines(words: list[dict]) -> list[_Line]:
    """Words grouped into text lines, top to bottom; a superscript joins the line it sits on."""
    lines: list[_Line] = []
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if not _cell(word["text"]):
            continue
        centre = (word["top"] + word["bottom"]) / 2
        for line in reversed(lines[-3:]):
            if line.top - 0.2 * line.size <= centre <= line.bottom + 0.2 * line.size:
                line.words.append(word)
                line.bottom = max(line.bottom, word["bottom"])
                break
        else:
            lines.append(_Line(word))
    return lines


def _caption_above(lines: list[_Line], bbox: tuple[float, float, float, float]) -> str:
    """The "Table N ..." line (and the line after it, when the number stands alone) above a table."""
    from ingest.loaders.text import looks_like_caption

    above = [line for line in lines if line.bottom <= bbox[1] + 1 and line.top >= bbox[1] - 40]
    texts = [t for t in (_text_over(line, bbox) for line in above) if t]
    for i in range(len(texts) - 1, max(-1, len(texts) - 3), -1):
        if looks_like_caption(texts[i]):
            return " ".join(texts[i:])[:200]
    return ""


def _caption_below(lines: list[_Line], bbox: tuple[float, float, float, float]) -> str:
    """A "Table N ..." line right under a table (the ACL and IEEE styles put captions there)."""
    from ingest.loaders.text import looks_like_caption

    for i, line in enumerate(lines):
        if bbox[3] - 1 <= line.top <= bbox[3] + 20:
            text = _text_over(line, bbox)
            if looks_like_caption(text):
                # A caption wraps onto the next lines, set as tightly as the first.
                parts, last = [text], line
                left = min(w["x0"] for w in line.words if w["x0"] >= bbox[0] - 10)
                for following in lines[i + 1 : i + 3]:
                    starts = [w["x0"] for w in following.words if w["x0"] >= bbox[0] - 10 and w["x1"] <= bbox[2] + 10]
                    if following.top - last.bottom > 0.6 * last.size or not starts or abs(min(starts) - left) > 3:
                        break
                    parts.append(_text_over(following, bbox))
                    last = following
                return " ".join(parts)[:200]
    return ""


def _text_over(line: _Line, bbox: tuple[float, float, float, float]) -> str:
    """The words of a line that lie over the table's width (not the page's other text column)."""
    words = [w for w in line.words if w["x0"] >= bbox[0] - 10 and w["x1"] <= bbox[2] + 10]
    return _cell(" ".join(w["text"] for w in sorted(words, key=lambda w: w["x0"])))


def open_tables(lines: list[_Line], taken: list[tuple[float, float, float, float]]) -> list[Table]:
    """Tables drawn without grid lines: runs of lines whose word runs fall into the same columns."""
    def inside(line: _Line) -> bool:
        return any(x0 - 1 <= line.words[0]["x0"] <= x1 + 1 and top - 1 <= line.top <= bottom + 1
                   for x0, top, x1, bottom in taken)

    found: list[Table] = []
    block: list[_Line] = []
    for line in [*lines, None]:
        multi = line is not None and not inside(line) and len(line.segments()) >= 2
        if multi and block and line.top - block[-1].bottom > MAX_LINE_GAP_EM * line.size:
            table = _open_table(block, lines)
            if table:
                found.append(table)
            block = []
        if multi:
            block.append(line)
            continue
        if block:
            table = _open_table(block, lines)
            if table:
                found.append(table)
        block = []
    return found


def _columns(block: list[_Line]) -> list[tuple[float, float]]:
    """Column extents: the union of all lines' word runs, split where every line has a gap."""
    spans = sorted(seg for line in block for seg in line.segments())
    if not spans:
        return []
    columns = [list(spans[0])]
    for a, b in spans[1:]:
        if a <= columns[-1][1]:
            columns[-1][1] = max(columns[-1][1], b)
        else:
            columns.append([a, b])
    return [(a, b) for a, b in columns]


def _running_text(lines: list[_Line], block: list[_Line], a: float, b: float) -> bool:
    """Does prose in x-range [a, b] run on right above or below the block (the page's other text
    column beside a table, which shares the table's lines)?"""
    first, last = block[0], block[-1]
    for line in lines:
        near = (0 <= first.top - line.bottom <= 1.5 * first.size) or (0 <= line.top - last.bottom <= 1.5 * last.size)
        if near and len(line.words) >= 4 and all(a - 2 <= w["x0"] and w["x1"] <= b + 2 for w in line.words):
            return True
    return False


def _without_prose(block: list[_Line], lines: list[_Line]) -> list[_Line]:
    """The block with a neighbouring column of running prose (first or last column) taken out."""
    for _ in range(2):
        columns = _columns(block) if block else []
        if len(columns) < 2:
            return block
        for a, b in (columns[0], columns[-1]):
            if _running_text(lines, block, a, b):
                kept = []
                for line in block:
                    words = [w for w in line.words if not (a - 1 <= w["x0"] and w["x1"] <= b + 1)]
                    if words:
                        copy = _Line(words[0])
                        copy.words = words
                        copy.top, copy.bottom, copy.size = line.top, line.bottom, line.size
                        kept.append(copy)
                block = [line for line in kept if len(line.segments()) >= 2]
                break
        else:
            return block
    return block


def _open_table(block: list[_Line], lines: list[_Line]) -> Table | None:
    block = _without_prose(block, lines)
    if len(block) < MIN_OPEN_ROWS:
        return None
    # Headers are often centred over their columns with narrow gaps between them: the columns come
    # from the body lines, and each header word goes to the nearest one.
    columns = _columns(block[1:] if len(block) > MIN_OPEN_ROWS else block)
    grid = []
    for line in block:
        cells: list[list[str]] = [[] for _ in columns]
        for word in sorted(line.words, key=lambda w: w["x0"]):
            centre = (word["x0"] + word["x1"]) / 2
            index = min(range(len(columns)), key=lambda i: max(columns[i][0] - centre, centre - columns[i][1], 0))
            cells[index].append(word["text"])
        grid.append([_cell(" ".join(c)) for c in cells])
    # A wrapped header or cell: a line that fills only columns the line above filled, and is
    # either right under the header or leaves the first (key) column empty, continues that row.
    rows: list[list[str]] = []
    for cells in grid:
        if rows:
            previous = rows[-1]
            subset = all(not c or p for c, p in zip(cells, previous)) and sum(map(bool, cells)) < sum(map(bool, previous))
            if subset and (len(rows) == 1 or not cells[0]):
                rows[-1] = [f"{p} {c}".strip() for p, c in zip(previous, cells)]
                continue
        rows.append(cells)
    bbox = (min(w["x0"] for line in block for w in line.words), block[0].top,
            max(w["x1"] for line in block for w in line.words), block[-1].bottom)
    caption = _caption_above(lines, bbox) or _caption_below(lines, bbox)
    # Most rows of a table fill most of its columns; text laid out in loose columns does not.
    full = sum(1 for row in rows if sum(map(bool, row)) * 5 >= len(columns) * 3)
    if len(columns) < (2 if caption else MIN_OPEN_COLUMNS) or len(rows) < MIN_OPEN_ROWS or full * 5 < len(rows) * 3:
        return None
    # Without a caption next to it, only a table of figures is taken as one: aligned text under a
    # caption elsewhere on the page was mostly formulas and layout when measured.
    if not caption:
        body = [c for row in rows[1:] for c in row if c]
        if sum(1 for c in body if _figure(c)) * 2 < len(body):
            return None
    # Two columns of prose are not a table: some column must hold short cells.
    if not any(sum(len(row[i].split()) <= 4 for row in rows) * 2 >= len(rows) for i in range(len(columns))):
        return None
    return bbox, rows, caption


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


def rows_text(rows: list[list[str]], caption: str = "") -> str:
    """A table's rows with header names carried in, under its caption when it has one."""
    from ingest.loaders.office import table_lines

    lines = list(table_lines([list(r) for r in rows]))
    return "\n".join([caption, *lines] if caption else lines)
