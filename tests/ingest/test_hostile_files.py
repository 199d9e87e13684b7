"""The ingest pipeline against hostile files and folders: every one ends ok or with a one-line
reason, in bounded time, and none stops the files around it or damages the knowledge base."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hostile_files
from ingest.pipeline import IngestOptions, IngestPipeline


def _by_name(events) -> dict[str, object]:
    return {os.path.basename(e.path): e for e in events}


def test_a_folder_of_hostile_files_gives_each_an_outcome_and_indexes_the_good_ones(library, tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "good.txt").write_text(hostile_files.GOOD_TEXT)
    hostile_files.zip_bomb(folder / "bomb.docx", "docx", inflated_mb=100)
    hostile_files.zip_bomb(folder / "bomb.xlsx", "xlsx", inflated_mb=100)
    hostile_files.pdf_cyclic_page_tree(folder / "cyclic.pdf")
    hostile_files.pdf_claims_many_pages(folder / "claims.pdf")
    hostile_files.huge_text(folder / "huge.txt", 500)
    hostile_files.strange_names(folder)
    hostile_files.bad_links(folder, tmp_path / "private.txt")
    os.mkfifo(folder / "pipe.txt")  # reading a pipe blocks forever
    (folder / "after.txt").write_text("The fire drill is on the first Monday of every month.\n")

    started = time.monotonic()
    report = library.ingest([folder], "t")
    assert time.monotonic() - started < 120

    events = _by_name(report.events)
    long_name = "long-" + "n" * 246 + ".txt"
    outcome = {name: (e.state, e.reason) for name, e in events.items()}
    assert all("\n" not in e.reason for e in report.events)
    for name in ("good.txt", "after.txt", "two\nlines.txt", long_name, "cyclic.pdf"):
        assert outcome[name][0] == "ok", (name, outcome[name])
    assert outcome["claims.pdf"][0] == "ok" and "only the first 5000 of 100000 pages" in outcome["claims.pdf"][1]
    for name in ("bomb.docx", "bomb.xlsx"):
        assert outcome[name][0] == "failed" and "zip bomb" in outcome[name][1]
    assert outcome["huge.txt"] == ("failed", "file is 500 MB, over the 200 MB limit (settings: ingest.max_file_mb)")
    bad_name = next(n for n in outcome if n.startswith("latin1-caf"))
    assert bad_name == "latin1-caf\\xe9.txt"  # printable, not a lone surrogate that breaks SQLite and stdout
    assert outcome[bad_name][0] == "failed" and "not valid UTF-8" in outcome[bad_name][1]
    for name in ("loop-a.txt", "loop-b.txt", "dangling.txt"):
        assert outcome[name] == ("skipped", "a link that loops or points to nothing")
    assert outcome["escape.txt"][0] == "skipped" and "outside the folder" in outcome["escape.txt"][1]
    assert outcome["dir-escape"][0] == "skipped" and "link to a folder" in outcome["dir-escape"][1]
    assert outcome["pipe.txt"][0] == "skipped" and "not a regular file" in outcome["pipe.txt"][1]

    kb = library.open_kb("t")
    assert kb.consistency_problems() == []
    indexed = {os.path.basename(d.path) for d in library.documents("t") if d.status == "indexed"}
    assert {"good.txt", "after.txt", "two\nlines.txt", long_name} <= indexed
    assert not kb.keyword_search("private file outside", 5)  # the link out of the folder was not followed
    assert kb.keyword_search("fire drill Monday", 5)


def changing_parse(path, ocr, max_pages, timeout_s):
    """Stands in for a file edited while its reader runs; runs in the parser process."""
    from ingest.parse_worker import parse_file

    p = Path(path)
    if p.name == "grows.txt":
        with p.open("a") as fh:
            fh.write("A line appended while the file was being read.\n" * 50)
    elif p.name == "shrinks.txt":
        p.write_text("Cut short.\n")
    elif p.name == "vanishes.txt":
        document = parse_file(path, ocr, max_pages, timeout_s)
        p.unlink()  # read whole, then removed before the pipeline takes the result
        return document
    elif p.name == "gone-before.txt":
        p.unlink()
    return parse_file(path, ocr, max_pages, timeout_s)


def test_files_that_grow_shrink_or_disappear_while_read(library, tmp_path):
    for name in ("grows.txt", "shrinks.txt", "vanishes.txt", "gone-before.txt", "steady.txt"):
        (tmp_path / name).write_text(f"{name}: the parking garage closes at ten at night.\n" * 20)
    kb = library.open_kb("t", create=True)
    options = IngestOptions(file_timeout_s=60)
    events = _by_name(IngestPipeline(kb, library.embedder(), options, parse=changing_parse).run([tmp_path]))

    assert events["steady.txt"].state == "ok" and events["steady.txt"].reason == ""
    for name in ("grows.txt", "shrinks.txt"):
        assert events[name].state == "ok" and "changed while it was read" in events[name].reason
    assert events["vanishes.txt"].state == "failed" and "removed or renamed while it was read" in events["vanishes.txt"].reason
    assert events["gone-before.txt"].state == "failed" and "does not exist" in events["gone-before.txt"].reason
    assert kb.consistency_problems() == []

    # The next run reads the changed files again (what was indexed may be a half-written state).
    again = _by_name(IngestPipeline(kb, library.embedder(), options).run([tmp_path]))
    assert again["grows.txt"].state == again["shrinks.txt"].state == "ok"
    assert again["steady.txt"].state == "skipped"
    assert [c.text for c in kb.chunks([c for c, _ in kb.keyword_search("cut short", 5)]).values()] == ["Cut short."]


_UNREADABLE_SCRIPT = """
import json, sys
from pathlib import Path
from app.services.library import LibraryService
from app.settings import Settings
report = LibraryService(Settings()).ingest([Path(sys.argv[1])], "t")
print(json.dumps([[Path(e.path).name, e.state, e.reason] for e in report.events]))
"""


def test_file_without_read_permission_fails_alone(tmp_path, localkb_home):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "open.txt").write_text(hostile_files.GOOD_TEXT)
    locked = folder / "locked.txt"
    locked.write_text("Salaries of the board, not for everyone.\n")
    locked.chmod(0)
    command = [sys.executable, "-c", _UNREADABLE_SCRIPT, str(folder)]
    if os.geteuid() == 0:
        # Root reads any file: drop every capability (CAP_DAC_OVERRIDE with them) for the run.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        command = [setpriv, "--bounding-set=-all", "--inh-caps=-all", *command]
    env = {**os.environ, "LOCALKB_HOME": str(localkb_home), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = {name: (state, reason) for name, state, reason in json.loads(done.stdout.strip().splitlines()[-1])}
    assert outcome["open.txt"] == ("ok", "")
    assert outcome["locked.txt"] == ("failed", "cannot read: Permission denied")


def test_a_pipe_named_by_hand_is_refused_not_read(tmp_path):
    from ingest.pipeline import expand_paths

    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)  # opening it to read would block until a writer comes: forever
    files, problems = expand_paths([pipe])
    assert files == [] and [(p.state, p.reason) for p in problems] == [("failed", "not a regular file (a pipe, socket or device)")]
