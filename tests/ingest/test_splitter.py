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
