"""The embedder's runtimes: OpenVINO and ONNX fp32 give torch's vectors, int8 is another embedder, exports are found and kept apart."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.errors import KnowledgeBaseError
from ingest import onnx_export
from ingest.embedder import Embedder, default_embedder_path, onnx_recipe
from ingest.kb import KnowledgeBase
from ingest.pipeline import IngestOptions, IngestPipeline

# Texts that exercise what the hand-run tokenisation and pooling must get right: padding in a batch
# of mixed lengths, truncation past max_seq_length (256 tokens), surrounding whitespace, CJK, accents.
TEXTS = [
    "The reactor coolant pump failed on Tuesday.",
    "  Leading and trailing whitespace\n\n",
    "年度报告显示公司收入增长了百分之九。",
    "Crème brûlée, naïve café – ünïcödé!",
    "word " * 600,
    "A",
    "Quarterly revenue grew by nine percent, driven by strong sales in the northern region and lower costs.",
]


@pytest.fixture(scope="module")
def cache(builtin_models_dir) -> Path:
    # The conftest's LOCALKB_MODELS_DIR: the export made here is the one the shared fixture reuses.
    return builtin_models_dir / "embedders"


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return Embedder(runtime="torch").embed_documents(TEXTS)


def test_onnx_fp32_gives_torchs_vectors_and_keeps_its_name(cache, torch_vectors):
    fp32 = Embedder(runtime="onnx", cache_dir=cache)
    vectors = fp32.embed_documents(TEXTS)
    assert fp32.runtime == "onnx" and fp32.onnx_file.name == "model_fp32.onnx"
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert cosine.min() > 0.9999, cosine  # the same embedder: a KB may hold vectors of both
    assert fp32.name == Embedder(runtime="torch").name


def test_openvino_gives_torchs_vectors_and_keeps_its_name(cache, torch_vectors):
    # The default runtime: bfloat16 on CPUs with AMX or AVX-512 BF16, fp32 elsewhere; either way
    # close enough to torch's vectors that a KB may hold both (the same bar as fp32 ONNX).
    openvino = Embedder(runtime="openvino", cache_dir=cache, batch_size=3)
    vectors = openvino.embed_documents(TEXTS)
    assert openvino.runtime == "openvino" and openvino.onnx_file.name == "model_fp32.onnx"
    assert openvino.backend == "openvino" and openvino.precision in ("bf16", "fp32")
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert cosine.min() > 0.9999, cosine
    assert openvino.name == Embedder(runtime="torch").name == "all-MiniLM-L6-v2"
    # The one-thread model that embeds queries agrees with the batch model.
    assert float(openvino.embed_query(TEXTS[0]) @ vectors[0]) > 0.9999


def test_the_openvino_runtime_sends_and_records_nothing(cache, tmp_path):
    # `import openvino` sends a usage event through openvino-telemetry (installed with it) and
    # writes a client id to ~/intel; the embedder must do neither.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ingest.embedder import Embedder\n"
        f"e = Embedder(runtime='openvino', cache_dir=Path({str(cache)!r}))\n"
        "e.embed_query('hello')\n"
        "print(e.backend, 'openvino' in sys.modules, any(m.startswith('openvino_telemetry') and sys.modules[m]"
        " for m in sys.modules))\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "CI": ""}  # the telemetry stays quiet under CI=true
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2], env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["openvino", "True", "False"]
    assert not (tmp_path / "intel").exists()


def test_openvino_survives_the_windows_pooled_threads_ending(cache):
    # The window embeds on Qt's pooled threads, which end when idle.  An inference request kept
    # per thread was destroyed while Python deleted the ending thread's state: a segfault.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from PySide6.QtCore import QCoreApplication, QThreadPool\n"
        "from ingest.embedder import Embedder\n"
        "app = QCoreApplication(sys.argv)\n"
        f"e = Embedder(runtime='openvino', cache_dir=Path({str(cache)!r}))\n"
        "pool = QThreadPool()\n"
        "pool.setExpiryTimeout(0)\n"
        "for _ in range(3):\n"
        "    pool.start(lambda: e.embed_query('asked on a pooled thread'))\n"
        "    pool.waitForDone()\n"
        "    e.embed_query('asked on the main thread')\n"
        "print('survived')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    assert out.stdout.split() == ["survived"]


def test_openvinos_objects_live_and_die_on_their_own_threads(cache):
    import gc
    import threading

    def workers():
        return [t for t in threading.enumerate() if t.name == "openvino"]

    before = set(workers())
    embedder = Embedder(runtime="openvino", cache_dir=cache)
    embedder.embed_documents(TEXTS[:2])
    embedder.embed_query("and the one-thread model")
    mine = set(workers()) - before
    assert len(mine) == 2  # the batch model and the query model
    del embedder
    gc.collect()
    for t in mine:  # dropping the embedder ends them, letting OpenVINO's objects go there
        t.join(timeout=10)
        assert not t.is_alive()


def test_without_openvino_the_default_runs_on_onnxruntime_under_the_same_name(cache, monkeypatch, caplog):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    with caplog.at_level(logging.INFO, logger="ingest.embedder"):
        embedder = Embedder(cache_dir=cache)
    assert embedder.runtime == "onnx" and embedder.name == "all-MiniLM-L6-v2"
    assert any("openvino is not installed" in r.getMessage() for r in caplog.records)


def test_openvino_failing_to_compile_leaves_onnxruntime_with_the_same_vectors(cache, torch_vectors, monkeypatch, caplog):
    import ingest.embedder as embedder_module

    def broken(*_a):
        raise RuntimeError("no CPU plugin")
    monkeypatch.setattr(embedder_module, "_OpenVinoSession", broken)
    embedder = Embedder(runtime="openvino", cache_dir=cache)
    with caplog.at_level(logging.WARNING, logger="ingest.embedder"):
        vectors = embedder.embed_documents(TEXTS)
    assert embedder.backend == "onnxruntime" and embedder.precision == "fp32"
    assert (vectors * torch_vectors).sum(axis=1).min() > 0.9999
    assert any("no CPU plugin" in r.getMessage() for r in caplog.records)


def test_int8_is_close_but_another_embedder(cache, torch_vectors):
    int8 = Embedder(runtime="onnx-int8", cache_dir=cache)
    vectors = int8.embed_documents(TEXTS)
    assert int8.onnx_file.name == "model_int8.onnx"
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert cosine.min() > 0.95 and cosine.max() < 0.99999, cosine  # close, yet not the same vectors
    assert int8.name != Embedder(runtime="torch").name


def test_length_sorted_batches_return_each_text_its_own_vector(cache):
    embedder = Embedder(runtime="onnx", cache_dir=cache, batch_size=3)  # several batches, reordered by length
    together = embedder.embed_documents(TEXTS)
    alone = np.vstack([embedder.embed_documents([t]) for t in TEXTS])
    assert np.allclose(together, alone, atol=2e-5)
    assert np.allclose(embedder.embed_query(TEXTS[0]), alone[0], atol=2e-5)  # the one-thread session agrees


@pytest.mark.parametrize("mode", ["mean", "mean_sqrt_len_tokens", "max", "cls"])
def test_pooling_counts_only_each_texts_own_tokens(mode):
    # Padding must never reach a vector: the pooled value of a padded row equals that of the row
    # alone, at its own length, for every pooling sentence-transformers folders use here.
    from types import SimpleNamespace

    from ingest.embedder import _OnnxModel

    rng = np.random.default_rng(7)
    lengths = [5, 1, 9, 3]
    hidden = rng.standard_normal((len(lengths), 9, 4)).astype(np.float32)
    hidden[0, 5:] = 1e6  # padding positions hold garbage in a real batch
    mask = (np.arange(9)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    model = SimpleNamespace(recipe=SimpleNamespace(pooling=mode))
    pooled = _OnnxModel._pool(model, hidden, mask)
    for row, n in enumerate(lengths):
        own = hidden[row, :n]
        want = {"mean": own.mean(axis=0), "mean_sqrt_len_tokens": own.sum(axis=0) / np.sqrt(n),
                "max": own.max(axis=0), "cls": own[0]}[mode]
        assert np.allclose(pooled[row], want, atol=1e-5), (mode, row)


def test_openvinos_streams_run_batches_side_by_side_and_each_text_gets_its_own_vector(cache, torch_vectors):
    embedder = Embedder(runtime="openvino", cache_dir=cache, batch_size=2)
    embedder.batch_threads = 2  # as on a two-core machine: two streams of one thread each
    assert embedder.streams == 2
    order = np.random.default_rng(7).permutation(len(TEXTS) * 3)
    texts = [(TEXTS * 3)[i] for i in order]
    seen: list[int] = []
    session = embedder._onnx.session(2)
    real = session.submit
    session.submit = lambda feeds, take, cancel=None: seen.append(len(feeds)) or real(feeds, take, cancel)
    vectors = embedder.embed_documents(texts)  # 11 batches, finished in whatever order
    assert seen == [11]
    assert (vectors * torch_vectors[order % len(TEXTS)]).sum(axis=1).min() > 0.9999
    # Fewer texts than two batches' worth: split so that both streams get one.
    embedder.embed_documents(TEXTS[:3])
    assert seen[-1] == 2


def test_an_error_in_one_of_the_streams_batches_reaches_the_caller_and_the_next_call_works(cache):
    embedder = Embedder(runtime="openvino", cache_dir=cache, batch_size=2)
    embedder.batch_threads = 2
    expected = embedder.embed_documents(TEXTS)
    model = embedder._onnx
    real, calls = model._pool, []

    def pool_failing_once(hidden, mask):
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("pooling failed")
        return real(hidden, mask)
    model._pool = pool_failing_once
    with pytest.raises(ValueError, match="pooling failed"):
        embedder.embed_documents(TEXTS)
    assert len(calls) == 4  # every batch ran to its end before the caller heard
    assert np.allclose(embedder.embed_documents(TEXTS), expected, atol=1e-6)


def test_a_cancel_stops_openvinos_streams_between_batches(cache):
    from ingest.progress import Cancelled, CancelToken

    embedder = Embedder(runtime="openvino", cache_dir=cache, batch_size=2)
    embedder.batch_threads = 2
    assert embedder.streams == 2
    token = CancelToken()
    model = embedder._onnx
    real, pooled = model._pool, []

    def pool_then_cancel(hidden, mask):
        pooled.append(1)
        if len(pooled) == 3:
            token.cancel()
        return real(hidden, mask)
    model._pool = pool_then_cancel
    with pytest.raises(Cancelled):
        embedder.embed_documents(TEXTS * 10, cancel=token)  # 35 batches
    assert 3 <= len(pooled) <= 3 + embedder.streams  # those already running end, no other starts
    model._pool = real
    assert embedder.embed_documents(TEXTS, cancel=CancelToken()).shape == (len(TEXTS), 384)


class _FakeRequest:
    """Stands in for an OpenVINO infer request: logs when its feed starts and ends."""

    def __init__(self, log: list) -> None:
        self.log, self.feed = log, None

    def start_async(self, feed) -> None:
        self.feed = feed
        self.log.append(("start", feed["name"]))

    def wait(self) -> None:
        self.log.append(("end", self.feed["name"]))
        if self.feed["x"][0] == -2:
            raise RuntimeError("inference failed")

    def get_output_tensor(self, _i):
        return type("Tensor", (), {"data": self.feed["x"] * 2})


def _run_fake_jobs(jobs_feeds: list[tuple[list[dict], object]]) -> tuple[list, list, list]:
    """Submits every job at once to _run_jobs on two fake streams; returns the log, each job's
    outputs and each job's outcome (None or the exception)."""
    import queue

    from ingest.embedder import _run_jobs, _StreamJob

    log: list = []
    outputs: list[list] = [[] for _ in jobs_feeds]
    jobs = queue.SimpleQueue()
    submitted = []
    for n, (feeds, cancel) in enumerate(jobs_feeds):
        def take(i, data, n=n):
            if data[0] < 0:
                raise ValueError("bad batch")
            outputs[n].append((i, int(data[0])))
        job = _StreamJob(feeds, take, cancel)
        submitted.append(job)
        jobs.put(job)
    jobs.put(None)
    _run_jobs([_FakeRequest(log), _FakeRequest(log)], jobs)
    return log, outputs, [job.done.exception() for job in submitted]


