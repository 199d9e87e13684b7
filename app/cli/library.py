"""CLI commands for knowledge bases: `ingest`, `list`, `remove`, `repair`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from app.settings import Settings
from ingest.progress import FileEvent, Progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="add files and folders to a knowledge base")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--kb", default="default", help="knowledge base name (default: default)")
    p.add_argument("--reindex", action="store_true", help="re-read files even when unchanged")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("list", help="list knowledge bases, or the documents of one")
    p.add_argument("--kb", default=None, help="list this knowledge base's documents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("remove", help="forget documents (files or folders) in a knowledge base")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--kb", default="default")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_remove)

    p = sub.add_parser("repair", help="check a knowledge base fully and rebuild whatever is damaged")
    p.add_argument("--kb", default="default")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_repair)


def _service():
    from app.services.library import LibraryService

    return LibraryService(Settings.load())


class TerminalProgress:
    """One stdout line per finished file; a progress bar on stderr when it is a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = sys.stderr.isatty() and not quiet
        self._last = 0.0

    def file_event(self, event: FileEvent) -> None:
        if self.quiet or event.state == "started":
            return
        if self.bar:
            sys.stderr.write("\r\033[K")
        print(format_event(event), flush=True)

    def progress(self, p: Progress) -> None:
        now = time.monotonic()
        if not self.bar or (now - self._last < 0.1 and p.files_done < p.files_total):
            return
        self._last = now
        width = 30
        filled = int(width * p.files_done / max(1, p.files_total))
        eta = f" ETA {p.eta_s:.0f}s" if p.eta_s is not None else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {p.files_done}/{p.files_total} files, "
                         f"{p.chunks_done} chunks{eta}")
        sys.stderr.flush()
        if p.files_done >= p.files_total:
            sys.stderr.write("\n")


def format_event(e: FileEvent) -> str:
    from ingest.pipeline import one_line_path

    path = one_line_path(e.path)  # a newline in a file name must not split its line
    if e.state == "ok":
        note = f" ({e.chunks} chunks" + (f", {e.pages} pages" if e.pages else "") + ")"
        return f"ok {path}{note}" + (f" -- {e.reason}" if e.reason else "")
    if e.state == "skipped":
        return f"skipped {path} ({e.reason or 'unchanged'})"
    if e.state == "removed":
        return f"removed {path}"
    return f"failed {path}: {e.reason}"


def _event_json(e: FileEvent) -> dict:
    return {"path": e.path, "state": e.state, "reason": e.reason, "chunks": e.chunks, "pages": e.pages}


def cmd_ingest(args) -> int:
    service = _service()
    try:
        report = service.ingest(args.paths, args.kb, progress=TerminalProgress(args.json), force=args.reindex)
    except KeyboardInterrupt:
        # The pipeline has stopped and committed what was finished; say so instead of a traceback.
        print("\ninterrupted: the files indexed so far are kept; run the same command again to read the rest",
              file=sys.stderr)
        return 130
    finally:
        service.close()
    if args.json:
        json.dump({"kb": args.kb, "files": [_event_json(e) for e in report.events], "ok": report.ok,
                   "skipped": report.skipped, "failed": report.failed, "chunks_added": report.chunks_added,
                   "seconds": round(report.seconds, 3)}, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        print(f"{report.ok} ok, {report.skipped} skipped, {report.failed} failed; "
              f"{report.chunks_added} chunks in {report.seconds:.1f} s", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_list(args) -> int:
    service = _service()
    try:
        if args.kb is None:
            kbs = service.list_kbs()
            if args.json:
                json.dump({"kbs": [kb.__dict__ for kb in kbs]}, sys.stdout, ensure_ascii=False, indent=1)
                print()
            else:
                for kb in kbs:
                    if kb.damaged:
                        print(f"{kb.name}\tdamaged\t{kb.damaged}")
                        continue
                    print(f"{kb.name}\t{kb.documents} documents\t{kb.chunks} chunks\t{kb.embedder}")
            return 0
        docs = service.documents(args.kb)
    finally:
        service.close()
    if args.json:
        json.dump({"kb": args.kb, "documents": [d.__dict__ for d in docs]}, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for d in docs:
            pages = "" if d.pages is None else f"{d.pages} pages"
            reason = f"\t{d.reason}" if d.reason else ""
            print(f"{d.status}\t{d.path}\t{d.file_type}\t{pages}\t{d.chunks} chunks{reason}")
    return 0


def cmd_remove(args) -> int:
    service = _service()
    try:
        events = service.remove(args.kb, args.paths)
    finally:
        service.close()
    if args.json:
        json.dump({"kb": args.kb, "files": [_event_json(e) for e in events]}, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for e in events:
            print(format_event(e))
    return 1 if any(e.state == "failed" for e in events) else 0


def cmd_repair(args) -> int:
    service = _service()
    progress = TerminalProgress(args.json)

    def note(text: str) -> None:
        if not args.json:
            print(f"repair: {text}", file=sys.stderr, flush=True)

    try:
        report = service.repair(args.kb, progress=progress, note=note)
    finally:
        service.close()
    if args.json:
        json.dump({"kb": report.kb, "problems": report.problems, "actions": report.actions,
                   "set_aside": report.set_aside, "files": [_event_json(e) for e in report.events],
                   "missing": report.missing, "remaining": report.remaining}, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif not report.problems:
        print(f"Knowledge base '{report.kb}' is sound: nothing to repair.")
    else:
        for problem in report.problems:
            print(f"found: {problem}")
        for action in report.actions:
            print(f"done: {action}")
        for path in report.missing:
            print(f"gone: {path}")
        if report.set_aside:
            print(f"The damaged files were kept in {report.set_aside}")
        for problem in report.remaining:
            print(f"still wrong: {problem}")
    if report.remaining:
        print(f"localkb: knowledge base '{report.kb}' could not be fully repaired", file=sys.stderr)
        return 1
    return 1 if any(e.state == "failed" for e in report.events) else 0
