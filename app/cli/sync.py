"""CLI commands for followed folders: `watch` (follow folders, optionally keep watching) and `sync`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from app.cli.library import TerminalProgress, format_event
from app.settings import Settings
from ingest.progress import FileEvent


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="follow folders: the knowledge base keeps their content in sync")
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="folders to follow; none lists the followed ones")
    p.add_argument("--kb", default="default", help="knowledge base name (default: default)")
    p.add_argument("--stop", action="store_true", help="stop following the given folders (documents stay)")
    p.add_argument("--keep-running", action="store_true",
                   help="after the first sync, keep watching and applying changes until interrupted")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_watch)

    p = sub.add_parser("sync", help="make a knowledge base match its followed folders once")
    p.add_argument("--kb", default="default", help="knowledge base name (default: default)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_sync)


def _service():
    from app.services.library import LibraryService

    return LibraryService(Settings.load())


def format_sync_event(e: FileEvent) -> str:
    if e.state == "moved":
        return f"moved {e.path} ({e.reason})"
    return format_event(e)


def _folders_json(infos) -> list[dict]:
    return [info.__dict__ for info in infos]


def cmd_watch(args) -> int:
    service = _service()
    try:
        if args.stop:
            infos = service.unfollow(args.kb, args.folders)
        elif args.folders:
            infos = service.follow(args.kb, args.folders)
        else:
            infos = service.folders(args.kb)
        if not args.json:
            for info in infos:
                print(f"{'following' if info.exists else 'missing'}\t{info.folder}")
        if not args.folders or args.stop:
            if args.json:
                _dump({"kb": args.kb, "folders": _folders_json(infos)})
            return 0
        report = service.sync(args.kb, progress=_SyncProgress(args.json))
        if args.json and not args.keep_running:
            _dump({"kb": args.kb, "folders": _folders_json(infos), **_report_json(report)})
        elif not args.json:
            _summary(report)
        if args.keep_running:
            return _keep_watching(service, args)
        return 1 if report.failed else 0
    finally:
        service.close()


def cmd_sync(args) -> int:
    service = _service()
    try:
        report = service.sync(args.kb, progress=_SyncProgress(args.json))
    finally:
        service.close()
    if args.json:
        _dump({"kb": args.kb, **_report_json(report)})
    else:
        _summary(report)
    return 1 if report.failed else 0


def _keep_watching(service, args) -> int:
    """Watch until SIGINT/SIGTERM, printing what each sync did (for a headless writer machine)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    service.start_watching()
    print(f"watching knowledge base '{args.kb}'; Ctrl-C stops", file=sys.stderr)
    seen: tuple = ()
    while not stop.wait(0.5):
        infos = service.folders(args.kb)
        events = tuple(service.recent_sync_events(args.kb))
        if events and events != seen:
            for e in _new_events(seen, events):
                print(format_sync_event(e), flush=True)
            seen = events
        if infos and infos[0].state == "error":
            print(f"sync error: {infos[0].error}", file=sys.stderr)
    return 0


def _new_events(seen: tuple, events: tuple) -> tuple:
    """The events not printed yet: the watcher keeps a sliding window of its latest ones."""
    for k in range(min(len(seen), len(events)), 0, -1):
        if seen[-k:] == events[:k]:
            return events[k:]
    return events


class _SyncProgress(TerminalProgress):
    def file_event(self, event: FileEvent) -> None:
        if self.quiet or event.state == "started":
            return
        if self.bar:
            sys.stderr.write("\r\033[K")
        print(format_sync_event(event), flush=True)


def _report_json(report) -> dict:
    return {"files": [{"path": e.path, "state": e.state, "reason": e.reason, "chunks": e.chunks} for e in report.events],
            "ok": report.ok, "skipped": report.skipped, "failed": report.failed, "moved": report.count("moved"),
            "removed": report.count("removed"), "chunks_added": report.chunks_added, "seconds": round(report.seconds, 3)}


def _summary(report) -> None:
    print(f"{report.ok} ok, {report.count('moved')} moved, {report.count('removed')} removed, {report.skipped} skipped, "
          f"{report.failed} failed in {report.seconds:.1f} s", file=sys.stderr)


def _dump(doc: dict) -> None:
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
    print()


__all__ = ["register", "cmd_watch", "cmd_sync", "format_sync_event"]
