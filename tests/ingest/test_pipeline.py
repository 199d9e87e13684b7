"""The ingestion pipeline end to end: real files, idempotence, changes, failures, cancellation."""

import os
import shutil
import time
from pathlib import Path

import pytest

from ingest.progress import CancelToken, FileEvent, Progress


class Recorder:
    def __init__(self):
        self.events: list[FileEvent] = []
        self.progress_calls: list[Progress] = []

    def file_event(self, event):
        self.events.append(event)

    def progress(self, progress):
        self.progress_calls.append(progress)


@pytest.fixture
def corpus(tmp_path, shared_data):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "en.txt").write_text("Our travel policy reimburses economy class flights only.\n\n" * 3)
    (root / "zh.md").write_text("# 年假\n\n员工每年享有十五天带薪年假。\n", encoding="utf-8")
    (root / "sub" / "notes.txt").write_text("The office closes at six in the evening.")
    (root / ".hidden.txt").write_text("never ingested")
    (root / "empty.txt").write_text("")
    shutil.copy(shared_data / "docs" / "office-example-docs" / "CantinaBand3.wav", root / "CantinaBand3.wav")
    return root


def test_folder_ingest_then_second_run_is_all_skipped(library, corpus):
    sink = Recorder()
    report = library.ingest([corpus], "t", progress=sink)
    states = {os.path.basename(e.path): e.state for e in report.events}
    assert states == {"en.txt": "ok", "zh.md": "ok", "notes.txt": "ok", "empty.txt": "failed", "CantinaBand3.wav": "failed"}
    reasons = {os.path.basename(e.path): e.reason for e in report.events if e.state == "failed"}
    assert all(reasons.values()) and ".wav" in reasons["CantinaBand3.wav"]
    assert sink.progress_calls[-1].files_done == sink.progress_calls[-1].files_total == 5
    kb = library.open_kb("t")
    chunks_before = kb.chunk_count()
    assert chunks_before == report.chunks_added > 0

    started = time.perf_counter()
    again = library.ingest([corpus], "t")
    assert time.perf_counter() - started < 5
    assert {e.state for e in again.events} == {"skipped"} and len(again.events) == 5
    wav = next(e for e in again.events if e.path.endswith(".wav"))
    assert wav.reason.startswith("unchanged since it failed: ") and ".wav" in wav.reason
    assert again.chunks_added == 0 and kb.chunk_count() == chunks_before
    assert kb.consistency_problems() == []
    docs = {os.path.basename(d.path): d for d in library.documents("t")}
    assert docs["en.txt"].status == "indexed" and docs["empty.txt"].status == "failed" and docs["empty.txt"].reason


def test_changed_file_replaces_its_chunks(library, tmp_path):
    f = tmp_path / "policy.txt"
    f.write_text("Remote work is allowed two days a week.")
    library.ingest([f], "t")
    f.write_text("Remote work is allowed four days a week, by agreement with your manager.")
    os.utime(f, (time.time() + 5, time.time() + 5))
    report = library.ingest([f], "t")
    assert [e.state for e in report.events] == ["ok"]
    kb = library.open_kb("t")
    hits = kb.chunks([c for c, _ in kb.keyword_search("remote work days", 10)])
    assert [h.text for h in hits.values()] == [f.read_text()]
    assert kb.consistency_problems() == []


def test_failed_file_is_retried_when_it_changes_or_on_reindex(library, tmp_path):
    f = tmp_path / "late.txt"
    f.write_text("   ")
    assert [e.state for e in library.ingest([f], "t").events] == ["failed"]
    assert [e.state for e in library.ingest([f], "t", force=True).events] == ["failed"]
    f.write_text("Now it has words.")
    assert [e.state for e in library.ingest([f], "t").events] == ["ok"]
    assert library.documents("t")[0].status == "indexed"


