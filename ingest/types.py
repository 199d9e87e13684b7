"""Data passed between ingestion stages.

A loader turns a file into a `LoadedDocument` made of `Section`s (a PDF page, a slide, a sheet,
a heading's section of a Word file).  The splitter cuts sections into `Chunk`s without ever
crossing a section, so every chunk has one page and its character offsets point into that
section's text, which is what the source viewer highlights.

A container (an e-mail, a zip archive) also carries the files inside it as `Attachment`s; the
pipeline indexes each as a document of its own under the path `container › name`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Joins a container's path and a member's name into the member's document path ("mail.eml › a.pdf").
CHILD_SEPARATOR = " › "


def file_of(document_path: str) -> str:
    """The file on disk a document comes from: itself, or the container a member was read from.

    Member rows have no file of their own: they go when their container goes, move with it, and
    are re-read only by re-reading it.
    """
    return document_path.split(CHILD_SEPARATOR, 1)[0]


@dataclass(frozen=True)
class Section:
    """A run of text from one place in a file."""

    text: str
    page: int | None = None  # 1-based page, slide or sheet number; None for unpaged formats
    heading_path: tuple[str, ...] = ()  # e.g. ("Chapter 2", "Pricing")
    label: str = ""  # a human name for the place when it is not a number, e.g. a sheet name
    ocr: bool = False  # the text came from OCR


@dataclass
class Attachment:
    """A file inside a container file, already read; members that could not be read are warnings."""

    name: str  # "/"-separated path inside the container, never absolute, never with ".."
    document: LoadedDocument
    size: int
    content_hash: str  # sha256 of the member's bytes: its document id derives from it


@dataclass
class LoadedDocument:
    """What a loader read from one file."""

    file_type: str  # short name: pdf, docx, pptx, xlsx, csv, html, md, txt, epub, eml, msg, zip, image
    sections: list[Section]
    pages: int | None = None  # page/slide/sheet count when the format has pages
    title: str = ""
    warnings: list[str] = field(default_factory=list)  # things a user should know, one line each
    attachments: list[Attachment] = field(default_factory=list)  # files inside this one (mail, zip)

    @property
    def text_chars(self) -> int:
        return sum(len(s.text.strip()) for s in self.sections)


@dataclass(frozen=True)
class Chunk:
    """A piece of a section, the unit that is embedded, indexed and retrieved."""

    id: str  # f"{doc_id}:{seq}" -- deterministic, so re-ingesting is idempotent
    doc_id: str
    seq: int
    text: str
    path: str
    page: int | None
    heading_path: tuple[str, ...]
    start: int  # character offsets into the section's text
    end: int
    lang: str  # "zh", "en" or "other"
    section: int = 0  # index of the section within the document
