"""Safety checks for zip-based formats (docx, pptx, xlsx, epub) before a library opens them.

Office libraries inflate members fully into memory, so a small file that expands to gigabytes
(a zip bomb) would exhaust the worker.  The central directory states every member's size, so
the check costs one directory read.  Password-protected Office files are not zips at all: Office
wraps them in an OLE2 container, which is also what the legacy .doc/.xls/.ppt formats are.
"""

from __future__ import annotations

import zipfile
import zlib
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
    _check_stated_sizes(path, label, members)


def _check_stated_sizes(path: Path, label: str, members: list[zipfile.ZipInfo]) -> None:
    """Raise `CorruptFile` when a member inflates to more than the directory says it holds.

    The checks above trust the directory, and a zip can lie: a member that says 1 KB may inflate
    to gigabytes, and zipfile's read() (what python-docx, openpyxl and ebooklib call) inflates up
    to 2 GiB in one piece before it compares.  Read in 1 MiB steps instead, zipfile stops at the
    stated size and its CRC check fails, so a lie costs a megabyte, not the worker's memory.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for m in members:
                if m.is_dir() or m.flag_bits & 0x1:  # encrypted members are refused when read
                    continue
                try:
                    with archive.open(m) as fh:
                        while fh.read(1 << 20):
                            pass
                except NotImplementedError:  # a compression method zipfile lacks: its reader says so
                    continue
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorruptFile(f"corrupt {label}: a part is not what the zip directory says ({first})") from None
