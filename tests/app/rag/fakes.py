"""Small in-memory stand-ins for a knowledge base and an embedder, for retrieval tests."""

from __future__ import annotations

import re
import zlib

import numpy as np

from ingest.kb import ChunkRecord

STOPWORDS = {"a", "an", "the", "of", "is", "are", "what", "how", "do", "to", "in", "per", "get", "and", "many", "when"}


# The real chunk record, so retrieval is tested against what a knowledge base really returns.
FakeChunk = ChunkRecord


class BagOfWordsEmbedder:
    """Hashes words into a small vector: enough meaning for tests, no model needed."""

    def __init__(self, languages=frozenset({"en"}), dim: int = 1024) -> None:
        self.languages = frozenset(languages)
        self.dim = dim

    def embed_query(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            if w not in STOPWORDS:
                v[zlib.crc32(w.encode()) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v


class FakeKB:
    """Dense = cosine of BagOfWordsEmbedder vectors, keyword = count of shared words."""

    def __init__(self, name: str, texts: dict[str, str], embedder: BagOfWordsEmbedder) -> None:
        self.name = name
        self.embedder = embedder
        self._chunks = {}
        for i, (path, text) in enumerate(texts.items()):
            cid = f"{name}-{i}:0"
            self._chunks[cid] = FakeChunk(cid, f"{name}-{i}", 0, 0, text, path, 1, ("Intro",), 0, len(text), "en")

    def add_chunk(self, chunk: FakeChunk) -> None:
        self._chunks[chunk.id] = chunk

    def remove(self, path: str) -> None:
        self._chunks = {k: c for k, c in self._chunks.items() if c.path != path}

    def dense_search(self, qvec, k):
        scored = [(cid, float(np.dot(qvec, self.embedder.embed_query(c.text)))) for cid, c in self._chunks.items()]
        return sorted(scored, key=lambda x: -x[1])[:k]

    def keyword_search(self, query, k):
        q = set(re.findall(r"\w+", query.lower())) - STOPWORDS
        scored = [(cid, float(len(q & set(re.findall(r"\w+", c.text.lower()))))) for cid, c in self._chunks.items()]
        return sorted([s for s in scored if s[1] > 0], key=lambda x: -x[1])[:k]

    def chunks(self, ids):
        return {i: self._chunks[i] for i in ids if i in self._chunks}
