"""Splitting: sentence boundaries in both languages, offsets, pages never crossed."""

from ingest.splitter import Splitter, chunk_length, document_id
from ingest.types import LoadedDocument, Section


def _doc(*sections: Section) -> LoadedDocument:
    return LoadedDocument("txt", list(sections))


def test_offsets_point_into_section_text():
    text = ("First sentence here. " * 40) + "\n\n" + ("Second paragraph text. " * 40)
    doc = _doc(Section(text, page=3, heading_path=("Intro",)))
    chunks = Splitter(300, 50).split(doc, "/x.txt", "d")
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.page == 3 and c.heading_path == ("Intro",)
        assert chunk_length(c.text) <= 300
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


def test_chinese_breaks_at_sentence_punctuation():
    sentence = "公司的年假政策规定员工每年享有十五天带薪年假。"
    text = sentence * 30
    chunks = Splitter(200, 0).split(_doc(Section(text)), "/z.txt", "d")
    assert len(chunks) > 1
    for c in chunks:
        assert c.text.endswith("。"), c.text[-10:]
        assert c.lang == "zh"


def test_never_crosses_a_page():
    doc = _doc(Section("Alpha page one. " * 5, page=1), Section("Beta page two. " * 5, page=2))
    chunks = Splitter(1000, 100).split(doc, "/p.pdf", "d")
    assert [c.page for c in chunks] == [1, 2]
    assert "Beta" not in chunks[0].text and "Alpha" not in chunks[1].text
    assert [c.section for c in chunks] == [0, 1]


def test_cjk_counts_double_so_chinese_chunks_are_shorter():
    assert chunk_length("abc") == 3
    assert chunk_length("中文") == 4


def test_document_id_depends_on_path_and_content():
    assert document_id("/a", "h1") == document_id("/a", "h1")
    assert document_id("/a", "h1") != document_id("/a", "h2")
    assert document_id("/a", "h1") != document_id("/b", "h1")


def test_a_section_shorter_than_a_chunk_is_cut_as_langchain_cuts_it(shared_data):
    # The splitter skips langchain for sections shorter than a chunk; its pieces must be the
    # same as langchain's on real paragraphs of both languages and on the edge cases.
    import json

    splitter = Splitter(800, 120)
    texts = [
        "", "   \n\n  ", "One line.", "  padded both sides \n", "a\n\nb\n\nc", "x" * 799, "x" * 800, "x" * 801,
        "汉" * 399, "汉" * 400, "汉" * 399 + "a", "年假。\n\n病假；事假，  ", ("word " * 159) + "end.", "\t\n end \u3000",
    ]
    for name in ("squad_v1.1_dev/dev-v1.1.json", "cmrc2018_trial/cmrc2018_trial.json"):
        data = json.loads((shared_data / "qa" / name).read_text(encoding="utf-8"))["data"]
        texts += [p["context"] for article in data[:40] for p in article["paragraphs"]]
    short = [t for t in texts if chunk_length(t) < 800]
    assert len(short) > 200 and len(texts) - len(short) > 20  # both paths are exercised
    for text in texts:
        assert splitter.split_text(text) == splitter._splitter.split_text(text), text[:60]
