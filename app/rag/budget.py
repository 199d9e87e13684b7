"""Fit passages, history and the question into the model's context window.

Counted with the model's own tokenizer, on the exact prompt the chat template renders: the
window must hold the system prompt, the kept history, the passages, the question and
`max_tokens` of answer.  Passages go in by rank; one that does not fit is reported as cut
(never silently dropped), and a smaller one further down may still take the room.  The best
passage always goes in: when it is too long for the window, the part around its evidence (the
quoted sentences) is sent with the passage's opening sentence, which usually names its subject.
History is the first thing to give way: older turns go before any passage does, but at least the
last turn stays when it fits beside the best passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol, Sequence

from app.rag.prompts import PromptPassage, format_passage

# Tokens kept free for template quirks (BOS, a generation prompt the count cannot see).
SAFETY_TOKENS = 16
# Below this much room a truncated passage says too little to be worth sending.
MIN_PASSAGE_TOKENS = 32
# The opening sentence kept in front of an excerpt, when it is no longer than this.
_HEAD_CHARS = 120
_SENTENCE_END = re.compile(r"[。！？!?]|\.(?=\s)")


class TokenCounter(Protocol):
    def count_tokens(self, text: str) -> int: ...

    def prompt_tokens(self, messages: list[dict]) -> int: ...


@dataclass
class Packed:
    passages: list[PromptPassage]
    cut: list[PromptPassage] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)
    history_dropped: int = 0
    prompt_tokens: int = 0
    budget: int = 0  # tokens available to the prompt: n_ctx - max_tokens - safety
    truncated: int | None = None  # n of a passage sent only in part (it is also listed in `cut`)


def pack(question: str, passages: Sequence[PromptPassage], history: Sequence[tuple[str, str]],
         build: Callable[[str, Sequence[PromptPassage], Sequence[tuple[str, str]]], list[dict]],
         counter: TokenCounter, n_ctx: int, max_tokens: int,
         focus: Mapping[int, tuple[int, int]] | None = None) -> Packed:
    """Choose what goes into the prompt.

    `build(question, passages, history)` returns the chat messages; packing measures them as
    rendered.  `focus` maps a passage's number to the character span of its evidence, the part
    an excerpt of that passage is centred on.  Raises nothing: if even the bare question does
    not fit, the result holds no passages and `prompt_tokens` above `budget` tells the caller.
    """
    budget = n_ctx - max_tokens - SAFETY_TOKENS
    history = list(history)
    dropped = 0

    def measure(ps: Sequence[PromptPassage], hist: Sequence[tuple[str, str]]) -> int:
        return counter.prompt_tokens(build(question, ps, hist))

    base = measure([], history)
    # Each passage costs its own tokens plus the blank line joining it to the next.
    costs = [counter.count_tokens(format_passage(p)) + 2 for p in passages]
    best = costs[0] if costs else 0
    # History gives way first: drop the oldest turns while they crowd out the best passage.
    while history and base + best > budget:
        history.pop(0)
        dropped += 1
        base = measure([], history)

    def fill(candidates: Sequence[PromptPassage]) -> tuple[list[PromptPassage], list[PromptPassage], int]:
        kept: list[PromptPassage] = []
        cut: list[PromptPassage] = []
        used = base
        for p in candidates:
            cost = costs[passages.index(p)]
            if used + cost <= budget:
                kept.append(p)
                used += cost
            else:
                cut.append(p)
        # The estimate adds up pieces; confirm on the rendered prompt and trim if tokens merged badly.
        total = measure(kept, history)
        while kept and total > budget:
            cut.insert(0, kept.pop())
            total = measure(kept, history)
        return kept, cut, total

    if costs and base + best > budget:
        # The best passage never gives way to a smaller, worse one: with a long top passage
        # (a merged Chinese page is often longer than the whole budget) the model was otherwise
        # shown only the runners-up and answered from the wrong document.
        kept, cut, total = [], list(passages), base
    else:
        kept, cut, total = fill(passages)
    truncated = None

    def longest_excerpt(p: PromptPassage) -> PromptPassage | None:
        span = (focus or {}).get(p.n)
        lo, hi = 0, len(p.text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if measure([PromptPassage(p.n, p.label, excerpt(p.text, mid, span))], history) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return PromptPassage(p.n, p.label, excerpt(p.text, lo, span)) if lo > 0 else None

    if not kept and cut and cut[0].n == passages[0].n and budget - total > MIN_PASSAGE_TOKENS:
        # Not even the best passage fits whole: send the longest excerpt of it that fits, and say so.
        part = longest_excerpt(cut[0])
        if part is not None:
            kept, truncated = [part], part.n
            total = measure(kept, history)
    if not kept and len(passages) > 1:
        # No excerpt of the best passage fits (what the prompt adds for it, such as its evidence
        # line, may be long for a tokenizer that spends several tokens on a Chinese character):
        # the runners-up that fit are better than no passage at all, and failing those, an
        # excerpt of the best runner-up that has one.
        kept, rest, total = fill(passages[1:])
        cut = [passages[0]] + rest
        for p in passages[1:] if not kept and budget - total > MIN_PASSAGE_TOKENS else []:
            part = longest_excerpt(p)
            if part is not None:
                kept, truncated = [part], part.n
                total = measure(kept, history)
                break
    cut.sort(key=lambda p: p.n)
    return Packed(kept, cut, history, dropped, total, budget, truncated)


def excerpt(text: str, size: int, span: tuple[int, int] | None = None) -> str:
    """About `size` characters of `text` around `span` (its beginning without one), cuts marked "…".

    The passage's opening sentence is kept in front of an excerpt from further in when it is
    short: it usually names what the passage is about ("松平康忠（1546年－1618年）是…"), which
    the excerpt itself may only call "he" or "其".
    """
    if size >= len(text):
        return text
    if span is not None and span[1] - span[0] > size // 2:
        # Evidence spread over the passage: the excerpt starts with its first sentence.
        span = (span[0], span[0] + 1)
    if span is None or span[1] <= size:
        return text[:size] + " …"
    m = _SENTENCE_END.search(text, 0, _HEAD_CHARS)
    head = text[:m.end()] if m else ""
    room = size - len(head)
    if room < max(1, (span[1] - span[0])):
        head, room = "", size
    # Centre the room on the evidence, then slide it back inside the text.
    start = max(0, min((span[0] + span[1] - room) // 2, len(text) - room))
    start = max(start, len(head))
    body = text[start:start + room]
    tail = " …" if start + room < len(text) else ""
    if head:
        return f"{head} … {body}{tail}" if start > len(head) else f"{head}{body}{tail}"
    return f"… {body}{tail}" if start > 0 else f"{body}{tail}"
