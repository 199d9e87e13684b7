"""Keyword search: BM25 over an SQLite FTS5 table of pre-tokenised text.

FTS5 gives a persistent, incremental, transactional inverted index with BM25 ranking, and it
lives in the same SQLite file as the catalogue, so a document's keyword rows and its catalogue
row change in one transaction.  FTS5 cannot segment Chinese (there are no spaces), so CJK runs
are cut with jieba before they are stored; Latin text is left to FTS5's own porter+unicode61
tokenizer, which stems English.  Queries go through the same path.

SQLite keeps no checksums of its own, so an index block overwritten in place (a bad sector, a
stray write) would read back as valid-looking postings and make keyword search silently miss.
Every FTS5 block and every segment's page index therefore has a CRC-32 stored beside it, written
in the same transaction as the block (`seal`) and checked when the knowledge base is opened
(`damage`): triggers note which rows FTS5 touched, since FTS5 rewrites blocks (merges, trims) of
its own accord and only its shadow tables show which.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import zlib

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


# keyword_sums: id > 0 is a block of chunks_fts_data (its CRC-32); id < 0 is -1 - segid, the sum of
# the CRC-32s of that segment's rows in chunks_fts_idx (a sum, so their order does not matter).
# keyword_dirty: rows FTS5 changed in the open transaction, not yet summed.  No trigger watches
# inserts into chunks_fts_idx: with one there, any transaction in which FTS5 wrote a segment
# before COMMIT (over ~1 MB of new text, or a delete after an insert) left an index that FTS5's
# own 'integrity-check' called malformed (SQLite 3.40; its searches were still right).  A new
# segment always writes data blocks too, whose ids carry its segid (`_segid`).  FTS5 only inserts
# (REPLACE) and deletes these rows, never updates them.  The SQL is kept short on purpose: the
# whole schema must fit SQLite's first page, or a catalogue cut short loses the schema (and with
# it every file name `localkb repair` could still have read).
CHECKSUM_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS keyword_sums(id INTEGER PRIMARY KEY,sum INT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS keyword_dirty(id INTEGER PRIMARY KEY)",
    "CREATE TRIGGER IF NOT EXISTS kw_d1 AFTER INSERT ON chunks_fts_data BEGIN "
    "INSERT OR IGNORE INTO keyword_dirty VALUES(new.id);END",
    "CREATE TRIGGER IF NOT EXISTS kw_d2 AFTER DELETE ON chunks_fts_data BEGIN "
    "INSERT OR IGNORE INTO keyword_dirty VALUES(old.id);END",
    "CREATE TRIGGER IF NOT EXISTS kw_i2 AFTER DELETE ON chunks_fts_idx BEGIN "
    "INSERT OR IGNORE INTO keyword_dirty VALUES(-1-old.segid);END",
]


def create(conn: sqlite3.Connection) -> None:
    """The keyword table and its checksums (dropping chunks_fts drops the triggers with it)."""
    conn.execute(FTS_SCHEMA)
    for statement in CHECKSUM_SCHEMA:
        conn.execute(statement)
    # FTS5 writes its own first records (averages, structure) as the table is made, before the
    # triggers exist: marked here, the commit sums them, or an index left empty read as damaged.
    conn.execute("INSERT OR IGNORE INTO keyword_dirty SELECT id FROM chunks_fts_data")


def drop(conn: sqlite3.Connection) -> None:
    """Drop the keyword table and its checksums, to build it afresh with `create`."""
    conn.execute("DROP TABLE IF EXISTS chunks_fts")
    conn.execute("DROP TABLE IF EXISTS keyword_sums")
    conn.execute("DROP TABLE IF EXISTS keyword_dirty")


def add_checksums(conn: sqlite3.Connection) -> None:
    """Migration for a catalogue written before checksums: sum every block as it is now."""
    create(conn)
    conn.execute("INSERT OR IGNORE INTO keyword_dirty SELECT id FROM chunks_fts_data")
    conn.execute("INSERT OR IGNORE INTO keyword_dirty SELECT DISTINCT -1 - segid FROM chunks_fts_idx")
    seal(conn)


def _idx_row_sum(term: bytes | str, pgno: int) -> int:
    if isinstance(term, str):
        term = term.encode("utf-8", "surrogatepass")
    return zlib.crc32(pgno.to_bytes(8, "little", signed=True), zlib.crc32(term))


def _segid(block_id: int) -> int:
    # FTS5 numbers a segment's blocks segid << 37 | dlidx << 36 | height << 31 | page (fts5Int.h);
    # its own records (averages, structure) have segid 0.
    return block_id >> 37


def seal(conn: sqlite3.Connection) -> None:
    """Store the checksums of the blocks FTS5 changed in the open transaction; call before COMMIT.

    FTS5 keeps new postings in memory and writes them only at COMMIT or when a savepoint opens, so
    an empty savepoint makes it write them now, where the triggers see them.
    """
    conn.execute("SAVEPOINT keyword_flush")
    conn.execute("RELEASE keyword_flush")
    dirty = [r[0] for r in conn.execute("SELECT id FROM keyword_dirty")]
    if not dirty:
        return
    for i in range(0, len(dirty), 500):
        batch = dirty[i:i + 500]
        marks = ",".join("?" * len(batch))
        blocks = [b for b in batch if b > 0]
        segs = sorted({-1 - b for b in batch if b < 0} | {_segid(b) for b in blocks if _segid(b) > 0})
        sums: dict[int, int] = {}
        if blocks:
            for rowid, block in conn.execute(
                    f"SELECT id, block FROM chunks_fts_data WHERE id IN ({','.join('?' * len(blocks))})", blocks):
                sums[rowid] = zlib.crc32(block or b"")
        if segs:
            for segid, term, pgno in conn.execute(
                    f"SELECT segid, term, pgno FROM chunks_fts_idx WHERE segid IN ({','.join('?' * len(segs))})", segs):
                key = -1 - segid
                sums[key] = (sums.get(key, 0) + _idx_row_sum(term, pgno)) & 0xFFFFFFFFFFFF
        conn.execute(f"DELETE FROM keyword_sums WHERE id IN ({marks})", batch)
        if segs:
            conn.execute(f"DELETE FROM keyword_sums WHERE id IN ({','.join('?' * len(segs))})", [-1 - g for g in segs])
        conn.executemany("INSERT INTO keyword_sums VALUES (?, ?)", sums.items())
    conn.execute("DELETE FROM keyword_dirty")


def damage(conn: sqlite3.Connection) -> str:
    """Why the keyword index does not match the checksums written with it; '' when it does.

    Reads every block once (a few MB for thousands of passages): the price of finding bytes
    changed behind SQLite's back when the knowledge base opens rather than in a wrong answer.
    """
    try:
        sums = dict(conn.execute("SELECT id, sum FROM keyword_sums"))
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return ""  # a catalogue from before checksums that was not migrated (a plain connection)
        raise
    bad = missing = blocks = 0
    for rowid, block in conn.execute("SELECT id, block FROM chunks_fts_data"):
        blocks += 1
        want = sums.pop(rowid, None)
        if want is None:
            missing += 1
        elif want != zlib.crc32(block or b""):
            bad += 1
    segments: dict[int, int] = {}
    for segid, term, pgno in conn.execute("SELECT segid, term, pgno FROM chunks_fts_idx"):
        key = -1 - segid
        segments[key] = (segments.get(key, 0) + _idx_row_sum(term, pgno)) & 0xFFFFFFFFFFFF
    bad_segments = sum(1 for key, total in segments.items() if sums.pop(key, None) != total)
    lost = sum(1 for key in sums if key > 0)  # summed blocks that are gone
    lost_segments = len(sums) - lost
    problems = []
    if bad or missing or lost:
        problems.append(f"{bad + missing + lost} of {blocks + lost} keyword index blocks do not match the "
                        "checksums written with them")
    if bad_segments or lost_segments:
        problems.append(f"the page index of {bad_segments + lost_segments} keyword index segments does not match "
                        "its checksum")
    return "; ".join(problems)


def add(conn: sqlite3.Connection, rows: list[tuple[int, str]]) -> None:
    """Index (rowid, text) pairs; rowid is the chunk's rowid in the catalogue's chunks table."""
    conn.executemany("INSERT INTO chunks_fts(rowid, tokens) VALUES (?, ?)",
                     [(rowid, tokenize_for_index(text)) for rowid, text in rows])


def delete(conn: sqlite3.Connection, rowids: list[int]) -> None:
    conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(r,) for r in rowids])


# Pruning starts at this many passages: below it a full query takes a few milliseconds.
PRUNE_FROM_PASSAGES = 20_000
# A term in more than this share of the passages is left out of a query that has rarer terms.
COMMON_SHARE = 0.2


class TermFrequencies:
    """How many passages hold each query term, cached for one connection.

    FTS5 scores every passage that holds any query term, each with a lookup of its length, so
    at 116,000 passages a question with "one" or the "s" of "Luther's" (in half of them) took
    90-160 ms.  Such terms weigh little in BM25 (an IDF near 1 against 6-9 for the words that
    find the passage), so leaving them out when rarer terms remain is cheap in quality: the
    top 10 kept 98.4% of their passages on 200 SQuAD questions over 116k passages, and p95 fell
    from 89 to 55 ms.  SQLite offers no early-terminating top-k (WAND), hence this by hand.
    """

    def __init__(self) -> None:
        self._version: tuple[int, int] | None = None
        self._total = 0
        self._counted_at = 0  # the total when the cached counts were made
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def total(self, conn: sqlite3.Connection) -> int:
        """Passages in the index, re-read only after this or another connection wrote."""
        version = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        with self._lock:
            if version != self._version:
                self._version = version
                self._total = conn.execute("SELECT COUNT(*) FROM chunks_fts_docsize").fetchone()[0]
                # Counts a few percent off do not change which terms are common: keep them
                # until the index has grown or shrunk by more than that.
                if abs(self._total - self._counted_at) > 0.05 * max(self._counted_at, 1):
                    self._counts.clear()
                    self._counted_at = self._total
            return self._total

    def count(self, conn: sqlite3.Connection, term: str) -> int:
        with self._lock:
            found = self._counts.get(term)
        if found is None:
            found = conn.execute("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                                 (fts_match_expression([term]),)).fetchone()[0]
            with self._lock:
                self._counts[term] = found
        return found

    def prune(self, conn: sqlite3.Connection, terms: list[str]) -> list[str]:
        """`terms` without those in more than COMMON_SHARE of the passages, unless none would remain."""
        if len(terms) < 2:
            return terms
        total = self.total(conn)
        if total < PRUNE_FROM_PASSAGES:
            return terms
        rare = [t for t in terms if self.count(conn, t) <= COMMON_SHARE * total]
        return rare or terms


def search(conn: sqlite3.Connection, query: str, k: int, frequencies: TermFrequencies | None = None) -> list[tuple[int, float]]:
    """(rowid, BM25 score) best first; the score is positive, higher is better.  With
    `frequencies`, a large index leaves the query's most common terms out (see TermFrequencies)."""
    terms = query_terms(query)
    if frequencies is not None:
        terms = frequencies.prune(conn, terms)
    if not terms:
        return []
    rows = conn.execute(
        "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?",
        (fts_match_expression(terms), k),
    ).fetchall()
    return [(rowid, -score) for rowid, score in rows]
