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
