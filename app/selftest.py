"""`localkb --self-test`: prove an installation works end to end, offline, in about a minute.

Ingests the bundled sample documents into a throw-away home, asks one question with the default
models, and checks the content, not only that something streamed: the quoted answer and the
model's answer must both state the London hotel limit (220 EUR), citing the travel policy.
Exit 0 on success.  The built-in model is prepared (joined once) in the real data folder before
the throw-away home is used, so a self-test never costs a second 1 GB copy.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from app import paths

QUESTION = "What is the hotel limit per night in London?"
EXPECTED = "220"  # travel_expense_policy.md: "London, Paris, Zurich ... 220 EUR"


def run_self_test(out=sys.stdout) -> int:
    sample = paths.ASSETS_DIR / "sample"
    if not sample.is_dir():
        print(f"self-test: sample documents missing at {sample}", file=sys.stderr)
        return 1
    from app.errors import LocalKBError
    from app.llm import builtin

    key = builtin.DEFAULT
    try:
        if not builtin.is_ready(key):
            print(f"self-test: preparing the built-in model {builtin.MODELS[key].title} (once)…", file=out, flush=True)
        model_path = builtin.ensure(key)
    except LocalKBError as exc:
        print(f"self-test: FAILED: {exc}", file=sys.stderr)
        return 1
    old_home = os.environ.get("LOCALKB_HOME")
    with tempfile.TemporaryDirectory(prefix="localkb-selftest-") as home:
        os.environ["LOCALKB_HOME"] = home
        try:
            return _run(sample, model_path, out)
        finally:
            if old_home is None:
                os.environ.pop("LOCALKB_HOME", None)
            else:
                os.environ["LOCALKB_HOME"] = old_home


def _run(sample: Path, model_path: Path, out) -> int:
    from app.services.chat import ChatService
    from app.services.library import LibraryService
    from app.settings import Settings

    settings = Settings()
    settings.model.model_path = str(model_path)
    library = LibraryService(settings)
    chat = ChatService(settings, library)
    started = time.perf_counter()
    try:
        report = library.ingest([sample], "sample")
        print(f"self-test: ingested {report.ok} sample files ({report.chunks_added} chunks), {report.failed} failed", file=out)
        embedder = library.embedder()
        print(f"self-test: embedder: {embedder.name} ({embedder.backend}, {embedder.precision})", file=out)
        if report.failed or not report.ok:
            for e in report.events:
                if e.state == "failed":
                    print(f"self-test: failed {e.path}: {e.reason}", file=sys.stderr)
            return 1
        tokens: list[str] = []
        answer = chat.ask(QUESTION, ["sample"], on_token=tokens.append)
    finally:
        library.close()
    print(f"self-test: model: {model_path.name}", file=out)
    print(f"self-test: Q: {QUESTION}", file=out)
    quote = answer.quote.text if answer.quote is not None else ""
    print(f"self-test: quote ({answer.timings.get('quote_at_s', 0):.2f} s): {quote[:300]}", file=out)
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
    if EXPECTED not in quote:
        problems.append(f"the quoted answer does not state {EXPECTED} EUR")
    if EXPECTED not in answer.text:
        problems.append(f"the model's answer does not state {EXPECTED} EUR")
    if any(s.status == "unsupported" for s in answer.sentences):
        problems.append("a sentence of the answer is not supported by the sources")
    if problems:
        print("self-test: FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"self-test: OK in {time.perf_counter() - started:.1f} s", file=out)
    return 0
