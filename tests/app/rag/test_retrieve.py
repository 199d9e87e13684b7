"""Hybrid retrieval: multi-KB search, threshold, merging, deleted documents never returned."""

from __future__ import annotations

from pathlib import Path

from app.rag.retrieve import Retriever, merge_adjacent, term_coverage
from tests.app.rag.fakes import BagOfWordsEmbedder, FakeChunk, FakeKB


def _kbs():
    emb = BagOfWordsEmbedder()
    hr = FakeKB("hr", {"/docs/leave.txt": "Employees get 25 days of paid annual leave per year.",
                       "/docs/travel.txt": "Travel expenses are reimbursed within 30 days."}, emb)
    it = FakeKB("it", {"/docs/vpn.txt": "Connect to the VPN before opening the payroll system.",
                       "/docs/laptop.txt": "Laptops are replaced every four years."}, emb)
    return emb, hr, it


def test_search_across_several_kbs_labels_each_passage_with_its_kb():
    emb, hr, it = _kbs()
    r = Retriever(emb, top_k=5, score_threshold=0.0)
    result = r.search("how many days of annual leave", [hr, it])
    assert result.passages[0].kb == "hr" and result.passages[0].path == "/docs/leave.txt"
    result = r.search("when are laptops replaced", [hr, it])
    assert result.passages[0].kb == "it" and result.passages[0].path == "/docs/laptop.txt"
    assert {p.kb for p in result.passages} == {"hr", "it"}
    first = result.passages[0]
    assert first.page == 1 and first.heading_path == ("Intro",) and (first.start, first.end) == (0, len(first.text))
    assert 0.0 <= first.score <= 1.0


def test_unrelated_question_passes_no_threshold():
    emb, hr, it = _kbs()
    r = Retriever(emb, top_k=5, score_threshold=0.2)
    assert r.search("quantum chromodynamics lattice gauge", [hr, it]).passages == []
    assert r.search("   ", [hr, it]).passages == []
    assert r.search("annual leave days", []).passages == []


def test_removed_document_is_never_returned():
    emb, hr, it = _kbs()
    r = Retriever(emb, top_k=5, score_threshold=0.0)
    hr.remove("/docs/leave.txt")
    paths = [p.path for p in r.search("annual leave days", [hr, it]).passages]
    assert "/docs/leave.txt" not in paths


def test_adjacent_chunks_of_one_page_merge_into_one_passage():
    emb = BagOfWordsEmbedder()
    kb = FakeKB("k", {}, emb)
    text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota."
    kb.add_chunk(FakeChunk("d:0", "d", 0, 0, text[:30], "/d.txt", 2, (), 0, 30, "en"))
    kb.add_chunk(FakeChunk("d:1", "d", 1, 0, text[18:], "/d.txt", 2, (), 18, len(text), "en"))
    kb.add_chunk(FakeChunk("e:0", "e", 0, 0, "Unrelated alpha text.", "/e.txt", 1, (), 0, 21, "en"))
    r = Retriever(emb, top_k=5, score_threshold=0.0, merge_neighbours=True)
    passages = r.search("alpha delta theta", [kb]).passages
    merged = [p for p in passages if p.path == "/d.txt"]
    assert len(merged) == 1
    assert merged[0].text == text and (merged[0].start, merged[0].end) == (0, len(text))
    assert set(merged[0].chunk_ids) == {"d:0", "d:1"}
    r2 = Retriever(emb, top_k=5, score_threshold=0.0, merge_neighbours=False)
    assert len([p for p in r2.search("alpha delta theta", [kb]).passages if p.path == "/d.txt"]) == 2


def test_merge_keeps_other_sections_apart():
    from app.rag.retrieve import Passage

    a = Passage("k", "d", "/d", 1, (), 0, "one", 0, 3, 0.5, 1.0, ("d:0",), seqs=(0,))
    b = Passage("k", "d", "/d", 2, (), 1, "two", 0, 3, 0.4, 0.9, ("d:1",), seqs=(1,))
    assert len(merge_adjacent([a, b])) == 2


def test_term_coverage_handles_chinese_and_english():
    assert term_coverage(["annual", "leave"], "Annual leaves are granted.") == 1.0
    assert term_coverage(["年假", "天数"], "员工每年享有年假十五天。") >= 0.5
    assert term_coverage([], "anything") == 0.0


def test_term_coverage_finds_latin_terms_written_inside_chinese_text():
    # CMRC: "AGG01的实际功效有哪些？" -- its passage writes "称为AGG01，", with no space before the code.
    assert term_coverage(["agg01", "实际", "功效"], "这种药物被称为AGG01，其实际功效包括降低血压。") == 1.0
    assert term_coverage(["iphone", "售价"], "苹果的iPhones售价很高") == 1.0
    assert term_coverage(["agg02"], "被称为AGG01，") == 0.0


def test_real_kb_search_never_returns_deleted_documents(library, tmp_path: Path):
    from app.services.chat import ChatService

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.txt").write_text("Employees receive twenty-five days of paid annual leave each year.", encoding="utf-8")
    (docs / "vpn.txt").write_text("Always connect to the company VPN before opening the payroll system.", encoding="utf-8")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "menu.txt").write_text("The canteen serves vegetarian lasagne on Fridays.", encoding="utf-8")
    library.ingest([docs], kb="hr")
    library.ingest([tmp_path / "other"], kb="food")
    chat = ChatService(library.settings, library)

    found = chat.search("How many days of annual leave do employees get?", ["hr", "food"])
    assert found and found[0].path.endswith("leave.txt") and found[0].kb == "hr"
    assert chat.search("What is served in the canteen on Fridays?", ["hr", "food"])[0].kb == "food"

    library.remove("hr", [docs / "leave.txt"])
    after = chat.search("How many days of annual leave do employees get?", ["hr", "food"])
    assert all(not s.path.endswith("leave.txt") for s in after)


def test_chinese_query_words_glued_to_names_gain_their_bigrams():
    from app.rag.retrieve import expand_cjk_query

    expanded = expand_cjk_query("杨昊现效力于哪里？")
    assert expanded.startswith("杨昊现效力于哪里？") and "杨昊" in expanded.split()
    assert expand_cjk_query("Where does Yang Hao play?") == "Where does Yang Hao play?"
