"""The vector store: one Chroma collection per knowledge base.

Chroma holds only vectors keyed by chunk id, plus the document id so a document's vectors can be
deleted together; chunk text and metadata live in the catalogue, which is the source of truth.
Writes are batched under the client's maximum batch size (as private-gpt's batched_chroma does).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

COLLECTION = "chunks"


class VectorStore:
    def __init__(self, path: Path) -> None:
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        )
        self._collection = self._client.get_or_create_collection(COLLECTION, metadata={"hnsw:space": "cosine"})
        self._max_batch = max(1, int(self._client.get_max_batch_size()))
        self._lock = threading.Lock()

    def add(self, ids: list[str], vectors: np.ndarray, doc_id: str) -> None:
        """Upsert: re-adding the same chunk ids after a crash overwrites instead of duplicating."""
        with self._lock:
            for i in range(0, len(ids), self._max_batch):
                batch = ids[i : i + self._max_batch]
                self._collection.upsert(
                    ids=batch,
                    embeddings=vectors[i : i + len(batch)],
                    metadatas=[{"doc_id": doc_id}] * len(batch),
                )

    def delete_document(self, doc_id: str) -> None:
        with self._lock:
            self._collection.delete(where={"doc_id": doc_id})

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        with self._lock:
            n = self._collection.count()
            if n == 0:
                return []
            res = self._collection.query(query_embeddings=[vector], n_results=min(k, n), include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0])]

    def count(self) -> int:
        with self._lock:
            return self._collection.count()

    def all_ids(self) -> set[str]:
        with self._lock:
            return set(self._collection.get(include=[])["ids"])