def _feeds(name: str, values: list[int]) -> list[dict]:
    return [{"name": f"{name}{i}", "x": np.array([v])} for i, v in enumerate(values)]


def test_the_streams_start_the_next_call_while_the_last_one_ends():
    log, outputs, outcomes = _run_fake_jobs([(_feeds("a", [1, 2, 3]), None), (_feeds("b", [4, 5]), None)])
    # The second call's first batch starts on the stream the first call freed, before its last batch ends.
    assert log.index(("start", "b0")) < log.index(("end", "a2"))
    assert log == [("start", "a0"), ("start", "a1"), ("end", "a0"), ("start", "a2"), ("end", "a1"),
                   ("start", "b0"), ("end", "a2"), ("start", "b1"), ("end", "b0"), ("end", "b1")]
    assert outputs == [[(0, 2), (1, 4), (2, 6)], [(0, 8), (1, 10)]] and outcomes == [None, None]


def test_a_failed_or_cancelled_call_does_not_stop_the_next():
    from ingest.progress import Cancelled, CancelToken

    cancelled = CancelToken()
    cancelled.cancel()
    log, outputs, outcomes = _run_fake_jobs([(_feeds("a", [1, -1, 3, 4, 5]), None), (_feeds("c", [6, 7]), cancelled),
                                             (_feeds("b", [8, 9]), None)])
    assert isinstance(outcomes[0], ValueError) and isinstance(outcomes[1], Cancelled) and outcomes[2] is None
    # The failed call starts nothing after its failure is known, the cancelled one nothing at all.
    assert [e for e in log if e[0] == "start" and e[1][0] == "a"] == [("start", "a0"), ("start", "a1"), ("start", "a2")]
    assert not [e for e in log if e[1][0] == "c"]
    assert outputs[2] == [(0, 16), (1, 18)]
    assert all(log.index(("end", name)) > log.index(("start", name)) for kind, name in log if kind == "start")


