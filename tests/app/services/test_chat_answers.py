"""What the user reads: the quote before the model, checked citations, loop and echo fallbacks.

A scripted model stands in for llama.cpp so each answer shape is produced exactly; the
retrieval, packing, quoting and checking around it are the real code.
"""

from __future__ import annotations

import pytest

from app.llm.llama import Generation
from app.services.chat import AnswerEvent, ChatService
from app.settings import Settings
from tests.app.rag.fakes import BagOfWordsEmbedder, FakeKB
from tests.app.services.test_chat import FakeLibrary

POLICY = ("The hotel limit is 150 EUR per night in most cities and 220 EUR per night in London and Paris. "
          "Stays above the limit need approval.")
MEALS = "The daily meal allowance is 45 EUR, or 60 EUR in high-cost cities."


class ScriptedModel:
    """Writes a fixed reply token by token; records what the service asked of it."""

    n_ctx, max_tokens = 2048, 128
    path = None
    state = "ready"

    def __init__(self, reply: str) -> None:
        self.reply, self.loaded, self.events = reply, False, []

    def load(self):
        self.loaded = True
        self.events.append("load")

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def prompt_tokens(self, messages: list[dict]) -> int:
        return sum(self.count_tokens(m["content"]) + 4 for m in messages)

    def stream(self, messages, *, on_token=None, cancel=None, on_prompt=None, stop_when=None, **_kw) -> Generation:
        total = self.prompt_tokens(messages)
        self.events.append("prompt")
        if on_prompt is not None:
            on_prompt(0, total)
            on_prompt(total - 1, total)
        gen = Generation(prompt_tokens=total, ttft_s=0.01, total_s=0.02, finish_reason="stop")
        text = ""
        for piece in self.reply.split(" "):
            piece = (" " if text else "") + piece
            text += piece
            gen.tokens += 1
            if on_token is not None:
                on_token(piece)
            if stop_when is not None and stop_when(text):
                gen.finish_reason = "loop"
                break
        gen.text = text
        return gen


def _chat(reply: str) -> tuple[ChatService, ScriptedModel]:
    emb = BagOfWordsEmbedder()
    kb = FakeKB("hr", {"/docs/travel.md": POLICY, "/docs/meals.md": MEALS}, emb)
    model = ScriptedModel(reply)
    return ChatService(Settings(), FakeLibrary({"hr": kb}, emb), model=model), model


def _sources_by_path(answer):
    return {s.path: s.n for s in answer.sources}


def test_the_quote_arrives_before_the_model_is_loaded_or_writes():
    chat, model = _chat("220 EUR per night [1].")
    order: list[str] = []

    def on_event(event: AnswerEvent) -> None:
        order.append(event.kind)
        if event.kind == "quote":
            assert not model.loaded and "prompt" not in model.events
            assert "220 EUR per night in London" in event.quote.text
            src = event.quote.sources[0]
            assert src.path == "/docs/travel.md" and POLICY[src.start:src.end] == event.quote.parts[0]

    answer = chat.ask("What is the hotel limit per night in London?", ["hr"], on_token=lambda _p: order.append("token"),
                      on_event=on_event)
    assert order.index("quote") < order.index("token")
    assert order.count("prompt") >= 2 and order.index("prompt") < order.index("token")
    assert "220" in answer.quote.text and answer.timings["quote_at_s"] <= answer.timings["first_token_at_s"]
    n = _sources_by_path(answer)["/docs/travel.md"]
    assert f"[{n}]" in answer.quote.text  # the quote carries the final source number


def test_a_wrong_citation_is_corrected_and_an_invented_fact_is_marked():
    chat, _ = _chat("PLACEHOLDER")
    answer = chat.ask("What is the hotel limit per night in London?", ["hr"])
    n_policy = _sources_by_path(answer)["/docs/travel.md"]
    wrong = next((s.n for s in answer.sources if s.n != n_policy), n_policy + 1)
    chat._pinned_model.reply = (f"It is 220 EUR per night [{wrong}]. Taxis from the airport cost 95 EUR [{n_policy}].")
    answer = chat.ask("What is the hotel limit per night in London?", ["hr"])
    first, second = answer.sentences
    assert first.status == "corrected" and first.citations == [n_policy]
    assert second.status == "unsupported" and "95" in second.missing
    assert f"220 EUR per night [{n_policy}]." in answer.text
    assert answer.model_text.startswith("It is 220 EUR per night [")


def test_a_looping_model_is_stopped_and_the_quote_shown_instead():
    chat, _ = _chat("The limit applies. " + "Please ask your manager. " * 30)
    tokens: list[str] = []
    answer = chat.ask("What is the hotel limit per night in London?", ["hr"], on_token=tokens.append)
    assert answer.fallback == "loop"
    assert len(tokens) < 40  # stopped early, not at max_tokens
    assert answer.text == answer.quote.text and "220 EUR" in answer.text


def test_an_answer_that_echoes_the_prompt_falls_back_to_the_quote():
    chat, _ = _chat("段落： [1] (travel.md) The hotel limit is 150 EUR 问题： London?")
    answer = chat.ask("What is the hotel limit per night in London?", ["hr"])
    assert answer.fallback == "echo" and answer.text == answer.quote.text


def test_not_found_answers_skip_the_model_and_the_quote():
    chat, model = _chat("never used")
    answer = chat.ask("Who painted the Mona Lisa?", ["hr"])
    assert answer.not_found and answer.quote is None and "prompt" not in model.events