def test_touched_but_identical_file_is_skipped_by_hash(library, tmp_path):
    f = tmp_path / "same.txt"
    f.write_text("Identical content stays identical.")
    library.ingest([f], "t")
    os.utime(f, (time.time() + 10, time.time() + 10))
    assert [e.state for e in library.ingest([f], "t").events] == ["skipped"]


def hanging_or_crashing_parse(path, ocr, max_pages, timeout_s):
    """Stands in for a loader that hangs or dies on one file; runs in the parser process."""
    from ingest.parse_worker import parse_file

    if path.endswith("hang.txt"):
        time.sleep(600)
    if path.endswith("crash.txt"):
        os._exit(11)
    return parse_file(path, ocr, max_pages, timeout_s)


def test_hanging_crashing_and_missing_files_fail_alone(library, tmp_path):
    from ingest.pipeline import IngestOptions, IngestPipeline

    for name in ("good.txt", "hang.txt", "crash.txt", "after.txt"):
        (tmp_path / name).write_text(f"This is {name}, with some words in it.")
    kb = library.open_kb("t", create=True)
    pipeline = IngestPipeline(kb, library.embedder(), IngestOptions(file_timeout_s=3),
                              parse=hanging_or_crashing_parse)
    started = time.monotonic()
    events = {os.path.basename(e.path): e for e in pipeline.run([tmp_path, tmp_path / "nope.txt"])}
    assert time.monotonic() - started < 60
    assert events["nope.txt"].state == "failed" and "no such file" in events["nope.txt"].reason
    assert events["hang.txt"].state == "failed" and "longer than 3 s" in events["hang.txt"].reason
    assert events["crash.txt"].state == "failed" and "crashed" in events["crash.txt"].reason
    assert events["good.txt"].state == events["after.txt"].state == "ok"
    assert kb.document(str(tmp_path / "hang.txt")).status == "failed"
    assert kb.consistency_problems() == []


def recording_parse_files(parse, paths, *args):
    """`parse_files` that also logs which files went to a parser together; runs in the parser process."""
    from ingest.parse_worker import parse_files

    with open(os.environ["LOCALKB_TEST_BATCH_LOG"], "a") as fh:
        fh.write("\t".join(os.path.basename(p) for p in paths) + "\n")
    return parse_files(parse, paths, *args)


def buggy_parse(path, ocr, max_pages, timeout_s):
    """A loader with a bug on one file; runs in the parser process."""
    from ingest.parse_worker import parse_file

    if path.endswith("bug.txt"):
        raise ValueError("a loader bug")
    return parse_file(path, ocr, max_pages, timeout_s)


def test_small_text_files_go_to_a_parser_together_and_fail_apart(library, tmp_path, monkeypatch):
    from ingest import pipeline as pipeline_mod
    from ingest.pipeline import IngestOptions, IngestPipeline

    log_file = tmp_path / "batches.log"
    monkeypatch.setenv("LOCALKB_TEST_BATCH_LOG", str(log_file))
    monkeypatch.setattr(pipeline_mod, "parse_files", recording_parse_files)
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(40):
        (docs / f"n{i:02d}.txt").write_text(f"Note {i}: the boiler room key hangs on hook {i}.")
    (docs / "bug.txt").write_text("This one meets the loader's bug.")
    (docs / "empty.txt").write_text("")
    (docs / "zh.md").write_text("# 会议\n\n周五下午三点在二楼开会。\n", encoding="utf-8")
    (docs / "big.txt").write_text("A long report about the quarterly figures. " * 600)  # 26 KB: alone
    # Sorts first, so the small files after it come one after another.
    (docs / "a-page.html").write_text("<html><body><p>The lobby opens at seven.</p></body></html>")
    kb = library.open_kb("t", create=True)
    events = {os.path.basename(e.path): e for e in
              IngestPipeline(kb, library.embedder(), IngestOptions(), parse=buggy_parse).run([docs])}

    assert events["bug.txt"].state == "failed" and events["bug.txt"].reason == "unexpected error: ValueError: a loader bug"
    assert events["empty.txt"].state == "failed" and "no text" in events["empty.txt"].reason
    assert all(e.state == "ok" for name, e in events.items() if name not in ("bug.txt", "empty.txt"))
    assert len(events) == 45
    batches = [line.split("\t") for line in log_file.read_text().splitlines()]
    batched = [name for batch in batches for name in batch]
    assert len(batched) == len(set(batched)) == 43  # every small text file once, none read again
    assert "big.txt" not in batched and "a-page.html" not in batched
    assert max(len(b) for b in batches) == 16 and len(batches) <= 4
    # Each file's text landed under its own path, not a neighbour's from the same batch.
    for i in (0, 17, 39):
        hit = kb.chunks([kb.keyword_search(f"hook {i}", 1)[0][0]])
        assert [(r.path, r.text) for r in hit.values()] == [(str(docs / f"n{i:02d}.txt"), f"Note {i}: the boiler room key hangs on hook {i}.")]
    assert kb.consistency_problems() == []


