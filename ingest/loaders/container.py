"""Files inside files: e-mail attachments and zip members, read as documents of their own.

A container loader hands its members to `read_members`, which writes each to a private temporary
file under a name it makes up (the member's own path is only ever a label, so a name like
`../../etc/passwd` or `C:\\x` cannot write or read anywhere) and reads it with `load_file`, as if it
had been added by hand.  The pipeline then indexes each member under `container › member`.

Bounds, per top-level file: containers nest at most MAX_DEPTH deep, all members together may
expand to at most MAX_TOTAL_BYTES, and at most MAX_MEMBERS are read.  Each member has a time
budget of its own (LoadOptions.time_budget_s, the per-file setting): members are read in the
container's worker process, where an interval timer (SIGALRM) stops a member that runs over, and
the member is listed as not read.  All members together are bounded by the container's deadline
(the pipeline gives a container CONTAINER_TIME_FACTOR per-file budgets and kills it past that);
once it has passed, the remaining members are listed as not read instead of killing the whole
container.  They share the container's memory cap.  A member that cannot be read becomes a
warning on its container, never a failure of it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import posixpath
import signal
import tempfile
import threading
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
            elif _total_deadline(options) is not None and time.monotonic() > _total_deadline(options):
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
            started = time.monotonic()
            hard = _member_deadline(options, started)
            own = options.time_budget_s
            member_options = child_options
            if hard is not None:
                # OCR stops at four fifths of the member's time, as for a file of its own (parse_worker.parse_file).
                member_options = dataclasses.replace(child_options, ocr_deadline=started + 0.8 * (hard - started))
            try:
                with member_timer(hard):
                    document = load_file(path, member_options)
            except MemberTimeout:
                if hard is None or time.monotonic() < hard - 0.05:
                    raise  # an enclosing member's time ran out, not this one's
                skipped.append(f"{name} (reading took longer than {own or 0:g} s (settings: ingest.file_timeout_s))"
                               if own and hard - started >= own - 0.05 else
                               f"{name} (the container's time budget ran out (settings: ingest.file_timeout_s))")
                continue
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


def _total_deadline(options: LoadOptions) -> float | None:
    # Without a container deadline (a loader called directly, an older caller), the file's own
    # OCR deadline is the only bound there is.
    return options.container_deadline if options.container_deadline is not None else options.ocr_deadline


def _member_deadline(options: LoadOptions, now: float) -> float | None:
    """When the member being read must stop: its own budget, within the container's total."""
    total = _total_deadline(options)
    own = now + options.time_budget_s if options.time_budget_s else None
    if own is None:
        return total
    return own if total is None else min(own, total)


class MemberTimeout(BaseException):
    """Raised in the worker by SIGALRM when a member runs over its time.

    A BaseException, like KeyboardInterrupt, so that the loaders' "a parsing library failed"
    handlers (`except Exception`) cannot turn it into a corrupt-file message.
    """


@contextlib.contextmanager
def member_timer(deadline: float | None):
    """Raise MemberTimeout in this thread once time.monotonic() passes `deadline`.

    Python has no way to stop a function from another thread, and a process per member would
    copy every member's bytes between processes; an interval timer interrupts the loader between
    two bytecodes (C calls such as a pdfium page finish first).  It works in a process's main
    thread only (the pipeline's workers): elsewhere the soft OCR deadline is the only limit.
    An enclosing member's timer is put back, less the time spent, when this one ends.
    """
    if deadline is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(_signum, _frame):
        raise MemberTimeout()

    outer_left, _interval = signal.getitimer(signal.ITIMER_REAL)
    outer_deadline = time.monotonic() + outer_left if outer_left else None
    previous = signal.signal(signal.SIGALRM, fire)
    failed = True
    try:
        effective = deadline if outer_deadline is None else min(deadline, outer_deadline)
        signal.setitimer(signal.ITIMER_REAL, max(0.001, effective - time.monotonic()))
        yield
        failed = False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_deadline is not None:
            left = outer_deadline - time.monotonic()
            if left > 0:
                signal.setitimer(signal.ITIMER_REAL, left)
            elif not failed:  # the enclosing member's time ran out while this one was read
                raise MemberTimeout()


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
