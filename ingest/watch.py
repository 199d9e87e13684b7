"""Followed folders: keep a knowledge base equal to what some folders on disk hold.

Changes are noticed two ways: watchdog events, at once, and a full rescan every `rescan_s`, the
safety net for network drives (whose events are unreliable) and for anything missed.  Both feed
one worker thread per knowledge base, which
  1. waits until a touched path has been quiet for `debounce_s`, and a file's mtime is that old,
     so a file still being written is read once, complete;
  2. plans (`plan_sync`): files that are new or whose size or mtime differ from the catalogue,
     catalogued files that are gone (or now ignored), and moves -- a gone file whose content hash
     a new file has, which keeps its chunks under the new path instead of being read again;
     the documents inside a file (mail attachments, zip members: `mail.eml › a.pdf`) are no
     files on disk and are planned by their container's fate: gone with it, moved with it, and
     left alone otherwise (the pipeline re-reads them whenever it re-reads their container);
  3. applies the plan under the knowledge base's writer lock: moves, the pipeline for the
     changed files (it skips same-content files by hash), then removals.
`sync_once` is the same plan-and-apply over everything, for `localkb sync` and for the reconcile
that runs when watching starts, so changes made while the app was closed are applied.

The followed folders, the ignore rules and the last sync time live in the catalogue's `meta`
table, so they travel with the knowledge base.  Nothing here imports the app: the caller passes
`ingest_files`, which runs the ingestion pipeline (the writer lock is already held).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ingest.ignore import DEFAULT_RULES, IgnoreRules
from ingest.kb import WRITER_WAIT_S, KnowledgeBase, WriterBusy
from ingest.progress import CancelToken, FileEvent
from ingest.types import file_of

log = logging.getLogger(__name__)

META_FOLDERS = "sync.folders"
META_RULES = "sync.ignore_rules"
META_LAST = "sync.last_sync"

IngestFiles = Callable[[list[str], CancelToken], list[FileEvent]]


# -- what a knowledge base follows -------------------------------------------------------------


def followed_folders(kb: KnowledgeBase) -> list[str]:
    raw = kb.meta(META_FOLDERS)
    return list(json.loads(raw)) if raw else []


def set_followed_folders(kb: KnowledgeBase, folders: Sequence[str]) -> None:
    kb.set_meta(META_FOLDERS, json.dumps(sorted(set(folders)), ensure_ascii=False))


def ignore_rules_text(kb: KnowledgeBase) -> str:
    text = kb.meta(META_RULES)
    return DEFAULT_RULES if text is None else text


def last_sync(kb: KnowledgeBase) -> float | None:
    raw = kb.meta(META_LAST)
    return float(raw) if raw else None


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _folder_of(path: str, folders: Sequence[str]) -> str | None:
    return next((f for f in folders if _under(path, f)), None)


# -- planning ----------------------------------------------------------------------------------


@dataclass
class SyncPlan:
    changed: list[str] = field(default_factory=list)  # new or changed on disk: read them
    removed: list[str] = field(default_factory=list)  # catalogued but gone (or now ignored), members too
    # (old path, new path), same content; a moved container's members follow it in the list.
    moved: list[tuple[str, str]] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # modified within the debounce: look again later

    @property
    def size(self) -> int:
        return len(self.changed) + len(self.removed) + len(self.moved)


def scan(folders: Sequence[str], rules: IgnoreRules, exclude: Sequence[str] = (),
         within: str | None = None) -> dict[str, tuple[int, float]]:
    """{path: (size, mtime)} of every file under the folders that the rules do not ignore.

    `within` is the followed folder a sub-folder being scanned belongs to (links may point
    anywhere inside it); by default each scanned folder is its own."""
    found: dict[str, tuple[int, float]] = {}
    for folder in folders:
        root_path = Path(folder)
        for root, dirs, names in os.walk(folder):
            base = Path(root)
            dirs[:] = [d for d in dirs if not rules.ignored_under(root_path, base / d)
                       and not any(_under(str(base / d), e) for e in exclude)]
            for name in names:
                p = base / name
                if rules.ignored_under(root_path, p):
                    continue
                _stat_into(found, str(p), within or folder)
    return found


def _stat_into(found: dict[str, tuple[int, float]], path: str, folder: str) -> None:
    # A link out of the followed folder would index a file the user never chose (a shared folder
    # with a link to ~/.ssh), the same rule as the pipeline's folder walk; loops and dangling
    # links have no target and are left out.
    if os.path.islink(path):
        try:
            target = Path(path).resolve(strict=True)
        except (OSError, RuntimeError):
            return
        if Path(folder).resolve() not in target.parents:
            return
    try:
        st = os.stat(path)
    except OSError:  # gone between listing and stat: it will be seen as removed
        return
    if os.path.isfile(path):
        found[path] = (st.st_size, st.st_mtime)


def plan_sync(kb: KnowledgeBase, folders: Sequence[str], rules: IgnoreRules, touched: Iterable[str] | None = None,
              settle_s: float = 0.0, exclude: Sequence[str] = (), file_hash: Callable[[Path], str] | None = None) -> SyncPlan:
    """What to do to make the catalogue match the folders; `touched` limits it to those paths (and below)."""
    from ingest.pipeline import file_hash as default_hash

    hash_of = file_hash or default_hash
    # A folder that is not there (an unmounted network drive, a USB disk) is skipped, never
    # read as empty: that would remove every document under it until it comes back.
    followed = [str(Path(f)) for f in folders]
    folders = [f for f in followed if os.path.isdir(f)]
    if touched is None:
        scope = folders
        disk = scan(folders, rules, exclude)
    else:
        scope, disk = [], {}
        for path in {str(Path(t)) for t in touched}:
            folder = _folder_of(path, folders)
            if folder is None:
                if _folder_of(path, followed) is None:
                    scope.append(path)  # moved out of every followed folder: only its removal matters
                continue
            scope.append(path)
            if rules.ignored_under(Path(folder), Path(path)) or any(_under(path, e) for e in exclude):
                continue
            if os.path.isdir(path):
                sub = scan([path], rules, exclude, within=folder)
                disk.update({p: v for p, v in sub.items() if not rules.ignored_under(Path(folder), Path(p))})
            else:
                _stat_into(disk, path, folder)
    # Members are in scope through their container's path: a touched `a.zip` covers `a.zip › b.txt`.
    rows = [d for d in kb.documents() if any(_under(file_of(d.path), s) for s in scope)]
    known = {d.path: d for d in rows if file_of(d.path) == d.path}
    children: dict[str, list[str]] = defaultdict(list)  # container path -> its member rows
    for d in rows:
        if file_of(d.path) != d.path:
            children[file_of(d.path)].append(d.path)
    plan = SyncPlan()
    now = time.time()
    for path, (size, mtime) in sorted(disk.items()):
        row = known.get(path)
        if row is not None and row.status == "indexed" and row.size == size and row.mtime == mtime:
            continue
        if settle_s and now - mtime < settle_s:
            plan.deferred.append(path)
            continue
        plan.changed.append(path)
    deferred = set(plan.deferred)
    plan.removed = sorted(p for p in known if p not in disk and p not in deferred)

    # A new path whose content a removed document had is that document, moved or renamed.
    gone_by_size: dict[int, list[str]] = defaultdict(list)
    for p in plan.removed:
        row = known[p]
        if row.doc_id and row.content_hash and row.size is not None:
            gone_by_size[row.size].append(p)
    if gone_by_size:
        for path in list(plan.changed):
            if path in known or disk[path][0] not in gone_by_size:
                continue
            try:
                digest = hash_of(Path(path))
            except OSError:
                continue
            candidates = gone_by_size[disk[path][0]]
            old = next((p for p in candidates if known[p].content_hash == digest), None)
            if old is None:
                continue
            candidates.remove(old)
            plan.moved.append((old, path))
            plan.changed.remove(path)
            plan.removed.remove(old)

    # Members share their container's fate.  One whose container is on disk is left alone even if
    # the container changed: re-reading the container re-reads them and drops those it lost.
    moved_from = {old: new for old, new in plan.moved}
    for container in sorted(children):
        if container in moved_from:
            new = moved_from[container]
            # Same bytes, so the same members: they keep their chunks under the new container path.
            plan.moved += [(m, new + m[len(container):]) for m in sorted(children[container])]
        elif container not in disk and container not in deferred:
            plan.removed += children[container]  # gone with it (or orphaned by a crash between commits)
    plan.removed.sort()
    return plan


def apply_sync(kb: KnowledgeBase, plan: SyncPlan, ingest_files: IngestFiles, cancel: CancelToken) -> list[FileEvent]:
    """Carry out a plan; the caller holds the knowledge base's writer lock."""
    events: list[FileEvent] = []
    not_moved: set[str] = set()  # containers read again instead of moved
    for old, new in plan.moved:
        container = file_of(old)
        if container != old:
            # A member moves only with its container.  If either move failed, the old row goes
            # rather than linger as an orphan: a container read again instead brings its members
            # back under its new path; a member whose own move failed (it has no indexed version,
            # which the writer lock leaves no way to happen) returns when its container is next read.
            if container in not_moved or not kb.move_document(old, new):
                if kb.remove_document(old):
                    events.append(FileEvent(old, "removed"))
                continue
            events.append(FileEvent(new, "moved", f"from {old}"))
        elif kb.move_document(old, new):
            events.append(FileEvent(new, "moved", f"from {old}"))
        else:  # the old row vanished meanwhile: read the file instead
            not_moved.add(old)
            plan.changed.append(new)
    if plan.changed:
        events.extend(ingest_files(list(plan.changed), cancel))
    for path in plan.removed:
        cancel.check()
        if kb.remove_document(path):
            events.append(FileEvent(path, "removed"))
    return events


