"""Keyword search: BM25 over an SQLite FTS5 table of pre-tokenised text.

FTS5 gives a persistent, incremental, transactional inverted index with BM25 ranking, and it
lives in the same SQLite file as the catalogue, so a document's keyword rows and its catalogue
row change in one transaction.  FTS5 cannot segment Chinese (there are no spaces), so CJK runs
are cut with jieba before they are stored; Latin text is left to FTS5's own porter+unicode61
tokenizer, which stems English.  Queries go through the same path.
"""

from __future__ import annotations

import re
import sqlite3
import threading

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]+")
_WORD = re.compile(r"[\w\u3400-\u4dbf\u4e00-\u9fff]+", re.UNICODE)

FTS_SCHEMA = "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(tokens, tokenize = 'porter unicode61 remove_diacritics 2')"

# Words so common that they only slow the query down and add noise to BM25.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves
    的 了 是 在 和 与 及 或 也 就 都 而 被 把 对 从 向 以 之 其 这 那 个 些 吗 呢 吧 啊 么 什么 哪 哪些 谁
    怎么 怎样 如何 为什么 多少 几 是否 有 没有 一个 我 你 他 她 它 我们 你们 他们 请问""".split()
)

_jieba_lock = threading.Lock()
_jieba = None


def _load_jieba():
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def _cut_for_search(text: str) -> list[str]:
    return [t for t in _load_jieba().cut_for_search(text) if t.strip()]


def cut_words(text: str) -> list[str]:
    """Whole words (jieba's precise mode): "芙蓉洞" stays one word instead of also giving "芙蓉"."""
    return [t for t in _load_jieba().cut(text) if t.strip()]


def tokenize_for_index(text: str) -> str:
    """Text with every CJK run replaced by its space-separated jieba words (search mode)."""
    if not _CJK_RUN.search(text):
        return text
    return _CJK_RUN.sub(lambda m: " " + " ".join(_cut_for_search(m.group(0))) + " ", text)


def query_terms(query: str, limit: int = 32) -> list[str]:
    """Distinct, non-stopword terms of a query, in order."""
    terms: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall(tokenize_for_index(query).lower()):
        if word in STOPWORDS or word in seen:
            continue
        seen.add(word)
        terms.append(word)
    if not terms:  # a query made only of stopwords still deserves an answer
        terms = list(dict.fromkeys(_WORD.findall(query.lower())))
    return terms[:limit]


def fts_match_expression(terms: list[str]) -> str:
    # Quoting makes each term a literal string, so FTS5 syntax in user input cannot break the query.
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def create(conn: sqlite3.Connection) -> None:
    conn.execute(FTS_SCHEMA)


def add(conn: sqlite3.Connection, rows: list[tuple[int, str]]) -> None:
    """Index (rowid, text) pairs; rowid is the chunk's rowid in the catalogue's chunks table."""
    conn.executemany("INSERT INTO chunks_fts(rowid, tokens) VALUES (?, ?)",
                     [(rowid, tokenize_for_index(text)) for rowid, text in rows])


def delete(conn: sqlite3.Connection, rowids: list[int]) -> None:
    conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(r,) for r in rowids])


def search(conn: sqlite3.Connection, query: str, k: int) -> list[tuple[int, float]]:
    """(rowid, BM25 score) best first; the score is positive, higher is better."""
    terms = query_terms(query)
    if not terms:
        return []
    rows = conn.execute(
        "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?",
        (fts_match_expression(terms), k),
    ).fetchall()
    return [(rowid, -score) for rowid, score in rows]
