"""Keyword index: Chinese segmentation, English stemming, hostile query text."""

import sqlite3

from ingest import keyword


def _index(texts):
    conn = sqlite3.connect(":memory:")
    keyword.create(conn)
    keyword.add(conn, list(enumerate(texts, start=1)))
    return conn


def test_chinese_words_are_found_inside_unspaced_text():
    conn = _index(["北京是中华人民共和国的首都。", "上海是中国最大的经济中心。"])
    hits = keyword.search(conn, "首都是哪座城市？", 5)
    assert hits[0][0] == 1
    assert keyword.search(conn, "经济中心", 5)[0][0] == 2


def test_english_is_stemmed_and_ranked_by_bm25():
    conn = _index(["The employees are running the quarterly review.", "Cats sleep all day.", "Run, run, run away."])
    ids = [r for r, _ in keyword.search(conn, "who runs reviews", 5)]
    assert ids[0] == 1 and 3 in ids and 2 not in ids
    scores = [s for _, s in keyword.search(conn, "run", 5)]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_fts_syntax_in_questions_cannot_break_the_query():
    conn = _index(['He said "NEAR" and OR AND NOT (x) * ^ -- done'])
    for q in ['"unterminated', "NEAR(a b)", "a OR", "* ^ :", "col:value", "(((", ""]:
        keyword.search(conn, q, 5)  # must not raise


def test_stopwords_dropped_but_stopword_only_query_still_searches():
    assert "the" not in keyword.query_terms("what is the capital of France")
    assert "capital" in keyword.query_terms("what is the capital of France")
    assert keyword.query_terms("the of") == ["the", "of"]
    assert "的" not in keyword.query_terms("中国的首都")


# -- checksums: blocks changed in place are found ------------------------------------------------------

def _catalogue(tmp_path):
    import threading

    from ingest import catalog

    conn = catalog.connect(tmp_path / "catalog.sqlite3")
    return conn, threading.RLock(), catalog


def _write(conn, lock, catalog, rows, delete=()):
    with catalog.Transaction(conn, lock) as c:
        keyword.delete(c, list(delete))
        keyword.add(c, rows)


def test_every_committed_write_leaves_each_block_with_its_checksum(tmp_path):
    """FTS5 writes, merges and trims blocks on its own; a block it changed but that was not summed
    would be reported as damage on the next open (a false alarm on a sound KB)."""
    import random

    conn, lock, catalog = _catalogue(tmp_path)
    rng = random.Random(3)
    words = [f"term{i}" for i in range(2000)] + ["北京", "首都", "经济"]
    live: list[int] = []
    segments_seen = set()
    rewritten = 0  # blocks FTS5 wrote again under the same id (structure, averages, trimmed leaves)
    before: dict[int, int] = {}
    for t in range(120):
        rows = [(t * 10 + j, " ".join(rng.choice(words) for _ in range(60))) for j in range(4)]
        gone = [live.pop(rng.randrange(len(live)))] if len(live) > 20 and t % 2 else []
        _write(conn, lock, catalog, rows, gone)
        live += [r for r, _ in rows]
        assert conn.execute("SELECT COUNT(*) FROM keyword_dirty").fetchone()[0] == 0
        assert keyword.damage(conn) == "", f"false alarm after write {t}"
        segments_seen |= {r[0] >> 37 for r in conn.execute("SELECT id FROM chunks_fts_data WHERE id > 10")}
        sums = dict(conn.execute("SELECT id, sum FROM keyword_sums WHERE id > 10"))
        rewritten += sum(1 for k, v in sums.items() if k in before and before[k] != v)
        before = sums
    now = {r[0] >> 37 for r in conn.execute("SELECT id FROM chunks_fts_data WHERE id > 10")}
    assert len(segments_seen) > len(now) and rewritten  # merges and rewrites in place happened, and were summed
    assert keyword.search(conn, "term7", 3)


def test_an_index_made_afresh_and_left_empty_is_sound(tmp_path):
    # FTS5 writes its first records as the table is made, before the checksum triggers exist; a
    # keyword index rebuilt with no passage (repair of a KB whose files all failed, a move to
    # another embedder) was then reported damaged on the next open.
    conn, lock, catalog = _catalogue(tmp_path)
    _write(conn, lock, catalog, [(1, "invoice approved by finance")])
    with catalog.Transaction(conn, lock) as c:
        keyword.drop(c)
        keyword.create(c)
    assert conn.execute("SELECT COUNT(*) FROM chunks_fts_data").fetchone()[0] > 0
    assert keyword.damage(conn) == ""
    _write(conn, lock, catalog, [(2, "budget approved")])
    assert keyword.damage(conn) == "" and keyword.search(conn, "approved", 3)


def _sound_index(tmp_path):
    conn, lock, catalog = _catalogue(tmp_path)
    for t in range(6):
        _write(conn, lock, catalog, [(t * 100 + j, f"invoice {t} approved by finance team member {j} " * 30)
                                     for j in range(20)])
    assert keyword.damage(conn) == ""
    return conn


