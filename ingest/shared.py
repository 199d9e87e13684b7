"""A knowledge base shared by a team through a Chroma server: one writer, readers that refresh.

Where things live.  Vectors, chunk texts and chunk places are in the server's chunks collection;
a second, small collection (the *published catalogue*) holds one record per document version
(its section texts, file type, pages, title) and one *pointer* per path (path -> document id,
hash, size, mtime, chunk count), plus a `generation` record that changes with every commit.
Each computer keeps its own SQLite catalogue and FTS5 keyword index (`ingest.kb`), built from
the server: the keyword index needs jieba-cut BM25, which Chroma's own full-text search lacks,
and a local index keeps keyword search fast and working while the server is briefly away.

Why readers never see half a document.  The writer writes a document's chunks (vectors and
text) first, then its document record, and only then its pointer -- the commit point -- and
bumps the generation.  A reader adopts a pointer only when the document record and exactly the
pointer's number of chunks are on the server, and applies it to its catalogue in one SQLite
transaction; dense hits are resolved through that catalogue, so chunks of a document it has
not adopted are dropped.  A removal deletes the pointer first (readers drop the document), then
the chunks.  A reader refreshes when the generation changed, at most once a second, before a
search or a listing, so a new document is searchable on every computer right after the commit.

Why one writer.  Two computers reading the same changing folders would race to publish two
versions of one path; one writer (settings: store.writer) makes every change ordered and lets
the catalogue's crash-safety rules carry over unchanged.  The writer's own catalogue is the
source of truth: on open it re-publishes what a crash left unpublished and adopts documents the
server has that it lacks (a new or rebuilt writer computer starts from the server's content).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from ingest.types import Chunk, LoadedDocument, Section

log = logging.getLogger(__name__)

_ONE = [1.0]  # the catalogue's records need a vector; they are never searched by it


def collection_names(kb_name: str) -> tuple[str, str]:
    """(chunks, catalogue) collection names; Chroma names allow only [a-zA-Z0-9._-], KB names more."""
    key = hashlib.sha256(kb_name.encode()).hexdigest()[:16]
    return f"localkb-{key}-chunks", f"localkb-{key}-catalog"


def list_shared_kbs(client: Any) -> list[str]:
    names = []
    for col in client.list_collections():
        meta = col.metadata or {}
        if meta.get("localkb_role") == "catalog" and meta.get("localkb_kb"):
            names.append(str(meta["localkb_kb"]))
    return sorted(names)


def delete_shared_kb(client: Any, kb_name: str) -> None:
    for name in collection_names(kb_name):
        try:
            client.delete_collection(name)
        except Exception:  # noqa: BLE001 - already gone is fine
            log.info("collection %s was not there to delete", name)


def chunk_payload(chunks: list[Chunk]) -> tuple[list[str], list[dict]]:
    """What a shared store keeps with each vector: the text, and where it sits in its document."""
    metas = [{"seq": c.seq, "section": c.section, "page": -1 if c.page is None else c.page,
              "heading_path": json.dumps(list(c.heading_path), ensure_ascii=False), "start": c.start, "end": c.end,
              "lang": c.lang} for c in chunks]
    return [c.text for c in chunks], metas


def _pointer_id(path: str) -> str:
    return "path:" + hashlib.sha256(path.encode()).hexdigest()


class SharedCatalog:
    """The published catalogue of one knowledge base on the server."""

    def __init__(self, client: Any, kb_name: str, guard) -> None:
        """`guard(call, doing)` runs a server call and turns its failures into `StoreUnavailable`."""
        self.kb_name = kb_name
        self._guard = guard
        _, name = collection_names(kb_name)
        self._col = guard(lambda: client.get_or_create_collection(
            name, metadata={"localkb_kb": kb_name, "localkb_role": "catalog", "hnsw:space": "l2"}), "opening")

    # -- the writer ----------------------------------------------------------------------------

    def publish(self, path: str, pointer: dict, doc: LoadedDocument | None, embedder: str) -> None:
        """Publish a document version (`doc` None: its record is already there, e.g. a move)."""
        if doc is not None:
            record = {"file_type": doc.file_type, "pages": doc.pages, "title": doc.title, "warnings": doc.warnings,
                      "sections": [{"text": s.text, "page": s.page, "heading_path": list(s.heading_path),
                                    "label": s.label, "ocr": s.ocr} for s in doc.sections]}
            self._guard(lambda: self._col.upsert(ids=["doc:" + pointer["doc_id"]], embeddings=[_ONE],
                                                 documents=[json.dumps(record, ensure_ascii=False)],
                                                 metadatas=[{"kind": "doc", "doc_id": pointer["doc_id"]}]), "publishing")
        meta = {"kind": "path", "path": path, **{k: v for k, v in pointer.items() if v is not None}}
        self._guard(lambda: self._col.upsert(ids=[_pointer_id(path)], embeddings=[_ONE], metadatas=[meta]), "publishing")
        self._bump(embedder)

    def unpublish(self, paths: list[str], embedder: str = "") -> None:
        if not paths:
            return
        self._guard(lambda: self._col.delete(ids=[_pointer_id(p) for p in paths]), "unpublishing")
        self._bump(embedder)

    def delete_doc(self, doc_id: str) -> None:
        self._guard(lambda: self._col.delete(ids=["doc:" + doc_id]), "deleting")

    def _bump(self, embedder: str) -> None:
        meta = {"kind": "generation", "value": uuid.uuid4().hex}
        if embedder:
            meta["embedder"] = embedder
        else:
            old = self.generation_meta()
            if old.get("embedder"):
                meta["embedder"] = old["embedder"]
        self._guard(lambda: self._col.upsert(ids=["generation"], embeddings=[_ONE], metadatas=[meta]), "publishing")

    # -- everyone ------------------------------------------------------------------------------

    def generation_meta(self) -> dict:
        res = self._guard(lambda: self._col.get(ids=["generation"], include=["metadatas"]), "refreshing")
        return dict(res["metadatas"][0]) if res["ids"] else {}

    def manifest(self) -> dict[str, dict]:
        """{path: pointer} of every published document."""
        res = self._guard(lambda: self._col.get(where={"kind": "path"}, include=["metadatas"]), "refreshing")
        return {m["path"]: dict(m) for m in res["metadatas"]}

    def fetch(self, path: str, pointer: dict, store: Any) -> tuple[LoadedDocument, list[Chunk]] | None:
        """A published version, or None while it is incomplete on the server."""
        doc_id = pointer["doc_id"]
        res = self._guard(lambda: self._col.get(ids=["doc:" + doc_id], include=["documents"]), "refreshing")
        if not res["ids"]:
            return None
        record = json.loads(res["documents"][0])
        ids, texts, metas = store.chunks_of(doc_id)
        if len(ids) != int(pointer.get("chunks", -1)):
            return None
        doc = LoadedDocument(record["file_type"], [Section(s["text"], s["page"], tuple(s["heading_path"]), s["label"], s["ocr"])
                                                   for s in record["sections"]],
                             record.get("pages"), record.get("title", ""), list(record.get("warnings", [])))
        chunks = [Chunk(cid, doc_id, int(m["seq"]), text, path, None if m["page"] == -1 else int(m["page"]),
                        tuple(json.loads(m["heading_path"])), int(m["start"]), int(m["end"]), m["lang"], int(m["section"]))
                  for cid, text, m in zip(ids, texts, metas)]
        chunks.sort(key=lambda c: (c.section, c.seq))
        return doc, chunks
