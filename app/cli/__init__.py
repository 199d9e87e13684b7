"""Command-line interface: argument parsing and dispatch.

Each command group lives in its own module exposing `register(subparsers)`; a command's handler
takes the parsed args and returns an exit code.  Domain errors become a one-line message on
stderr here, at the edge, and nowhere else.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from app.errors import LocalKBError
from ingest.errors import IngestError

COMMAND_MODULES = ("app.cli.library", "app.cli.sync", "app.cli.server", "app.cli.answer", "app.cli.bench")


def _offline_environment() -> None:
    # Nothing is ever downloaded at run time: make every library that could try refuse instead.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="localkb", description="Ask questions about your own files, offline.")
    parser.add_argument("--screenshot", metavar="OUT.png", help="open the window offscreen, wait until idle, save a PNG, exit")
    parser.add_argument("--ask", metavar="QUESTION", help="with --screenshot: ask this in the current knowledge base, "
                        "take the picture once answered")
    parser.add_argument("--self-test", action="store_true", help="ingest a bundled sample, answer a question with a citation, exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def run(argv: list[str]) -> int:
    _offline_environment()
    from app import paths

    paths.make_private()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.self_test:
            from app.selftest import run_self_test

            return run_self_test()
        if args.command is None:
            from app.gui import launch

            return launch([], screenshot=args.screenshot, ask=args.ask if args.screenshot else None)
        return args.handler(args)
    except (LocalKBError, IngestError) as exc:
        print(f"localkb: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("localkb: interrupted", file=sys.stderr)
        return 130