def test_an_inference_that_fails_fails_its_call_only():
    log, outputs, outcomes = _run_fake_jobs([(_feeds("a", [1, -2, 3, 4, 5]), None), (_feeds("b", [4, 5]), None)])
    assert isinstance(outcomes[0], RuntimeError) and "inference failed" in str(outcomes[0])
    assert outcomes[1] is None and outputs[1] == [(0, 8), (1, 10)]
    # a2 started when a0 ended, before a1's failure was known; nothing of the call starts after.
    assert [e for e in log if e[0] == "start" and e[1][0] == "a"] == [("start", "a0"), ("start", "a1"), ("start", "a2")]


_INGEST_AND_EXIT = """
import sys
from pathlib import Path
from app.services.library import LibraryService
from app.settings import Settings
report = LibraryService(Settings()).ingest([Path(sys.argv[1])], "t")
print(report.ok)
"""


def test_a_process_that_embedded_with_openvino_exits_cleanly(tmp_path, localkb_home):
    """OpenVINO's objects left to the process's end were freed by C++ static destructors while its
    threads still ran: "terminate called without an active exception" (exit code 134) after about
    half of such runs (one in eight with this script).  Eight runs, as `localkb ingest` makes them."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}.txt").write_text(f"Travel rule {i}: a hotel night costs at most 140 EUR. " * 20)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for run in range(8):
        env["LOCALKB_HOME"] = str(tmp_path / f"home{run}")
        done = subprocess.run([sys.executable, "-c", _INGEST_AND_EXIT, str(folder)], capture_output=True, text=True,
                              env=env, timeout=120)
        assert (done.returncode, done.stdout.split()) == (0, ["3"]), done.stderr[-2000:]


def test_the_pipeline_tokenises_each_chunk_once_and_gets_the_same_vectors(tmp_path, cache):
    embedder = Embedder(runtime="openvino", cache_dir=cache, batch_size=2)
    assert np.allclose(embedder.embed_documents(TEXTS, encodings=embedder.tokenize(TEXTS)),
                       embedder.embed_documents(TEXTS), atol=1e-6)
    tokenised: list[str] = []
    model = embedder._onnx
    real = model.tokenize
    model.tokenize = lambda texts: tokenised.extend(texts) or real(texts)
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, text in enumerate(TEXTS):
        (folder / f"{i}.txt").write_text(text)
    kb = KnowledgeBase(tmp_path / "kb", "kb")
    with kb.writer():
        IngestPipeline(kb, embedder, IngestOptions()).run([folder])
    texts = [r[0] for r in kb._conn.execute("SELECT text FROM chunks")]
    # Sorting a window by token length and embedding it share one tokenisation.
    assert sorted(tokenised) == sorted(texts) and len(texts) >= len(TEXTS)
    hit, _ = kb.dense_search(embedder.embed_query("reactor coolant pump"), 1)[0]
    assert kb.chunks([hit])[hit].path.endswith("0.txt")
    kb.close()


def test_a_kb_indexed_by_torch_refuses_int8_vectors_until_reindexed_whole(tmp_path, cache):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Zebras graze on the savanna near the river.")
    (folder / "b.txt").write_text("Penguins swim in the cold southern ocean.")
    torch_embedder = Embedder(runtime="torch")
    int8 = Embedder(runtime="onnx-int8", cache_dir=cache)
    kb = KnowledgeBase(tmp_path / "kb", "kb")
    with kb.writer():
        IngestPipeline(kb, torch_embedder, IngestOptions()).run([folder])
        (folder / "c.txt").write_text("Camels cross the desert in long caravans.")
        with pytest.raises(KnowledgeBaseError, match="re-index"):
            IngestPipeline(kb, int8, IngestOptions()).run([folder / "c.txt"])
        assert kb.chunk_count() == 2 and kb.meta("embedder") == torch_embedder.name
        # A re-index of one new file moves the whole KB to int8: a.txt and b.txt are embedded again.
        events = IngestPipeline(kb, int8, IngestOptions(force=True)).run([folder / "c.txt"])
    assert sorted((Path(e.path).name, e.state) for e in events) == [("a.txt", "ok"), ("b.txt", "ok"), ("c.txt", "ok")]
    assert kb.meta("embedder") == int8.name and kb.chunk_count() == 3
    hit, _ = kb.dense_search(int8.embed_query("zebras on the savanna"), 1)[0]
    assert kb.chunks([hit])[hit].path.endswith("a.txt")
    assert kb.consistency_problems() == []
    kb.close()


def _model_copy(tmp_path: Path) -> Path:
    """The built-in model folder, its files linked (not copied: 90 MB)."""
    src = default_embedder_path()
    dst = tmp_path / "model"
    for f in src.rglob("*"):
        if f.is_file():
            (dst / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (dst / f.relative_to(src)).symlink_to(f)
    return dst


def test_a_premade_export_is_used_and_a_stale_one_ignored(tmp_path, cache, monkeypatch):
    model = _model_copy(tmp_path)
    made = Embedder(runtime="onnx-int8", cache_dir=cache)
    made.embed_query("load")
    premade = model / onnx_export.EXPORT_DIRNAME
    premade.mkdir()
    (premade / "model_int8.onnx").symlink_to(made.onnx_file)
    manifest = {"model_hash": onnx_export.model_hash(model), "files": onnx_export.VARIANTS}
    (premade / onnx_export.MANIFEST).write_text(json.dumps(manifest))
    empty_cache = tmp_path / "cache"
    monkeypatch.setattr(onnx_export, "can_export", lambda: False)  # like the installed app: no torch
    assert onnx_export.find_export(model, "int8", empty_cache) == premade / "model_int8.onnx"
    # A packaged copy without its model card still matches ...
    (model / "README.md").unlink()
    assert onnx_export.find_export(model, "int8", empty_cache) == premade / "model_int8.onnx"
    # ... but a changed model (a config edited) does not.
    config = json.loads((model / "sentence_bert_config.json").read_text())
    (model / "sentence_bert_config.json").unlink()
    (model / "sentence_bert_config.json").write_text(json.dumps({**config, "max_seq_length": 128}))
    assert onnx_export.find_export(model, "int8", empty_cache) is None
    with pytest.raises(onnx_export.ExportUnavailable):
        onnx_export.ensure_onnx(model, empty_cache)


def test_unsupported_modules_fall_back_to_torch_with_a_log_line(tmp_path, caplog):
    model = _model_copy(tmp_path)
    modules = json.loads((model / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (model / "modules.json").unlink()
    (model / "modules.json").write_text(json.dumps(modules))
    assert "Dense" in onnx_recipe(model)
    with caplog.at_level(logging.INFO, logger="ingest.embedder"):
        embedder = Embedder(str(model), runtime="onnx-int8")
    assert embedder.runtime == "torch" and not embedder.name.endswith("int8")
    assert any("Dense" in r.getMessage() and "torch" in r.getMessage() for r in caplog.records)


def test_the_default_runtime_runs_without_torch_installed(cache):
    Embedder(cache_dir=cache).embed_query("make sure the export exists")
    code = (
        "import sys\n"
        "for m in ('torch', 'sentence_transformers', 'transformers'): sys.modules[m] = None\n"
        "from pathlib import Path\n"
        "from ingest.embedder import Embedder\n"
        f"e = Embedder(cache_dir=Path({str(cache)!r}))\n"
        "v = e.embed_documents(['hello world', 'a second text'])\n"
        "print(e.runtime, v.shape, round(float((v[0] * v[0]).sum()), 4))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2], env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["openvino", "(2,", "384)", "1.0"]


@pytest.mark.slow
def test_the_packaging_command_writes_a_premade_export_the_embedder_finds(tmp_path, monkeypatch):
    model = _model_copy(tmp_path)
    out = subprocess.run([sys.executable, "-m", "ingest.onnx_export", "--model", str(model)], capture_output=True,
                         text=True, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == model / onnx_export.EXPORT_DIRNAME
    monkeypatch.setattr(onnx_export, "can_export", lambda: False)
    for runtime, file in (("openvino", "model_fp32.onnx"), ("onnx-int8", "model_int8.onnx")):
        embedder = Embedder(str(model), cache_dir=tmp_path / "empty-cache", runtime=runtime)
        assert embedder.runtime == runtime
        embedder.embed_query("loads the pre-made export")
        assert embedder.onnx_file == model / onnx_export.EXPORT_DIRNAME / file
    assert not (tmp_path / "empty-cache").exists()


@pytest.mark.slow
def test_making_the_export_leaves_torch_out_of_the_calling_process(tmp_path):
    # The export needs torch; the app's engine that asked for it must not keep ~500 MB of it loaded.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ingest import onnx_export\n"
        "from ingest.embedder import default_embedder_path\n"
        f"f = onnx_export.ensure_onnx(default_embedder_path(), Path({str(tmp_path / 'fresh')!r}))\n"
        "print(f.name, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         cwd=Path(__file__).resolve().parents[2], env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["model_int8.onnx", "False", "False"]
