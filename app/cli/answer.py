"""CLI commands for asking: `search` (ranked passages) and `ask` (streamed, cited answer)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="ranked passages for a question: text, path, page, score")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("--kb", action="append", default=None, metavar="NAME", help="knowledge base (repeatable; default: default)")
    p.add_argument("--top-k", type=int, default=None, metavar="N", help="passages to return (default: settings retrieval.top_k)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("ask", help="a streamed answer from your documents, then its sources")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("--kb", action="append", default=None, metavar="NAME", help="knowledge base (repeatable; default: default)")
    p.add_argument("--model", default=None, metavar="FILE.gguf", help="chat model for this answer (default: settings)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_ask)


def _services(model: str | None = None):
    from app.services.chat import ChatService
    from app.services.library import LibraryService
    from app.settings import Settings

    settings = Settings.load()
    if model:
        settings.model.model_path = model
    library = LibraryService(settings)
    return library, ChatService(settings, library)


def _source_dict(s) -> dict:
    d = dataclasses.asdict(s)
    d["heading_path"] = list(s.heading_path)
    return d


def _where(s) -> str:
    page = f", p. {s.page}" if s.page is not None else ""
    heading = f" ({' / '.join(s.heading_path)})" if s.heading_path else ""
    return f"{s.path}{page}{heading}"


def cmd_search(args: argparse.Namespace) -> int:
    library, chat = _services()
    try:
        sources = chat.search(args.question, args.kb or ["default"], top_k=args.top_k)
    finally:
        library.close()
    if args.json:
        json.dump({"question": args.question, "results": [_source_dict(s) for s in sources]}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not sources:
        print("No passage passes the score threshold: the documents do not seem to cover this.")
    for s in sources:
        print(f"[{s.n}] {s.score:.3f}  {_where(s)}")
        print("    " + s.snippet)
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    library, chat = _services(args.model)
    streaming = not args.json
    state = {"tokens": 0, "progress": False}

    def on_event(event) -> None:
        if not streaming:
            return
        if event.kind == "quote" and event.quote is not None:
            print("From your documents (quoted):")
            print("  " + event.quote.text)
            # Two quoted sentences of one passage share its number: list it once.
            listed: dict[int, object] = {}
            for src in event.quote.sources:
                listed.setdefault(src.n, src)
            for n, src in listed.items():
                print(f"  [{n}] {_where(src)}")
            print()
            sys.stdout.flush()
        elif event.kind == "model" and event.detail == "loading":
            print("(loading the model…)", file=sys.stderr, flush=True)
        elif event.kind == "prompt" and event.total and sys.stderr.isatty():
            state["progress"] = True
            sys.stderr.write(f"\rReading {event.total} prompt tokens… {100 * event.done // event.total}%")
            sys.stderr.flush()

    def on_token(piece: str) -> None:
        if state["progress"]:
            sys.stderr.write("\r" + " " * 48 + "\r")
            state["progress"] = False
        if state["tokens"] == 0:
            sys.stdout.write("Answer:\n")
        state["tokens"] += 1
        sys.stdout.write(piece)
        sys.stdout.flush()

    try:
        answer = chat.ask(args.question, args.kb or ["default"], on_token=on_token if streaming else None,
                          on_event=on_event)
    finally:
        library.close()
    if args.json:
        doc = dataclasses.asdict(answer)
        doc["sources"] = [_source_dict(s) for s in answer.sources]
        doc["cut_sources"] = [_source_dict(s) for s in answer.cut_sources]
        if answer.quote is not None:
            doc["quote"]["sources"] = [_source_dict(s) for s in answer.quote.sources]
        json.dump(doc, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print()
    if answer.fallback:
        why = "repeated itself" if answer.fallback == "loop" else "echoed the prompt instead of answering"
        print(f"\n(The model's answer {why}; the quote from your documents is shown instead.)")
    if state["tokens"] and answer.text.strip() != answer.model_text.strip():
        print("\nChecked answer:\n" + answer.text)
    unsupported = [s for s in answer.sentences if s.status == "unsupported"]
    if unsupported:
        print("\nNot found in the sources:")
        for s in unsupported:
            missing = f"  (missing: {', '.join(s.missing[:6])})" if s.missing else ""
            print(f"  ! {s.text}{missing}")
    if answer.from_model_knowledge:
        print("\n(Not from your documents.)")
    if answer.sources:
        print("\nSources:")
        for s in answer.sources:
            print(f"[{s.n}] {_where(s)}  score {s.score:.3f}")
            for sentence in s.supports:
                print(f"    supports: {sentence}")
    if answer.cut_passages:
        print(f"\n{answer.cut_passages} more passage(s) were left out of the prompt (answer.prompt_tokens, model.n_ctx):")
        for s in answer.cut_sources:
            print(f"    {_where(s)}")
    if answer.model_name:
        print(f"\n(model: {answer.model_name})")
    return 0
