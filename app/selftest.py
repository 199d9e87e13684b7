"""`localkb --self-test`: prove an installation works end to end, offline, in under a minute.

Ingests the bundled sample documents into a throw-away home, asks one question with the default
models, and checks that an answer streamed and cites a sample file.  Exit 0 on success.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from app import paths

QUESTION = "What is the hotel limit per night in London?"


def run_self_test(out=sys.stdout) -> int:
    sample = paths.ASSETS_DIR / "sample"
    if not sample.is_dir():
        print(f"self-test: sample documents missing at {sample}", file=sys.stderr)
        return 1
    old_home = os.environ.get("LOCALKB_HOME")
    with tempfile.TemporaryDirectory(prefix="localkb-selftest-") as home:
        os.environ["LOCALKB_HOME"] = home
        try:
            return _run(sample, out)
        finally:
            if old_home is None:
                os.environ.pop("LOCALKB_HOME", None)
            else:
                os.environ["LOCALKB_HOME"] = old_home


def _run(sample: Path, out) -> int:
    from app.services.chat import ChatService
    from app.services.library import LibraryService
    from app.settings import Settings

    settings = Settings()
    library = LibraryService(settings)
    chat = ChatService(settings, library)
    started = time.perf_counter()
    try:
        report = library.ingest([sample], "sample")
        print(f"self-test: ingested {report.ok} sample files ({report.chunks_added} chunks), {report.failed} failed", file=out)
        if report.failed or not report.ok:
            for e in report.events:
                if e.state == "failed":
                    print(f"self-test: failed {e.path}: {e.reason}", file=sys.stderr)
            return 1
        tokens: list[str] = []
        answer = chat.ask(QUESTION, ["sample"], on_token=tokens.append)
    finally:
        library.close()
    print(f"self-test: Q: {QUESTION}", file=out)
    print(f"self-test: A: {answer.text.strip()[:300]}", file=out)
    for s in answer.sources[:3]:
        where = f", page {s.page}" if s.page else ""
        print(f"self-test: [{s.n}] {Path(s.path).name}{where}: {s.snippet[:80]}", file=out)
    problems = []
    if not tokens or not answer.text.strip():
        problems.append("no answer was streamed")
    if not answer.sources or not all(Path(s.path).parent == sample.resolve() for s in answer.sources):
        problems.append("the answer cites no sample document")
    elif "travel_expense_policy" not in Path(answer.sources[0].path).name:
        problems.append(f"the best source should be the travel policy, got {Path(answer.sources[0].path).name}")
    if problems:
        print("self-test: FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"self-test: OK in {time.perf_counter() - started:.1f} s", file=out)
    return 0
