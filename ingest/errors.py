"""Per-file ingestion errors.

Each carries a one-line reason a user can act on; the pipeline records it against the file and
goes on with the others.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base: `str(err)` is the one-line reason shown next to the file."""


class UnsupportedFileType(IngestError):
    """No loader reads this kind of file."""


class EncryptedFile(IngestError):
    """The file is password-protected and the empty password did not open it."""


class CorruptFile(IngestError):
    """The file is damaged, truncated, or not what its extension says."""


class EmptyDocument(IngestError):
    """The file opened but holds no text (after OCR, where it applies)."""


class FileTooLarge(IngestError):
    """The file is over the size budget (settings: ingest.max_file_mb)."""


class FileTimeout(IngestError):
    """Reading the file took longer than its time budget (settings: ingest.file_timeout_s)."""
