"""OpenDocument text, spreadsheets and presentations (.odt, .ods, .odp) with zipfile and lxml.

ODF is a zip holding `content.xml`; reading that XML directly (rather than through odfpy, which
builds its own DOM of every element and is several times slower) keeps headings with their
outline level, tables as header-carrying rows, sheets and slides as numbered sections.  The XML
is parsed without entity expansion or network access, after the usual zip-bomb checks.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import CorruptFile, EncryptedFile
from ingest.loaders.archive import check_zip
from ingest.loaders.text import clean_text, pop_caption, sections_from_headings, table_block
from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
}
MAX_REPEAT = 100  # a repeated non-empty row or cell is written at most this often


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{_NS[prefix]}}}{local}"


_P, _H, _SPAN, _S, _TAB, _BREAK = _q("text:p"), _q("text:h"), _q("text:span"), _q("text:s"), _q("text:tab"), _q("text:line-break")
_LIST, _LIST_ITEM, _LIST_HEADER = _q("text:list"), _q("text:list-item"), _q("text:list-header")
_NOTE, _NOTE_BODY, _ANNOTATION = _q("text:note"), _q("text:note-body"), _q("office:annotation")
_SECTION, _TABLE, _ROW, _CELL, _COVERED = _q("text:section"), _q("table:table"), _q("table:table-row"), _q("table:table-cell"), _q("table:covered-table-cell")
_FRAME, _TEXT_BOX, _PAGE, _NOTES = _q("draw:frame"), _q("draw:text-box"), _q("draw:page"), _q("presentation:notes")
_STYLE_NAME = _q("text:style-name")
_SKIP_IN_TEXT = {_NOTE, _ANNOTATION, _q("text:tracked-changes"), _q("office:annotation-end")}
_SPLIT_BLOCKS = {_FRAME, _TEXT_BOX, _q("draw:custom-shape"), _q("draw:g")}
_CONTAINERS = {_LIST, _LIST_ITEM, _LIST_HEADER, _SECTION, _q("text:index-body"), _q("table:table-cell"), *_SPLIT_BLOCKS}


def _parse(archive: zipfile.ZipFile, name: str, kind: str) -> Any:
    from lxml import etree

    try:
        data = archive.read(name)
    except KeyError:
        raise CorruptFile(f"corrupt {kind}: {name} is missing") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, recover=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise CorruptFile(f"corrupt {kind}: {name} is not well-formed XML ({str(exc).splitlines()[0][:100]})") from None


def _open(path: Path, kind: str) -> tuple[Any, str]:
    """The content.xml root and the title of an ODF file."""
    check_zip(path, kind.lower())
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "META-INF/manifest.xml" in names:
            manifest = archive.read("META-INF/manifest.xml")
            if b"encryption-data" in manifest:
                raise EncryptedFile(f"password-protected {kind}: open it with its password and save an unprotected copy")
        root = _parse(archive, "content.xml", kind)
        title = ""
        if "meta.xml" in names:
            try:
                found = _parse(archive, "meta.xml", kind).find(f".//{_q('dc:title')}")
                title = clean_text(found.text or "") if found is not None else ""
            except CorruptFile:  # a broken meta.xml must not lose the content
                pass
    return root, title


def _inline(element: Any, out: list[str], boxes: list[Any]) -> None:
    """Text of a paragraph's inline content; frames and text boxes are collected, not inlined."""
    if element.text:
        out.append(element.text)
    for child in element:
        tag = child.tag
        if tag == _S:
            out.append(" " * min(int(child.get(_q("text:c"), "1") or 1), 100))
        elif tag == _TAB:
            out.append("\t")
        elif tag == _BREAK:
            out.append("\n")
        elif tag in _SPLIT_BLOCKS:
            boxes.append(child)
        elif tag not in _SKIP_IN_TEXT:
            _inline(child, out, boxes)
        if child.tail:
            out.append(child.tail)


def paragraph_text(element: Any) -> tuple[str, list[Any]]:
    out: list[str] = []
    boxes: list[Any] = []
    _inline(element, out, boxes)
    return "".join(out), boxes


def table_rows(table: Any) -> Iterator[list[str]]:
    """Cell texts per row; repeated rows and cells expanded (bounded).

    A cell covered by one spanning rows above shows that cell's text, so every row keeps its key
    ("Region: East" on each East row); one covered by a cell spanning columns stays empty (the
    value is read once).
    """
    from ingest.loaders.office import MAX_TABLE_COLUMNS

    down: dict[int, tuple[str, int]] = {}  # column -> (text, last row index) of a cell spanning rows
    index = 0
    for row in table.iter(_ROW):
        cells: list[str] = []
        for cell in row:
            if cell.tag not in (_CELL, _COVERED):
                continue
            text = " ".join(" ".join(paragraph_text(p)[0] for p in cell.iter(_P, _H)).split())
            column = len(cells)
            if cell.tag == _COVERED and not text and column in down and down[column][1] >= index:
                text = down[column][0]
            spanned = _int(cell.get(_q("table:number-rows-spanned")))
            if cell.tag == _CELL and spanned > 1 and text:
                down[column] = (text, index + spanned - 1)
            repeat = int(cell.get(_q("table:number-columns-repeated"), "1") or 1)
            # A sheet's last cell is often repeated to column 1024 or 16384: pad only while it matters.
            repeat = min(repeat, MAX_REPEAT if text else max(0, MAX_TABLE_COLUMNS - len(cells)))
            cells.extend([text] * repeat)
            if len(cells) >= MAX_TABLE_COLUMNS:
                break
        repeat = int(row.get(_q("table:number-rows-repeated"), "1") or 1)
        index += repeat
        for _ in range(min(repeat, MAX_REPEAT) if any(cells) else 1):
            yield cells


