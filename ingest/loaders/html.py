"""HTML pages and EPUB books: the main text, split into sections at h1-h6 headings.

Parsing is from bytes only (BeautifulSoup over lxml), so nothing remote is ever fetched: no
URL is resolved, no image or stylesheet loaded.  Markup that is not content (scripts, styles,
navigation, page headers/footers) is dropped; if that leaves nothing, the page is read whole.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.loaders.archive import check_zip
from ingest.loaders.office import MAX_HEADER_ROWS, header_table_lines
from ingest.loaders.text import (TABLE_LEVEL, clean_text, decode_bytes, detect_encoding, looks_like_caption, read_bounded,
                                 sections_from_headings)
from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

_NEVER_TEXT = ("script", "style", "noscript", "template", "iframe", "svg", "canvas", "object",
               "embed", "head", "button", "select", "math", "ix:header")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_INNER_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
_BOILERPLATE = ("nav", "footer", "header", "aside")
_BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "search"}
_LINES = {"li", "tr", "dt", "dd", "option"}
_BLOCKS = {"p", "div", "section", "article", "main", "ul", "ol", "dl", "table",
           "thead", "tbody", "tfoot", "blockquote", "pre", "figure", "figcaption", "form", "fieldset",
           "address", "hr", "caption", "details", "summary", "body", "center"}
_HEADING = re.compile(r"^h([1-6])$")
_MARK = "\x1e"  # a record separator marks heading lines in the flattened text (cleaned out below)
_MARK_ROW = "\x1f"  # a unit separator marks formatted table rows, kept as they are
_SPACES = re.compile(r"[ \t\u00a0\u200b]+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _decode_html(data: bytes) -> str:
    # BOM and UTF-16 first (a UTF-16 page's own <meta charset> is unreadable as bytes), then the
    # page's declared charset, then detection.  Decoding ourselves keeps bs4 from guessing again.
    encoding = detect_encoding(data[:4096]) if data[:4] and (data[:3] == b"\xef\xbb\xbf" or b"\x00" in data[:4096]) else None
    if encoding and encoding != "utf-8":
        return data.decode(encoding, errors="replace")
    declared = _META_CHARSET.search(data[:8192])
    if declared:
        import codecs

        name = declared.group(1).decode("ascii").lower()
        try:
            codecs.lookup(name)
        except LookupError:
            name = ""
        if name:
            # Browsers read a declared latin-1/ascii page as cp1252 (WHATWG encoding standard).
            name = "cp1252" if name in {"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"} else name
            return data.decode(name, errors="replace")
    return decode_bytes(data)


def _flatten(node: Any, out: list[str], pre: bool = False) -> None:
    """Append the text of `node` to `out`, with newlines between blocks and marked headings."""
    from bs4 import Comment, NavigableString, Tag

    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            text = str(child)
            out.append(text if pre else _SPACES.sub(" ", text.replace("\n", " ")))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        heading = _HEADING.match(name)
        if heading:
            text = " ".join(child.get_text(" ").split())
            if text:
                out.append(f"\n{_MARK}{heading.group(1)}{_MARK}{text}\n")
            continue
        if name == "br":
            out.append("\n")
        elif name == "table" and _is_data_table(child):
            _table(child, out)
        elif name in _CAPTION_TAGS and _caption_of_next_table(child):
            continue  # read as the table's caption, not as a paragraph of its own
        elif name in ("td", "th"):
            out.append(" | ")
            _flatten(child, out, pre)
        elif name in _LINES:
            # Rows and list items are lines, not paragraphs: no blank line between them.
            out.append("\n")
            _flatten(child, out, pre)
        elif name in _BLOCKS:
            out.append("\n")
            _flatten(child, out, pre or name == "pre")
            out.append("\n")
        else:
            _flatten(child, out, pre)


_CAPTION_TAGS = {"p", "div", "span", "b", "strong", "em", "i", "figcaption"}
_CAPTION_ATTR = "data-localkb-caption"


def _caption_of_next_table(tag: Any) -> bool:
    """Whether `tag` is a "Table 3: ..." paragraph right before a data table without a <caption>;
    if so, the table is marked to take it as its caption."""
    from bs4 import Tag

    table = tag.find_next_sibling()
    if not isinstance(table, Tag) or table.name != "table" or not _is_data_table(table) or table.find("caption"):
        return False
    text = " ".join(tag.get_text(" ").split())
    if not looks_like_caption(text, " ".join(tag.get("class") or [])):
        return False
    table[_CAPTION_ATTR] = text
    return True


def _is_data_table(table: Any) -> bool:
    # Pages laid out with tables nest them; only a table without tables inside is data.
    return table.find("table") is None


def _span(cell: Any, attr: str, most: int) -> int:
    try:
        return min(max(int(cell.get(attr, 1)), 1), most)
    except (TypeError, ValueError):
        return 1


def _cell_rows(table: Any) -> tuple[list[list[str]], int]:
    """Cell texts per row on the table's grid, and how many leading rows are a declared header.

    HTML's own table model, which no parser we use applies: a cell spanning rows fills that
    column in the rows below (so each row keeps its key: "Region: East" on every East row, not
    only the first, and the cells after it keep their columns), a header cell spanning columns
    names each of them ("Revenue" over Q1..Q4); a data cell spanning columns is read once; a
    row span ends with its row group (<thead>, <tbody>).
    Header rows are those in <thead>, or leading rows of <th> cells only.
    """
    rows: list[list[str]] = []
    header_rows = 0
    in_header = True
    above: dict[int, tuple[str, int]] = {}  # column -> (text, rows still to fill) of a rowspan above
    group = None
    for tr in table.find_all("tr"):
        if tr.parent is not group:  # a rowspan ends with its <thead>/<tbody>/<tfoot>, as browsers clip it
            group = tr.parent
            above.clear()
        row: list[str] = []
        cells = tr.find_all(("td", "th"), recursive=False)
        header_like = bool(cells) and (tr.find_parent("thead") is not None or all(c.name == "th" for c in cells))
        for cell in cells:
            _from_above(row, above)
            text = " ".join(cell.get_text(" ").split())
            rowspan = _span(cell, "rowspan", 10_000)
            for k in range(_span(cell, "colspan", 50)):
                value = text if k == 0 or header_like else ""
                if rowspan > 1:
                    above[len(row)] = (value, rowspan - 1)
                row.append(value)
        _from_above(row, above)
        for column in sorted(c for c in above if c > len(row)):  # spans past this row's last cell
            row.extend([""] * (column - len(row)))
            _from_above(row, above)
        if not any(row):
            continue
        if in_header and header_like and header_rows < MAX_HEADER_ROWS:
            header_rows += 1
        else:
            in_header = False
        rows.append(row)
    if header_rows >= len(rows):  # a table of <th> only: its first row names the rest
        header_rows = 1 if len(rows) > 1 else 0
    return rows, header_rows


def _from_above(row: list[str], above: dict[int, tuple[str, int]]) -> None:
    """Fill the columns at the end of `row` that a cell above still spans."""
    while len(row) in above:
        text, left = above.pop(len(row))
        if left > 1:
            above[len(row)] = (text, left - 1)
        row.append(text)


def _table(table: Any, out: list[str]) -> None:
    """A data table as rows that carry their column names, its caption as their heading."""
    rows, header_rows = _cell_rows(table)
    caption_tag = table.find("caption")
    caption = " ".join(caption_tag.get_text(" ").split()) if caption_tag else table.get(_CAPTION_ATTR, "")
    lines = header_table_lines(rows, header_rows)
    if not lines:
        return
    body = "\n".join(_MARK_ROW + line for line in lines)
    if caption:
        out.append(f"\n{_MARK}{TABLE_LEVEL}{_MARK}{caption}\n{body}\n{_MARK}{TABLE_LEVEL}{_MARK}\n")
    else:
        out.append(f"\n{body}\n\n")


def html_sections(html: str | bytes) -> tuple[str, list[Section]]:
    """Title and heading sections of an HTML document."""
    import warnings

    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    if isinstance(html, bytes):
        html = _decode_html(html)
    with warnings.catch_warnings():
        # XHTML (EPUB chapters) is read with the HTML parser on purpose: it never fails on bad XML.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup.find_all(_NEVER_TEXT):
        tag.decompose()
    # Hidden blocks are machine data (the XBRL header of SEC filings) or menus, not content.
    for tag in soup.find_all(style=_HIDDEN_STYLE):
        if not tag.decomposed:
            tag.decompose()
    root = soup.body or soup
    sections = _sections(root, strip_boilerplate=True) or _sections(root, strip_boilerplate=False)
    return title, sections


def _sections(root: Any, strip_boilerplate: bool) -> list[Section]:
    import copy

    if strip_boilerplate:
        root = copy.copy(root)
        for tag in root.find_all(_BOILERPLATE):
            tag.decompose()
        for tag in root.find_all(attrs={"role": True}):
            if not tag.decomposed and tag.get("role") in _BOILERPLATE_ROLES:
                tag.decompose()
        for tag in root.find_all(attrs={"hidden": True}):
            if not tag.decomposed:
                tag.decompose()
    parts: list[str] = []
    _flatten(root, parts)
    lines: list[tuple[int, str | None] | str] = []
    for line in "".join(parts).split("\n"):
        if line.startswith(_MARK):
            _, level, text = line.split(_MARK, 2)
            lines.append((int(level), text or None))
            continue
        if line.startswith(_MARK_ROW):  # a table row, already formatted
            lines.append(line[len(_MARK_ROW):])
            continue
        # Table cells were flattened with " | " before each one; the edges carry no meaning.
        stripped = line.strip()
        if stripped.startswith("|") or stripped.endswith("|"):
            line = stripped.strip("|").strip()
        line = _INNER_SPACES.sub(" ", line.rstrip())
        if line.strip() or (lines and lines[-1] != ""):  # nested blocks: at most one blank line
            lines.append(line if line.strip() else "")
    return sections_from_headings(lines)


def load_html(path: Path, options: LoadOptions) -> LoadedDocument:
    """An HTML page: one Section per heading block."""
    warnings: list[str] = []
    # A cut page still parses (lxml closes what is open); a whole 200 MB page would need ~10x that.
    title, sections = html_sections(read_bounded(path, warnings))
    return LoadedDocument(file_type="html", sections=sections, title=clean_text(title), warnings=warnings)


def load_epub(path: Path, options: LoadOptions) -> LoadedDocument:
    """An EPUB book: one Section group per spine document, page = chapter number in reading order."""
    check_zip(path, "epub")
    import ebooklib
    from ebooklib import epub

    book = epub.read_epub(str(path), options={"ignore_ncx": True})
    warnings: list[str] = []
    sections: list[Section] = []
    documents = []
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            documents.append(item)
    if len(documents) > options.max_pages:
        warnings.append(f"only the first {options.max_pages} of {len(documents)} chapters were read")
    for number, item in enumerate(documents[: options.max_pages], start=1):
        _title, chapter = html_sections(item.get_content())
        sections.extend(Section(text=s.text, page=number, heading_path=s.heading_path) for s in chapter)
    titles = book.get_metadata("DC", "title")
    title = clean_text(titles[0][0]) if titles and titles[0][0] else ""
    return LoadedDocument(file_type="epub", sections=sections, pages=len(documents), title=title, warnings=warnings)
