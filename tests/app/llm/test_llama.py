"""The llama.cpp chat model: loading errors, template choice, streaming and cancellation."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ModelError
from app.llm.llama import ChatModel, check_gguf, default_model_path
from ingest.progress import CancelToken

MESSAGES = [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Name three colours."}]


@pytest.fixture(scope="module")
def model():
    m = ChatModel(n_ctx=1024, max_tokens=24, temperature=0.0)
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
    truncated.write_bytes(default_model_path().read_bytes()[:4096])
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
    m = ChatModel(chat_template="alpaca", n_ctx=512, max_tokens=8)
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
