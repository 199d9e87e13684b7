"""The quoted answer: the sentence or two of the top passages that best answer the question.

It is shown right after retrieval, before the model has read its prompt, so the user sees
evidence in well under a second even with a slow 7B model, and it is what the app falls back to
when the model's answer loops or echoes the prompt.  Scoring uses what retrieval already knows,
cheaply: the question's terms weighted by how rare they are among the candidate sentences, the
question's character bigrams (Chinese has no spaces, and jieba may cut a name differently in
question and passage), whether the sentence holds the kind of fact asked for (a number for "how
many / 多少", a year for "when / 哪一年", a name for "who / 谁"), the passage's own retrieval score,
and -- when the embedder understands the language -- the sentence's similarity to the question.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from app.rag.citations import attach
from app.rag.claims import CJK, content_words, names, normalize, numbers, split_sentences

_QUESTION_CHARS = set("的了是在和与及或也就都吗呢吧啊么什哪谁几多少怎如何为请问呀，。？！、")

_ASKS_NUMBER = re.compile(r"\b(how (many|much|long|old|far|large|big|tall|often)|what (percentage|number|amount|year|"
                          r"date|age)|when|which year|in what year)\b|多少|几|多久|多长|多大|多高|多远|哪一年|哪年|何时|"
                          r"什么时候|多少钱|比例|百分之", re.I)
_ASKS_NAME = re.compile(r"\b(who|whom|whose|where|(which|what)(\s+\w+)?\s+(team|company|city|country|person|player|venue|"
                        r"stadium|state|group|band|network|university|school|organi[sz]ation|league|party|coach|artist|club))\b"
                        r"|谁|哪位|哪个人|什么人", re.I)

# "Super Bowl 50 was an American football game to determine…": the sentence that introduces what
# the question is about shares most of its words, but answers only "what is X?".
_INTRODUCES = re.compile(r"^(?:the\s+)?([\w'’\- ]{2,60}?)\s+(?:is|was|are|were)\s+(?:a|an|the|one)\b", re.I)
_ASKS_WHAT_IT_IS = re.compile(r"^\s*(?:what|who)\s+(?:is|was|are|were)\s+(?:a|an|the)?\s*[\w'’\- ]+\??\s*$", re.I)
INTRODUCTION_PENALTY = 0.1

MAX_PASSAGES = 4  # sentences come from the best few passages only
MAX_CHARS = 360  # a quote longer than this is cut at a sentence
NUMBER_WEIGHT = 0.5  # a number in the question is often part of a name ("Super Bowl 50"), so it weighs less
SHORTLIST = 6  # sentences the embedder re-scores
CLOSE = 0.0  # a second sentence scoring at least this share of the best one is quoted too


@dataclass
class QuotePart:
    n: int  # the source number it cites
    text: str
    start: int  # offsets within the passage text
    end: int
    score: float


@dataclass
class Quote:
    parts: list[QuotePart]
    score: float

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.parts)

    def cited_text(self, lang: str = "en") -> str:
        """The quote as shown: each sentence with its [n] before the closing punctuation."""
        sep = "" if lang == "zh" else " "
        return sep.join(attach(p.text, [p.n]) for p in self.parts)


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if CJK.match(c) and c not in _QUESTION_CHARS]
    return {a + b for a, b in zip(chars, chars[1:])}


def _chars(text: str) -> set[str]:
    return {c for c in text if CJK.match(c) and c not in _QUESTION_CHARS}


def _idf_coverage(query: set[str], docs: list[set[str]], scale: dict[str, float] | None = None) -> list[float]:
    """Per document, the IDF-weighted share of `query` items it holds.

    The IDF is taken over the candidate sentences themselves: the topic's name occurs in most of
    them and so decides little, while the word that only the answering sentence shares with the
    question decides a lot.
    """
    if not query:
        return [0.0] * len(docs)
    n = len(docs)
    df = {q: sum(1 for d in docs if q in d) for q in query}
    w = {q: (math.log((n + 1) / (df[q] + 0.5)) + 0.1) * (scale or {}).get(q, 1.0) for q in query}
    total = sum(w.values())
    return [sum(w[q] for q in query if q in d) / total for d in docs]


@dataclass
class _Cand:
    n: int
    rank: int
    start: int
    end: int
    text: str
    passage_score: float
    words: set[str]
    score: float = 0.0


def best_quote(question: str, passages: Sequence[tuple[int, str, float]], *,
               embed: Callable[[list[str]], np.ndarray] | None = None, query_vec: np.ndarray | None = None,
               max_sentences: int = 2) -> Quote | None:
    """The best one or two sentences of `passages` ((n, text, retrieval score), best first).

    `embed` and `query_vec` are optional: given both, sentence/question similarity joins the score
    (pass them only when the embedder understands the question's language).
    """
    cands: list[_Cand] = []
    for rank, (n, text, score) in enumerate(passages[:MAX_PASSAGES]):
        for span in split_sentences(text):
            if len(span.text) < 4:
                continue
            cands.append(_Cand(n, rank, span.start, span.end, span.text, score, content_words(span.text)))
    if not cands:
        return None
    q_words = content_words(question)
    q_names = names(question)
    q_numbers = numbers(question)
    flat_q = normalize(question)
    q_bigrams, q_chars = _bigrams(flat_q), _chars(flat_q)
    # Chinese words also count when the sentence contains them but jieba cut it differently.
    # Numbers the question states ("1992年4月") pick out the sentence about that date, so they
    # count as terms too.
    q_terms = q_words | {f"#{n}" for n in q_numbers}
    word_sets = [c.words | {w for w in q_words if CJK.search(w) and w in c.text} | {f"#{n}" for n in numbers(c.text)}
                 for c in cands]
    lexical = _idf_coverage(q_terms, word_sets, {f"#{n}": NUMBER_WEIGHT for n in q_numbers})
    bigram = _idf_coverage(q_bigrams, [_bigrams(c.text) for c in cands])
    unigram = _idf_coverage(q_chars, [_chars(c.text) for c in cands])
    wants_number = bool(_ASKS_NUMBER.search(question))
    wants_name = bool(_ASKS_NAME.search(question))
    top_score = max(c.passage_score for c in cands) or 1.0
    asks_what_it_is = bool(_ASKS_WHAT_IT_IS.match(flat_q))

    for i, c in enumerate(cands):
        s = 0.55 * lexical[i]
        if q_bigrams:
            s += 0.3 * bigram[i] + 0.15 * unigram[i]
        fresh_numbers = numbers(c.text) - q_numbers
        if wants_number and fresh_numbers:
            s += 0.15
        if wants_name and (names(c.text) - q_names):
            s += 0.08
        if not (c.words - q_words) and not fresh_numbers:
            s -= 0.15  # only restates the question
        m = None if asks_what_it_is else _INTRODUCES.match(c.text)
        subject = content_words(m.group(1)) if m else set()
        if subject and subject <= q_words:
            s -= INTRODUCTION_PENALTY
        if c.text.rstrip().endswith(("?", "？")):
            s -= 0.3  # a question (a FAQ heading, say) is not its own answer
        s += 0.15 * (c.passage_score / top_score) - 0.03 * c.rank
        c.score = s

    ranked = sorted(cands, key=lambda c: c.score, reverse=True)
    if embed is not None and query_vec is not None:
        # Similarity re-orders only the lexical front runners: embedding every sentence of four
        # passages took ~0.5 s on 2 cores, the shortlist a few tens of milliseconds.
        short = ranked[:SHORTLIST]
        try:
            sims = embed([c.text for c in short]) @ np.asarray(query_vec).reshape(-1)
            for c, sim in zip(short, sims):
                c.score += 0.35 * float(sim)
            ranked = sorted(short, key=lambda c: c.score, reverse=True) + ranked[SHORTLIST:]
        except Exception:  # similarity is a refinement; the lexical order stands without it
            pass
    best = ranked[0]
    chosen = [best]
    if max_sentences > 1:
        # A second sentence when it nearly ties (the answer may sit in either), or when the best is
        # short and its neighbour carries on the same thought.
        for c in ranked[1:]:
            if len("".join(x.text for x in chosen)) + len(c.text) > MAX_CHARS or c.text.rstrip().endswith(("?", "？")):
                continue  # too long, or a question (a FAQ heading) that answers nothing
            close = c.score >= CLOSE * best.score
            neighbour = c.n == best.n and c.start >= best.end and c.start - best.end <= 2 and len(best.text) < 60
            if close or neighbour:
                chosen.append(c)
            break
    chosen.sort(key=lambda c: (c.rank, c.start))
    parts = [QuotePart(c.n, c.text if len(c.text) <= MAX_CHARS else c.text[:MAX_CHARS - 1] + "…", c.start, c.end,
                       round(c.score, 4)) for c in chosen]
    return Quote(parts, round(best.score, 4))
