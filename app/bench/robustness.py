"""`localkb bench robustness DIR`: ingest a whole folder with the real pipeline and report how it went.

For users and support staff: point it at any folder (a customer's share, a test corpus) and it
says, per file, whether it was indexed or why not, how long its reader ran and how much memory
that reader took, and which files ran into a time, memory or size budget.  Nothing is written
to the user's own knowledge bases: the run works in a throw-away LOCALKB_HOME.

How the per-file figures are taken.  The pipeline reads files in pebble worker processes, each
under a time budget and a memory cap; this benchmark hands it `measured_parse`, which calls the
pipeline's own parse function and records, in a JSON-lines file per worker, when each file
started and ended and the worker's peak resident memory while reading it.  The peak is exact
per file even though a worker reads many files: Linux lets a process reset its high-water mark
(`/proc/self/clear_refs`, value 5) before each one.  A worker killed for running out of time
writes no end record; for it, a sampler thread in this process reads the worker's high-water
mark every 50 ms, so its figure is a lower bound.

    localkb bench robustness DIR [--json] [--timeout S] [--no-ocr] [--slowest N]
"""

from __future__ import annotations

import json
import os
import re
import resource
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ingest.types import CHILD_SEPARATOR

STATS_ENV = "LOCALKB_SWEEP_STATS"  # folder the parser processes write their records to


# -- in the parser processes -------------------------------------------------------------------


def _peak_rss_kib(pid: int | str = "self") -> int:
    """The process's resident-set high-water mark (VmHWM), KiB; 0 where /proc cannot say."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:  # not Linux, or not permitted: the peak then covers earlier files too
        return False


def _record(folder: str, entry: dict) -> None:
    # One small write per line with O_APPEND: a killed worker leaves whole lines behind.
    with open(os.path.join(folder, f"{os.getpid()}.jsonl"), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=True) + "\n")


def measured_parse(path: str, ocr: bool, max_pages: int, timeout_s: float | None = None):
    """The pipeline's parse, with the time and peak memory of this one file recorded."""
    from ingest.parse_worker import parse_file

    folder = os.environ.get(STATS_ENV)
    if not folder:
        return parse_file(path, ocr, max_pages, timeout_s)
    exact = _reset_peak_rss()
    _record(folder, {"event": "start", "path": path, "t": time.time()})
    started = time.perf_counter()
    outcome = "ok"
    try:
        return parse_file(path, ocr, max_pages, timeout_s)
    except BaseException as exc:
        outcome = type(exc).__name__
        raise
    finally:
        _record(folder, {"event": "end", "path": path, "seconds": time.perf_counter() - started,
                         "peak_kib": _peak_rss_kib(), "exact": exact, "outcome": outcome})


# -- in the benchmark process ------------------------------------------------------------------


class _WorkerSampler:
    """Samples the high-water mark of each worker while it reads a file (for files it is killed on)."""

    def __init__(self, folder: Path, interval: float = 0.05) -> None:
        self.folder = folder
        self.interval = interval
        self.peaks: dict[str, int] = {}  # path -> largest VmHWM seen while it was being read, KiB
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweep-sampler", daemon=True)

    def __enter__(self) -> "_WorkerSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for log_file in self.folder.glob("*.jsonl"):
                last = _last_line(log_file)
                if last and last.get("event") == "start":
                    peak = _peak_rss_kib(log_file.stem)
                    if peak:
                        path = last["path"]
                        self.peaks[path] = max(self.peaks.get(path, 0), peak)


def _last_line(path: Path) -> dict | None:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            lines = fh.read().splitlines()
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def _read_records(folder: Path) -> dict[str, dict]:
    """path -> {"seconds", "peak_kib", "exact", "finished"} from every worker's records."""
    out: dict[str, dict] = {}
    for log_file in folder.glob("*.jsonl"):
        for line in log_file.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill
            if entry["event"] == "start":
                out[entry["path"]] = {"started": entry["t"], "finished": False}
            elif entry["path"] in out:
                out[entry["path"]].update(seconds=entry["seconds"], peak_kib=entry["peak_kib"],
                                          exact=entry["exact"], finished=True)
    return out


