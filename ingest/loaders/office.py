"""Office Open XML documents (docx, pptx, xlsx) and delimited text tables (csv, tsv).

Tables become one line per row.  When the first row looks like a header, every later row carries
the header names ("Region: North; Sales: 120"), so a chunk cut out of the middle of a table still
says what its numbers mean; otherwise cells are joined with " | ".
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.loaders.archive import check_zip
from ingest.loaders.text import clean_text, decode_bytes, pop_caption, read_bounded, sections_from_headings, table_block
from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

MAX_TABLE_ROWS = 100_000  # per sheet / csv file; beyond this rows are dropped with a warning
MAX_TABLE_COLUMNS = 512
# Leading header rows joined into column names ("Revenue / Q3"); deeper ones are rare and a name
# made of four levels is no longer something a question repeats.
MAX_HEADER_ROWS = 3
ROWS_PER_SECTION = 500  # csv rows per Section, so one section never holds a whole database dump

_NUMBER = re.compile(r"^[\s$€£¥%+\-.,()\d]*$")


# ---------------------------------------------------------------- tables


def cell_text(value: Any) -> str:
    """A spreadsheet/csv cell as the text a person would read."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return " ".join(str(value).split())


def looks_like_header(row: list[str]) -> bool:
    """A header row: mostly filled, distinct names, none of them a plain number."""
    names = [c for c in row if c]
    if len(names) < max(1, (len(row) + 1) // 2) or len(set(names)) != len(names):
        return False
    # Column names are short; a row of sentences is data even when it comes first.
    short = all(len(c) <= 80 for c in names) and sum(map(len, names)) <= 30 * len(names)
    return short and not any(_NUMBER.match(c) for c in names)


def format_row(row: list[str], header: list[str] | None) -> str:
    if header is None:
        return " | ".join(row).strip(" |")
    parts = []
    for i, value in enumerate(row):
        if not value:
            continue
        name = header[i] if i < len(header) else ""
        parts.append(f"{name}: {value}" if name else value)
    return "; ".join(parts)


def table_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """Text lines for a table, with header names carried into rows when there is a header.

    The header is the first row about as wide as the table; narrower rows above it (a sheet
    title, a note) are kept as plain lines instead of becoming column names.
    """
    pending: list[list[str]] = []
    header: list[str] | None = None
    decided = False
    for row in rows:
        end = len(row)
        while end and not row[end - 1]:  # one slice, not one per empty cell (rows 512 wide)
            end -= 1
        row = row[:end]
        if not row:
            continue
        if decided:
            yield format_row(row, header)
            continue
        pending.append(row)
        if len(pending) < 10:
            continue
        decided = True
        header, lines = _split_header(pending)
        yield from lines
    if not decided:
        _, lines = _split_header(pending)
        yield from lines


def _split_header(rows: list[list[str]]) -> tuple[list[str] | None, list[str]]:
    width = max((sum(1 for c in r if c) for r in rows), default=0)
    lines: list[str] = []
    for i, row in enumerate(rows):
        filled = sum(1 for c in row if c)
        # One filled cell is a title above a wider table, not a header naming one column.
        if 2 * filled >= width and (filled > 1 or width == 1):
            if looks_like_header(row) and i + 1 < len(rows):
                header = row
                lines.append(format_row(row, None))
                lines.extend(format_row(r, header) for r in rows[i + 1 :])
                return header, lines
            break
        lines.append(format_row(row, None))
    return None, lines + [format_row(r, None) for r in rows[len(lines) :]]


# ---------------------------------------------------------------- docx

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)


def _docx_heading_level(paragraph: Any, styles: Any, cache: dict[str | None, int | None]) -> int | None:
    """Heading level from the style name (Title, Heading N) or the outline level, else None."""
    from docx.oxml.ns import qn

    p_pr = paragraph._p.pPr
    if p_pr is not None:
        outline = p_pr.find(qn("w:outlineLvl"))
        if outline is not None:
            value = int(outline.get(qn("w:val"), "9"))
            return value + 1 if value < 9 else None
    style_id = paragraph._p.style
    if style_id in cache:
        return cache[style_id]
    level: int | None = None
    # Looking a style up by id is an XPath search; a long document repeats a handful of styles, so
    # the answer is cached per style id (handbook-872p.docx has ~20k paragraphs).
    style = styles.element.get_by_id(style_id) if style_id else None
    seen = 0
    while style is not None and level is None and seen < 10:
        name = style.name_val or ""
        match = _HEADING_STYLE.match(name)
        if match:
            level = int(match.group(1))
        elif name.lower() == "title":
            level = 1
        else:
            outline = style.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
            if outline is not None and int(outline.get(qn("w:val"), "9")) < 9:
                level = int(outline.get(qn("w:val"))) + 1
        based_on = style.basedOn_val
        style = styles.element.get_by_id(based_on) if based_on else None
        seen += 1
    cache[style_id] = level
    return level