def sync_once(kb: KnowledgeBase, ingest_files: IngestFiles, cancel: CancelToken | None = None,
              touched: Iterable[str] | None = None, settle_s: float = 0.0, exclude: Sequence[str] = (),
              on_plan: Callable[[SyncPlan], None] | None = None) -> tuple[list[FileEvent], SyncPlan]:
    """Plan and apply under the writer lock; returns the events and the plan (its `deferred` paths)."""
    cancel = cancel or CancelToken()
    folders = followed_folders(kb)
    rules = IgnoreRules(ignore_rules_text(kb))
    with kb.writer(wait_s=WRITER_WAIT_S, cancel=cancel):
        plan = plan_sync(kb, folders, rules, touched, settle_s, exclude)
        if on_plan is not None:
            on_plan(plan)
        events = apply_sync(kb, plan, ingest_files, cancel)
        kb.set_meta(META_LAST, repr(time.time()))
    return events, plan


# -- watching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchStatus:
    state: str  # watching | syncing | paused | error | stopped
    pending: int  # files in the sync under way (or waiting to be), 0 when idle
    error: str
    last_sync: float | None
    last_events: tuple[FileEvent, ...] = ()  # what the latest syncs did, up to 50, newest last


class FolderSync:
    """Watches one knowledge base's followed folders and applies changes on its own thread."""

    def __init__(self, kb: KnowledgeBase, ingest_files: IngestFiles, debounce_s: float = 1.0,
                 rescan_s: float = 600.0, exclude: Sequence[str] = (),
                 on_synced: Callable[[list[FileEvent]], None] | None = None) -> None:
        self.kb = kb
        self.ingest_files = ingest_files
        self.debounce_s = debounce_s
        self.rescan_s = rescan_s
        self.exclude = [str(e) for e in exclude]
        self.on_synced = on_synced
        self._touched: dict[str, float] = {}  # path -> monotonic time of its last event
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._cancel = CancelToken()
        self._full_due = True  # reconcile on start: changes made while nobody watched
        self._next_rescan = 0.0
        self._paused = False
        self._state, self._pending, self._error = "watching", 0, ""
        self._last_events: tuple[FileEvent, ...] = ()
        self._observer = None
        self._rules = IgnoreRules(ignore_rules_text(kb))
        self._folders: list[str] = []
        self._thread = threading.Thread(target=self._loop, name=f"sync-{kb.name}", daemon=True)

    # -- control -------------------------------------------------------------------------------

    def start(self) -> "FolderSync":
        self._schedule()
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._cancel.cancel()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def reload(self) -> None:
        """Folders or ignore rules changed: watch the new set and reconcile everything."""
        self._rules = IgnoreRules(ignore_rules_text(self.kb))
        self._schedule()
        self.request_full()

    def request_full(self) -> None:
        self._full_due = True
        self._wake.set()

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if not paused:
            self.request_full()  # events were ignored meanwhile

    def touch(self, path: str) -> None:
        if self._paused:
            return
        folder = _folder_of(path, self._folders)
        if folder is not None and self._rules.ignored_under(Path(folder), Path(path)):
            return
        with self._lock:
            self._touched[path] = time.monotonic()
        self._wake.set()

    def status(self) -> WatchStatus:
        with self._lock:
            queued = len(self._touched)
        state = "paused" if self._paused else self._state
        pending = (self._pending or queued) if self._state == "syncing" else queued
        return WatchStatus(state, pending, self._error, last_sync(self.kb), self._last_events)

    # -- watchdog ------------------------------------------------------------------------------

    def _schedule(self) -> None:
        from watchdog.observers import Observer

        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
        self._folders = [f for f in followed_folders(self.kb)]
        observer = Observer()
        handler = _Handler(self)
        for folder in self._folders:
            if os.path.isdir(folder):
                try:
                    observer.schedule(handler, folder, recursive=True)
                except OSError as exc:  # e.g. inotify watch limit: the rescan still covers it
                    log.warning("cannot watch %s: %s; relying on the periodic rescan", folder, exc)
        observer.daemon = True
        observer.start()
        self._observer = observer

    # -- the worker ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._cancel.cancelled:
            self._wake.wait(timeout=min(0.25, self.debounce_s / 2 or 0.25))
            self._wake.clear()
            if self._cancel.cancelled:
                break
            if self._paused:
                continue
            now = time.monotonic()
            if now >= self._next_rescan:
                self._full_due = True
            with self._lock:
                ready = [p for p, t in self._touched.items() if now - t >= self.debounce_s]
                if self._full_due:
                    ready = list(self._touched)
                for p in ready:
                    del self._touched[p]
            full = self._full_due
            if not (full or ready):
                continue
            self._full_due = False
            self._sync(None if full else ready, retry=ready)
            if full:
                self._next_rescan = time.monotonic() + self.rescan_s

    def _sync(self, touched: list[str] | None, retry: list[str]) -> None:
        def on_plan(plan: SyncPlan) -> None:
            self._pending = plan.size
            if plan.size:
                self._state = "syncing"

        try:
            events, plan = sync_once(self.kb, self.ingest_files, self._cancel, touched, self.debounce_s,
                                     self.exclude, on_plan)
        except WriterBusy:  # a user's ingest is running: not an error, the changes wait their turn
            with self._lock:
                for p in retry:
                    self._touched.setdefault(p, time.monotonic())
            if touched is None:
                self._full_due = True
            self._state = "syncing"
            self._cancel_wait(1.0)
            return
        except Exception as exc:  # noqa: BLE001 - the watcher must outlive any one failed sync
            if self._cancel.cancelled:
                return
            log.warning("sync of '%s' failed: %s", self.kb.name, exc)
            self._state, self._error = "error", str(exc) or type(exc).__name__
            with self._lock:  # try these paths again on the next round
                for p in retry:
                    self._touched.setdefault(p, time.monotonic())
            if touched is None:
                self._full_due = True
            self._cancel_wait(2.0)
            return
        finally:
            self._pending = 0
        self._state, self._error = "watching", ""
        with self._lock:
            for p in plan.deferred:  # still being written: look again after the debounce
                self._touched.setdefault(p, time.monotonic())
        if events:
            self._last_events = (self._last_events + tuple(events))[-50:]
            if self.on_synced is not None:
                self.on_synced(events)

    def _cancel_wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._cancel.cancelled and time.monotonic() < end:
            time.sleep(0.05)


class _Handler:
    """watchdog's event sink: every change marks its path(s) touched; opens and reads do not."""

    _IGNORED = {"opened", "closed_no_write"}

    def __init__(self, sync: FolderSync) -> None:
        self.sync = sync

    def dispatch(self, event) -> None:
        if event.event_type in self._IGNORED:
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's own mtime changes with every file event, which arrives by itself
        self.sync.touch(os.fsdecode(event.src_path))
        dest = getattr(event, "dest_path", "")
        if dest:
            self.sync.touch(os.fsdecode(dest))


__all__ = ["FolderSync", "SyncPlan", "WatchStatus", "plan_sync", "apply_sync", "sync_once", "scan",
           "followed_folders", "set_followed_folders", "ignore_rules_text", "last_sync"]
