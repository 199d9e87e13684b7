"""Rich Text Format (.rtf) with striprtf, a small pure-Python reader.

striprtf drops formatting and keeps the text, writing a table row as "cell|cell|".  Two things
are added around it: paragraphs with an outline level (\\outlinelevelN, what Word writes for
headings) are marked before conversion so they become heading sections, and runs of table rows
become header-carrying rows like every other table ("Region: East; Revenue: 1.2 M").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import CorruptFile
from ingest.loaders.text import clean_text, sections_from_headings
from ingest.types import LoadedDocument

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

_CODEPAGE = re.compile(r"\\ansicpg(\d+)")
_OUTLINE = re.compile(r"\\outlinelevel(\d)(?![0-9])")
# A token striprtf passes through as text, that no real document contains.
_MARK = "QQLKBHEADINGQQ"
_MARKED = re.compile(rf"^{_MARK}(\d)\s*(.*)$")


def rtf_lines(rtf: str) -> list[tuple[int, str] | str]:
    """Lines of an RTF document; headings as (level, text), table rows as header-carrying lines."""
    from striprtf.striprtf import rtf_to_text

    from ingest.loaders.office import table_lines

    codepage = _CODEPAGE.search(rtf[:4096])
    encoding = f"cp{codepage.group(1)}" if codepage else "cp1252"
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "cp1252"
    marked = _OUTLINE.sub(lambda m: f"{m.group(0)} {{{_MARK}{m.group(1)}}}", rtf)
    text = rtf_to_text(marked, encoding=encoding, errors="replace")
    lines: list[tuple[int, str] | str] = []
    rows: list[list[str]] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if line.endswith("|") and "|" in line:
            rows.append([" ".join(c.split()) for c in line[:-1].split("|")])
            continue
        if rows:
            lines.extend(table_lines(rows))
            lines.append("")
            rows = []
        heading = _MARKED.match(line)
        if heading:
            if heading.group(2).strip():
                lines.append((int(heading.group(1)) + 1, " ".join(heading.group(2).split())))
            continue
        lines.append(raw.replace(_MARK, ""))
    if rows:
        lines.extend(table_lines(rows))
    return lines


def load_rtf(path: Path, options: LoadOptions) -> LoadedDocument:
    """An RTF document: one Section per heading block."""
    data = path.read_bytes()
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        raise CorruptFile("corrupt RTF: the file does not start with {\\rtf")
    # RTF is 7-bit by the spec (other characters are escaped); latin-1 maps any stray byte 1:1.
    sections = sections_from_headings(rtf_lines(data.decode("latin-1")))
    sections = [s for s in sections if clean_text(s.text)]
    return LoadedDocument(file_type="rtf", sections=sections)
