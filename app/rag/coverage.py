"""Do the passages found talk about what the question asks about?

A small model given passages about something else answers from them anyway ("芙蓉洞位于…"
answered from a passage about another cave), and its own "not found" is unreliable both ways.
The words of the question that name its subject are a cheaper, steadier signal: when most of
the question's distinctive words (weighted by length, the question's frame words such as
"哪些地方" or "what year" left out) occur in none of the passages, the documents do not talk
about that subject, and the honest answer is "not found" naming the missing words.

This is lexical on purpose: it runs in microseconds before the model is asked, and it is only
applied when question and passages are in the same language (a question in English about
Chinese documents shares no words with them, and that says nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from app.rag.claims import CJK, _stem, names, normalize
from ingest.keyword import STOPWORDS, cut_words

# Below this share of the question's distinctive words found, the passages are about something else.
# Chosen on CMRC 2018 trial questions 100-180 and SQuAD v1.1 dev 100-180 (not the reported first
# 100), 80 answerable and 40 removed-paragraph questions each: it flags 0% and 1% of the answerable
# ones, and 78% (CMRC, whose articles are short) and 22% (SQuAD, where the rest of the article stays
# in the KB and names the same subject) of the removed-paragraph ones.
MIN_COVERAGE = 0.5

# Words that frame a question rather than name its subject: absent from a passage that answers it.
_FRAME_ZH = frozenset(
    """什么 哪些 哪个 哪里 哪儿 哪年 哪一年 哪部 哪位 哪种 哪家 哪国 多少 多大 多长 多久 多高 几个 几年 几所 几种 几条 几次
    怎么 怎样 如何 为什么 为何 是否 是不是 时候 何时 何地 何人 主要 通常 一般 一起 地区 地方 哪些地方 哪些方面 方面
    类型 作用 原因 情况 名字 名称 发生 位于 包括 分布 成为 开始 认为 期间 之后 之前 以后 以前 现任 目前 共有 具体 分别
    什么样 怎么样 体现 特点 用于 属于 叫做 称为 被称为 被誉为 担任 颜色 身体 形状 意思 含义 内容 主要内容""".split()
)
_FRAME_EN = frozenset(
    """what which who whom whose when where why how many much long year years day date time kind type name
    called call main mainly usually often first last one two did does do was were is are has have had
    get gets got use used using make made take took give gave find found according term refer per""".split()
)
_DEICTIC = frozenset("此该本其这那")
_LATIN_WEIGHT = 3  # a Latin word carries about as much as a three-character Chinese word


@dataclass(frozen=True)
class Coverage:
    score: float  # share of the question's distinctive words found in some passage, 0..1
    missing: tuple[str, ...]  # those found in none, as written in the question
    applies: bool  # False: no distinctive words, or question and passages in different languages


def question_terms(question: str) -> list[str]:
    """The question's distinctive words: whole Chinese words and English content words and names."""
    text = normalize(question)
    out: list[str] = []
    if CJK.search(text):
        for w in cut_words(text):
            # "此鱼", "该校", "本届": a pointer to something named elsewhere, not a name.
            if (CJK.search(w) and len(w) >= 2 and w not in STOPWORDS and w not in _FRAME_ZH
                    and w[0] not in _DEICTIC):
                out.append(w)
    for m in re.finditer(r"[A-Za-z][A-Za-z0-9'’\-]*", text):
        w = re.sub(r"['’]s$", "", m.group(0)).strip("'’-")  # "university's" is named as "university"
        low = w.lower()
        if len(low) > 2 and low not in STOPWORDS and low not in _FRAME_EN:
            out.append(w)
    return list(dict.fromkeys(out))


def _chinese(text: str) -> bool:
    cjk = len(CJK.findall(text))
    latin = sum(ch.isascii() and ch.isalpha() for ch in text)
    return cjk > 0.3 * (cjk + latin / 4)  # four Latin letters make about one word, as one CJK character does


def coverage(question: str, passages: Sequence[str]) -> Coverage:
    """How much of what the question names occurs in `passages`."""
    terms = question_terms(question)
    hay = normalize(" ".join(passages)).lower()
    if not terms or not hay or _chinese(question) != _chinese(hay):
        return Coverage(1.0, (), False)
    stems = {_stem(w) for w in re.findall(r"[a-z][a-z'’\-]*", hay)}
    total = found = 0.0
    missing: list[str] = []
    question_names = names(question)
    for t in terms:
        latin = not CJK.search(t)
        weight = _LATIN_WEIGHT * (2 if t.lower() in question_names else 1) if latin else len(t)
        total += weight
        present = (t.lower() in hay) if not latin else (_stem(t) in stems or t.lower() in hay)
        if present:
            found += weight
        else:
            missing.append(t)
    return Coverage(found / total if total else 1.0, tuple(missing), True)


def off_topic(c: Coverage, minimum: float = MIN_COVERAGE) -> bool:
    return c.applies and c.score < minimum
