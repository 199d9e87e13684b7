"""Safety checks for zip-based formats (docx, pptx, xlsx, epub) before a library opens them.

Office libraries inflate members fully into memory, so a small file that expands to gigabytes
(a zip bomb) would exhaust the worker.  The central directory states every member's size, so
the check costs one directory read.  Password-protected Office files are not zips at all: Office
wraps them in an OLE2 container, which is also what the legacy .doc/.xls/.ppt formats are.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.errors import CorruptFile, EncryptedFile

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_UNCOMPRESSED = 1 << 30  # 1 GiB in all
MAX_MEMBERS = 100_000
# Office XML compresses 10-30x, highly repetitive sheets up to ~150x; a bomb is in the thousands.
MAX_RATIO = 200
RATIO_APPLIES_ABOVE = 50 << 20  # small members may compress absurdly well and still be harmless

# Where the "save it as" advice differs per format.
_MODERN = {"docx": ".docx", "pptx": ".pptx", "xlsx": ".xlsx", "epub": ".epub"}


def _is_encrypted_ooxml(path: Path) -> bool:
    # Encrypted OOXML is an OLE2 file with an "EncryptionInfo" stream; directory entry names are
    # UTF-16LE.  Reading a bounded prefix is enough for any real-sized file.
    with path.open("rb") as f:
        data = f.read(64 << 20)
    return "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data


def check_zip(path: Path, kind: str) -> None:
    """Raise `CorruptFile`/`EncryptedFile` unless `path` is a zip that is safe to inflate."""
    label = kind.upper()
    with path.open("rb") as f:
        head = f.read(8)
    if head == OLE2_MAGIC:
        if _is_encrypted_ooxml(path):
            raise EncryptedFile(
                f"password-protected {label}: open it with its password and save an unprotected copy"
            )
        raise CorruptFile(
            f"{label} is really a legacy Office file: save it as {_MODERN.get(kind, label)} and add it again"
        )
    if not zipfile.is_zipfile(path):
        raise CorruptFile(f"corrupt {label}: not a valid zip archive")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptFile(f"corrupt {label}: {str(exc).splitlines()[0] if str(exc) else 'bad zip'}") from None
    if len(members) > MAX_MEMBERS:
        raise CorruptFile(f"corrupt {label}: looks like a zip bomb ({len(members)} members)")
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED:
        raise CorruptFile(f"corrupt {label}: looks like a zip bomb (expands to {total >> 20} MiB)")
    for m in members:
        if m.file_size > RATIO_APPLIES_ABOVE and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise CorruptFile(
                f"corrupt {label}: looks like a zip bomb ({m.filename} expands {m.file_size // max(m.compress_size, 1)}x)"
            )