def test_a_block_overwritten_in_place_with_the_same_size_is_found(tmp_path):
    conn = _sound_index(tmp_path)
    blocks = conn.execute("SELECT COUNT(*) FROM chunks_fts_data").fetchone()[0]
    rowid, block = conn.execute("SELECT id, block FROM chunks_fts_data WHERE id > 10 ORDER BY length(block) DESC").fetchone()
    flipped = bytes(b ^ 0x5A for b in block[:40]) + block[40:]  # same length, first bytes changed
    conn.execute("UPDATE chunks_fts_data SET block = ? WHERE id = ?", (flipped, rowid))
    assert keyword.damage(conn) == f"1 of {blocks} keyword index blocks do not match the checksums written with them"
    conn.execute("UPDATE chunks_fts_data SET block = ? WHERE id = ?", (block, rowid))  # put back: sound again
    assert keyword.damage(conn) == ""


def test_a_lost_block_and_a_changed_page_index_are_found(tmp_path):
    conn = _sound_index(tmp_path)
    conn.execute("UPDATE chunks_fts_idx SET pgno = pgno + 1 WHERE (segid, term) = (SELECT segid, term FROM chunks_fts_idx LIMIT 1)")
    assert "the page index of 1 keyword index segments does not match its checksum" in keyword.damage(conn)
    conn.execute("DELETE FROM chunks_fts_data WHERE id = (SELECT MAX(id) FROM chunks_fts_data)")
    assert keyword.damage(conn).startswith("1 of ")  # the block is gone; its checksum remains


def test_a_catalogue_from_before_checksums_is_summed_once_when_opened(tmp_path):
    from ingest import catalog

    conn = _sound_index(tmp_path)
    for name in ("keyword_sums", "keyword_dirty"):
        conn.execute(f"DROP TABLE {name}")
    conn.execute("DELETE FROM _migrations WHERE name = '003_keyword_checksums'")
    conn.close()
    conn = catalog.connect(tmp_path / "catalog.sqlite3")  # migrates
    assert keyword.damage(conn) == ""
    assert conn.execute("SELECT COUNT(*) FROM keyword_sums").fetchone()[0] > 1
    conn.execute("UPDATE chunks_fts_data SET block = zeroblob(length(block)) WHERE id = 1")
    assert keyword.damage(conn).startswith("1 of ")


def test_the_schema_with_its_checksum_triggers_fits_the_first_page(tmp_path):
    """A catalogue cut short keeps its first pages; a schema spilling past page 1 would go with the
    cut, and `localkb repair` could read back no file name at all."""
    conn = _sound_index(tmp_path)
    pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'")]
    assert pages == [1]


def test_a_large_index_leaves_a_query_s_common_terms_out(monkeypatch):
    monkeypatch.setattr(keyword, "PRUNE_FROM_PASSAGES", 10)  # as if this were a large index
    texts = [f"Report number {i} of the annual budget review." for i in range(19)] + ["The turbine budget was cut."]
    conn = _index(texts)
    freq = keyword.TermFrequencies()
    # "budget" is in every passage, "turbine" in one: only the rare term is searched.
    assert [r for r, _ in keyword.search(conn, "turbine budget", 50, freq)] == [20]
    assert len(keyword.search(conn, "turbine budget", 50)) == 20  # without pruning every passage matches
    # A query of common terms only still finds passages.
    assert len(keyword.search(conn, "annual budget", 50, freq)) == 20
    # Below the size where pruning starts, nothing is left out.
    monkeypatch.setattr(keyword, "PRUNE_FROM_PASSAGES", 1000)
    assert len(keyword.search(conn, "turbine budget", 50, freq)) == 20


def test_term_counts_are_made_again_once_the_index_has_grown():
    conn = _index([f"Note {i} about the turbine." for i in range(10)] + [f"Note {i} about lunch." for i in range(10)])
    freq = keyword.TermFrequencies()
    assert freq.total(conn) == 20 and freq.count(conn, "lunch") == 10
    keyword.add(conn, [(100 + i, f"Lunch menu {i}.") for i in range(20)])
    conn.commit()
    assert freq.total(conn) == 40
    assert freq.count(conn, "lunch") == 30  # not the stale 10 from a half-sized index


def test_big_and_mixed_transactions_leave_an_index_fts5_calls_sound():
    # A transaction with over ~1 MB of new text, or a delete after an insert, makes FTS5 write a
    # segment before COMMIT; with a trigger on its term index that left an index FTS5's own
    # integrity-check called malformed, and `repair` called broken.
    conn = sqlite3.connect(":memory:", isolation_level=None)
    keyword.create(conn)
    words = [f"w{i}" for i in range(3000)]
    text = lambda n: " ".join(words[(n * 7 + j * 13) % 3000] for j in range(120))  # noqa: E731
    conn.execute("BEGIN")
    keyword.add(conn, [(i, text(i)) for i in range(1, 5001)])
    keyword.seal(conn)
    conn.execute("COMMIT")
    conn.execute("BEGIN")
    keyword.delete(conn, list(range(1, 41)))
    keyword.add(conn, [(i, text(i)) for i in range(5001, 5041)])
    keyword.delete(conn, list(range(100, 141)))  # a delete after an insert
    keyword.add(conn, [(i, text(i)) for i in range(5041, 5081)])
    keyword.seal(conn)
    conn.execute("COMMIT")
    conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")  # raises when unsound
    assert keyword.damage(conn) == ""
    assert [r for r, _ in keyword.search(conn, words[(5050 * 7) % 3000], 5000)].count(5050) == 1
