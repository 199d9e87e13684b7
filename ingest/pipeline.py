"""The ingestion pipeline: files in, visible chunks out, with the embedder never waiting.

Stages run concurrently:
  parse   -- loaders run in worker processes (pebble), each file under a time budget and a
             memory cap, so a pathological file is killed alone and a parser crash costs one file
             (small plain-text files go several to a task; a batch that fails is read again one
             file to a task);
  split   -- on the calling thread, as parse results arrive;
  embed   -- one thread batches chunks across documents, a window of batches sorted by token
             length at a time, the next window handed to OpenVINO's streams before the last
             ends (the runtimes release the GIL while they work);
  commit  -- one thread writes vectors, then the catalogue and keyword rows in one transaction.
Files inside a file (mail attachments, zip members) are read with it, in its worker and budget,
and committed as documents of their own (`mail.eml › report.pdf`) just before it.
Files go to the parsers only while few parsed chunks wait for the embedder, so memory stays
bounded whatever the folder size.
Progress and cancellation are objects passed in, so the CLI and GUI show the same events.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import queue
import re
import threading
import time
from collections import deque
from concurrent.futures import CancelledError as FutureCancelled
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from app.errors import KnowledgeBaseError
from ingest.embedder import Embedder, PendingVectors
from ingest.errors import FileTimeout, FileTooLarge, IngestError
from ingest.kb import KnowledgeBase, NewVersion
from ingest.loaders import PLAIN_TEXT_SUFFIXES
from ingest.parse_worker import ReaderBug, boot, hard_timeout, limit_memory, parse_file, parse_files
from ingest.progress import CancelToken, Cancelled, FileEvent, NullProgress, Progress, ProgressSink
from ingest.splitter import Splitter, document_id
from ingest.types import CHILD_SEPARATOR, Chunk, LoadedDocument, file_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOptions:
    chunk_size: int = 800
    chunk_overlap: int = 120
    max_file_mb: int = 200
    file_timeout_s: float = 300
    max_pages: int = 5000
    ocr: bool = True
    parse_workers: int = 1
    force: bool = False  # re-index even unchanged files


@dataclass
class _Job:
    path: str
    size: int
    mtime: float
    content_hash: str
    doc: LoadedDocument | None = None
    chunks: list[Chunk] = field(default_factory=list)
    vectors: np.ndarray | None = None
    parts: list[np.ndarray] = field(default_factory=list)
    sent: int = 0  # chunks handed to the embedder
    filled: int = 0  # chunks whose vectors came back
    # Paths of the files inside this one (mail attachments, zip members) that this run keeps;
    # None for a file inside another, which is not a job of its own in the plan.
    children: list[str] | None = field(default_factory=list)
    alone: bool = False  # read in a task of its own: the batch it was in failed


def _crash_point(name: str) -> None:
    # Lets the crash-safety tests kill the process at exact points of the commit protocol, where
    # a timed SIGKILL would only land there by luck.  Inert unless the variable names this point.
    if os.environ.get("LOCALKB_TEST_CRASH_AT") == name:
        os._exit(137)


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def printable_path(path: str) -> str:
    """A path as text that can be printed and stored: bytes that are not UTF-8 shown as \\xNN."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A commit group's size cap in chunks: big enough to share a commit's fixed cost among many
# small files, small enough that one commit stays a fraction of a second.
_COMMIT_GROUP_CHUNKS = 1024
# Small plain-text files go to a parser up to this many to a task: enough to spread a task's fixed
# cost thin.  A batch holds no more text than one ordinary file, so the parsed text waiting for the
# embedder stays as bounded as when every task was one file.
_BATCH_FILES = 16
_BATCH_BYTES = 64 * 1024
_BATCH_FILE_BYTES = 16 * 1024


