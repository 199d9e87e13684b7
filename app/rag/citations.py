"""Checking a generated answer's citations against the passages the model was given.

Each sentence's claims (numbers, names, new content words; see `app.rag.claims`) must occur in a
passage it cites.  A sentence whose facts stand only in another passage has its citation
corrected; one that cites nothing but is supported gets the citation added; one that no passage
supports is marked unsupported, so the reader sees which sentence the documents do not back.
Sentences that assert nothing checkable ("Here is what the documents say:") are left as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from app.rag.claims import CITATION, CJK, PassageFacts, claims, split_sentences, support

_CITE = CITATION
_LEADING_CITES = re.compile(r"^(?:\s*[\[【]\d+(?:\s*[,，、]\s*\d+)*[\]】])+[。.]?")
_LEAD_IN = re.compile(r"[:：]\s*$")
# A passage supports a sentence when all its numbers and names occur there and at least this
# share of its other new content words do (the rest may be paraphrase).
MIN_SUPPORT = 0.5

SUPPORTED, CORRECTED, ADDED, UNSUPPORTED, NO_CLAIM, NOT_FOUND = (
    "supported", "corrected", "added", "unsupported", "no_claim", "not_found")


@dataclass
class CheckedSentence:
    text: str  # the sentence without citation markers
    cited: list[int]  # what the model cited
    citations: list[int]  # after the check
    status: str  # one of the constants above
    missing: list[str] = field(default_factory=list)  # claims no passage holds (unsupported only)
    start: int = 0  # where the sentence (with its markers) stands in the answer
    end: int = 0

    @property
    def supported(self) -> bool:
        return self.status in (SUPPORTED, CORRECTED, ADDED)


def unbacked(sentences: Sequence[CheckedSentence]) -> bool:
    """True when the answer states something and no passage backs any of it."""
    return any(s.status == UNSUPPORTED for s in sentences) and not any(s.supported for s in sentences)


def cited_numbers(sentence: str) -> list[int]:
    out: list[int] = []
    for group in _CITE.findall(sentence):
        for num in re.findall(r"\d+", group):
            if int(num) not in out:
                out.append(int(num))
    return out


def strip_citations(text: str) -> str:
    return _CITE.sub("", text).strip()


def check(answer: str, passages: dict[int, str], question: str = "",
          not_found_phrases: Sequence[str] = ()) -> list[CheckedSentence]:
    """Check each sentence of `answer` against `passages` ({n: text}); returns them in order."""
    facts = {n: PassageFacts(t) for n, t in passages.items()}
    probes = ["".join(p.split()).lower().rstrip(".。") for p in not_found_phrases]
    out: list[CheckedSentence] = []
    for span in split_sentences(answer):
        raw = span.text
        lead = _LEADING_CITES.match(raw)
        if lead and out:
            # "…两年。[2] 运费…": markers after the previous sentence's full stop belong to it.
            out[-1].cited += [n for n in cited_numbers(lead.group(0)) if n not in out[-1].cited]
            out[-1].end = span.start + lead.end()
            _decide(out[-1], facts, question)
            rest = raw[lead.end():]
            if not rest.strip():
                continue
            skip = lead.end() + len(rest) - len(rest.lstrip())
            span = type(span)(span.start + skip, span.end, raw[skip:])
            raw = span.text
        text = strip_citations(raw)
        cited = [n for n in cited_numbers(raw)]
        if not text:
            # A bare "[2]." after the previous sentence belongs to it.
            if out and cited:
                out[-1].cited += [n for n in cited if n not in out[-1].cited]
                out[-1].end = span.end
                _decide(out[-1], facts, question)
            continue
        flat = "".join(text.split()).lower()
        if any(p and p in flat for p in probes):
            out.append(CheckedSentence(text, cited, [], NOT_FOUND, start=span.start, end=span.end))
            continue
        item = CheckedSentence(text, cited, list(cited), NO_CLAIM, start=span.start, end=span.end)
        if _LEAD_IN.search(text):
            out.append(item)  # "The steps are:" introduces what follows and claims nothing itself
            continue
        _decide(item, facts, question)
        out.append(item)
    return out


def _decide(item: CheckedSentence, facts: dict[int, PassageFacts], question: str) -> None:
    c = claims(item.text, question)
    if c.empty:
        item.status, item.citations = NO_CLAIM, [n for n in item.cited if n in facts]
        return
    # Ties (several passages hold the facts) go to the passage sharing the most of the sentence's
    # wording: that is where the sentence was taken from.
    scores = {n: support(c, f) + 0.01 * _overlap(item.text, f.text) for n, f in facts.items()}
    good_cited = [n for n in item.cited if scores.get(n, 0.0) >= MIN_SUPPORT]
    if good_cited:
        item.status, item.citations = SUPPORTED, good_cited
        return
    best = max(scores, key=lambda n: (scores[n], -n), default=None)
    if best is not None and scores[best] >= MIN_SUPPORT:
        item.status = CORRECTED if item.cited else ADDED
        item.citations = [best]
        return
    item.status, item.citations = UNSUPPORTED, []
    every = " ".join(f.text for f in facts.values())
    all_numbers = set().union(*(f.numbers for f in facts.values())) if facts else set()
    all_words = set().union(*(f.words for f in facts.values())) if facts else set()
    item.missing = sorted([n for n in c.numbers if n not in all_numbers] + [n for n in c.names if n not in every]
                          + [w for w in c.words if w not in all_words and w not in every])


def attach(text: str, numbers: Sequence[int]) -> str:
    """`text` with citation markers placed before its closing punctuation: "… London [1]." / "…两年[1]。"."""
    marks = "".join(f"[{n}]" for n in numbers)
    if not marks:
        return text
    m = re.search(r"[。！？；.!?:：]+$", text)
    head, tail = (text[:m.start()], m.group(0)) if m else (text, "")
    space = "" if CJK.search(head[-1:]) or not head else " "
    return f"{head}{space}{marks}{tail}"


def _overlap(sentence: str, passage_lower: str) -> float:
    """Share of the sentence's character bigrams found in the passage (0..1)."""
    flat = "".join(strip_citations(sentence).lower().split())
    grams = {flat[i:i + 2] for i in range(len(flat) - 1)}
    if not grams:
        return 0.0
    text = "".join(passage_lower.split())
    return sum(1 for g in grams if g in text) / len(grams)


def rewrite(answer: str, sentences: Sequence[CheckedSentence]) -> str:
    """`answer` with each checked sentence's citations replaced by the checked ones; layout kept.

    Each sentence's `start`/`end` are moved to where it stands in the returned text, so a
    viewer can mark exactly that stretch.
    """
    out, pos, length = [], 0, 0
    for s in sentences:
        gap = answer[pos:s.start]
        out.append(gap)
        length += len(gap)
        written = attach(s.text, s.citations)
        out.append(written)
        pos = s.end
        s.start, s.end = length, length + len(written)
        length += len(written)
    out.append(answer[pos:])
    return "".join(out)
