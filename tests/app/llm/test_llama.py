"""The llama.cpp chat model: loading errors, template choice, streaming and cancellation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.errors import ModelError
from app.llm.llama import ChatModel, check_gguf, default_model_path
from ingest.progress import CancelToken

MESSAGES = [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Name three colours."}]


@pytest.fixture(scope="module")
def model():
    m = ChatModel(builtin="smollm2-135m", n_ctx=1024, max_tokens=24, temperature=0.0)
    m.load()
    yield m
    m.close()


def test_missing_and_non_gguf_files_fail_with_actionable_words(tmp_path: Path):
    with pytest.raises(ModelError, match="not found"):
        ChatModel(tmp_path / "nope.gguf").load()
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    m = ChatModel(fake)
    with pytest.raises(ModelError, match="not a GGUF"):
        m.load()
    assert m.state.startswith("error: ")
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(default_model_path("smollm2-135m").read_bytes()[:4096])
    with pytest.raises(ModelError, match="could not load"):
        ChatModel(truncated, n_ctx=512).load()
    with pytest.raises(ModelError, match="folder"):
        check_gguf(tmp_path)


def test_default_model_uses_the_template_in_its_metadata(model):
    assert model.state == "ready"
    assert model.template_source == "gguf"
    tokens, stop, _ = model.render(MESSAGES)
    assert len(tokens) > 5 and model.count_tokens("hello world") >= 2


def test_named_fallback_template_is_used_when_chosen():
    m = ChatModel(builtin="smollm2-135m", chat_template="alpaca", n_ctx=512, max_tokens=8)
    try:
        m.load()
        assert m.template_source == "alpaca"
        tokens, _, _ = m.render(MESSAGES)
        text = m.load().detokenize(tokens).decode("utf-8", "replace")
        assert "### Instruction" in text and "### Response" in text
    finally:
        m.close()


def test_streams_tokens_and_reuses_the_cached_prompt(model):
    pieces: list[str] = []
    first = model.stream(MESSAGES, on_token=pieces.append, max_tokens=8)
    assert first.tokens == len(pieces) > 0 and "".join(pieces) == first.text
    assert first.ttft_s is not None and first.ttft_s > 0
    second = model.stream(MESSAGES, max_tokens=4)
    # Same system prompt and question: everything but the last token comes from the cache.
    assert second.cached_tokens >= second.prompt_tokens - 1


def test_cancel_stops_within_one_token(model):
    cancel = CancelToken()
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 2:
            cancel.cancel()

    gen = model.stream([{"role": "user", "content": "Count from one to fifty in words."}], on_token=on_token,
                       cancel=cancel, max_tokens=60)
    assert gen.cancelled
    assert len(seen) == 2  # no token after the one during which cancel was set
    assert gen.tokens == 2


def test_cancel_before_start_generates_nothing(model):
    cancel = CancelToken()
    cancel.cancel()
    gen = model.stream(MESSAGES, cancel=cancel)
    assert gen.cancelled and gen.tokens == 0


LONG = [{"role": "system", "content": "You answer from the passage."},
        {"role": "user", "content": "Passage: " + " ".join(f"Room {i} is on floor {i % 7}." for i in range(60))
         + "\nQuestion: Which floor is room 12 on?"}]


def _next_token_logits(llm) -> np.ndarray:
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()


def test_prompt_progress_is_reported_and_reads_the_same_prompt(model):
    from app.llm.llama import _prefill

    model.close()  # a cold cache, so the whole prompt is evaluated, in steps
    seen: list[tuple[int, int]] = []
    gen = model.stream(LONG, max_tokens=4, temperature=0.0, on_prompt=lambda d, t: seen.append((d, t)))
    total = gen.prompt_tokens
    assert total > 300 and seen[0] == (0, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (total - 1, total)
    assert len(seen) >= 3  # several steps: the user sees it move
    # Stepwise evaluation computes what one pass computes (up to float rounding from other batch
    # shapes): the next-token distribution after the prompt matches.
    llm = model.load()
    tokens = model.render(LONG)[0]
    llm.reset()
    llm.eval(tokens)
    whole = _next_token_logits(llm)
    llm.reset()
    assert _prefill(llm, tokens, 0, lambda d, t: None, None)
    llm.eval(tokens[-1:])
    stepped = _next_token_logits(llm)
    assert int(np.argmax(whole)) == int(np.argmax(stepped))
    assert np.corrcoef(whole, stepped)[0, 1] > 0.999


def test_cancel_while_the_prompt_is_read_stops_before_any_token(model):
    model.close()
    cancel = CancelToken()

    def on_prompt(done: int, total: int) -> None:
        if done > 0:
            cancel.cancel()

    gen = model.stream(LONG, on_prompt=on_prompt, cancel=cancel, max_tokens=12)
    assert gen.cancelled and gen.tokens == 0


def test_stop_when_ends_a_generation_as_a_loop(model):
    gen = model.stream([{"role": "user", "content": "Count from one to fifty in words."}], max_tokens=60,
                       stop_when=lambda text: len(text) > 10)
    assert gen.finish_reason == "loop" and 0 < gen.tokens < 60


def test_repeat_penalty_defaults_come_from_the_built_in_model(tmp_path):
    from app.llm import builtin

    assert ChatModel(builtin="smollm2-135m").repeat_penalty == builtin.MODELS["smollm2-135m"].repeat_penalty
    assert ChatModel(builtin="qwen2.5-1.5b").repeat_penalty == builtin.MODELS["qwen2.5-1.5b"].repeat_penalty
    assert ChatModel(tmp_path / "users-own.gguf").repeat_penalty == 1.1
    assert ChatModel(tmp_path / "users-own.gguf", repeat_penalty=1.3).repeat_penalty == 1.3


def test_a_model_small_for_this_computer_is_read_in_and_a_large_or_offloaded_one_stays_mapped():
    from app.llm.llama import keep_mapped

    gib = 1 << 30
    assert not keep_mapped(1 * gib, 0, 24 * gib)  # the built-in 1.5B model on this 24 GiB box
    assert keep_mapped(5 * gib, 0, 8 * gib)  # a 7B model on an 8 GiB laptop: the kernel may page it
    assert keep_mapped(1 * gib, -1, 24 * gib)  # offloaded to a GPU
    assert keep_mapped(1 * gib, 0, None)  # memory unknown: llama.cpp's default