def test_next_batch_keeps_files_read_alone_and_big_ones_apart():
    from collections import deque

    from ingest.pipeline import _BATCH_FILES, IngestPipeline, _Job

    def job(name, size=100, alone=False):
        return _Job(f"/d/{name}", size, 1.0, name, alone=alone)

    queue_ = deque([job("a.txt"), job("b.md"), job("c.TXT"), job("d.pdf"), job("e.txt"), job("f.txt", alone=True),
                    job("g.txt"), job("h.txt", size=20_000), job("i.txt"),
                    *(job(f"m{i}.log") for i in range(_BATCH_FILES + 2))])
    names = []
    while queue_:
        names.append([Path(j.path).name for j in IngestPipeline._next_batch(queue_)])
    assert names[:7] == [["a.txt", "b.md", "c.TXT"], ["d.pdf"], ["e.txt"], ["f.txt"], ["g.txt"], ["h.txt"],
                         ["i.txt", *(f"m{i}.log" for i in range(_BATCH_FILES - 1))]]
    assert names[7:] == [["m15.log", "m16.log", "m17.log"]]


def test_cancel_stops_and_leaves_nothing_half_indexed(library, tmp_path):
    for i in range(40):
        (tmp_path / f"f{i}.txt").write_text(f"Document number {i} talks about topic {i}. " * 20)
    token = CancelToken()

    class CancelAfterFirst(Recorder):
        def file_event(self, event):
            super().file_event(event)
            if event.state == "ok":
                token.cancel()

    from ingest.progress import Cancelled

    with pytest.raises(Cancelled):
        library.ingest([tmp_path], "t", progress=CancelAfterFirst(), cancel=token)
    kb = library.open_kb("t")
    assert kb.consistency_problems() == []
    docs = library.documents("t")
    assert 1 <= sum(d.status == "indexed" for d in docs) < 40
    assert all(d.status in ("indexed", "failed") for d in docs)
    report = library.ingest([tmp_path], "t")
    assert report.failed == 0 and len(library.documents("t")) == 40
    assert all(d.status == "indexed" for d in library.documents("t"))


def test_kb_own_data_is_never_ingested(library, localkb_home, tmp_path):
    (tmp_path / "a.txt").write_text("hello there")
    library.ingest([tmp_path / "a.txt"], "t")
    report = library.ingest([localkb_home], "t2")
    assert report.events == []