_DIGITS = re.compile(r"(?<![A-Za-z]-)\b\d+(?:\.\d+)?")


def reason_kind(reason: str) -> str:
    """A reason with its numbers and quoted names generalised, so like failures count together."""
    text = reason.split(": ", 1)[0] if reason.startswith("unexpected error") else reason
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    return _DIGITS.sub("N", text)[:120]


# What the pipeline's reasons and warnings say when a budget stopped or cut a file.  A crash is
# its own kind: under the memory cap, C code that cannot allocate often aborts instead of raising.
_BUDGETS = (
    ("time", ("reading took longer than", "time budget")),
    ("memory", ("more memory",)),
    ("crash", ("the reader crashed",)),
    ("size", ("MB limit",)),
    ("cap", ("only the first",)),
)


def budget_hit(state: str, reason: str) -> str:
    """Which budget a file's outcome shows it ran into: time, memory, crash, size, cap, or ''."""
    for kind, marks in _BUDGETS:
        if any(m in reason for m in marks):
            return kind
    return ""


def printable_path(path: str) -> str:
    """A path on one line, whatever its name holds (newlines, bytes that are not UTF-8)."""
    from ingest.pipeline import one_line_path

    return one_line_path(path)


def run_sweep(folder: Path, settings: Any = None, embedder: Any = None, timeout_s: float | None = None,
              ocr: bool | None = None, slowest: int = 10) -> dict:
    """Ingest every file under `folder` into a temporary KB; the report described in the module doc."""
    import tempfile

    from app.bench.data import temporary_home
    from app.services.library import LibraryService
    from app.settings import Settings
    from ingest.parse_worker import MEMORY_CAP_BYTES
    from ingest.pipeline import IngestOptions, IngestPipeline, expand_paths

    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        from app.errors import LocalKBError

        raise LocalKBError(f"not a folder: {folder}")
    settings = settings or Settings.load()
    s = settings.ingest
    options = IngestOptions(s.chunk_size, s.chunk_overlap, s.max_file_mb,
                            timeout_s if timeout_s is not None else s.file_timeout_s, s.max_pages,
                            s.ocr if ocr is None else ocr, s.parse_workers, force=True)
    files, _problems = expand_paths([folder])
    with temporary_home(), tempfile.TemporaryDirectory(prefix="localkb-sweep-") as stats:
        library = LibraryService(settings, embedder=embedder)
        old = os.environ.get(STATS_ENV)
        os.environ[STATS_ENV] = stats  # the spawned parser processes inherit it
        try:
            kb = library.open_kb("sweep", create=True)
            model = library.embedder()
            model.embed_documents(["load the model before the clock starts"])
            pipeline = IngestPipeline(kb, model, options, parse=measured_parse)
            with _WorkerSampler(Path(stats)) as sampler:
                started = time.perf_counter()
                with kb.writer():
                    events = pipeline.run([folder])
                wall = time.perf_counter() - started
            records = _read_records(Path(stats))
            consistency = kb.consistency_problems()
        finally:
            if old is None:
                os.environ.pop(STATS_ENV, None)
            else:
                os.environ[STATS_ENV] = old
            library.close()
    main_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    rows = []
    members = 0
    for e in events:
        if CHILD_SEPARATOR in e.path:
            members += 1
            continue
        rec = records.get(e.path, {})
        seconds = rec.get("seconds")
        peak = rec.get("peak_kib") if rec.get("finished") else sampler.peaks.get(e.path)
        if seconds is None and rec.get("started"):  # killed: it ran until the kill
            seconds = options.file_timeout_s
        try:
            rel = str(Path(e.path).relative_to(folder))
        except ValueError:
            rel = e.path
        rows.append({
            "path": printable_path(rel), "state": e.state, "reason": e.reason,
            "seconds": round(seconds, 3) if seconds is not None else None,
            "peak_mb": round(peak / 1024, 1) if peak else None,
            "peak_exact": bool(rec.get("finished") and rec.get("exact")),
            "chunks": e.chunks, "pages": e.pages, "budget": budget_hit(e.state, e.reason),
        })
    outcomes = Counter("ok" if r["state"] == "ok" else f"{r['state']}: {reason_kind(r['reason'])}" for r in rows)
    timed = [r for r in rows if r["seconds"] is not None]
    return {
        "folder": str(folder),
        "files_found": len(files),
        "files": len(rows),
        "members_indexed": members,
        "ok": sum(r["state"] == "ok" for r in rows),
        "ok_with_warnings": sum(r["state"] == "ok" and bool(r["reason"]) for r in rows),
        "failed": sum(r["state"] == "failed" for r in rows),
        "skipped": sum(r["state"] == "skipped" for r in rows),
        "chunks": sum(r["chunks"] for r in rows if r["state"] == "ok"),
        "seconds": round(wall, 2),
        "files_per_s": round(len(rows) / wall, 3) if wall else None,
        "embed_seconds": round(pipeline.embed_seconds, 2),
        "file_timeout_s": options.file_timeout_s,
        "memory_cap_mb": MEMORY_CAP_BYTES >> 20,
        "max_file_mb": options.max_file_mb,
        # A worker's own peak is the largest of its files' peaks (resetting the mark only lowers it).
        "peak_rss_mb": {"this_process": main_peak,
                        "largest_parser_process": max((r["peak_mb"] or 0 for r in rows), default=0)},
        "outcomes": dict(outcomes.most_common()),
        "slowest": sorted(timed, key=lambda r: -r["seconds"])[:slowest],
        "largest_memory": sorted((r for r in rows if r["peak_mb"]), key=lambda r: -r["peak_mb"])[:slowest],
        "budget_hits": [r for r in rows if r["budget"]],
        "multi_line_reasons": [r["path"] for r in rows if "\n" in r["reason"]],
        "kb_consistency_problems": consistency,
        "details": rows,
    }


