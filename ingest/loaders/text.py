"""Plain text and Markdown files, plus the decoding and cleaning that other loaders share.

Encoding detection order: a byte-order mark (UTF-32 before UTF-16, whose BOM is a prefix of
UTF-32-LE's), then BOM-less UTF-16/32 recognised by their NUL-byte pattern, then strict UTF-8
(right for most files, and much faster than statistical detection), then charset-normalizer for
legacy code pages (GB18030/GBK, cp1252, ISO-8859-x, ...).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# charset-normalizer reads a sample of this size; enough to decide, bounded for large files.
_DETECT_SAMPLE = 256 * 1024
# Text beyond this is not read: 32 MiB is ten copies of War and Peace, ~40,000 chunks and half an
# hour of embedding on two cores; a bigger text file is a log or a data dump, and reading all of
# it (a 500 MB file took 106 s and 4.5 GB) would only end in the time or memory budget.
MAX_TEXT_BYTES = 32 << 20


def read_bounded(path: Path, warnings: list[str], limit: int = MAX_TEXT_BYTES) -> bytes:
    """The first `limit` bytes of a file; a warning in `warnings` when there was more."""
    with path.open("rb") as fh:
        data = fh.read(limit)
        more = fh.read(1)
    if more:
        size = max(path.stat().st_size, limit + 1)
        warnings.append(f"only the first {limit >> 20} MiB of {size / 2**20:.0f} MiB were read: "
                        "split the file to have all of it searchable")
    return data


def _utf16_without_bom(sample: bytes) -> str | None:
    # charset-normalizer does not recognise BOM-less UTF-16/32 reliably; text in them shows up as
    # NUL bytes in a fixed column of every code unit (ASCII and most Latin text), which is cheap to
    # check.  CJK UTF-16 without a BOM has no NULs and is left to the statistical detector.
    n = len(sample) - len(sample) % 4
    if n < 8:
        return None
    sample = sample[:n]
    zeros = [sample[i::4].count(0) / (n // 4) for i in range(4)]
    if zeros[1] > 0.9 and zeros[2] > 0.9 and zeros[3] > 0.9:
        return "utf-32-le"
    if zeros[0] > 0.9 and zeros[1] > 0.9 and zeros[2] > 0.9:
        return "utf-32-be"
    even = sample[0::2].count(0) / (n // 2)
    odd = sample[1::2].count(0) / (n // 2)
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


def detect_encoding(data: bytes) -> str:
    """The most likely text encoding of `data` (a Python codec name)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    wide = _utf16_without_bom(data[:4096])
    if wide:
        return wide
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the end of a truncated file is still UTF-8.
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    from charset_normalizer import from_bytes

    results = list(from_bytes(data[:_DETECT_SAMPLE]))
    if not results:
        return "cp1252"  # decodes any byte; the least surprising fallback for Western files
    # `best()` ranks by chaos alone, so near-ties go to whichever code page it tried first
    # (cp1250 over cp1252 for French/Swedish text).  Among the least chaotic candidates, the one
    # whose letters fit a language best wins; on a full tie, cp1252, the most common legacy page.
    least = min(r.chaos for r in results)
    close = [r for r in results if r.chaos <= least + 0.01]
    encoding = max(close, key=lambda r: (r.coherence, r.encoding == "cp1252")).encoding
    # GB2312/GBK are subsets of GB18030: decoding with the superset loses nothing.
    return "gb18030" if encoding in {"gb2312", "gbk"} else encoding


def decode_bytes(data: bytes) -> str:
    """Decode file bytes to text with the detected encoding; undecodable bytes become U+FFFD."""
    encoding = detect_encoding(data)
    return data.decode(encoding, errors="replace")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ufffe\uffff]")