@pytest.mark.parametrize("reply", ["The documents do not contain the answer."])
def test_the_models_own_not_found_is_reported(reply):
    chat, _ = _chat(reply)
    answer = chat.ask("What is the hotel limit per night in London?", ["hr"])
    assert answer.not_found and answer.sentences[0].status == "not_found"


def test_an_answer_no_passage_backs_counts_as_not_found_and_stays_marked():
    chat, _ = _chat("Hotel nights in London are capped at 400 GBP [1].")
    answer = chat.ask("What is the hotel limit per night in London?", ["hr"])
    assert answer.not_found
    assert [s.status for s in answer.sentences] == ["unsupported"] and "400" in answer.sentences[0].missing


def test_passages_about_something_else_give_not_found_naming_what_is_missing():
    chat, model = _chat("220 EUR per night [1].")
    answer = chat.ask("What is the hotel limit per night at Disneyland Tokyo?", ["hr"])
    assert answer.not_found and "prompt" not in model.events and answer.quote is None
    assert answer.text.startswith("The documents do not contain the answer.")
    assert '"Disneyland"' in answer.text and '"Tokyo"' in answer.text
    assert answer.sources  # the closest passages stay visible, so the user can check
    # The user can turn the check off (a strong model handles paraphrase): then the model answers.
    chat.settings.answer.check_question_terms = False
    answer = chat.ask("What is the hotel limit per night at Disneyland Tokyo?", ["hr"])
    assert "prompt" in model.events and not answer.text.startswith("The documents do not contain")


def test_a_tiny_model_gets_no_worked_examples(tmp_path):
    from app.services import chat as chat_mod

    tiny, big = tmp_path / "tiny.gguf", tmp_path / "big.gguf"
    tiny.write_bytes(b"x" * 1024)
    with open(big, "wb") as f:  # sparse: the size counts, not the bytes
        f.truncate(chat_mod.EXAMPLES_MIN_MODEL_BYTES)
    seen = {}
    for path in (tiny, big):
        chat, model = _chat("220 EUR per night [1].")
        model.path = path
        real_stream = model.stream

        def stream(messages, _real=real_stream, _p=path, **kw):
            seen[_p.name] = len(messages)
            return _real(messages, **kw)

        model.stream = stream
        chat.ask("What is the hotel limit per night in London?", ["hr"])
    assert seen == {"tiny.gguf": 2, "big.gguf": 8}  # system + 3 worked turns + the question


def _record_prompts(model: ScriptedModel) -> list[str]:
    """The last message of every prompt `model` is given, in order."""
    seen: list[str] = []
    real = model.stream

    def stream(messages, **kw):
        seen.append(messages[-1]["content"])
        return real(messages, **kw)

    model.stream = stream
    return seen


def test_the_model_reads_the_best_passage_last_with_the_quoted_sentence_named():
    chat, model = _chat("220 EUR per night [1].")
    seen = _record_prompts(model)
    chat.settings.retrieval.score_threshold = 0.0  # both passages reach the model
    answer = chat.ask("What is the hotel limit per night in London?", ["hr"])
    prompt = seen[-1]
    n = _sources_by_path(answer)["/docs/travel.md"]
    assert n == 1 and len(answer.sources) == 2
    # Passage [1] (the best) comes after [2], right before the evidence line and the question.
    assert prompt.index("[2] (") < prompt.index("[1] (")
    evidence = prompt.split("Most relevant sentence", 1)[1]
    assert "220 EUR per night in London" in evidence and evidence.split("\n\nQuestion:")[0].rstrip().endswith("[1]")


def test_an_evidence_line_that_leaves_no_room_for_any_passage_is_left_out_not_the_passages():
    # SmolLM2 on a CMRC page: the quoted sentence alone filled the prompt budget and the question
    # failed with "leave no room for any passage".  The passage must still reach the model.
    from app.rag import prompts
    from app.rag.budget import SAFETY_TOKENS

    long_sentence = ("In London the hotel limit is 220 EUR per night for every employee on any approved "
                     "business trip whatever the season the length of the stay or the booking channel "
                     "used and whether or not a client pays for part of it in the end")
    policy = "Travel policy. " + long_sentence + ". " + "Other rules apply to meals and taxis. " * 10
    emb = BagOfWordsEmbedder()
    model = ScriptedModel("220 EUR per night [1].")
    chat = ChatService(Settings(), FakeLibrary({"hr": FakeKB("hr", {"/docs/travel.md": policy}, emb)}, emb),
                       model=model)
    question = "What is the hotel limit per night in London?"
    base = model.prompt_tokens(prompts.answer_messages(question, [], [], "en", chat.settings.answer))
    # Room for a 45-word excerpt of the passage, but not for it beside the 50-word evidence line.
    model.n_ctx = base + 45 + model.max_tokens + SAFETY_TOKENS
    seen = _record_prompts(model)
    answer = chat.ask(question, ["hr"])
    assert answer.quote is not None and "220 EUR" in answer.quote.text
    assert seen and "Most relevant sentence" not in seen[-1] and "220 EUR" in seen[-1]
    assert [s.path for s in answer.sources] == ["/docs/travel.md"] and answer.timings["truncated_passage"]
    assert not answer.not_found and answer.timings["prompt_tokens"] + model.max_tokens <= model.n_ctx