def format_report(result: dict) -> str:
    """The report as text for a terminal."""
    lines = [
        f"folder: {result['folder']}",
        f"files: {result['files']} ({result['ok']} ok, {result['ok_with_warnings']} of them with warnings; "
        f"{result['failed']} failed; {result['skipped']} skipped) + {result['members_indexed']} attachments/zip members indexed",
        f"time: {result['seconds']} s, {result['files_per_s']} files/s ({result['embed_seconds']} s embedding), "
        f"{result['chunks']} chunks",
        f"budgets: {result['file_timeout_s']:.0f} s and {result['memory_cap_mb']} MiB per file, "
        f"files over {result['max_file_mb']} MB refused",
        f"peak RSS: this process {result['peak_rss_mb']['this_process']} MB, "
        f"largest parser process {result['peak_rss_mb']['largest_parser_process']} MB",
        "", "outcomes:",
    ]
    lines += [f"  {n:5d}  {kind}" for kind, n in result["outcomes"].items()]

    def row(r: dict) -> str:
        peak = "?" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}{'' if r['peak_exact'] else '+'}"
        secs = "?" if r["seconds"] is None else f"{r['seconds']:.2f}"
        why = f"  [{r['state']}{': ' + r['reason'][:100] if r['reason'] else ''}]"
        return f"  {secs:>8} s {peak:>7} MB  {r['path']}{why}"

    lines += ["", "slowest files (reader time, reader peak memory):"] + [row(r) for r in result["slowest"]]
    lines += ["", "most memory:"] + [row(r) for r in result["largest_memory"]]
    lines += ["", f"hit a budget ({len(result['budget_hits'])}):"]
    lines += [row(r) + f"  <- {r['budget']}" for r in result["budget_hits"]] or ["  none"]
    if result["multi_line_reasons"]:
        lines += ["", "reasons longer than one line (a bug):"] + [f"  {p}" for p in result["multi_line_reasons"]]
    if result["kb_consistency_problems"]:
        lines += ["", "knowledge base inconsistencies (a bug):"] + [f"  {p}" for p in result["kb_consistency_problems"]]
    return "\n".join(lines)
