"""The vector store: one Chroma collection per knowledge base, embedded or on a Chroma server.

The only difference between the two is the client: `chromadb.PersistentClient` on a folder of
this computer (the default), or `chromadb.HttpClient` to a team's `chroma run` server (host,
port, a bearer token, TLS).  Everything after `open_client` is one code path.

Chroma holds vectors keyed by chunk id, plus the document id so a document's vectors can be
deleted together; chunk text and metadata live in the catalogue, which is the source of truth.
A shared (server) knowledge base also stores each chunk's text and place with its vector, so
other computers can rebuild their catalogue from the server (see `ingest.shared`).  Writes are
batched under the client's maximum batch size (as private-gpt's batched_chroma does).

Server failures become `StoreUnavailable` with words a user can act on: a wrong token, a
server that is down, or one that went away mid-question.  The HTTP client reconnects on the
next call, so the knowledge base works again as soon as the server is back.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from app.errors import KnowledgeBaseError

log = logging.getLogger(__name__)

COLLECTION = "chunks"
T = TypeVar("T")


class StoreUnavailable(KnowledgeBaseError):
    """The Chroma server cannot be used right now (down, refused the token, TLS failed)."""


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int
    token: str = ""
    tls: bool = False
    tls_ca: str = ""  # PEM bundle that verifies the server; empty: the system's certificates

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"


def server_error(address: ServerAddress, exc: BaseException, doing: str = "") -> StoreUnavailable:
    """A user-facing error for a failed call to the Chroma server."""
    text = f"{type(exc).__name__}: {exc}"
    # chromadb often re-raises httpx's error as a generic one; the cause says what really failed.
    chain, seen = [], set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(f"{type(cur).__name__}: {cur}")
        cur = cur.__cause__ or cur.__context__
    low = " | ".join(chain).lower()
    where = f"The Chroma server at {address.url}"
    if any(s in low for s in ("401", "403", "unauthorized", "forbidden", "authorizationerror", "authentication")):
        return StoreUnavailable(f"{where} refused the access token. Check settings: store.token (ask whoever runs the server).")
    if any(s in low for s in ("certificate", "ssl", "tls")):
        return StoreUnavailable(f"{where} failed the TLS check ({chain[-1]}). Check settings: store.tls and store.tls_ca_path.")
    if any(s in low for s in ("connecterror", "connection refused", "could not connect", "name or service not known",
                              "temporary failure in name resolution", "connect call failed")):
        return StoreUnavailable(f"Cannot reach the Chroma server at {address.url}: is it running, and are "
                                f"settings store.host and store.port right?")
    if any(s in low for s in ("remoteprotocolerror", "readerror", "disconnected", "connection reset", "timeout",
                              "server disconnected", "broken pipe", "502", "503", "504")):
        what = f" while {doing}" if doing else ""
        return StoreUnavailable(f"{where} stopped answering{what}. Try again when it is back; nothing was lost.")
    return StoreUnavailable(f"{where} failed{(' while ' + doing) if doing else ''}: {text}")


def guarded(server: ServerAddress | None, call: Callable[[], T], doing: str) -> T:
    """Run a Chroma call; for a server, any failure becomes a `StoreUnavailable` a user can act on."""
    if server is None:
        return call()
    try:
        return call()
    except StoreUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - chromadb and httpx raise many types; see server_error
        raise server_error(server, exc, doing) from exc


def _chroma_settings(**extra: Any):
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False, **extra)


def open_client(path: Path | None = None, server: ServerAddress | None = None):
    """A Chroma client: embedded on `path`, or connected (and checked) to `server`."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb

    if server is None:
        assert path is not None
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    headers = {"Authorization": f"Bearer {server.token}"} if server.token else {}
    extra: dict[str, Any] = {}
    if server.tls and server.tls_ca:
        extra["chroma_server_ssl_verify"] = server.tls_ca
    try:
        client = chromadb.HttpClient(host=server.host, port=server.port, ssl=server.tls, headers=headers,
                                     settings=_chroma_settings(**extra))
        client.heartbeat()
    except Exception as exc:  # noqa: BLE001 - chromadb raises many types; all mean "cannot use it"
        raise server_error(server, exc, "connecting") from exc
    return client


