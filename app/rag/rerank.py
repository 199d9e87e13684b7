"""Optional cross-encoder reranking from a local model folder (settings: retrieval.reranker_path).

A cross-encoder reads question and passage together, so it orders the fused head of the list
better than either retriever, at the price of one forward pass per passage.  It is off unless a
folder is set; nothing is ever downloaded.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from app.errors import ModelError


class CrossEncoderReranker:
    """Scores (question, passage) pairs; loads the model on first use, thread-safe."""

    def __init__(self, model_path: str | Path, max_length: int = 512, device: str = "cpu") -> None:
        self.path = Path(model_path).expanduser()
        if not self.path.is_dir():
            raise ModelError(f"Reranker model folder not found: {self.path} (settings: retrieval.reranker_path; "
                             "empty turns reranking off).")
        self.max_length = max_length
        self._device = device
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import CrossEncoder

                try:
                    self._model = CrossEncoder(str(self.path), max_length=self.max_length, device=self._device,
                                               local_files_only=True)
                except Exception as exc:  # any load failure becomes one actionable message
                    raise ModelError(f"Cannot load reranker {self.path}: {exc}. Point retrieval.reranker_path at a "
                                     "sentence-transformers cross-encoder folder, or clear it.") from exc
            return self._model

    def scores(self, query: str, texts: list[str]) -> list[float]:
        """One relevance logit per text, higher is better (raw, not squashed)."""
        if not texts:
            return []
        model = self._load()
        out = model.predict([(query, t) for t in texts], show_progress_bar=False, convert_to_numpy=True,
                            activation_fn=None)
        flat = out.reshape(len(texts), -1)[:, -1] if out.ndim > 1 else out
        return [float(x) for x in flat]