def _docx_paragraph_text(paragraph: Any) -> str:
    from docx.oxml.ns import qn

    text = paragraph.text
    # Text boxes (drawing shapes) live inside runs and python-docx's paragraph.text skips them.
    boxes = paragraph._p.findall(f".//{qn('w:txbxContent')}")
    for box in boxes:
        for p in box.iter(qn("w:p")):
            inner = "".join(t.text or "" for t in p.iter(qn("w:t")))
            if inner.strip():
                text += "\n" + inner
    return text


def _docx_table(table: Any) -> tuple[list[list[str]], int]:
    """Cell texts per row on the table's grid, and how many leading rows are its header.

    Header rows are those Word repeats at the top of each page (w:tblHeader), or, undeclared, a
    first row whose cells span columns over a second row that names them ("2024" over "Sales |
    Units", its row key merged down both rows), or that first row alone.  In header rows a cell
    spanning columns names each of them, as in HTML."""
    from docx.oxml.ns import qn

    # Read the w:tc elements directly: python-docx's row.cells repeats merged cells and raises on
    # rows whose grid does not add up (grid_offset_error.docx), which Word itself tolerates.
    above: dict[int, str] = {}  # grid column -> text of the last cell there, below the first row
    above_any: dict[int, str] = {}  # the same, the first row included (for header reading)
    rows: list[list[str]] = []  # data reading: a spanning cell once, merged-down keys repeated
    names: list[list[str]] = []  # header reading of the first rows: a spanning cell in each column it covers
    spanned: set[int] = set()  # the grid columns the first row's cells spanning columns cover
    declared = 0
    for number, tr in enumerate(table._tbl.tr_lst):
        column = _int_attr(tr, "grid_before", 0)
        cells, wide, covered = [""] * column, [""] * column, set()
        own = False  # a row holding only what merged cells above carry into it adds nothing
        for tc in tr.tc_lst:
            paragraphs = ("".join(t.text or "" for t in p.iter(qn("w:t"))) for p in tc.iter(qn("w:p")))
            text = " ".join(" ".join(paragraphs).split())
            own = own or bool(text)
            carried = carried_any = ""
            if not text and getattr(tc, "vMerge", None) == "continue":
                # A cell merged with the one above shows its text: every row keeps its key
                # ("Region: East" on each East row), not only the first.  A first-row (header)
                # cell merged downwards names its column: it is no value in the rows below.
                carried, carried_any = above.get(column, ""), above_any.get(column, "")
            if number:
                above[column] = text or carried
            above_any[column] = text or carried_any
            span = max(1, _int_attr(tc, "grid_span", 1))
            cells.append(text or carried)
            # A cell spanning columns is padded so later cells stay under their header names.
            cells.extend([""] * (span - 1))
            wide.extend([text or carried_any] * span)
            if span > 1:
                covered.update(range(column, column + span))
            column += span
        if not own:
            continue
        trpr = tr.trPr
        mark = trpr.find(qn("w:tblHeader")) if trpr is not None else None
        # A title spanning the table names no column, even in a repeated header row.
        if (declared == len(rows) and mark is not None and mark.get(qn("w:val"), "1") not in ("0", "false", "off")
                and len({c for c in wide if c}) > 1):
            declared += 1
        if not rows:
            spanned = covered
        if len(rows) < MAX_HEADER_ROWS:
            names.append(wide)
        rows.append(cells)
    header_rows = min(declared, MAX_HEADER_ROWS)
    if header_rows >= len(rows):  # every row marked as header: the first names the rest
        header_rows = 1 if len(rows) > 1 else 0
    elif not header_rows and len(rows) > 1 and spanned and sum(1 for c in rows[0] if c) > 1:
        if len(rows) > 2 and _names_spanned_columns(rows[1], spanned):
            header_rows = 2
        elif looks_like_header(rows[0]):
            header_rows = 1
    return names[:header_rows] + rows[header_rows:], header_rows


def _names_spanned_columns(row: list[str], spanned: set[int]) -> bool:
    """A second header row: it names (twice or more) the columns the first row's spanning cells
    cover, and holds nothing elsewhere (a data row has its own key in the first column)."""
    under = [c for i, c in enumerate(row) if c and i in spanned]
    elsewhere = [c for i, c in enumerate(row) if c and i not in spanned]
    return len(under) > 1 and not elsewhere and not any(_NUMBER.match(c) or len(c) > 80 for c in under)


def column_names(header_rows: list[list[str]]) -> list[str]:
    """One name per column from stacked header rows, top-down: "Revenue / Q3"."""
    width = max(len(r) for r in header_rows)
    names = []
    for i in range(width):
        parts: list[str] = []
        for r in header_rows:
            value = r[i] if i < len(r) else ""
            if value and value not in parts:
                parts.append(value)
        names.append(" / ".join(parts))
    return names


