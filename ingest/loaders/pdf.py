"""PDF files, read with pypdfium2: one Section per page, OCR for pages without a text layer.

pypdfium2 was chosen over pypdf after measuring both on the shared sample PDFs (68 files):
1.6 s against 31 s in all (DA-619p.pdf: 0.9 s against 21 s), the same character counts on
ordinary text, better symbols (pypdf turns some math glyphs into NUL), and it opens AES
"copy-protected" files that pypdf cannot without the `cryptography` package.  pypdf does better on
Arabic (pdfium returns presentation forms in visual order).  It is also the library the source
viewer renders and highlights pages with.

Offsets.  A page's Section.text is `PdfTextPage.get_text_range()` with a one-for-one character
substitution, so its length and every index are unchanged:
  "\\r" -> " " (pdfium ends lines with "\\r\\n"), U+FFFE -> U+00AD (pdfium's mark for a hyphen it
  removed at a line break; a soft hyphen is what it is), other C0 controls and U+FFFF -> " ".
An index into Section.text is therefore a pdfium *text index*; `pdfium_char_index` turns it into
the char index that `PdfTextPage.get_charbox` takes (the two differ where pdfium inserted line
breaks or skipped characters, and where a character is outside the BMP).
OCR'd pages (Section.ocr=True) have no char boxes; the viewer shows the page without highlights.
Tables (pdf_tables.py) are the one addition: their characters are blanked in place and their rows,
with column names, are appended after the page's own characters, or for a captioned table put in a
Section of its own that starts past the page's last index.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import CorruptFile, EncryptedFile
from ingest.loaders.pdf_tables import TableReader, blank_regions, rows_text, table_hint
from ingest.loaders.text import clean_text
from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

OCR_DPI = 200
MIN_TEXT_CHARS = 20  # a page with fewer characters than this but a large image is a scan
MIN_IMAGE_COVERAGE = 0.3  # share of the page area that images must cover to call it a scan
MAX_RENDER_SIDE_PX = 5000  # bounds render memory for posters and other huge pages

_SUBSTITUTE = {c: " " for c in range(0x20) if c not in (0x09, 0x0A)}
_SUBSTITUTE.update({0x0D: " ", 0xFFFE: "\u00ad", 0xFFFF: " "})
_TABLE = str.maketrans(_SUBSTITUTE)


def page_text(raw_text: str) -> str:
    """Section text for a page from `get_text_range()`; same length, so offsets are unchanged."""
    return raw_text.translate(_TABLE)


def pdfium_char_index(textpage: Any, section_text: str, offset: int) -> int:
    """The pdfium char index (for `get_charbox`) of `section_text[offset]`; -1 if none."""
    import pypdfium2.raw as pdfium_c

    # get_text_range decodes UTF-16, so a character outside the BMP is one Python character but
    # two pdfium text indices.
    text_index = offset + sum(1 for ch in section_text[:offset] if ord(ch) > 0xFFFF)
    return pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, text_index)


def _image_coverage(page: Any, page_area: float) -> float:
    import pypdfium2.raw as pdfium_c

    covered = 0.0
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=4):
        left, bottom, right, top = obj.get_bounds()
        covered += max(0.0, right - left) * max(0.0, top - bottom)
    return min(1.0, covered / page_area) if page_area > 0 else 0.0


def _render(page: Any) -> Any:
    width, height = page.get_size()
    scale = OCR_DPI / 72
    if max(width, height) * scale > MAX_RENDER_SIDE_PX:
        scale = MAX_RENDER_SIDE_PX / max(width, height)
    return page.render(scale=scale).to_pil()


def _with_table_rows(page: Any, textpage: Any, text: str, found: list, number: int) -> tuple[str, list[Section]]:
    """Page text with its tables' characters blanked, and the tables' rows (with column names).

    Rows of a table without a caption follow the page text.  A captioned table is a Section of its
    own so that its caption is the rows' heading path; its text starts with as many spaces as the
    page text has characters, so its offsets lie past every pdfium index and never highlight the
    wrong words (the viewer highlights a PDF section's offsets on the page).
    """
    if not found:
        return text, []
    left, _bottom, _right, top = page.get_mediabox()
    text = blank_regions(textpage, text, top, left, [bbox for bbox, _rows, _caption in found])
    plain = [rows_text(rows) for _bbox, rows, caption in found if not caption]
    captioned = [Section(text=" " * len(text) + "\n\n" + rows_text(rows, caption), page=number, heading_path=(caption,))
                 for _bbox, rows, caption in found if caption]
    return "\n\n".join([text, *plain]), captioned


def _load_damaged(path: Path, options: LoadOptions) -> LoadedDocument | None:
    """The text pdfminer (through pdfplumber) finds in a PDF pdfium refuses to open; None if none.

    pdfminer rebuilds a broken cross-reference table and, when the page tree is broken, looks
    for page objects among all objects: a data sheet whose /Pages tree points at a missing object
    (shared sample 017) is read, where pdfium and pypdf give up.  Only text: no tables, no OCR,
    and pages this reader cannot place are missed, which the warning says.
    """
    import pdfplumber

    sections: list[Section] = []
    try:
        with pdfplumber.open(str(path)) as pdf:
            found = len(pdf.pages)
            for page in pdf.pages[: options.max_pages]:
                if options.ocr_deadline is not None and time.monotonic() > options.ocr_deadline:
                    break  # pdfminer is pure Python: a long damaged file is read as far as its time allows
                # Fake bold (each glyph printed twice, slightly offset) would read "DDaattaa".
                text = clean_text(page.dedupe_chars().extract_text() or "")
                if len(text.strip()) >= MIN_TEXT_CHARS:
                    sections.append(Section(text=text, page=page.page_number))
    except Exception:  # pdfminer raises many kinds of errors on a damaged file; it is corrupt either way
        return None
    if not sections:
        return None
    warnings = [f"the PDF is damaged: {found} page(s) were recovered by a lenient reader, without tables or OCR; "
                "pages it could not find are missing and pages are shown as text"]
    return LoadedDocument(file_type="pdf", sections=sections, pages=found, warnings=warnings)


def load_pdf(path: Path, options: LoadOptions) -> LoadedDocument:
    """PDF: one Section per page with text; scanned pages are OCRed when options.ocr."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        # With no password, pdfium tries the empty one, which opens "owner-password only" files.
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise EncryptedFile("encrypted PDF: open it with its password and save an unprotected copy") from None
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_SECURITY:
            raise EncryptedFile("PDF uses an unsupported security handler: print it to a new PDF") from None
        lenient = _load_damaged(path, options)
        if lenient is not None:
            return lenient
        raise CorruptFile("corrupt PDF: it could not be opened (damaged, truncated or not a PDF)") from None

    warnings: list[str] = []
    sections: list[Section] = []
    # Tables are a refinement: they may use half of the file's time budget, OCR and text the rest.
    table_deadline = None
    if options.ocr_deadline is not None:
        table_deadline = time.monotonic() + 0.5 * max(0.0, options.ocr_deadline - time.monotonic())
    tables = TableReader(str(path), table_deadline)
    skipped_scans = 0
    out_of_time = 0
    unreadable: list[int] = []
    try:
        pages = len(document)
        if pages > options.max_pages:
            warnings.append(f"only the first {options.max_pages} of {pages} pages were read")
        for index in range(min(pages, options.max_pages)):
            number = index + 1
            try:
                page = document[index]
                try:
                    textpage = page.get_textpage()
                    text = page_text(textpage.get_text_range())
                    table_sections: list[Section] = []
                    if len(text.strip()) >= MIN_TEXT_CHARS and page.get_rotation() == 0:
                        ruled, open_ = table_hint(page, text)
                        if ruled or open_:
                            found = tables.tables(index, ruled=ruled, open_=open_)
                            text, table_sections = _with_table_rows(page, textpage, text, found, number)
                    textpage.close()
                    if len(text.strip()) < MIN_TEXT_CHARS:
                        width, height = page.get_size()
                        coverage = _image_coverage(page, width * height)
                        # A page of a few characters (a page number, a stamp) over a big image is a
                        # scan; a page with no text at all is worth reading from any image it has.
                        if coverage >= MIN_IMAGE_COVERAGE or (coverage > 0 and not text.strip()):
                            if options.ocr and options.ocr_deadline is not None and time.monotonic() > options.ocr_deadline:
                                out_of_time += 1
                            elif options.ocr:
                                from ingest.loaders.ocr import ocr_image

                                ocr_text = ocr_image(_render(page))
                                if ocr_text.strip():
                                    sections.append(Section(text=ocr_text, page=number, ocr=True))
                                    continue
                            else:
                                skipped_scans += 1
                finally:
                    page.close()
            except pdfium.PdfiumError:
                # One damaged page must not cost the reader the rest of the document.
                unreadable.append(number)
                continue
            if text.strip():
                sections.append(Section(text=text, page=number))
            sections.extend(table_sections)
        title = clean_text(document.get_metadata_value("Title") or "")
    finally:
        tables.close()
        document.close()
    if skipped_scans:
        warnings.append(f"{skipped_scans} page(s) look scanned and were not read because OCR is off")
    if out_of_time:
        warnings.append(f"{out_of_time} scanned page(s) were not read: OCR ran out of this file's time budget "
                        "(settings: ingest.file_timeout_s)")
    if unreadable:
        shown = ", ".join(map(str, unreadable[:10])) + (" ..." if len(unreadable) > 10 else "")
        warnings.append(f"{len(unreadable)} page(s) could not be read: {shown}")
    return LoadedDocument(file_type="pdf", sections=sections, pages=pages, title=title, warnings=warnings)
