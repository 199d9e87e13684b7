"""Loaders against hostile files made in the test: each ends with a clear reason or is read, in
bounded time and memory.  Each is read in a child process so its peak memory can be measured."""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostile_files  # noqa: E402  (tests/ingest/hostile_files.py: the generators)


def _load_in_child(path: str, queue) -> None:
    from ingest.errors import IngestError
    from ingest.loaders import LoadOptions, load_file

    started = time.perf_counter()
    try:
        doc = load_file(Path(path), LoadOptions(ocr=False))
        outcome = ("ok", "; ".join(doc.warnings), doc.text_chars, doc.pages)
    except IngestError as exc:
        outcome = ("failed", str(exc), 0, None)
    queue.put((*outcome, time.perf_counter() - started, _peak_rss_mb()))


def _peak_rss_mb() -> int:
    # VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across fork+exec into
    # ru_maxrss, so a child of a big pytest process would report the parent's size.
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) // 1024


def load_measured(path: Path, timeout: float = 120) -> tuple[str, str, int, int | None, float, int]:
    """(state, reason or warnings, text chars, pages, seconds, peak RSS MB) of one file, read alone."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load_in_child, args=(str(path), queue))
    proc.start()
    try:
        return queue.get(timeout=timeout)
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_zip_bomb_disguised_as_office_file_is_refused_before_inflating(tmp_path, kind):
    bomb = hostile_files.zip_bomb(tmp_path / f"bomb.{kind}", kind, inflated_mb=300)
    assert bomb.stat().st_size < 2 << 20  # 300 MB of XML in under 2 MB
    state, reason, _chars, _pages, seconds, peak_mb = load_measured(bomb)
    assert state == "failed" and "zip bomb" in reason and "\n" not in reason
    assert seconds < 5 and peak_mb < 250  # the 300 MB part was never inflated


def test_zip_that_lies_about_a_part_size_is_refused_without_inflating_it(tmp_path):
    liar = hostile_files.lying_zip(tmp_path / "liar.docx", claimed=1000, real_mb=200)
    state, reason, _chars, _pages, seconds, peak_mb = load_measured(liar)
    assert state == "failed" and "not what the zip directory says" in reason
    # python-docx's zipfile.read() inflated the 200 MB in one piece (412 MB RSS) before this check.
    assert peak_mb < 250 and seconds < 10


def test_pdf_with_a_cyclic_page_tree_is_read_once(tmp_path):
    state, reason, chars, pages, seconds, _peak = load_measured(hostile_files.pdf_cyclic_page_tree(tmp_path / "cycle.pdf"))
    assert state == "ok" and chars > 0 and seconds < 10
    assert pages is not None and pages < 10


def test_pdf_claiming_100000_pages_reads_its_real_page_and_says_what_it_skipped(tmp_path):
    state, warnings, chars, _pages, seconds, peak_mb = load_measured(hostile_files.pdf_claims_many_pages(tmp_path / "many.pdf"))
    assert state == "ok" and chars > 0
    assert "only the first 5000 of 100000 pages" in warnings and "could not be read" in warnings
    assert seconds < 20 and peak_mb < 300


def test_500_mb_text_file_is_read_only_up_to_the_text_limit(tmp_path):
    from ingest.loaders.text import MAX_TEXT_BYTES

    huge = hostile_files.huge_text(tmp_path / "huge.txt", size_mb=500)
    state, warnings, chars, _pages, seconds, peak_mb = load_measured(huge)
    assert state == "ok" and chars > 0
    assert f"only the first {MAX_TEXT_BYTES >> 20} MiB of 500 MiB were read" in warnings
    # Read whole, it took 106 s and 4.5 GB; now 32 MiB of it.
    assert peak_mb < 600 and seconds < 60


def test_50000_row_spreadsheet_is_read_whole_in_seconds(tmp_path):
    sheet = hostile_files.big_spreadsheet(tmp_path / "rows.xlsx", rows=50_000)
    state, warnings, chars, _pages, seconds, peak_mb = load_measured(sheet, timeout=200)
    assert state == "ok" and not warnings
    assert chars > 50_000 * 40  # every row, with its header names
    # Rows padded to 512 cells made this 126 s; unpadded it is ~10 s on a busy 2-core box.
    assert seconds < 60 and peak_mb < 1000
