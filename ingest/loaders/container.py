"""Files inside files: e-mail attachments and zip members, read as documents of their own.

A container loader hands its members to `read_members`, which writes each to a private temporary
file under a name it makes up (the member's own path is only ever a label, so a name like
`../../etc/passwd` or `C:\\x` cannot write or read anywhere) and reads it with `load_file`, as if it
had been added by hand.  The pipeline then indexes each member under `container › member`.

Bounds, per top-level file: containers nest at most MAX_DEPTH deep, all members together may
expand to at most MAX_TOTAL_BYTES, and at most MAX_MEMBERS are read.  Members share the container's
time budget and memory cap (they are read in the same worker process); once the time budget's
deadline has passed, the remaining members are listed as not read instead of killing the whole
container.  A member that cannot be read becomes a warning on its container, never a failure of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import EmptyDocument, EncryptedFile, IngestError
from ingest.types import CHILD_SEPARATOR, Attachment, LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

MAX_DEPTH = 3  # a zip in a mail in a zip is read; one level deeper is listed only
MAX_TOTAL_BYTES = 512 << 20  # everything unpacked from one top-level file
MAX_MEMBERS = 2000
MAX_NAMES_LISTED = 200  # member names written into the container's own text
# OCR of a logo or a photo finds a few stray letters; an attached image is a document only when it
# holds real text (a scanned page, a screenshot of a table).
MIN_IMAGE_CHARS = 40


@dataclasses.dataclass
class UnpackBudget:
    """What is left to unpack for one top-level file, shared by every nested container."""

    bytes_left: int = dataclasses.field(default_factory=lambda: MAX_TOTAL_BYTES)
    members_left: int = dataclasses.field(default_factory=lambda: MAX_MEMBERS)


@dataclasses.dataclass(frozen=True)
class Member:
    """A file inside a container, its bytes read on demand (a zip member is inflated only if read)."""

    name: str
    size: int
    read: Callable[[], bytes]


def safe_name(name: str, fallback: str) -> str:
    """A member path as a label: "/"-separated, relative, without "." or ".." steps or controls."""
    name = "".join(ch for ch in name.replace("\\", "/") if ch >= " " and ch != "\x7f")
    parts = [p.strip() for p in name.split("/")]
    parts = [p for p in parts if p not in ("", ".", "..")]
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":  # a Windows drive letter
        parts = parts[1:]
    label = posixpath.join(*parts) if parts else ""
    return label.replace(CHILD_SEPARATOR.strip(), "-")[:240] or fallback


def read_members(members: Iterable[Member], options: LoadOptions) -> tuple[list[Attachment], list[str]]:
    """Read each member as a document; returns the attachments and warnings for the container.

    Nested containers are flattened: a zip's members come back named `zip-name › member`.
    """
    from ingest.loaders import load_file, supported_suffixes

    budget = options.unpack_budget or UnpackBudget()
    child_options = dataclasses.replace(options, depth=options.depth + 1, unpack_budget=budget)
    known = supported_suffixes()
    attachments: list[Attachment] = []
    skipped: list[str] = []  # "name (why)", one per member not read
    used: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="localkb-unpack-") as tmp:
        for index, member in enumerate(members, start=1):
            name = safe_name(member.name, f"attachment-{index}")
            if name in used:  # two members with one name would be one catalogue row
                name = f"{name} ({index})"
            used.add(name)
            suffix = Path(name).suffix.lower()
            why = ""
            if suffix not in known:
                why = f"{suffix or 'no extension'} is not a document type LocalKB reads"
            elif options.depth + 1 > MAX_DEPTH:
                why = f"nested more than {MAX_DEPTH} containers deep"
            elif budget.members_left <= 0:
                why = f"over the {MAX_MEMBERS} files a container may unpack"
            elif member.size > budget.bytes_left:
                why = f"over the {MAX_TOTAL_BYTES >> 20} MiB a container may unpack"
            elif options.ocr_deadline is not None and time.monotonic() > options.ocr_deadline:
                why = "the container's time budget ran out (settings: ingest.file_timeout_s)"
            if why:
                skipped.append(f"{name} ({why})")
                continue
            budget.members_left -= 1
            try:
                data = member.read()
            except Exception as exc:  # a damaged or encrypted member costs that member only
                skipped.append(f"{name} (cannot unpack: {_short(exc)})")
                continue
            budget.bytes_left -= len(data)
            if budget.bytes_left < 0:
                skipped.append(f"{name} (over the {MAX_TOTAL_BYTES >> 20} MiB a container may unpack)")
                continue
            path = Path(tmp) / f"member-{index}{suffix}"
            path.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            del data
            try:
                document = load_file(path, child_options)
            except IngestError as exc:
                skipped.append(f"{name} ({exc})")
                continue
            finally:
                path.unlink(missing_ok=True)
            if document.file_type == "image" and sum(ch.isalnum() for s in document.sections for ch in s.text) < MIN_IMAGE_CHARS:
                skipped.append(f"{name} (an image without readable text)")
                continue
            nested = document.attachments
            document.attachments = []
            attachments.append(Attachment(name, document, member.size, digest))
            for inner in nested:
                attachments.append(dataclasses.replace(inner, name=f"{name}{CHILD_SEPARATOR}{inner.name}"))
            skipped.extend(f"{name}{CHILD_SEPARATOR}{w}" for w in _unread(document))
    warnings = []
    if skipped:
        shown = "; ".join(skipped[:10]) + (f"; and {len(skipped) - 10} more" if len(skipped) > 10 else "")
        warnings.append(f"{len(skipped)} attached file(s) not read: {shown}")
    return attachments, warnings


def _unread(document: LoadedDocument) -> list[str]:
    # A nested container's own "not read" warning is carried up, so the top-level file lists it.
    prefix = " attached file(s) not read: "
    return [w.split(prefix, 1)[1] for w in document.warnings if prefix in w]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


# ---------------------------------------------------------------- zip


def load_zip(path: Path, options: LoadOptions) -> LoadedDocument:
    """A zip archive: its listing as text, every member a document of its own."""
    from ingest.loaders.archive import check_zip

    check_zip(path, "zip")
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if infos and all(i.flag_bits & 0x1 for i in infos):
            raise EncryptedFile("password-protected zip archive: unpack it with its password and add the folder")

        def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
            def read() -> bytes:
                if info.flag_bits & 0x1:
                    raise EncryptedFile("the member is password-protected")
                with archive.open(info) as fh:
                    # Read no more than the directory promised: a lying header cannot grow it.
                    return fh.read(info.file_size + 1)[: info.file_size]
            return read

        members = [Member(_zip_name(i), i.file_size, reader(i)) for i in infos]
        attachments, warnings = read_members(members, options)
    names = [safe_name(m.name, f"file-{i}") for i, m in enumerate(members, start=1)]
    listing = names[:MAX_NAMES_LISTED]
    if len(names) > MAX_NAMES_LISTED:
        listing.append(f"... and {len(names) - MAX_NAMES_LISTED} more")
    if not infos:
        raise EmptyDocument("the zip archive is empty")
    text = f"Archive {path.name} holds {len(names)} file(s):\n" + "\n".join(listing)
    return LoadedDocument(file_type="zip", sections=[Section(text=text, label="contents")],
                          warnings=warnings, attachments=attachments)


def _zip_name(info: zipfile.ZipInfo) -> str:
    # Names without the UTF-8 flag are cp437 by the spec, but Chinese and Japanese tools write
    # their local code page there; zipfile decoded them as cp437, so recover the bytes first.
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename
