"""Sentences and the checkable facts inside them, for Chinese and English text.

Pure functions shared by the quoted answer (`app.rag.quote`) and the citation check
(`app.rag.citations`).  A "claim term" is what a sentence asserts that could be wrong: numbers,
dates and amounts (Arabic, full-width or Chinese numerals, with 万/千 multipliers), names
(capitalised words, Latin words inside Chinese text) and the content words the question did not
already contain.  Written by hand because no maintained library splits mixed Chinese/English
sentences with character offsets or reads Chinese numerals into values; jieba supplies the
Chinese words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ingest.keyword import STOPWORDS, tokenize_for_index
from ingest.loaders import supported_suffixes

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A citation marker as models write it: [1], [1, 2], 【2】; the group holds the numbers.
CITATION = re.compile(r"\s*[\[【](\d+(?:\s*[,，、]\s*\d+)*)[\]】]")
# A sentence ends at CJK end punctuation, or at Latin . ! ? followed by space/end (not "3.5", "e.g."-ish
# cases are tolerated), or at a line break.
_SENT_END = re.compile(r"[。！？；!?]+[”’」』）)]*|\.(?=\s|$)[”’\")]*|\n\s*\n+|\n")
# A single line break ends a sentence only where a new block starts: a list item, a heading, a
# table row, a quote; inside a paragraph it is a hard wrap and reads as a space.
_BLOCK_START = re.compile(r"\s*(?:[-*+•·]\s|\d+[.)、]\s?|[#>|]|[一二三四五六七八九十]+、|（[一二三四五六七八九十\d]+）)")
_LIST_NUMBER = re.compile(r"(?:^|\n)\s*\d+$")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|Mr|Mrs|Ms|Dr|Prof|St|No|Inc|Ltd|Co|Jr|Sr|U\.S|a\.m|p\.m)|\b[A-Z])\.$")

_EN_STOP = frozenset(
    """a an the and or but if then than that this these those is are was were be been being am do does did
    done to of in on at by for with from as into onto about over under after before between through during
    it its it's he she they them his her their we our you your i me my mine not no nor so too very can could
    would should will shall may might must have has had having what which who whom whose when where why how
    there here also only just any all some each every both either neither more most other such same own
    says said say according document documents passage passages answer question""".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*|\d+(?:[.,]\d+)*")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_NUM_RUN = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
# A lone numeral counts as a number only before a measure word ("两年", "三个月"), never in words like "统一".
_MEASURE = "年月日天周个元岁次倍名人家项条页号层间台辆件位分秒小时%"
_ARABIC = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*([万千亿]?)")
# English number words, so "five" in a passage backs "5" in an answer and the other way round.
# "one" is left out: it is far more often a pronoun ("one of the teams") than a count.
_EN_UNITS = {w: i for i, w in enumerate(
    "zero _ two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split()) if w != "_"}
_EN_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split(), 0)
            if w != "_"}
_EN_NUMBER = re.compile(r"\b(?:(%s)(?:[-\s](one|%s))?|(%s))\b" % ("|".join(_EN_TENS), "|".join(_EN_UNITS),
                                                              "|".join(_EN_UNITS)), re.I)


_NUMBER_WITH_UNIT = re.compile(r"\d+(?:[.,]\d+)*\s*[万千亿]?[" + _MEASURE + "]?")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def normalize(text: str) -> str:
    """NFKC folds full-width digits, letters and punctuation (１２０ -> 120)."""
    return unicodedata.normalize("NFKC", text)


def split_sentences(text: str) -> list[Span]:
    """Sentences with offsets into `text`; whitespace around them is not included."""
    spans: list[Span] = []
    start = 0

    def add(a: int, b: int) -> None:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append(Span(a, b, text[a:b]))

    for m in _SENT_END.finditer(text):
        end = m.end()
        mark = m.group(0)
        if mark.startswith(".") and _ABBREV.search(text[max(start, m.start() - 6):m.start() + 1]):
            continue
        if mark.startswith(".") and _LIST_NUMBER.search(text[start:m.start()]):
            continue  # "1. Hotels…": a list number, not a sentence
        if mark == "\n" and not _BLOCK_START.match(text, end) and text[start:m.start()].strip():
            continue
        add(start, end)
        start = end
    add(start, len(text))
    return spans


def chinese_number(run: str) -> int | None:
    """The value of a Chinese numeral ("三百八十" -> 380, "两万" -> 20000, "二〇二三" -> 2023)."""
    if not run:
        return None
    if all(ch in _CN_DIGITS for ch in run):
        if len(run) == 1:
            return _CN_DIGITS[run]
        return int("".join(str(_CN_DIGITS[ch]) for ch in run))  # digit-by-digit: years, codes
    total, section, digit = 0, 0, None
    for ch in run:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (digit if digit is not None else 1) * _CN_UNITS[ch]
            digit = None
        elif ch in _CN_BIG:
            section += digit or 0
            total += (section or 1) * _CN_BIG[ch]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def numbers(text: str) -> set[str]:
    """Every number the text states, as canonical strings; 3万 and 30,000 both give '30000'."""
    text = normalize(text)
    found: set[str] = set()
    for m in _ARABIC.finditer(text):
        raw = m.group(1).replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        mult = {"万": 10_000, "千": 1000, "亿": 100_000_000}.get(m.group(2), 1)
        found.add(_fmt(value * mult))
        if mult != 1:
            found.add(_fmt(value))
    for m in _EN_NUMBER.finditer(text):
        tens, unit, alone = (g.lower() if g else g for g in m.groups())
        found.add(str(_EN_UNITS[alone] if alone else _EN_TENS[tens] + (1 if unit == "one" else _EN_UNITS.get(unit, 0))))
    for m in _CN_NUM_RUN.finditer(text):
        run = m.group(0)
        after = text[m.end():m.end() + 1]
        if len(run) == 1 and (run == "一" or run in _CN_BIG or after == "" or after not in _MEASURE):
            continue
        value = chinese_number(run)
        if value is not None:
            found.add(_fmt(value))
    return found


def _has_number(token: str) -> bool:
    return any(ch.isdigit() for ch in token) or bool(numbers(token))


def _stem(word: str) -> str:
    word = word.lower().strip("'’-")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Stemmed English words and jieba-cut Chinese words (2+ characters), without stopwords or numbers."""
    text = normalize(text)
    out: set[str] = set()
    for w in _WORD.findall(text):
        if w[0].isdigit() or _EN_NUMBER.fullmatch(w):
            continue  # compared as a number
        # "gold-themed" also holds "gold": an answer may name one part of a compound.
        for part in [w] + (w.split("-") if "-" in w.strip("-") else []):
            s = _stem(part)
            if len(s) > 2 and s not in _EN_STOP and part.lower() not in _EN_STOP:
                out.add(s)
    if CJK.search(text):
        # Numbers and the measure word after them go first: jieba glues "1562年元服" into "年元服",
        # a word no passage contains; the number itself is checked as a number.
        text = _NUMBER_WITH_UNIT.sub(" ", text)
        for tok in tokenize_for_index(text).split():
            # Words holding a number ("两年", "3月") are compared as numbers, not as words.
            if CJK.search(tok) and len(tok) >= 2 and tok not in STOPWORDS and not _has_number(tok):
                out.add(tok)
    return out


