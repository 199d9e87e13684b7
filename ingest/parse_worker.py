"""What runs in the pipeline's parser processes: the memory cap they start with and the call that
reads one file, with the time budgets derived from the per-file limit.

Kept apart from `ingest.pipeline` because a parser process imports the module of each function it
is handed: importing the pipeline pulled langchain, the knowledge base's modules and numpy into
every parser process (0.43 s of CPU at each ingest's start, before its first file was read).
This module imports the loaders only, in the process's first task (`boot`).
"""

from __future__ import annotations

import importlib
import resource
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.errors import IngestError
from ingest.types import LoadedDocument

MEMORY_CAP_BYTES = 6 * 1024**3  # per parser process; a zip bomb or a huge scan fails instead of swapping


def limit_memory() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))
    except (ValueError, OSError):  # not permitted here: the time budget still applies
        pass


def boot() -> None:
    """The first task of a new parser process: the imports every file needs, done while the
    pipeline still plans."""
    importlib.import_module("ingest.loaders")


def parse_file(path: str, ocr: bool, max_pages: int, timeout_s: float | None = None) -> LoadedDocument:
    """The file read by its loader; runs in a parser process."""
    from ingest.loaders import LoadOptions, load_file

    # Leave a fifth of the budget for the pages after OCR stops and for sending the result back.
    now = time.monotonic()
    deadline = now + 0.8 * timeout_s if timeout_s else None
    container = None
    if timeout_s and is_container(path):
        # Each member gets the per-file budget of its own; all together stay within the
        # container's hard limit (hard_timeout), with a tenth left to send the result back.
        container = now + 0.9 * hard_timeout(path, timeout_s)
    try:
        return load_file(Path(path), LoadOptions(ocr=ocr, max_pages=max_pages, ocr_deadline=deadline,
                                                 time_budget_s=timeout_s, container_deadline=container))
    except MemoryError:
        raise IngestError("needs more memory than a single file is allowed (is it a decompression bomb?)") from None


class ReaderBug(Exception):
    """An unexpected error (a loader bug) on one file of a batch, carried back as text: the
    original exception may not pickle, and one file's bug must not cost the batch's others."""

    def __init__(self, type_name: str, message: str, trace: str) -> None:
        super().__init__(type_name, message, trace)
        self.type_name, self.message, self.trace = type_name, message, trace


def parse_files(parse: Callable[[str, bool, int, float | None], LoadedDocument], paths: Sequence[str], ocr: bool,
                max_pages: int, timeout_s: float | None = None) -> list[LoadedDocument | Exception]:
    """Several small plain-text files read in one task, each file's document or its error in
    order.  A task costs ~0.3 ms of messages on either side whatever it reads, as much as reading
    a paragraph-sized text file: a folder of notes spent more on them than on reading."""
    outcomes: list[LoadedDocument | Exception] = []
    for path in paths:
        try:
            outcomes.append(parse(path, ocr, max_pages, timeout_s))
        except IngestError as exc:
            outcomes.append(exc)
        except Exception as exc:
            outcomes.append(ReaderBug(type(exc).__name__, str(exc), traceback.format_exc()))
    return outcomes


def is_container(path: str) -> bool:
    from ingest.loaders import CONTAINER_SUFFIXES

    return Path(path).suffix.lower() in CONTAINER_SUFFIXES


def hard_timeout(path: str, timeout_s: float) -> float:
    """Seconds before a file's parser process is killed: a container holds many files."""
    from ingest.loaders import CONTAINER_TIME_FACTOR

    return timeout_s * CONTAINER_TIME_FACTOR if is_container(path) else timeout_s
