"""Token budget: passages packed by rank, cuts reported, history gives way first."""

from app.rag.budget import SAFETY_TOKENS, pack
from app.rag.prompts import PromptPassage


class WordCounter:
    """One token per whitespace-separated word; a prompt is its messages joined."""

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def prompt_tokens(self, messages: list[dict]) -> int:
        return sum(self.count_tokens(m["content"]) + 2 for m in messages)


def build(question, passages, history):
    msgs = [{"role": "system", "content": "answer from passages"}]
    for q, a in history:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    body = "\n\n".join(f"[{p.n}] ({p.label})\n{p.text}" for p in passages)
    return msgs + [{"role": "user", "content": f"{body}\n\n{question}"}]


def passages(*sizes):
    return [PromptPassage(i + 1, "f.txt", " ".join(["w"] * n)) for i, n in enumerate(sizes)]


def test_everything_fits_when_there_is_room():
    out = pack("q?", passages(10, 10), [], build, WordCounter(), n_ctx=1000, max_tokens=100)
    assert [p.n for p in out.passages] == [1, 2] and out.cut == []
    assert out.prompt_tokens <= out.budget == 1000 - 100 - SAFETY_TOKENS


def test_passages_that_do_not_fit_are_reported_not_lost():
    # budget = 300 - 100 - 16 = 184; base prompt ~8 tokens; each passage costs size + 4
    out = pack("q?", passages(100, 100, 30), [], build, WordCounter(), n_ctx=300, max_tokens=100)
    assert [p.n for p in out.passages] == [1, 3]
    assert [p.n for p in out.cut] == [2]
    assert out.prompt_tokens <= out.budget


def test_answer_room_is_reserved():
    big = pack("q?", passages(180), [], build, WordCounter(), n_ctx=300, max_tokens=100)
    assert big.truncated == 1 and len(big.passages[0].text.split()) < 180
    small_answer = pack("q?", passages(180), [], build, WordCounter(), n_ctx=300, max_tokens=50)
    assert [p.n for p in small_answer.passages] == [1]


def test_history_gives_way_before_the_best_passage():
    history = [("old question " * 20, "old answer " * 20), ("recent question", "recent answer")]
    out = pack("q?", passages(120), history, build, WordCounter(), n_ctx=300, max_tokens=100)
    assert [p.n for p in out.passages] == [1]
    assert out.history_dropped == 1 and out.history == [("recent question", "recent answer")]


def test_a_best_passage_too_long_for_the_window_is_sent_in_part_and_reported():
    out = pack("q?", passages(400), [], build, WordCounter(), n_ctx=300, max_tokens=100)
    assert out.truncated == 1 and [p.n for p in out.passages] == [1]
    assert out.passages[0].text.endswith("…") and out.prompt_tokens <= out.budget


def test_a_smaller_passage_never_takes_the_place_of_a_best_one_too_long():
    # The best passage alone is over the budget; the runner-up would fit whole.
    out = pack("q?", passages(400, 20), [], build, WordCounter(), n_ctx=300, max_tokens=100)
    assert [p.n for p in out.passages] == [1] and out.truncated == 1
    assert [p.n for p in out.cut] == [1, 2]


def test_a_long_best_passage_is_sent_around_its_evidence_with_its_opening_sentence():
    opening = "Dana Whitfield is the site manager."
    filler = " ".join(f"f{i}" for i in range(300))
    evidence = "She approves badges for stays over one week."
    text = f"{opening} {filler} {evidence} {filler.replace('f', 'g')}"
    start = text.index(evidence)
    ps = [PromptPassage(1, "f.txt", text)]
    out = pack("q?", ps, [], build, WordCounter(), n_ctx=300, max_tokens=100,
               focus={1: (start, start + len(evidence))})
    sent = out.passages[0].text
    assert out.truncated == 1 and out.prompt_tokens <= out.budget
    assert sent.startswith(opening) and evidence in sent and "f0 " not in sent
    # Without a focus the beginning is sent, as before.
    plain = pack("q?", ps, [], build, WordCounter(), n_ctx=300, max_tokens=100).passages[0].text
    assert plain.startswith(opening + " f0 f1") and evidence not in plain


def build_with_evidence(question, ps, history):
    """`build`, plus an evidence line for passage 1 that alone is over a 300-token budget."""
    msgs = build(question, ps, history)
    if any(p.n == 1 for p in ps):
        msgs[-1]["content"] += " evidence" * 200
    return msgs


def test_when_no_excerpt_of_the_best_passage_fits_the_runners_up_are_sent():
    # What the prompt adds for passage 1 (its evidence line) alone is over the budget.
    out = pack("q?", passages(400, 20, 30), [], build_with_evidence, WordCounter(), n_ctx=300, max_tokens=100)
    assert [p.n for p in out.passages] == [2, 3] and out.truncated is None
    assert [p.n for p in out.cut] == [1] and out.prompt_tokens <= out.budget


def test_when_no_passage_fits_whole_an_excerpt_of_the_best_runner_up_that_fits_is_sent():
    # Passage 1's evidence line alone is over the budget and passages 2 and 3 are each longer
    # than the budget (SmolLM2 on merged Chinese pages): an excerpt of 2 goes, never no passage.
    ps = passages(400, 500, 500)
    out = pack("q?", ps, [], build_with_evidence, WordCounter(), n_ctx=300, max_tokens=100)
    assert [p.n for p in out.passages] == [2] and out.truncated == 2
    assert 0 < len(out.passages[0].text) < len(ps[1].text)
    assert [p.n for p in out.cut] == [1, 2, 3] and out.prompt_tokens <= out.budget