class VectorStore:
    def __init__(self, path: Path | None = None, *, client: Any = None, name: str = COLLECTION,
                 server: ServerAddress | None = None, metadata: dict | None = None) -> None:
        """Embedded on `path`, or `name` on an open `client` (a server's, for shared knowledge bases)."""
        self.server = server
        self._owns_client = client is None
        self._client = client if client is not None else open_client(path, server)
        meta = {"hnsw:space": "cosine", **(metadata or {})}
        self._collection = self._guard(lambda: self._client.get_or_create_collection(name, metadata=meta), "opening")
        self._max_batch = max(1, int(self._guard(self._client.get_max_batch_size, "opening")))
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        return self.server is not None

    def close(self) -> None:
        """Let go of the client this store opened: Chroma keeps one system per folder per process,
        and a folder that is set aside and rebuilt must not be written through the old one."""
        if not self._owns_client or not hasattr(self._client, "close"):
            return
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - closing is best effort; the process may be exiting
            log.debug("closing the Chroma client failed", exc_info=True)

    def _guard(self, call: Callable[[], T], doing: str) -> T:
        return guarded(self.server, call, doing)

    def add(self, ids: list[str], vectors: np.ndarray, doc_id: str | Sequence[str], texts: list[str] | None = None,
            metadatas: list[dict] | None = None) -> None:
        """Upsert: re-adding the same chunk ids after a crash overwrites instead of duplicating.

        `doc_id` names the document of every chunk, or of each chunk in turn (a group commit);
        `texts` and `metadatas` (chunk text and place) are kept only by shared stores.
        """
        owners = [doc_id] * len(ids) if isinstance(doc_id, str) else list(doc_id)
        if len(owners) != len(ids):
            raise ValueError(f"{len(ids)} chunk ids but {len(owners)} document ids")
        with self._lock:
            for i in range(0, len(ids), self._max_batch):
                batch = ids[i : i + self._max_batch]
                extra: dict[str, Any] = {}
                if texts is not None:
                    extra["documents"] = texts[i : i + len(batch)]
                metas = (metadatas[i : i + len(batch)] if metadatas is not None else [{}] * len(batch))
                self._guard(lambda: self._collection.upsert(
                    ids=batch, embeddings=vectors[i : i + len(batch)],
                    metadatas=[{**m, "doc_id": d} for m, d in zip(metas, owners[i : i + len(batch)])], **extra),
                    "writing vectors")

    def reset(self) -> None:
        """Drop the collection and make it afresh, empty.  Chroma fixes a collection's dimension at
        its first vector and keeps it when every vector is deleted, so an emptied collection still
        refuses an embedder of another size."""
        with self._lock:
            name, meta = self._collection.name, self._collection.metadata
            self._guard(lambda: self._client.delete_collection(name), "emptying the vector store")
            self._collection = self._guard(lambda: self._client.get_or_create_collection(name, metadata=meta),
                                           "emptying the vector store")

    def delete_document(self, doc_id: str) -> None:
        with self._lock:
            self._guard(lambda: self._collection.delete(where={"doc_id": doc_id}), "deleting vectors")

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        with self._lock:
            def run():
                # No count() first to bound n_results: Chroma 1.x answers an empty collection, or
                # one smaller than k, with what it has, and its count() is an SQL scan (19 ms of a
                # 23 ms dense search at 116,000 passages; the HNSW query itself is 4 ms).
                return self._collection.query(query_embeddings=[vector], n_results=k, include=["distances"])

            try:
                res = self._guard(run, "searching")
            except Exception as exc:  # noqa: BLE001 - chromadb's core raises InternalError for this
                if self.server is not None or "nothing found on disk" not in str(exc).lower():
                    raise
                # Another process is writing this KB's first vectors and Chroma has not saved their
                # index yet: until it has, questions are answered from the keyword index alone
                # (which holds every visible passage), rather than failing.
                log.info("vector index not on disk yet (another process is writing it): %s", exc)
                return []
        if not res["ids"] or not res["ids"][0]:
            return []
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0])]

    def copy_document(self, old_doc_id: str, new_doc_id: str) -> int:
        """Copy a document's vectors (and kept text) to the chunk ids of `new_doc_id`; returns how many."""
        with self._lock:
            res = self._guard(lambda: self._collection.get(where={"doc_id": old_doc_id},
                                                           include=["embeddings", "documents", "metadatas"]), "reading vectors")
        ids = [new_doc_id + ":" + cid.split(":", 1)[1] for cid in res["ids"]]
        if not ids:
            return 0
        texts = res["documents"] if res["documents"] and all(t is not None for t in res["documents"]) else None
        metas = [{k: v for k, v in (m or {}).items() if k != "doc_id"} for m in res["metadatas"]]
        self.add(ids, np.asarray(res["embeddings"]), new_doc_id, texts, metas)
        return len(ids)

    def chunks_of(self, doc_id: str) -> tuple[list[str], list[str], list[dict]]:
        """(ids, texts, metadatas) of one document's chunks, as a shared store keeps them."""
        with self._lock:
            res = self._guard(lambda: self._collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"]),
                              "reading chunks")
        return res["ids"], res["documents"] or [], res["metadatas"] or []

    def count(self) -> int:
        with self._lock:
            return self._guard(self._collection.count, "counting")

    def all_ids(self) -> set[str]:
        with self._lock:
            return set(self._guard(lambda: self._collection.get(include=[])["ids"], "listing"))
