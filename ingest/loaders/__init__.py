"""Document loaders: turn one file on disk into a `LoadedDocument`.

`load_file` is the only entry point the pipeline uses.  It picks a loader from one suffix table,
runs it, and turns anything a parsing library throws into an `IngestError` whose message is a
one-line reason a user can act on.  The pipeline runs it in a worker process with a time and
memory budget, so loaders are plain top-level functions that return plain data, and every heavy
library is imported inside the function that needs it (importing this package stays cheap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import CorruptFile, EmptyDocument, FileTooLarge, IngestError, UnsupportedFileType
from ingest.types import LoadedDocument


@dataclass(frozen=True)
class LoadOptions:
    """How much work a loader may do on one file."""

    ocr: bool = True  # OCR images and PDF pages that have no text layer
    max_pages: int = 5000  # pages/slides/sheets beyond this are not read; a warning says so
    # time.monotonic() after which no more pages are OCRed: a long scan is indexed as far as its
    # time budget allows, with a warning, instead of failing whole when the budget runs out.
    ocr_deadline: float | None = None
    depth: int = 0  # containers (mail, zip) this file is inside
    unpack_budget: Any = None  # container.UnpackBudget shared by one top-level file's members
    # Seconds each file may take (settings: ingest.file_timeout_s): a mail attachment or zip member
    # gets this much of its own, instead of sharing its container's.
    time_budget_s: float | None = None
    # time.monotonic() by which a container and everything in it must be read (a bound on the total,
    # so an archive of thousands of slow members still ends).
    container_deadline: float | None = None


Loader = Callable[[Path, LoadOptions], LoadedDocument]

# Files whose members are read as documents of their own, each with its own time budget: the
# pipeline gives such a file CONTAINER_TIME_FACTOR times the per-file budget in all.
CONTAINER_SUFFIXES = frozenset({".zip", ".eml", ".msg"})
CONTAINER_TIME_FACTOR = 10

# suffix -> "module:function"; resolved on use so that importing this package loads no parser.
_LOADERS: dict[str, str] = {
    ".pdf": "pdf:load_pdf",
    ".docx": "office:load_docx",
    ".pptx": "office:load_pptx",
    ".xlsx": "office:load_xlsx",
    ".xlsm": "office:load_xlsx",
    ".csv": "office:load_csv",
    ".tsv": "office:load_csv",
    ".txt": "text:load_text",
    ".text": "text:load_text",
    ".log": "text:load_text",
    ".rst": "text:load_text",
    ".org": "text:load_text",
    ".json": "text:load_text",
    ".ndjson": "text:load_text",
    ".jsonl": "text:load_text",
    ".xml": "text:load_text",
    ".yaml": "text:load_text",
    ".yml": "text:load_text",
    ".toml": "text:load_text",
    ".ini": "text:load_text",
    ".md": "text:load_markdown",
    ".markdown": "text:load_markdown",
    ".html": "html:load_html",
    ".htm": "html:load_html",
    ".xhtml": "html:load_html",
    ".epub": "html:load_epub",
    ".eml": "email:load_eml",
    ".msg": "email:load_msg",
    ".zip": "container:load_zip",
    ".doc": "legacy_office:load_doc",
    ".dot": "legacy_office:load_doc",
    ".wps": "legacy_office:load_doc",  # WPS Writer: Word binary underneath
    ".xls": "legacy_office:load_xls",
    ".xlt": "legacy_office:load_xls",
    ".et": "legacy_office:load_xls",  # WPS Spreadsheets
    ".ppt": "legacy_office:load_ppt",
    ".pps": "legacy_office:load_ppt",
    ".pot": "legacy_office:load_ppt",
    ".dps": "legacy_office:load_ppt",  # WPS Presentation
    ".odt": "odf:load_odt",
    ".ott": "odf:load_odt",
    ".ods": "odf:load_ods",
    ".ots": "odf:load_ods",
    ".odp": "odf:load_odp",
    ".otp": "odf:load_odp",
    ".rtf": "rtf:load_rtf",
    ".png": "ocr:load_image",
    ".jpg": "ocr:load_image",
    ".jpeg": "ocr:load_image",
    ".bmp": "ocr:load_image",
    ".tif": "ocr:load_image",
    ".tiff": "ocr:load_image",
    ".webp": "ocr:load_image",
    ".heic": "ocr:load_image",
    ".heif": "ocr:load_image",
    ".hif": "ocr:load_image",
}

# Formats people often have but that no reliable pure-Python reader covers: say what to do instead.
_UNSUPPORTED: dict[str, str] = {
}

_FILE_TYPE_NAMES = {".htm": "HTML", ".xhtml": "HTML", ".jpeg": "JPEG", ".tif": "TIFF", ".yml": "YAML",
                    ".dot": "DOC", ".wps": "WPS", ".xlt": "XLS", ".et": "ET", ".pps": "PPT", ".pot": "PPT",
                    ".dps": "DPS", ".msg": "Outlook MSG"}


# Read by decoding bytes only, no parsing library: a small one cannot crash or hang its reader,
# so the pipeline hands such files to a parser several at a time.
PLAIN_TEXT_SUFFIXES = frozenset(s for s, spec in _LOADERS.items() if spec.startswith("text:"))


def supported_suffixes() -> frozenset[str]:
    """Lower-case suffixes (with the dot) that `load_file` reads."""
    return frozenset(_LOADERS)


def _resolve(spec: str) -> Loader:
    import importlib

    module, function = spec.split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


def _first_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    text = message[0].strip() if message else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def _is_plain_text(path: Path) -> bool:
    """UTF-8 text without control bytes in its first 8 KiB (so never a binary without a suffix)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError:
        return False
    if not head or any(b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D) for b in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a character cut by the 8 KiB boundary
    return True


def load_file(path: Path, options: LoadOptions = LoadOptions()) -> LoadedDocument:
    """Read `path` into sections of text; raises `IngestError` subclasses only."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _UNSUPPORTED:
        raise UnsupportedFileType(_UNSUPPORTED[suffix])
    spec = _LOADERS.get(suffix)
    if spec is None and not suffix and _is_plain_text(path):
        spec = "text:load_text"  # README, LICENSE, NOTES: text files named without an extension
    if spec is None:
        raise UnsupportedFileType(f"unsupported file type {suffix}" if suffix else "unsupported file type (no extension)")
    kind = _FILE_TYPE_NAMES.get(suffix, suffix[1:].upper())
    try:
        if not path.is_file():
            raise CorruptFile(f"cannot read {kind}: the file does not exist or is not a regular file")
        document = _resolve(spec)(path, options)
    except IngestError:
        raise
    except MemoryError:
        raise FileTooLarge(f"{kind} file needs more memory than is available: split it into smaller files") from None
    except PermissionError:
        raise CorruptFile(f"cannot read {kind}: permission denied") from None
    except RecursionError:
        raise CorruptFile(f"corrupt {kind}: structure is nested too deeply") from None
    except Exception as exc:  # a parsing library failed: keep the reason, drop the traceback
        raise CorruptFile(f"corrupt {kind}: {_first_line(exc)}") from None
    if document.text_chars == 0 and not document.attachments:
        if options.ocr:
            raise EmptyDocument("no text found: the file is empty, or its images hold no readable text")
        raise EmptyDocument("no text found: the file is empty, or a scan while OCR is off (settings: ingest.ocr)")
    return document