def header_table_lines(rows: list[list[str]], header_rows: int) -> list[str]:
    """Text lines for a table whose leading `header_rows` rows are known to be its header."""
    if header_rows and len(rows) > header_rows and max(len(r) for r in rows) > 1:
        header = column_names(rows[:header_rows])
        return [format_row(header, None)] + [format_row(r, header) for r in rows[header_rows:]]
    return list(table_lines(rows))


def _int_attr(element: Any, name: str, default: int) -> int:
    try:
        return int(getattr(element, name, default) or default)
    except (TypeError, ValueError):
        return default


def load_docx(path: Path, options: LoadOptions) -> LoadedDocument:
    """Word document: paragraphs and tables in order, one Section per heading block."""
    check_zip(path, "docx")
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    styles = document.styles
    cache: dict[str | None, int | None] = {}
    lines: list[tuple[int, str | None] | str] = []
    last_style = ""  # style id of the paragraph just before, to recognise a table's caption
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            caption = pop_caption(lines, last_style)
            lines.extend(table_block(header_table_lines(*_docx_table(block)), caption))
            last_style = ""
            continue
        text = _docx_paragraph_text(block)
        level = _docx_heading_level(block, styles, cache) if text.strip() else None
        lines.append((level, " ".join(text.split())) if level else text)
        if text.strip():
            last_style = block._p.style or ""
    sections = sections_from_headings(lines)

    # Page headers/footers repeat on every page; keep each distinct one once, at the end.
    seen: dict[str, None] = {}
    for section in document.sections:
        for part in (section.header, section.first_page_header, section.even_page_header,
                     section.footer, section.first_page_footer, section.even_page_footer):
            try:
                if part.is_linked_to_previous:
                    continue
                text = clean_text("\n".join(p.text for p in part.paragraphs))
            except Exception:  # a damaged header part must not lose the body text
                continue
            if text:
                seen.setdefault(text, None)
    warnings: list[str] = []
    if not any(s.text.strip() for s in sections) and options.ocr:
        # Pictures only (a scanned letter pasted into Word): their text is what the file says.
        parts = document.part.related_parts
        # Every picture in reading order, inline or floating; a linked one (r:link) is never fetched.
        ids = document.element.body.xpath(".//a:blip/@r:embed")
        text = _ocr_pictures((parts[i].blob for i in dict.fromkeys(ids) if i in parts), options, warnings)
        if text:
            sections.append(Section(text=text, ocr=True))
    if seen:
        sections.append(Section(text="\n".join(seen), label="headers and footers"))
    title = (document.core_properties.title or "").strip()
    return LoadedDocument(file_type="docx", sections=sections, title=title, warnings=warnings)


# Pictures read by OCR in one file without text: enough for a scanned letter or form, bounded so a
# catalogue of photos does not spend the file's whole time budget.
MAX_OCR_PICTURES = 50


def _ocr_pictures(blobs: Iterable[bytes], options: LoadOptions, warnings: list[str]) -> str:
    """OCR text of pictures (bytes of PNG, JPEG, ...), in order; pictures PIL cannot read are skipped."""
    import io

    from PIL import Image

    from ingest.loaders.ocr import MAX_IMAGE_PIXELS, ocr_image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    texts: list[str] = []
    for count, blob in enumerate(blobs):
        if count >= MAX_OCR_PICTURES:
            warnings.append(f"only the first {MAX_OCR_PICTURES} pictures were read by OCR")
            break
        if options.ocr_deadline is not None and time.monotonic() > options.ocr_deadline:
            warnings.append("some pictures were not read: OCR ran out of this file's time budget "
                            "(settings: ingest.file_timeout_s)")
            break
        try:
            image = Image.open(io.BytesIO(blob))
            image.load()
        except Exception:  # a WMF/EMF drawing or a damaged picture: nothing to read
            continue
        text = ocr_image(image)
        if text.strip():
            texts.append(text)
    return clean_text("\n\n".join(texts))


# ---------------------------------------------------------------- pptx