def test_an_excluded_folder_leaves_its_namesakes_alone(tmp_path):
    from ingest.pipeline import expand_paths

    for rel in ("data/a.txt", "data/sub/b.txt", "data2/c.txt", "database.txt", "d.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("words")
    files, problems = expand_paths([tmp_path, tmp_path / "data" / "a.txt"], exclude=[tmp_path / "data"])
    assert sorted(str(f.relative_to(tmp_path)) for f in files) == ["d.txt", "data2/c.txt", "database.txt"]
    assert problems == []
    assert expand_paths([tmp_path / "data"], exclude=[tmp_path / "data"]) == ([], [])


def test_embedder_mismatch_asks_for_reindex(library, tmp_path):
    from app.errors import KnowledgeBaseError

    (tmp_path / "a.txt").write_text("hello there")
    library.ingest([tmp_path / "a.txt"], "t")
    library.open_kb("t").set_meta("embedder", "some-other-model")
    with pytest.raises(KnowledgeBaseError, match="re-index"):
        library.ingest([tmp_path / "a.txt"], "t")


def test_files_finished_together_are_committed_as_one_group(tmp_path, embedder, monkeypatch):
    import queue

    from ingest import pipeline as pipeline_mod
    from ingest.kb import KnowledgeBase
    from ingest.pipeline import IngestOptions, IngestPipeline, _Job
    from ingest.splitter import document_id
    from ingest.types import LoadedDocument, Section

    kb = KnowledgeBase(tmp_path / "kb")
    pipe = IngestPipeline(kb, embedder, IngestOptions())

    def job(name, text):
        j = _Job(f"/{name}.txt", len(text), 1.0, name)
        j.doc = LoadedDocument("txt", [Section(text, page=1)])
        j.chunks = pipe.splitter.split(j.doc, j.path, document_id(j.path, name))
        j.vectors = embedder.embed_documents([c.text for c in j.chunks])
        return j

    texts = {"a": "Boilers are inspected every spring.", "b": "The canteen opens at eight.",
             "c": "Visitors sign in at the front desk.", "d": "Badges are renewed each January."}
    jobs = {n: job(n, t) for n, t in texts.items()}
    canteen_chunk = jobs["b"].chunks[0].id  # the pipeline lets a committed job's chunks go
    q = queue.Queue()
    # Two embedder windows finished while nothing was committing: one group, one commit.
    q.put([jobs["a"], jobs["b"]])
    q.put([jobs["c"]])
    q.put(None)
    pipe._commit_loop(q, [])
    assert pipe.commits == 1
    assert sorted(e.path for e in pipe.events if e.state == "ok") == ["/a.txt", "/b.txt", "/c.txt"]
    assert kb.keyword_search("canteen", 5)[0][0] == canteen_chunk
    # A group stops growing at its cap, so one commit stays short.
    monkeypatch.setattr(pipeline_mod, "_COMMIT_GROUP_CHUNKS", 1)
    q.put([jobs["d"]])
    q.put([job("e", "Parking permits are free for cyclists.")])
    q.put(None)
    pipe._commit_loop(q, [])
    assert pipe.commits == 3
    assert kb.store.count() == kb.chunk_count() == 5
    assert kb.consistency_problems() == []


def test_parsers_boot_while_planning_and_a_failed_plan_leaves_none_running(library, tmp_path, monkeypatch):
    import multiprocessing

    from app.errors import KnowledgeBaseError
    from ingest.pipeline import IngestOptions, IngestPipeline

    for i in range(3):
        (tmp_path / f"f{i}.txt").write_text(f"File {i} has a few words.")
    kb = library.open_kb("t", create=True)
    pipeline = IngestPipeline(kb, library.embedder(), IngestOptions())
    real, planned, booting = kb.mark_pending, [], []

    def mark_pending_failing_at_the_second(path, *args):
        planned.append(path)
        if len(planned) == 2:
            booting.append(pipeline._pool is not None and bool(multiprocessing.active_children()))
            raise KnowledgeBaseError("the catalogue went away")
        return real(path, *args)
    monkeypatch.setattr(kb, "mark_pending", mark_pending_failing_at_the_second)
    with pytest.raises(KnowledgeBaseError, match="went away"):
        pipeline.run([tmp_path])
    assert booting == [True]  # the parser process started at the first file to read
    assert pipeline._pool is None and multiprocessing.active_children() == []
    monkeypatch.setattr(kb, "mark_pending", real)
    assert [e.state for e in pipeline.run([tmp_path])] == ["ok"] * 3  # the same pipeline runs again