def _int(value: str | None) -> int:
    try:
        return int(value or 1)
    except ValueError:
        return 1


def _body_lines(element: Any, lines: list[tuple[int, str | None] | str], styles: dict[str, str]) -> None:
    """Walk text content in document order: headings, paragraphs, lists, tables, text boxes."""
    from ingest.loaders.office import table_lines

    last_style = ""
    for child in element:
        tag = child.tag
        if tag == _H:
            text, boxes = paragraph_text(child)
            level = int(child.get(_q("text:outline-level"), "1") or 1)
            if text.strip():
                lines.append((max(1, min(level, 9)), " ".join(text.split())))
            for box in boxes:
                _body_lines(box, lines, styles)
        elif tag == _P:
            text, boxes = paragraph_text(child)
            lines.append(text)
            if text.strip():
                last_style = child.get(_STYLE_NAME, "")
                last_style = styles.get(last_style, last_style)
            for box in boxes:
                _body_lines(box, lines, styles)
        elif tag == _TABLE:
            caption = pop_caption(lines, last_style)
            lines.extend(table_block(list(table_lines(table_rows(child))), caption))
        elif tag in _CONTAINERS:
            _body_lines(child, lines, styles)


def _style_parents(root: Any) -> dict[str, str]:
    # Automatic styles ("P3") wrap named ones ("Table" for LibreOffice's table captions).
    parents = {}
    for style in root.iter(_q("style:style")):
        name = style.get(_q("style:name"))
        parent = style.get(_q("style:parent-style-name"))
        if name and parent:
            parents[name] = parent
    return parents


def _footnotes(root: Any) -> str:
    notes = []
    for body in root.iter(_NOTE_BODY):
        text = " ".join(" ".join(paragraph_text(p)[0] for p in body.iter(_P)).split())
        if text:
            notes.append(text)
    return "\n".join(notes)


def load_odt(path: Path, options: LoadOptions) -> LoadedDocument:
    """OpenDocument text: one Section per heading block, tables as rows, footnotes at the end."""
    root, title = _open(path, "ODT")
    body = root.find(f"{_q('office:body')}/{_q('office:text')}")
    if body is None:
        raise CorruptFile("corrupt ODT: content.xml has no text body (is it another OpenDocument type?)")
    lines: list[tuple[int, str | None] | str] = []
    _body_lines(body, lines, _style_parents(root))
    sections = sections_from_headings(lines)
    notes = clean_text(_footnotes(body))
    if notes:
        sections.append(Section(text=notes, label="footnotes"))
    return LoadedDocument(file_type="odt", sections=sections, title=title)


def load_ods(path: Path, options: LoadOptions) -> LoadedDocument:
    """OpenDocument spreadsheet: one Section per sheet, rows with header names carried in."""
    from ingest.loaders.office import MAX_TABLE_ROWS, table_lines

    root, title = _open(path, "ODS")
    body = root.find(f"{_q('office:body')}/{_q('office:spreadsheet')}")
    if body is None:
        raise CorruptFile("corrupt ODS: content.xml has no spreadsheet body")
    sheets = body.findall(_TABLE)
    warnings: list[str] = []
    if len(sheets) > options.max_pages:
        warnings.append(f"only the first {options.max_pages} of {len(sheets)} sheets were read")
    sections = []
    for number, sheet in enumerate(sheets[: options.max_pages], start=1):
        name = sheet.get(_q("table:name"), f"Sheet{number}")
        rows = []
        for count, row in enumerate(table_rows(sheet)):
            if count >= MAX_TABLE_ROWS:
                warnings.append(f"sheet {name!r}: only the first {MAX_TABLE_ROWS} rows were read")
                break
            rows.append(row)
        text = clean_text("\n".join(table_lines(rows)))
        if text:
            sections.append(Section(text=text, page=number, label=name, heading_path=(name,)))
    return LoadedDocument(file_type="ods", sections=sections, pages=len(sheets), title=title, warnings=warnings)


def load_odp(path: Path, options: LoadOptions) -> LoadedDocument:
    """OpenDocument presentation: one Section per slide with its title, notes after the slide text."""
    root, title = _open(path, "ODP")
    body = root.find(f"{_q('office:body')}/{_q('office:presentation')}")
    if body is None:
        raise CorruptFile("corrupt ODP: content.xml has no presentation body")
    pages = body.findall(_PAGE)
    warnings: list[str] = []
    if len(pages) > options.max_pages:
        warnings.append(f"only the first {options.max_pages} of {len(pages)} slides were read")
    sections = []
    styles = _style_parents(root)
    for number, page in enumerate(pages[: options.max_pages], start=1):
        slide_title = ""
        lines: list[tuple[int, str | None] | str] = []
        notes: list[tuple[int, str | None] | str] = []
        for child in page:
            if child.tag == _NOTES:
                _body_lines(child, notes, styles)
                continue
            if child.tag == _FRAME and child.get(_q("presentation:class")) == "title" and not slide_title:
                slide_title = " ".join(" ".join(paragraph_text(p)[0] for p in child.iter(_P, _H)).split())[:120]
            _body_lines(child, lines, styles)
        flat = [line if isinstance(line, str) else (line[1] or "") for line in lines]
        notes_text = clean_text("\n".join(line if isinstance(line, str) else (line[1] or "") for line in notes))
        if notes_text:
            flat += ["", "Notes:", notes_text]
        text = clean_text("\n".join(flat))
        if text:
            sections.append(Section(text=text, page=number, heading_path=(slide_title,) if slide_title else ()))
    return LoadedDocument(file_type="odp", sections=sections, pages=len(pages), title=title, warnings=warnings)