def one_line_path(path: str) -> str:
    """A path for a line of output: bytes that are not UTF-8 as \\xNN and control characters
    (a newline in a file name) escaped, so one file is always one line."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], printable_path(path))


def _name_problem(path: Path) -> FileEvent | None:
    # Python hands names that are not UTF-8 over as lone surrogates, which SQLite and Chroma refuse:
    # one such name used to stop the whole ingest with a UnicodeEncodeError.
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return FileEvent(printable_path(str(path)), "failed",
                         "the file name is not valid UTF-8 (written by an old system?): rename the file and add it again")
    return None


def _walked_file(f: Path, folder: Path) -> Path | FileEvent | None:
    """A file met while walking `folder`: the path to read, a reason it is not read, or None (not a file)."""
    if f.is_symlink():
        try:
            target = f.resolve(strict=True)
        except (OSError, RuntimeError):
            return FileEvent(printable_path(str(f)), "skipped", "a link that loops or points to nothing")
        if not target.is_file():
            return None
        # A link out of the folder would index a file the user never chose (a shared folder
        # pointing at ~/.ssh); a link inside is the file it points to, read once.
        if folder not in target.parents:
            return FileEvent(printable_path(str(f)), "skipped",
                             f"a link to a file outside the folder ({printable_path(str(target))}): add that file itself")
        return target
    if f.is_file():
        return f
    if f.exists():
        return FileEvent(printable_path(str(f)), "skipped", "not a regular file (a pipe, socket or device)")
    return None  # gone since it was listed


def expand_paths(paths: Iterable[Path | str], exclude: Sequence[Path] = ()) -> tuple[list[Path], list[FileEvent]]:
    """Files under the given paths, folders recursed; hidden entries and excluded trees skipped.

    Links inside a folder are followed only to files in that folder; links to folders are not
    followed (the folder is added by itself); loops, pipes and names that are not UTF-8 are
    reported, each with its reason, instead of stopping the walk.
    """
    excluded = [p.resolve() for p in exclude]
    files: list[Path] = []
    problems: list[FileEvent] = []
    seen: set[Path] = set()

    # As text: `e in p.parents` made a Path of every parent, twice per file of a walk.
    excluded_text = [(str(e), str(e).rstrip(os.sep) + os.sep) for e in excluded]

    def is_excluded(p: Path) -> bool:
        text = str(p)
        return any(text == e or text.startswith(under) for e, under in excluded_text)

    def add(f: Path) -> None:
        problem = _name_problem(f)
        if problem is not None:
            problems.append(problem)
        elif f not in seen:
            seen.add(f)
            files.append(f)

    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists() and Path(file_of(str(p))).is_file():
            p = Path(file_of(str(p)))  # a member (`mail.eml › a.pdf`) is read again with its container
        if not p.exists():
            problems.append(FileEvent(printable_path(str(p)), "failed", "no such file or folder"))
            continue
        p = p.resolve()
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                root_path = Path(root)
                for d in dirs:
                    if not d.startswith(".") and (root_path / d).is_symlink():
                        problems.append(FileEvent(printable_path(str(root_path / d)), "skipped",
                                                  "a link to a folder is not followed: add that folder itself"))
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not is_excluded(root_path / d))
                for name in sorted(names):
                    f = root_path / name
                    if name.startswith(".") or is_excluded(f):
                        continue
                    found = _walked_file(f, p)
                    if isinstance(found, FileEvent):
                        problems.append(found)
                    elif found is not None and not is_excluded(found):
                        add(found)
        elif p.is_file():
            if not is_excluded(p):
                add(p)
        else:  # reading a pipe or a device named by hand would block or never end
            problems.append(FileEvent(printable_path(str(p)), "failed", "not a regular file (a pipe, socket or device)"))
    return files, problems


class FileVanished(IngestError):
    """The file was removed or renamed after it was planned, before or while it was read."""


def _raise_or_return(outcome: LoadedDocument | Exception) -> LoadedDocument:
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _check_unchanged(job: _Job) -> None:
    """Fail a file that went away while it was read; warn about one that changed.

    A file that changed (a log being written, a document being saved) is indexed as read, under
    the size and time it had when planned, so the next run sees it differ and reads it again.
    """
    try:
        st = os.stat(job.path)
    except OSError:
        raise FileVanished("the file was removed or renamed while it was read") from None
    if (st.st_size, st.st_mtime) != (job.size, job.mtime):
        job.doc.warnings.append("the file changed while it was read: the next ingest or sync reads it again")


class IngestPipeline:
    def __init__(self, kb: KnowledgeBase, embedder: Embedder, options: IngestOptions,
                 progress: ProgressSink | None = None, cancel: CancelToken | None = None,
                 exclude: Sequence[Path] = (), parse: Callable[[str, bool, int, float], LoadedDocument] | None = None) -> None:
        """`parse` runs in the parser processes; it must be a module-level function (tests swap it)."""
        self.kb = kb
        self.parse = parse or parse_file
        self.embedder = embedder
        self.options = options
        self.sink = progress or NullProgress()
        self.cancel = cancel or CancelToken()
        self.exclude = exclude
        self.splitter = Splitter(options.chunk_size, options.chunk_overlap)
        self.events: list[FileEvent] = []
        self._events_lock = threading.Lock()
        self._files_total = 0
        self._chunks_done = 0
        self._chunks_total = 0
        self._started = 0.0
        self._work_done = 0  # files that needed parsing and have finished, for the ETA
        self._work_total = 0
        self.embed_seconds = 0.0
        self.commit_seconds = 0.0
        self.commits = 0
        self._chunks_embedded = 0
        self._pool = None  # the parser processes, once planning finds a file to read
        self._parse_workers = 1
        # Chunks parsed but not yet embedded beyond which no more files are handed to the parsers.
        self.max_backlog = max(4 * getattr(embedder, "window", embedder.batch_size), 1024)
        self.files_hashed = 0  # files whose content planning read: none on a re-run over an unchanged folder
        self.plan_seconds = 0.0
        self._known_children: dict[str, set[str]] | None = None  # container path -> its member rows

    # -- reporting ---------------------------------------------------------------------------

    def _event(self, event: FileEvent, work: bool = False) -> None:
        with self._events_lock:
            self.events.append(event)
            if work:
                self._work_done += 1
            self._chunks_done += event.chunks if event.state == "ok" else 0
        self.sink.file_event(event)
        self._report()

    def _report(self) -> None:
        eta = None
        if self._work_done and self._work_total:
            elapsed = time.monotonic() - self._started
            eta = elapsed / self._work_done * (self._work_total - self._work_done)
        self.sink.progress(Progress(len(self.events), self._files_total, self._chunks_done, self._chunks_total, eta))

    # -- the run -----------------------------------------------------------------------------

    def run(self, paths: Iterable[Path | str]) -> list[FileEvent]:
        self._started = time.monotonic()
        paths = list(paths)
        moved = self._check_embedder()
        named = [str(p) for p in paths] + moved
        files, problems = expand_paths([*paths, *moved], self.exclude)
        self._files_total = len(files) + len(problems)
        for ev in problems:
            self._event(ev)
        t0 = time.perf_counter()
        try:
            jobs = self._plan(files)
            self.plan_seconds = time.perf_counter() - t0
            if jobs:
                self._process(jobs)
            if self.options.force and not self.cancel.cancelled:
                self._forget_unread(named)
        finally:
            if self._pool is not None:  # opened while planning, which then failed
                self._pool.stop()
                self._pool.join()
                self._pool = None
        return self.events

    def _open_parsers(self, files_left: int) -> None:
        """Start the parser processes.  Planning does it at the first file to read, so they boot
        (~0.2 s: an interpreter and the loaders' imports) while it plans the rest; before, every
        ingest waited for them after planning."""
        from pebble import ProcessPool

        ctx = multiprocessing.get_context("spawn")  # fork would copy torch's and Chroma's threads' locks
        self._parse_workers = max(1, min(self.options.parse_workers, files_left))
        self._pool = ProcessPool(max_workers=self._parse_workers, initializer=limit_memory, context=ctx)
        self._pool.schedule(boot)  # pebble starts its processes at the first task

    def _check_embedder(self) -> list[str]:
        """Paths to read besides those given.  A knowledge base indexed by another embedder is
        refused, unless this run is a re-index (`force`): then the whole knowledge base moves to
        this embedder, every document taken down and read again, so two embedders' vectors never
        mix (the default embedder changing to int8 makes every older KB such a case)."""
        used = self.kb.meta("embedder")
        if not used or used == self.embedder.name:
            return []
        if not self.options.force:
            raise KnowledgeBaseError(
                f"Knowledge base '{self.kb.name}' was indexed with the embedding model '{used}', not the current "
                f"'{self.embedder.name}': re-index it (localkb ingest --reindex) or switch the embedder back."
            )
        log.info("re-indexing all documents of %s: embedder %s -> %s", self.kb.name, used, self.embedder.name)
        return self.kb.change_embedder(self.embedder.name, self.embedder.dimension)

    def _forget_unread(self, named: list[str]) -> None:
        """After a whole re-index, forget the documents it named that have no version and that
        nothing read: files gone from the disk or now excluded, members of a container that
        failed.  A move to another embedder lists every document as pending with no version until
        it is read again, so a move cut short is taken up by the next re-index, which ends here."""
        for path in named:
            row = self.kb.document(path)
            if row is not None and row.status == "pending" and row.doc_id is None:
                self.kb.remove_document(path)

    def _plan(self, files: list[Path]) -> list[_Job]:
        """Skip unchanged files; return the rest as jobs."""
        jobs: list[_Job] = []
        max_bytes = self.options.max_file_mb * 1024 * 1024
        for index, f in enumerate(files):
            if self.cancel.cancelled:
                break
            path = str(f)
            try:
                st = f.stat()
                row = self.kb.document(path)
                unchanged_stat = row is not None and row.status == "indexed" and row.size == st.st_size and row.mtime == st.st_mtime
                if unchanged_stat and not self.options.force:
                    self._event(FileEvent(path, "skipped", "unchanged", row.chunks, row.pages))
                    continue
                if st.st_size > max_bytes:
                    raise FileTooLarge(f"file is {st.st_size / 1024**2:.0f} MB, over the {self.options.max_file_mb} MB limit (settings: ingest.max_file_mb)")
                digest = file_hash(f)
                self.files_hashed += 1
                if row is not None and not self.options.force:
                    if row.status != "failed" and row.doc_id and row.content_hash == digest:
                        self.kb.touch(path, st.st_mtime)
                        self._event(FileEvent(path, "skipped", "unchanged", row.chunks, row.pages))
                        continue
                    if row.status == "failed" and row.failed_hash == digest:
                        self._event(FileEvent(path, "skipped", f"unchanged since it failed: {row.reason}"))
                        continue
            except IngestError as exc:
                self.kb.mark_failed(path, str(exc), f.suffix.lower().lstrip("."))
                self._event(FileEvent(path, "failed", str(exc)))
                continue
            except OSError as exc:
                reason = f"cannot read: {exc.strerror or exc}"
                self.kb.mark_failed(path, reason, f.suffix.lower().lstrip("."))
                self._event(FileEvent(path, "failed", reason))
                continue
            self.kb.mark_pending(path, st.st_size, st.st_mtime)
            jobs.append(_Job(path, st.st_size, st.st_mtime, digest))
            if self._pool is None:
                self._open_parsers(len(files) - index)
        self._work_total = len(jobs)
        return jobs

    def _process(self, jobs: list[_Job]) -> None:
        embed_q: queue.Queue[_Job | None] = queue.Queue()
        commit_q: queue.Queue[list[_Job] | None] = queue.Queue(maxsize=64)
        errors: list[BaseException] = []
        embedder_thread = threading.Thread(target=self._embed_loop, args=(embed_q, commit_q, errors), name="embed", daemon=True)
        writer_thread = threading.Thread(target=self._commit_loop, args=(commit_q, errors), name="commit", daemon=True)
        embedder_thread.start()
        writer_thread.start()
        if self._pool is None:
            self._open_parsers(len(jobs))
        pool, self._pool, workers = self._pool, None, self._parse_workers
        # Memory stays bounded whatever the folder size: files are handed to the parsers a few at
        # a time, and none while the chunks parsed but not yet embedded exceed a few windows, so
        # fast parsers never pile whole folders of text up in front of the slower embedder.
        # (Scheduling every file at once kept every parsed document in memory until the end.)
        to_parse = deque(jobs)
        futures: dict = {}
        interrupted = False
        try:
            try:
                while (futures or to_parse) and not (self.cancel.cancelled or errors):
                    while to_parse and len(futures) < 4 * workers and self._chunks_total - self._chunks_embedded < self.max_backlog:
                        batch = self._next_batch(to_parse)
                        if len(batch) == 1:
                            future = pool.schedule(self.parse, args=(batch[0].path, self.options.ocr, self.options.max_pages,
                                                                     self.options.file_timeout_s),
                                                   timeout=hard_timeout(batch[0].path, self.options.file_timeout_s))
                        else:
                            future = pool.schedule(parse_files, args=(self.parse, [j.path for j in batch], self.options.ocr,
                                                                      self.options.max_pages, self.options.file_timeout_s),
                                                   timeout=self.options.file_timeout_s)
                        futures[future] = batch
                    if not futures:  # the embedder is catching up
                        time.sleep(0.05)
                        continue
                    # Poll so a cancel is honoured within a fraction of a second, even mid-file.
                    finished, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in finished:
                        batch = futures.pop(future)
                        if len(batch) == 1:
                            self._collect(batch[0], future.result, embed_q)
                        else:
                            self._collect_batch(batch, future, embed_q, to_parse)
            except KeyboardInterrupt:
                # Ctrl-C stops like a cancel: the parsers are stopped, the embedder ends after its
                # current batch and nothing more is committed.  Without this the cleanup below
                # closed the pool gently and waited for every queued file to be parsed, embedded
                # and committed, which took minutes on a slow machine.
                interrupted = True
                self.cancel.cancel()
        finally:
            pool.stop() if self.cancel.cancelled or errors else pool.close()
            embed_q.put(None)
            while True:
                # Ctrl-C can also come while the last files are embedded and committed (every file
                # already parsed): it stops those the same way instead of escaping the join.
                try:
                    embedder_thread.join()
                    writer_thread.join()
                    pool.join()
                    break
                except KeyboardInterrupt:
                    interrupted = True
                    self.cancel.cancel()
                    pool.stop()
        if errors:
            raise errors[0]
        if self.cancel.cancelled:
            for job in jobs:
                row = self.kb.document(job.path)
                if row is None or row.status != "pending":
                    continue
                if row.doc_id:  # the previous version was never taken down: it is still indexed
                    self.kb.touch(job.path, row.mtime or 0.0)
                else:
                    self.kb.mark_failed(job.path, "cancelled before it was indexed; add it again", "")
            if interrupted:
                raise KeyboardInterrupt
            self.cancel.check()

    @staticmethod
    def _next_batch(to_parse: deque) -> list[_Job]:
        """The next file to read, with the small plain-text files that follow it when it is one."""
        def small_text(job: _Job) -> bool:
            return (not job.alone and job.size <= _BATCH_FILE_BYTES
                    and Path(job.path).suffix.lower() in PLAIN_TEXT_SUFFIXES)

        batch = [to_parse.popleft()]
        if not small_text(batch[0]):
            return batch
        size = batch[0].size
        while (to_parse and len(batch) < _BATCH_FILES and small_text(to_parse[0])
               and size + to_parse[0].size <= _BATCH_BYTES):
            size += to_parse[0].size
            batch.append(to_parse.popleft())
        return batch

    def _collect_batch(self, jobs: list[_Job], future, embed_q: queue.Queue, to_parse: deque) -> None:
        """Take each file of a batch as `_collect` takes a file read alone.  A batch that crashed
        or timed out tells nothing about which file did it: its files go back to the front of the
        queue, each to be read in a task of its own, so the culprit fails alone and the rest are
        read (a hanging file costs two time budgets, not one)."""
        try:
            outcomes = future.result()
        except FutureCancelled:
            return
        except Exception as exc:
            log.warning("a batch of %d small files failed (%s: %s); reading them one at a time",
                        len(jobs), type(exc).__name__, exc)
            for job in reversed(jobs):
                job.alone = True
                to_parse.appendleft(job)
            return
        for job, outcome in zip(jobs, outcomes, strict=True):
            self._collect(job, partial(_raise_or_return, outcome), embed_q)

    def _collect(self, job: _Job, result: Callable[[], LoadedDocument], embed_q: queue.Queue) -> None:
        """Split a parsed file and queue it for embedding, or record why it failed.  `result`
        gives the parser's document or raises its error."""
        from pebble import ProcessExpired

        try:
            job.doc = result()
            _check_unchanged(job)
            job.chunks = self.splitter.split(job.doc, job.path, document_id(job.path, job.content_hash))
            if not job.chunks:
                raise IngestError("no text found: the file holds only whitespace")
            children = self._attachment_jobs(job)
        except FileVanished as exc:
            self._fail(job, str(exc), retry=True)
            return
        except FutureTimeout:
            limit = hard_timeout(job.path, self.options.file_timeout_s)
            self._fail(job, str(FileTimeout(f"reading took longer than {limit:.0f} s (settings: ingest.file_timeout_s)")),
                       retry=True)
            return
        except ProcessExpired as exc:
            self._fail(job, f"the reader crashed on this file (exit code {exc.exitcode}); it may be damaged")
            return
        except IngestError as exc:
            self._fail(job, str(exc))
            return
        except FutureCancelled:
            return
        except ReaderBug as exc:  # a loader bug, met in a batch
            log.error("unexpected error reading %s\n%s", job.path, exc.trace)
            self._fail(job, f"unexpected error: {exc.type_name}: {exc.message}")
            return
        except Exception as exc:  # a loader bug must cost one file, not the whole ingest
            log.exception("unexpected error reading %s", job.path)
            self._fail(job, f"unexpected error: {type(exc).__name__}: {exc}")
            return
        with self._events_lock:
            self._chunks_total += len(job.chunks) + sum(len(c.chunks) for c in children)
        # Members are committed before their container: until the container's row commits, it
        # stays pending and the next run reads the whole container again (crash safety).
        for child in children:
            embed_q.put(child)
        embed_q.put(job)

    def _attachment_jobs(self, job: _Job) -> list[_Job]:
        """Jobs for the files inside a container, each a document of its own (`mail.eml › a.pdf`)."""
        attachments, job.doc.attachments = job.doc.attachments, []
        jobs: list[_Job] = []
        for attachment in attachments:
            path = f"{job.path}{CHILD_SEPARATOR}{attachment.name}"
            job.children.append(path)
            row = self.kb.document(path)
            if (row is not None and not self.options.force and row.status == "indexed"
                    and row.content_hash == attachment.content_hash):
                self._files_total += 1
                self._event(FileEvent(path, "skipped", "unchanged", row.chunks, row.pages))
                continue
            child = _Job(path, attachment.size, job.mtime, attachment.content_hash, doc=attachment.document, children=None)
            child.chunks = self.splitter.split(child.doc, path, document_id(path, attachment.content_hash))
            if not child.chunks:
                job.children.pop()
                job.doc.warnings.append(f"attached file {attachment.name} not read: no text found")
                continue
            jobs.append(child)
        self._files_total += len(jobs)
        return jobs

    def _remove_stale_children(self, job: _Job) -> None:
        """Forget members an older version of a container had and this one does not."""
        if self._known_children is None:
            self._known_children = {}
            for path in self.kb.member_paths():
                self._known_children.setdefault(file_of(path), set()).add(path)
        keep = set(job.children or ())
        for path in sorted(self._known_children.pop(job.path, set()) - keep):
            self.kb.remove_document(path)

    def _fail(self, job: _Job, reason: str, retry: bool = False) -> None:
        """`retry`: the failure may not recur (a time-out), so the next run reads the file again."""
        self.kb.mark_failed(job.path, reason, Path(job.path).suffix.lower().lstrip("."),
                            None if retry else job.content_hash)
        self._event(FileEvent(job.path, "failed", reason), work=True)

    def _embed_loop(self, embed_q: queue.Queue, commit_q: queue.Queue, errors: list) -> None:
        """Batch chunks across documents so small files still fill the embedder's batches.

        Up to a window of several batches goes to the embedder at once, sorted by token length so
        each batch pads to similar lengths; the window is taken from what is already parsed, never
        waited for while the embedder is idle.  An embedder that runs batches side by side
        (OpenVINO's streams) gets the next full window while it still embeds the last, so its
        streams never wait for this thread: between two windows it tokenised, sorted and handed
        out vectors, and with the parser and the writer wanting the same cores those gaps were
        ~1 s of a 13 s ingest."""
        window = getattr(self.embedder, "window", self.embedder.batch_size)
        ahead = 2 if getattr(self.embedder, "streams", 1) > 1 else 1  # windows handed to the embedder at once
        pending: deque[_Job] = deque()  # jobs with chunks not yet embedded, oldest first
        inflight: deque[tuple[PendingVectors, list[tuple[_Job, int]], float]] = deque()
        unsent = 0  # chunks in `pending` not yet handed to the embedder
        done = False
        last_end = 0.0
        try:
            while True:
                if not done:
                    # Block for work only when there is nothing else to do; while a window is
                    # being embedded, look for more work every few milliseconds until it ends.
                    idle = not inflight and not unsent
                    timeout = None if idle else (0.005 if inflight and unsent < window else 0)
                    try:
                        item = embed_q.get(timeout=timeout) if timeout != 0 else embed_q.get_nowait()
                        while True:
                            if item is None:
                                done = True
                                break
                            pending.append(item)
                            unsent += len(item.chunks)
                            if unsent >= window:
                                break
                            item = embed_q.get_nowait()
                    except queue.Empty:
                        pass
                if self.cancel.cancelled:
                    return
                if unsent and len(inflight) < ahead and (unsent >= window or done or not inflight):
                    texts: list[str] = []
                    takes: list[tuple[_Job, int]] = []
                    for job in pending:
                        n = min(len(job.chunks) - job.sent, window - len(texts))
                        if n <= 0:
                            continue
                        texts.extend(c.text for c in job.chunks[job.sent : job.sent + n])
                        takes.append((job, n))
                        job.sent += n
                        unsent -= n
                        if len(texts) == window:
                            break
                    started = time.perf_counter()
                    submitted = self._submit_window(texts)
                    if submitted is None:  # cancelled between batches
                        return
                    inflight.append((submitted, takes, started))
                    continue
                if not inflight:
                    if done and not pending:
                        return
                    continue
                if not (len(inflight) == ahead or done or inflight[0][0].done()):
                    continue
                pending_vectors, takes, started = inflight.popleft()
                try:
                    vectors = pending_vectors.result()
                except Cancelled:
                    return
                end = time.perf_counter()
                self.embed_seconds += end - max(started, last_end)  # windows overlap: count the time once
                last_end = end
                self._chunks_embedded += len(vectors)
                pos = 0
                for job, n in takes:
                    job.parts.append(vectors[pos : pos + n])
                    job.filled += n
                    pos += n
                # Windows are filled oldest job first and end in order, so finished jobs are
                # always at the front.  They travel together, so the writer commits them as one group.
                finished: list[_Job] = []
                while pending and pending[0].filled == len(pending[0].chunks):
                    job = pending.popleft()
                    job.vectors = np.vstack(job.parts)
                    job.parts = []
                    finished.append(job)
                if finished:
                    commit_q.put(finished)
        except BaseException as exc:  # surface in the caller; the pipeline stops
            errors.append(exc)
            self.cancel.cancel()
        finally:
            for pending_vectors, _takes, _started in inflight:
                try:  # the embedder stops between batches; nothing may write into a window after this
                    pending_vectors.result()
                except BaseException:  # noqa: BLE001 - the pipeline is stopping already
                    pass
            commit_q.put(None)

    def _submit_window(self, texts: list[str]) -> PendingVectors | None:
        """Hand a window to the embedder in batches of similar token length, so little compute goes
        on padding.  An embedder that runs batches side by side gets the whole window in one call
        with the cancel token (it stops between batches, and its vectors raise Cancelled); others
        get one batch per call, so a cancel is heard between batches (a window takes seconds, a
        batch a fraction): None then."""
        tokenize = getattr(self.embedder, "tokenize", None)
        encodings = tokenize(texts) if tokenize is not None else None
        if getattr(self.embedder, "streams", 1) > 1:
            return self.embedder.submit_documents(texts, encodings=encodings, cancel=self.cancel)
        lengths = [len(e.ids) for e in encodings] if encodings is not None else [len(t) for t in texts]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        out: np.ndarray | None = None
        batch_size = self.embedder.batch_size
        for start in range(0, len(order), batch_size):
            if self.cancel.cancelled:
                break
            idx = order[start : start + batch_size]
            extra = {} if encodings is None else {"encodings": [encodings[i] for i in idx]}
            vectors = self.embedder.embed_documents([texts[i] for i in idx], **extra)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
        if out is None or self.cancel.cancelled:
            return None
        return PendingVectors.ready(out)

    def _commit_loop(self, commit_q: queue.Queue, errors: list) -> None:
        """Commit embedded files in groups: the files one embedder window finished, and any that
        finished while the last commit ran.

        Nothing waits to fill a group: a file is committed as soon as its window is embedded.  A
        commit's fixed cost (~70 ms) is thereby shared by the small files of a window, so it stops
        bounding a folder of small notes below the embedder's own speed."""
        done = False
        while not done:
            group: list[_Job] = []
            item = commit_q.get()
            while item is not None:
                group.extend(item)
                if sum(len(j.chunks) for j in group) >= _COMMIT_GROUP_CHUNKS:
                    break
                try:
                    item = commit_q.get_nowait()
                except queue.Empty:
                    break
            done = item is None
            if not group or errors or self.cancel.cancelled:  # a cancel stops now; what was not committed stays pending
                continue
            try:
                if self.kb.meta("embedder") is None:
                    self.kb.set_meta("embedder", self.embedder.name)
                    self.kb.set_meta("dimension", str(group[0].vectors.shape[1]))
                for job in group:
                    if job.children is not None:
                        self._remove_stale_children(job)
                _crash_point("before_commit")
                started = time.perf_counter()
                self.kb.commit_documents([NewVersion(job.path, job.chunks[0].doc_id, job.content_hash, job.size,
                                                     job.mtime, job.doc, job.chunks, job.vectors) for job in group])
                self.commit_seconds += time.perf_counter() - started
                self.commits += 1
                _crash_point("after_commit")
                for job in group:
                    warning = "; ".join(job.doc.warnings)
                    self._event(FileEvent(job.path, "ok", warning, len(job.chunks), job.doc.pages),
                                work=job.children is not None)
                    # The plan's list still holds this job: let its text and vectors go now.
                    job.doc, job.chunks, job.vectors = None, [], None
            except BaseException as exc:
                errors.append(exc)
                self.cancel.cancel()
