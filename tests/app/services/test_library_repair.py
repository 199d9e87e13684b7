"""LibraryService.repair: every kind of damage ends in a KB equal to a clean one, from the catalogue's
own texts where it can be read and from the source files where it cannot."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from app.errors import KnowledgeBaseDamaged, KnowledgeBaseError
from app.services.library import LibraryService
from app.settings import Settings
from ingest.kb import KnowledgeBase

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ingest"))
from kb_damage import overwrite_keyword_block  # noqa: E402  (tests/ingest/kb_damage.py)

TOPICS = ["annual leave", "hotel nights", "laptop refresh", "expense claims", "parking permits"]


def _state(root: Path) -> dict[str, tuple[str, int, tuple[str, ...]]]:
    kb = KnowledgeBase(root)
    try:
        return {d.path: (d.status, d.chunks, tuple(sorted(
            r[0] for r in kb._conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (d.doc_id,)))))
            for d in kb.documents()}
    finally:
        kb.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory, embedder):
    base = tmp_path_factory.mktemp("repair")
    docs = base / "docs"
    docs.mkdir()
    for i, topic in enumerate(TOPICS):
        (docs / f"policy{i}.txt").write_text(f"Policy {i} on {topic}. " + f"Rule {i}: {topic} need approval. " * (20 + 15 * i))
    home = base / "home"
    saved = os.environ.get("LOCALKB_HOME")
    os.environ["LOCALKB_HOME"] = str(home)
    try:
        service = LibraryService(Settings(), embedder=embedder)
        report = service.ingest([docs], kb="hr")
        service.follow("hr", [docs])  # a followed folder survives the loss of the catalogue
        service.close()
    finally:
        os.environ["LOCALKB_HOME"] = saved or ""
    assert report.ok == len(TOPICS)
    return home / "kbs", docs, _state(home / "kbs" / "hr")


@pytest.fixture
def hr(template, localkb_home) -> Path:
    kbs, _docs, _state = template
    shutil.copytree(kbs, localkb_home / "kbs")
    return localkb_home / "kbs" / "hr"


def _assert_sound(library: LibraryService, root: Path, template, embedder) -> None:
    assert _state(root) == template[2]  # same documents, chunk counts and chunk ids as the clean run
    kb = library.open_kb("hr")
    assert kb.consistency_problems() == []
    assert kb.keyword_search("parking permits", 5)
    dense = kb.dense_search(embedder.embed_query("Who approves parking permits?"), 3)
    assert kb.chunks([dense[0][0]])[dense[0][0]].path.endswith("policy4.txt")


def test_a_cut_short_catalogue_is_rebuilt_from_the_source_files(library, hr, template, embedder):
    path = hr / "catalog.sqlite3"
    os.truncate(path, path.stat().st_size // 2)
    listed = library.list_kbs()
    assert [(k.name, "cut short" in k.damaged) for k in listed] == [("hr", True)]
    with pytest.raises(KnowledgeBaseDamaged) as raised:
        library.documents("hr")
    assert raised.value.kb == "hr"
    notes: list[str] = []
    report = library.repair("hr", note=notes.append)
    assert report.from_sources and report.remaining == [] and report.missing == []
    assert sorted(e.state for e in report.events if e.state != "skipped") == ["ok"] * len(TOPICS)
    assert (Path(report.set_aside) / "catalog.sqlite3").exists() and (Path(report.set_aside) / "chroma").is_dir()
    assert any("reading the files again" in n for n in notes)
    _assert_sound(library, hr, template, embedder)
    assert [f.folder for f in library.folders("hr")] == [str(template[1])]  # the followed folder was kept


def test_a_deleted_vector_folder_is_rebuilt_from_the_catalogue_without_reading_a_file(library, hr, template, embedder,
                                                                                      monkeypatch):
    shutil.rmtree(hr / "chroma")
    monkeypatch.setattr(LibraryService, "_pipeline", lambda *a, **k: pytest.fail("a file was read again"))
    report = library.repair("hr")
    assert report.problems == ["the vector store (the chroma folder) is missing"]
    assert not report.from_sources and report.remaining == []
    assert report.actions == [f"embedded the catalogue's {sum(s[1] for s in template[2].values())} passages again "
                              "into a new vector store"]
    _assert_sound(library, hr, template, embedder)


def test_a_broken_keyword_index_is_rebuilt_from_the_catalogue(library, hr, template, embedder):
    # Overwritten index blocks: SQLite still opens the table and keyword search would silently find
    # nothing; the blocks' checksums catch it on open.
    conn = sqlite3.connect(hr / "catalog.sqlite3")
    conn.execute("UPDATE chunks_fts_data SET block = zeroblob(40) WHERE id > 10")
    conn.commit()
    conn.close()
    with pytest.raises(KnowledgeBaseDamaged, match="its keyword index is damaged: .* blocks do not match"):
        library.open_kb("hr")
    assert KnowledgeBase(hr, check=False).keyword_search("parking permits", 5) == []  # what it would have answered
    report = library.repair("hr")
    assert len(report.problems) == 1 and report.problems[0].startswith("the keyword index is broken")
    assert report.actions == [f"rebuilt the keyword index from the catalogue ({sum(s[1] for s in template[2].values())} passages)"]
    _assert_sound(library, hr, template, embedder)


def test_a_keyword_block_changed_in_place_is_found_on_open_and_rebuilt(library, hr, template, embedder, monkeypatch):
    overwrite_keyword_block(hr)  # same size, bytes changed inside the file: SQLite reads it without complaint
    with pytest.raises(KnowledgeBaseDamaged) as raised:
        library.open_kb("hr")
    assert "its keyword index is damaged: 1 of " in str(raised.value) and "localkb repair --kb hr" in str(raised.value)
    assert [(k.name, "keyword index is damaged" in k.damaged) for k in library.list_kbs()] == [("hr", True)]
    monkeypatch.setattr(LibraryService, "_pipeline", lambda *a, **k: pytest.fail("a file was read again"))
    report = library.repair("hr")
    assert report.problems and "the keyword index is" in report.problems[-1] and report.remaining == []
    assert not report.from_sources
    _assert_sound(library, hr, template, embedder)


def test_a_damaged_catalogue_whose_rows_still_read_is_copied_not_reread(library, hr, template, embedder, monkeypatch):
    # Free pages and the keyword index damaged, every document, passage and section row intact.
    conn = sqlite3.connect(hr / "catalog.sqlite3")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root_page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'chunks_fts_data'").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(hr / "catalog.sqlite3", "r+b") as fh:
        fh.seek((root_page - 1) * page_size)
        fh.write(b"\xff" * 64)
    monkeypatch.setattr(LibraryService, "_pipeline", lambda *a, **k: pytest.fail("a file was read again"))
    report = library.repair("hr")
    assert report.problems and report.problems[0].startswith("the catalogue file is damaged")
    assert report.actions[0] == "copied the catalogue's rows into a new catalogue and rebuilt its keyword index"
    assert report.remaining == [] and not report.from_sources
    _assert_sound(library, hr, template, embedder)


def test_a_sound_kb_is_left_as_it_is(library, hr, template):
    before = sorted(p.name for p in hr.iterdir())
    report = library.repair("hr")
    assert report.problems == [] and report.actions == [] and report.set_aside == ""
    assert sorted(p.name for p in hr.iterdir()) == before
    assert _state(hr) == template[2]


def test_a_damaged_kb_does_not_stop_the_others_being_watched(library, hr, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    library.follow("team", [other])
    shutil.rmtree(hr / "chroma")
    library.settings.sync.watch = True
    try:
        assert library.start_watching() == ["team"]
    finally:
        library.stop_watching()


def test_a_damaged_kb_can_still_be_deleted(library, hr):
    os.truncate(hr / "catalog.sqlite3", 1000)
    library.delete_kb("hr")
    assert not hr.exists() and library.kb_names() == []


def test_a_kb_rebuilt_by_another_process_is_opened_afresh(library, hr, template, embedder):
    before = library.open_kb("hr")
    other = LibraryService(Settings(), embedder=embedder)  # another window or `localkb repair`
    shutil.rmtree(hr / "chroma")
    os.truncate(hr / "catalog.sqlite3", (hr / "catalog.sqlite3").stat().st_size // 2)
    assert other.repair("hr").from_sources
    other.close()
    assert before.stale
    with pytest.raises(KnowledgeBaseError, match="was rebuilt by another LocalKB window"):
        with before.writer():  # an object fetched before the rebuild never writes the old files
            pass
    after = library.open_kb("hr")
    assert after is not before and not after.stale
    assert _state(hr) == template[2] and after.consistency_problems() == []