def _pptx_shape_lines(shapes: Iterable[Any]) -> Iterator[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _pptx_shape_lines(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = ([" ".join(c.text.split()) for c in row.cells] for row in shape.table.rows)
            yield from table_lines(rows)
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            text = shape.text_frame.text
            if text.strip():
                yield text


def _pptx_pictures(shapes: Iterable[Any]) -> Iterator[bytes]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _pptx_pictures(shape.shapes)
        elif shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
            try:
                yield shape.image.blob
            except Exception:  # a linked (external) picture has no bytes here, and is never fetched
                continue


def load_pptx(path: Path, options: LoadOptions) -> LoadedDocument:
    """PowerPoint: one Section per slide (text of every shape, tables, groups, notes)."""
    check_zip(path, "pptx")
    from pptx import Presentation

    presentation = Presentation(str(path))
    slides = list(presentation.slides)
    warnings: list[str] = []
    if len(slides) > options.max_pages:
        warnings.append(f"only the first {options.max_pages} of {len(slides)} slides were read")
    sections = []
    for number, slide in enumerate(slides[: options.max_pages], start=1):
        title_shape = slide.shapes.title
        title = ""
        if title_shape is not None and title_shape.has_text_frame:
            # Some decks misuse the title placeholder for a whole text block: keep its first line.
            first = next((line for line in title_shape.text_frame.text.splitlines() if line.strip()), "")
            title = " ".join(first.split())[:120]
        lines = list(_pptx_shape_lines(slide.shapes))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                lines += ["", "Notes:", notes.text]
        text = clean_text("\n".join(lines).replace("\x0b", "\n"))
        if text:
            sections.append(Section(text=text, page=number, heading_path=(title,) if title else ()))
        elif options.ocr:
            # A slide that is only pictures (a scanned page, a screenshot of a table): read them.
            text = _ocr_pictures(_pptx_pictures(slide.shapes), options, warnings)
            if text:
                sections.append(Section(text=text, page=number, ocr=True))
    title = (presentation.core_properties.title or "").strip()
    return LoadedDocument(file_type="pptx", sections=sections, pages=len(slides), title=title, warnings=warnings)


# ---------------------------------------------------------------- xlsx


def load_xlsx(path: Path, options: LoadOptions) -> LoadedDocument:
    """Excel workbook: one Section per sheet, rows with header names carried in."""
    check_zip(path, "xlsx")
    import openpyxl

    workbook = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    warnings: list[str] = []
    sections = []
    try:
        sheets = workbook.worksheets
        if len(sheets) > options.max_pages:
            warnings.append(f"only the first {options.max_pages} of {len(sheets)} sheets were read")
        for number, sheet in enumerate(sheets[: options.max_pages], start=1):
            if not hasattr(sheet, "iter_rows"):  # chart sheets hold no cells
                continue
            rows = []
            # Read-only rows are padded to max_col: pass none for a sheet without a stated size (what
            # streaming writers make), or a 4-column sheet costs 512 cells a row (50,000 rows took
            # minutes, not seconds), and never more than the sheet says it has.
            width = min(sheet.max_column, MAX_TABLE_COLUMNS) if sheet.max_column else None
            for count, row in enumerate(sheet.iter_rows(values_only=True, max_col=width)):
                if count >= MAX_TABLE_ROWS:
                    warnings.append(f"sheet {sheet.title!r}: only the first {MAX_TABLE_ROWS} rows were read")
                    break
                rows.append([cell_text(v) for v in row[:MAX_TABLE_COLUMNS]])
            text = clean_text("\n".join(table_lines(rows)))
            if text:
                sections.append(Section(text=text, page=number, label=sheet.title, heading_path=(sheet.title,)))
        title = (workbook.properties.title or "").strip() if workbook.properties else ""
        return LoadedDocument(file_type="xlsx", sections=sections, pages=len(sheets), title=title, warnings=warnings)
    finally:
        workbook.close()  # read-only workbooks keep the zip open until closed


# ---------------------------------------------------------------- csv / tsv


def _dialect(sample: str, suffix: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        pass
    # The sniffer gives up on ragged or single-column files; count candidates on the first lines.
    head = sample.split("\n", 20)[:20]
    default = "\t" if suffix == ".tsv" else ","
    counts = {d: sum(line.count(d) for line in head) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: (counts[d], d == default))
    if counts[delimiter] == 0:
        delimiter = default

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    return Dialect


def load_csv(path: Path, options: LoadOptions) -> LoadedDocument:
    """CSV/TSV: header-carrying rows, split into sections of ROWS_PER_SECTION rows."""
    import io

    warnings: list[str] = []
    text = decode_bytes(read_bounded(path, warnings)).replace("\x00", "")
    suffix = path.suffix.lower()
    dialect = _dialect(text[:64 * 1024], suffix)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows = []
    for count, row in enumerate(reader):
        if count >= MAX_TABLE_ROWS:
            warnings.append(f"only the first {MAX_TABLE_ROWS} rows were read")
            break
        rows.append([" ".join(c.split()) for c in row[:MAX_TABLE_COLUMNS]])
    lines = list(table_lines(rows))
    sections = []
    for start in range(0, len(lines), ROWS_PER_SECTION):
        part = lines[start : start + ROWS_PER_SECTION]
        label = f"rows {start + 1}-{start + len(part)}"
        sections.append(Section(text=clean_text("\n".join(part)), label=label))
    return LoadedDocument(file_type=suffix.lstrip("."), sections=sections, warnings=warnings)
