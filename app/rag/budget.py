"""Fit passages, history and the question into the model's context window.

Counted with the model's own tokenizer, on the exact prompt the chat template renders: the
window must hold the system prompt, the kept history, the passages, the question and
`max_tokens` of answer.  Passages go in by rank; one that does not fit is reported as cut
(never silently dropped), and a smaller one further down may still take the room.  History is
the first thing to give way: older turns go before any passage does, but at least the last
turn stays when it fits beside the best passage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from app.rag.prompts import PromptPassage, format_passage

# Tokens kept free for template quirks (BOS, a generation prompt the count cannot see).
SAFETY_TOKENS = 16
# Below this much room a truncated passage says too little to be worth sending.
MIN_PASSAGE_TOKENS = 32


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
         counter: TokenCounter, n_ctx: int, max_tokens: int) -> Packed:
    """Choose what goes into the prompt.

    `build(question, passages, history)` returns the chat messages; packing measures them as
    rendered.  Raises nothing: if even the bare question does not fit, the result holds no
    passages and `prompt_tokens` above `budget` tells the caller.
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

    kept: list[PromptPassage] = []
    cut: list[PromptPassage] = []
    used = base
    for p, cost in zip(passages, costs):
        if used + cost <= budget:
            kept.append(p)
            used += cost
        else:
            cut.append(p)
    # The estimate above adds up pieces; confirm on the rendered prompt and trim if tokens merged badly.
    total = measure(kept, history)
    while kept and total > budget:
        cut.insert(0, kept.pop())
        total = measure(kept, history)
    truncated = None
    if not kept and cut and budget - total > MIN_PASSAGE_TOKENS:
        # Not even the best passage fits whole: send as much of its beginning as fits, and say so.
        best_p = cut[0]
        lo, hi = 0, len(best_p.text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            trial = PromptPassage(best_p.n, best_p.label, best_p.text[:mid] + " …")
            if measure([trial], history) <= budget:
                lo = mid
            else:
                hi = mid - 1
        if lo > 0:
            kept = [PromptPassage(best_p.n, best_p.label, best_p.text[:lo] + " …")]
            truncated = best_p.n
            total = measure(kept, history)
    cut.sort(key=lambda p: p.n)
    return Packed(kept, cut, history, dropped, total, budget, truncated)