def names(text: str) -> set[str]:
    """Capitalised words not opening the sentence, acronyms, and Latin words inside Chinese text."""
    text = normalize(text)
    out: set[str] = set()
    chinese = bool(CJK.search(text))
    for i, m in enumerate(re.finditer(r"[A-Za-z][A-Za-z0-9'’\-]*", text)):
        w = m.group(0)
        if w.lower() in _EN_STOP:
            continue
        if chinese and len(w) > 1:
            out.add(w.lower())
        elif w.isupper() and len(w) > 1:
            out.add(w.lower())
        elif w[0].isupper() and (i > 0 and not text[:m.start()].rstrip().endswith((".", ":", "\n"))):
            out.add(w.lower())
    return out


@dataclass(frozen=True)
class Claims:
    """What a sentence asserts beyond its question: facts that must appear in a supporting passage."""

    numbers: frozenset[str]
    names: frozenset[str]
    words: frozenset[str]  # content words not in the question

    @property
    def empty(self) -> bool:
        return not (self.numbers or self.names or self.words)


# A list item's marker; "1." and "2)" need a space after them, or "0.304" would lose its "0.".
_LIST_MARK = re.compile(r"^\s*(?:[-*+•·](?=\s)|\d+[.)](?=\s)|\d+、|[一二三四五六七八九十]+、)\s*")


# A file name ("leave.txt", "报销制度.pdf"): the prompt labels each passage with its file, and a
# model that names its source ("The passage is: (leave.txt)") is citing, not claiming "txt".
_FILE_NAME = re.compile(r"[\w\-.]+\.(?:%s)\b" % "|".join(sorted((s[1:] for s in supported_suffixes()), key=len, reverse=True)),
                        re.I)


def claims(sentence: str, question: str = "") -> Claims:
    sentence = CITATION.sub(" ", sentence)  # a citation's [1] is not a number the sentence states
    sentence = _LIST_MARK.sub("", sentence)  # nor is a list item's "2."
    sentence = _FILE_NAME.sub(" ", sentence)
    q_words = content_words(question)
    q_names = names(question)
    return Claims(
        numbers=frozenset(numbers(sentence)),
        names=frozenset(n for n in names(sentence) if n not in q_names),
        words=frozenset(w for w in content_words(sentence) if w not in q_words),
    )


class PassageFacts:
    """A passage's numbers, lower-cased text and content words, computed once for many checks."""

    def __init__(self, text: str) -> None:
        self.text = normalize(text).lower()
        self.numbers = numbers(text)
        self.words = content_words(text)


def support(c: Claims, p: PassageFacts) -> float:
    """How well a passage supports the claims, 0..1; 0 when any number or name is missing from it.

    Numbers and names must all occur; the remaining content words may be paraphrased, so their
    share found is the score (a sentence of only numbers and names scores 1 when they all occur).
    """
    if any(n not in p.numbers for n in c.numbers):
        return 0.0
    if any(n not in p.text for n in c.names):
        return 0.0
    if not c.words:
        return 1.0 if (c.numbers or c.names) else 0.0
    found = sum(1 for w in c.words if w in p.words or (CJK.search(w) and w in p.text))
    return found / len(c.words)
