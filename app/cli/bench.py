"""CLI commands for the benchmarks: `bench retrieval`, `bench qa`, `bench ingest`, `bench plan`, `bench robustness`."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure retrieval and answering quality and speed")
    bsub = p.add_subparsers(dest="bench_command", metavar="BENCH", required=True)

    r = bsub.add_parser("retrieval", help="recall@1/5/10, MRR@10, nDCG@10, latency, ingest rate")
    r.add_argument("data", metavar="DATA", help="a SQuAD-format .json file or a BEIR-format folder")
    r.add_argument("--format", choices=("squad", "beir"), default=None, help="default: beir for a folder, else squad")
    r.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    r.add_argument("--scale", type=int, default=None, metavar="CHUNKS",
                   help="latency only: a KB of about CHUNKS chunks from DATA's sentences, with random document vectors")
    r.add_argument("--queries", type=int, default=500, help="queries timed with --scale (default 500)")
    r.add_argument("--answers", type=int, default=0, metavar="N",
                   help="with --scale: then answer N questions with the chat model and report peak memory")
    r.add_argument("--runtime", default=None, choices=("openvino", "onnx-int8", "onnx", "torch"),
                   help="embedder runtime (default openvino)")
    r.add_argument("--json", action="store_true", help="print one JSON document")
    r.set_defaults(handler=cmd_retrieval)

    q = bsub.add_parser("qa", help="EM/F1, quoted answer, citation precision, not-found honesty, time to quote and first token")
    q.add_argument("data", metavar="SQUAD.json", help="SQuAD v1.1/v2.0-format file (CMRC 2018 too)")
    q.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions (answerable)")
    q.add_argument("--offset", type=int, default=0, metavar="K",
                   help="skip the first K questions (tune on a later slice, report on the first N)")
    q.add_argument("--unanswerable", type=int, default=None, metavar="M",
                   help="questions asked after removing their gold paragraph from the KB (default: N/2)")
    q.add_argument("--model", default=None, metavar="FILE.gguf", help="chat model file (default: the built-in model)")
    q.add_argument("--builtin", default=None, choices=("qwen2.5-1.5b", "smollm2-135m"), help="which built-in model")
    q.add_argument("--max-tokens", type=int, default=64, metavar="N", help="answer length cap (default 64: SQuAD answers are short)")
    q.add_argument("--baseline", action="store_true", help="also time each prompt through bare llama-cpp-python")
    q.add_argument("--details", action="store_true", help="include every question's answer in the output")
    q.add_argument("--json", action="store_true", help="print one JSON document")
    q.set_defaults(handler=cmd_qa)

    i = bsub.add_parser("ingest", help="pipeline chunks/s against the embedder alone on the same chunks")
    i.add_argument("data", metavar="DATA", help="a SQuAD-format .json file (each paragraph a file) or a folder")
    i.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N SQuAD paragraphs")
    i.add_argument("--runtime", default=None, metavar="R[,R...]",
                   help="embedder runtimes, each ingesting the same files in this run: openvino (default), onnx-int8, "
                        "onnx, torch; the first is compared with the others")
    i.add_argument("--json", action="store_true", help="print one JSON document")
    i.set_defaults(handler=cmd_ingest)

    pl = bsub.add_parser("plan", help="plan a folder of many small files, then re-run it unchanged (random vectors)")
    pl.add_argument("--files", type=int, default=10_000, metavar="N", help="files in the folder (default 10000)")
    pl.add_argument("--json", action="store_true", help="print one JSON document")
    pl.set_defaults(handler=cmd_plan)

    rb = bsub.add_parser("robustness", help="ingest every file under DIR into a throw-away KB: outcomes, time and memory per file")
    rb.add_argument("data", metavar="DIR", help="any folder (nothing is added to your own knowledge bases)")
    rb.add_argument("--timeout", type=float, default=None, metavar="S", help="time budget per file (default: settings ingest.file_timeout_s)")
    rb.add_argument("--no-ocr", action="store_true", help="do not OCR images and scanned pages (faster)")
    rb.add_argument("--slowest", type=int, default=10, metavar="N", help="how many of the slowest files to list (default 10)")
    rb.add_argument("--json", action="store_true", help="print one JSON document")
    rb.set_defaults(handler=cmd_robustness)


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        json.dump(result, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    for key, value in result.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        print(f"{key:>22}: {value}")


def cmd_retrieval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.bench import retrieval as bench

    fmt = args.format or ("beir" if Path(args.data).is_dir() else "squad")
    if args.scale:
        result = bench.bench_scale(args.data, chunks=args.scale, queries=args.queries, answers=args.answers,
                                   runtime=args.runtime)
    else:
        result = bench.bench_retrieval(args.data, fmt, args.limit, runtime=args.runtime)
    _print(result, args.json)
    return 0


def cmd_qa(args: argparse.Namespace) -> int:
    from app.bench.qa import bench_qa

    def progress(done: int, total: int) -> None:
        print(f"\rquestion {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    result = bench_qa(args.data, args.limit, args.model, max_tokens=args.max_tokens, unanswerable=args.unanswerable,
                      builtin=args.builtin, baseline=args.baseline, details=args.details, progress=progress,
                      offset=args.offset)
    _print(result, args.json)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.bench.ingest import run_ingest_bench
    from app.settings import Settings

    runtimes = [r.strip() for r in args.runtime.split(",") if r.strip()] if args.runtime else None
    _print(run_ingest_bench(Path(args.data), args.limit, Settings.load(), runtimes), args.json)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from app.bench.ingest import run_plan_bench

    _print(run_plan_bench(args.files), args.json)
    return 0


def cmd_robustness(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.bench.robustness import format_report, run_sweep

    result = run_sweep(Path(args.data), timeout_s=args.timeout, ocr=False if args.no_ocr else None, slowest=args.slowest)
    if args.json:
        _print(result, True)
    else:
        print(format_report(result))
    # Non-zero only when the sweep shows a bug (a multi-line reason, an inconsistent KB), not for failed files.
    return 1 if result["multi_line_reasons"] or result["kb_consistency_problems"] else 0
