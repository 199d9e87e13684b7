"""LibraryService's shared resources: the embedder follows the settings it was made from."""

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
