"""The knowledge base's commit protocol: atomic visibility, replacement, removal, garbage collection."""

import pytest

from app.errors import KnowledgeBaseError
from ingest.kb import KnowledgeBase, validate_name
from ingest.splitter import Splitter, document_id
from ingest.types import LoadedDocument, Section


def _version(path, content_hash, text, embedder):
    doc = LoadedDocument("txt", [Section(text, page=1)])
    chunks = Splitter(200, 20).split(doc, path, document_id(path, content_hash))
    return doc, chunks, embedder.embed_documents([c.text for c in chunks])


def _commit(kb, path, h, text, embedder):
    doc, chunks, vecs = _version(path, h, text, embedder)
    kb.commit_document(path, chunks[0].doc_id, h, len(text), 1.0, doc, chunks, vecs)
    return chunks


def test_replacing_a_document_removes_old_chunks_everywhere(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb")
    old = _commit(kb, "/f.txt", "h1", "Zebras graze on the savanna near the river.", embedder)
    new = _commit(kb, "/f.txt", "h2", "Penguins swim in the cold southern ocean.", embedder)
    assert old[0].id != new[0].id
    assert [c for c, _ in kb.keyword_search("zebras savanna", 10)] == []
    assert kb.keyword_search("penguins", 10)[0][0] == new[0].id
    dense = kb.dense_search(embedder.embed_query("zebras grazing"), 10)
    assert {c for c, _ in dense} == {c.id for c in new}
    assert kb.consistency_problems() == []
    assert kb.document("/f.txt").chunks == len(new)


def test_removed_document_is_never_retrieved_again(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb")
    _commit(kb, "/a.txt", "h", "The reactor coolant pump failed on Tuesday.", embedder)
    _commit(kb, "/b.txt", "h", "Lunch is served at noon in the cafeteria.", embedder)
    assert kb.remove_document("/a.txt")
    assert all(kb.chunks([c])[c].path == "/b.txt" for c, _ in kb.dense_search(embedder.embed_query("reactor pump"), 10))
    assert kb.keyword_search("reactor coolant", 10) == []
    assert kb.consistency_problems() == []
    kb.close()
    reopened = KnowledgeBase(tmp_path / "kb")
    assert reopened.keyword_search("reactor", 10) == []
    assert reopened.store.count() == reopened.chunk_count()


def test_vectors_written_without_their_commit_are_invisible_then_collected(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb")
    doc, chunks, vecs = _version("/c.txt", "h", "Quarterly revenue grew by nine percent.", embedder)
    # What a crash between the vector write and the catalogue commit leaves behind:
    kb._conn.execute("INSERT INTO vector_gc VALUES (?)", (chunks[0].doc_id,))
    kb.store.add([c.id for c in chunks], vecs, chunks[0].doc_id)
    assert kb.dense_search(embedder.embed_query("revenue growth"), 5) == []
    kb.close()
    reopened = KnowledgeBase(tmp_path / "kb")
    assert reopened.store.count() == 0
    assert reopened.consistency_problems() == []


def test_page_text_and_neighbours(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb")
    text = "Sentence number one is here. " * 30
    chunks = _commit(kb, "/n.txt", "h", text, embedder)
    assert kb.page_text("/n.txt", 1) == text
    mid = chunks[len(chunks) // 2]
    around = kb.neighbours(mid.id)
    assert [c.seq for c in around] == [mid.seq - 1, mid.seq, mid.seq + 1]
    with pytest.raises(KnowledgeBaseError):
        kb.page_text("/missing.txt", 1)


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", ".hidden", "x" * 65])
def test_kb_names_are_validated(bad):
    with pytest.raises(KnowledgeBaseError):
        validate_name(bad)


def test_writer_lock_refuses_a_second_writer(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb")
    other = KnowledgeBase(tmp_path / "kb")
    with kb.writer():
        with pytest.raises(KnowledgeBaseError, match="being changed"):
            with other.writer():
                pass
    with other.writer():
        pass


def _new_version(path, h, text, embedder):
    from ingest.kb import NewVersion

    doc, chunks, vecs = _version(path, h, text, embedder)
    return NewVersion(path, chunks[0].doc_id, h, len(text), 1.0, doc, chunks, vecs)


def test_a_group_commit_makes_every_file_visible_with_its_own_vectors(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb")
    _commit(kb, "/b.txt", "old", "The cafeteria closes at three on Fridays.", embedder)
    group = [_new_version("/a.txt", "h", "The reactor coolant pump failed on Tuesday.", embedder),
             _new_version("/b.txt", "h", "Lunch is served at noon in the cafeteria.", embedder),
             _new_version("/c.txt", "h", "Quarterly revenue grew by nine percent.", embedder)]
    kb.commit_documents(group)
    assert {r.path: r.doc_id for r in kb.documents()} == {v.path: v.doc_id for v in group}
    assert kb.keyword_search("three fridays", 10) == []  # the replaced version of /b.txt is gone
    assert kb.store.count() == kb.chunk_count() == sum(len(v.chunks) for v in group)
    assert kb.consistency_problems() == []
    # Each vector is filed under its own document: removing one file takes exactly its vectors.
    assert kb.remove_document("/a.txt")
    assert kb.store.count() == sum(len(v.chunks) for v in group[1:])
    hits = kb.dense_search(embedder.embed_query("revenue growth"), 1)
    assert kb.chunks([hits[0][0]])[hits[0][0]].path == "/c.txt"


def test_a_group_commit_that_fails_shows_none_of_its_files(tmp_path, embedder, monkeypatch):
    kb = KnowledgeBase(tmp_path / "kb")
    group = [_new_version(f"/{n}.txt", "h", f"Document {n} talks about topic {n}.", embedder) for n in ("x", "y", "z")]
    real = kb._write_versions

    def fail_after_writing(conn, versions):
        real(conn, versions)  # every row written, then the disk fills before COMMIT
        raise OSError("disk full")

    monkeypatch.setattr(kb, "_write_versions", fail_after_writing)
    with pytest.raises(OSError):
        kb.commit_documents(group)
    assert kb.documents() == []
    assert kb.keyword_search("document topic", 10) == []
    assert kb.dense_search(embedder.embed_query("topic"), 10) == []
    kb.close()
    reopened = KnowledgeBase(tmp_path / "kb")
    assert reopened.store.count() == 0  # the group's vectors were owed deletion and collected
    assert reopened.consistency_problems() == []