_BLANK_RUN = re.compile(r"\n(?:[ \t\u00a0]*\n){3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def clean_text(text: str) -> str:
    """Normalise line ends, drop NUL/control characters, keep at most two blank lines in a row.

    Not for PDF page text, whose offsets must keep matching pdfium's characters (see pdf.py).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUN.sub("\n\n\n", text).strip()


TABLE_LEVEL = 10  # below any real heading level (HTML has 6, Word 9)
_CAPTION = re.compile(r"^(table|tab\.|tabelle|tableau|tabla|表)\s*[0-9IVXivx一二三四五六七八九十]", re.IGNORECASE)


def looks_like_caption(text: str, style: str = "") -> bool:
    """A paragraph that names the table after it: a Caption style, or "Table 3: ..." / "表 3 ..."."""
    text = " ".join(text.split())
    if not text or len(text) > 200:
        return False
    return "caption" in style.lower() or bool(_CAPTION.match(text))


def pop_caption(lines: list, style: str = "") -> str:
    """Take the caption paragraph just before a table off `lines` (blank lines skipped); "" if none."""
    end = len(lines)
    while end and lines[end - 1] == "":
        end -= 1
    if end and isinstance(lines[end - 1], str) and looks_like_caption(lines[end - 1], style):
        caption = lines[end - 1]
        del lines[end - 1:]
        return caption
    return ""


def table_block(rows: list[str], caption: str = "") -> list[tuple[int, str | None] | str]:
    """Lines for a table's rows; with a caption, the rows get it as the last heading of their path."""
    if not caption:
        return [*rows, ""]
    return [(TABLE_LEVEL, " ".join(caption.split())[:200]), *rows, (TABLE_LEVEL, None)]


def sections_from_headings(lines: list[tuple[int, str | None] | str]) -> list[Section]:
    """Group lines into one Section per heading block.

    `lines` holds plain strings and `(level, heading)` tuples; a heading closes the current block
    and replaces every open heading of its level or deeper in the heading path.  `(level, None)`
    closes the block and the open headings of that level or deeper without opening one: a table's
    caption is a heading for the table's rows only (see `table_block`).
    """
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    block: list[str] = []

    def close() -> None:
        text = clean_text("\n".join(block))
        if text:
            sections.append(Section(text=text, heading_path=tuple(h for _, h in path)))
        block.clear()

    for line in lines:
        if isinstance(line, tuple):
            close()
            level, heading = line
            while path and path[-1][0] >= level:
                path.pop()
            if heading is not None:
                path.append((level, heading))
                block.append(heading)
        else:
            block.append(line)
    close()
    return sections


def load_text(path: Path, options: LoadOptions) -> LoadedDocument:
    """Any plain text file, as one section."""
    warnings: list[str] = []
    text = clean_text(decode_bytes(read_bounded(path, warnings)))
    suffix = path.suffix.lower().lstrip(".") or "txt"
    file_type = {"text": "txt", "yml": "yaml", "jsonl": "ndjson"}.get(suffix, suffix)
    return LoadedDocument(file_type=file_type, sections=[Section(text=text)] if text else [], warnings=warnings)


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def markdown_lines(text: str) -> list[tuple[int, str] | str]:
    """Split Markdown into lines, with ATX (# ...) and setext (===/---) headings marked.

    Written by hand because a Markdown renderer would throw away the line structure we keep, and
    headings are all we need from the syntax.  Lines inside fenced code blocks are never headings.
    """
    out: list[tuple[int, str] | str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
            out.append(line)
            continue
        if fence is None:
            atx = _ATX.match(line)
            if atx:
                out.append((len(atx.group(1)), (atx.group(2) or "").strip()))
                continue
            setext = _SETEXT.match(line)
            if setext and out and isinstance(out[-1], str) and out[-1].strip() and not _FENCE.match(out[-1]):
                out[-1] = (1 if setext.group(1)[0] == "=" else 2, out[-1].strip())
                continue
        out.append(line)
    return out


def load_markdown(path: Path, options: LoadOptions) -> LoadedDocument:
    """Markdown: one Section per heading block, with the heading path."""
    warnings: list[str] = []
    text = clean_text(decode_bytes(read_bounded(path, warnings)))
    sections = sections_from_headings(markdown_lines(text))
    title = next((s.heading_path[0] for s in sections if s.heading_path), "")
    return LoadedDocument(file_type="md", sections=sections, title=title, warnings=warnings)
