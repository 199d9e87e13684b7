"""LibraryService's shared resources: the embedder follows the settings it was made from."""

from pathlib import Path

from app.services.library import LibraryService
from app.settings import Settings


def test_the_embedder_runtime_setting_picks_the_runtime_and_the_kb_identity():
    settings = Settings()
    library = LibraryService(settings)
    try:
        default = library.embedder()
        assert default.runtime == "openvino" and default.name == "all-MiniLM-L6-v2"
        assert library.embedder() is default  # unchanged settings keep the loaded model
        settings.embedding.runtime = "onnx-int8"
        int8 = library.embedder()
        assert int8 is not default
        assert int8.runtime == "onnx-int8" and int8.name == "all-MiniLM-L6-v2 int8"
    finally:
        library.close()


def test_warm_up_loads_the_selected_kbs_and_leaves_missing_or_empty_ones_alone(library, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The boiler room is inspected every spring by the facilities team.")
    library.ingest([docs], "hr")
    library.create_kb("empty")
    assert library.warm_up(["hr", "empty", "no-such-kb"]) == ["hr"]
    hits = library.open_kb("hr").dense_search(library.embedder().embed_query("boiler inspection"), 1)
    assert len(hits) == 1  # the warmed store still answers


def test_a_kb_says_which_languages_its_passages_are_in(library, tmp_path):
    # The warm-up loads jieba's dictionary (1.5 s, 72 MB) only for a KB that holds Chinese.
    docs = tmp_path / "mixed"
    docs.mkdir()
    (docs / "en.txt").write_text("The boiler room is inspected every spring by the facilities team.")
    library.ingest([docs], "en-only")
    (docs / "zh.txt").write_text("锅炉房每年春天由设施团队检查一次。", encoding="utf-8")
    library.ingest([docs], "mixed")
    assert not library.open_kb("en-only").has_language("zh")
    assert library.open_kb("en-only").has_language("en")
    assert library.open_kb("mixed").has_language("zh")


def test_a_kb_indexed_by_another_embedder_is_listed_as_such(tmp_path):
    # An earlier version's default was int8: after the update its KBs must be offered a re-index.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The boiler room is inspected every spring by the facilities team.")
    settings = Settings()
    settings.embedding.runtime = "onnx-int8"
    library = LibraryService(settings)
    try:
        library.ingest([docs], "old")
        library.create_kb("empty")
        assert [(k.name, k.other_embedder) for k in library.list_kbs()] == [("empty", False), ("old", False)]
        settings.embedding.runtime = "openvino"
        old = {k.name: k for k in library.list_kbs()}["old"]
        assert old.other_embedder and old.embedder == "all-MiniLM-L6-v2 int8"
        library.reindex("old")
        assert [(k.name, k.other_embedder) for k in library.list_kbs()] == [("empty", False), ("old", False)]
    finally:
        library.close()


class _Narrow:
    """The test embedder's vectors cut to their first 32 numbers: another embedder of another
    dimension, as a user's own model folder in the settings would be."""

    def __init__(self, inner, dimension: int = 32) -> None:
        self.inner, self.dimension = inner, dimension
        self.name = f"{inner.name} first {dimension}"
        self.batch_size = inner.batch_size

    def embed_documents(self, texts, **_):
        import numpy as np

        v = self.inner.embed_documents(texts)[:, : self.dimension]
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def submit_documents(self, texts, **_):
        from ingest.embedder import PendingVectors

        return PendingVectors.ready(self.embed_documents(texts))

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def test_a_kb_moves_to_an_embedder_of_another_dimension_whole(library, embedder, tmp_path):
    # Chroma keeps an emptied collection's dimension: without making it afresh, the re-index of a
    # 384-number KB by a 32-number embedder failed on its first vectors, its documents taken down.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "boiler.txt").write_text("The boiler room is inspected every spring by the facilities team.")
    (docs / "canteen.txt").write_text("The canteen serves breakfast from seven until half past nine.")
    library.ingest([docs], "t")
    narrow = LibraryService(Settings(), embedder=_Narrow(embedder))
    try:
        report = narrow.reindex("t")
        assert sorted((e.path, e.state) for e in report.events) == [(str(docs / "boiler.txt"), "ok"),
                                                                    (str(docs / "canteen.txt"), "ok")]
        kb = narrow.open_kb("t")
        assert (kb.meta("embedder"), kb.meta("dimension")) == ("all-MiniLM-L6-v2 first 32", "32")
        top = kb.dense_search(narrow.embedder().embed_query("when is breakfast served"), 1)[0][0]
        assert kb.chunks([top])[top].path == str(docs / "canteen.txt")
        assert kb.store.count() == kb.chunk_count() == 2 and kb.consistency_problems() == []
    finally:
        narrow.close()


def test_a_move_to_another_embedder_cut_short_is_taken_up_by_the_next_reindex(library, embedder, tmp_path):
    # The move takes every document down and reads it again.  A process killed in between used to
    # leave the documents not yet read again out of the knowledge base, with nothing to say so.
    docs = tmp_path / "docs"
    docs.mkdir()
    texts = {"boiler.txt": "The boiler room is inspected every spring by the facilities team.",
             "canteen.txt": "The canteen serves breakfast from seven until half past nine.",
             "depot.txt": "The depot keeps spare pallets behind the loading bay."}
    for name, text in texts.items():
        (docs / name).write_text(text)
    library.ingest([docs], "t")
    library.close()
    narrow = LibraryService(Settings(), embedder=_Narrow(embedder))
    try:
        kb = narrow.open_kb("t")
        with kb.writer():
            moved = kb.change_embedder(narrow.embedder().name, 32)  # and the process dies here
        assert sorted(moved) == sorted(str(docs / n) for n in texts)
        rows = {Path(d.path).name: (d.status, d.doc_id) for d in kb.documents()}
        assert rows == {n: ("pending", None) for n in texts}
        assert kb.chunk_count() == kb.store.count() == 0 and kb.consistency_problems() == []
    finally:
        narrow.close()

    (docs / "depot.txt").unlink()  # gone before the move is taken up: forgotten, not pending forever
    again = LibraryService(Settings(), embedder=_Narrow(embedder))
    try:
        report = again.reindex("t")
        assert {(Path(e.path).name, e.state) for e in report.events} >= {("boiler.txt", "ok"), ("canteen.txt", "ok")}
        kb = again.open_kb("t")
        assert {Path(d.path).name: d.status for d in kb.documents()} == {"boiler.txt": "indexed", "canteen.txt": "indexed"}
        top = kb.dense_search(again.embedder().embed_query("when is breakfast served"), 1)[0][0]
        assert kb.chunks([top])[top].path == str(docs / "canteen.txt")
        assert kb.store.count() == kb.chunk_count() == 2 and kb.consistency_problems() == []
    finally:
        again.close()
