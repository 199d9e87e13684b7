"""ChatService: not-found answers, cited answers, model knowledge, follow-ups, cancellation."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.llm.llama import ChatModel
from app.rag import prompts
from app.services.chat import ChatService, Source, map_citations
from app.settings import Settings
from ingest.progress import CancelToken
from tests.app.rag.fakes import BagOfWordsEmbedder, FakeKB


class FakeLibrary:
    def __init__(self, kbs: dict[str, FakeKB], embedder) -> None:
        self.kbs, self._embedder = kbs, embedder

    def open_kb(self, name: str) -> FakeKB:
        return self.kbs[name]

    def embedder(self):
        return self._embedder


class ExplodingModel:
    """A model that must not be used: not-found answers never touch the LLM."""

    state = "not loaded"
    n_ctx, max_tokens = 2048, 128

    def __getattr__(self, name):
        raise AssertionError(f"the model was used ({name})")


@pytest.fixture(scope="module")
def smol():
    m = ChatModel(builtin="smollm2-135m", n_ctx=2048, max_tokens=48, temperature=0.0)
    m.load()
    yield m
    m.close()


def _library():
    emb = BagOfWordsEmbedder()
    kb = FakeKB("hr", {"/docs/leave.txt": "Employees get 25 days of paid annual leave per year.",
                       "/docs/travel.txt": "Travel expenses are reimbursed within 30 days of the trip."}, emb)
    return FakeLibrary({"hr": kb}, emb)


def test_question_outside_the_documents_gets_an_honest_not_found():
    chat = ChatService(Settings(), _library(), model=ExplodingModel())
    streamed: list[str] = []
    answer = chat.ask("What is the boiling point of mercury?", ["hr"], on_token=streamed.append)
    assert answer.not_found and not answer.from_model_knowledge
    assert answer.text == prompts.NOT_FOUND["en"] == "".join(streamed)
    assert answer.sources == []
    zh = chat.ask("水银的沸点是多少？", ["hr"])
    assert zh.not_found and zh.text == prompts.NOT_FOUND["zh"]


def test_not_found_can_answer_from_model_knowledge_clearly_marked(smol):
    settings = Settings()
    settings.answer.when_not_found = "model_knowledge"
    chat = ChatService(settings, _library(), model=smol)
    answer = chat.ask("What is the boiling point of mercury?", ["hr"])
    assert answer.not_found and answer.from_model_knowledge
    assert answer.text.startswith(prompts.MODEL_KNOWLEDGE_LABEL["en"])
    assert answer.sources == []


def test_answer_streams_and_returns_its_sources(smol):
    chat = ChatService(Settings(), _library(), model=smol)
    pieces: list[str] = []
    answer = chat.ask("How many days of annual leave do employees get?", ["hr"], on_token=pieces.append)
    assert "".join(pieces).strip() == answer.model_text  # the stream is the model's text...
    assert len(answer.sentences) >= 1  # ...and the final text is its citation-checked version
    assert answer.sources and answer.sources[0].path in {"/docs/leave.txt", "/docs/travel.txt"}
    assert any(s.path == "/docs/leave.txt" for s in answer.sources)
    assert answer.sources[0].n >= 1 and answer.sources[0].snippet
    assert answer.timings["ttft_s"] > 0 and answer.cut_passages == 0


def test_passages_that_do_not_fit_are_reported(smol):
    settings = Settings()
    settings.model.n_ctx = 512
    settings.model.max_tokens = 64
    emb = BagOfWordsEmbedder()
    long = "Annual leave rules. " + "Employees accrue annual leave days monthly. " * 25
    kb = FakeKB("hr", {f"/docs/leave{i}.txt": long + f" Version {i}." for i in range(4)}, emb)
    model = ChatModel(builtin="smollm2-135m", n_ctx=512, max_tokens=64, temperature=0.0)
    chat = ChatService(settings, FakeLibrary({"hr": kb}, emb), model=model)
    try:
        answer = chat.ask("annual leave days", ["hr"])
    finally:
        model.close()
    assert answer.cut_passages >= 1 and len(answer.cut_sources) == answer.cut_passages
    assert {s.path for s in answer.sources}.isdisjoint({s.path for s in answer.cut_sources})
    assert answer.timings["prompt_tokens"] + 64 <= 512


def test_follow_up_is_rewritten_for_retrieval(smol):
    chat = ChatService(Settings(), _library(), model=smol)
    answer = chat.ask("And how fast are they reimbursed?", ["hr"],
                      history=[("What about travel expenses?", "Travel expenses are reimbursed [1].")])
    assert answer.standalone_question and answer.standalone_question != "And how fast are they reimbursed?"
    assert any(s.path == "/docs/travel.txt" for s in answer.sources)


def test_a_follow_up_shows_its_quote_before_the_model_rewrites_it(smol):
    order = []

    class Watched:
        """The model, noting when it is first asked to write (the rewrite of the follow-up)."""

        def __getattr__(self, name):
            return getattr(smol, name)

        def stream(self, *args, **kwargs):
            order.append("model writes")
            return smol.stream(*args, **kwargs)

    chat = ChatService(Settings(), _library(), model=Watched())
    answer = chat.ask("And how fast are they reimbursed?", ["hr"],
                      history=[("What about travel expenses?", "Travel expenses are reimbursed [1].")],
                      on_event=lambda e: order.append(e.quote.text) if e.kind == "quote" else None)
    assert order[0] != "model writes" and "30 days" in order[0]  # the quote came first
    assert "model writes" in order
    assert answer.quote is not None and "30 days" in answer.quote.text
    assert answer.timings["quote_at_s"] < answer.timings["rewrite_s"] + answer.timings["retrieve_s"]


def test_cancel_stops_the_answer_within_one_token(smol):
    chat = ChatService(Settings(), _library(), model=smol)
    cancel = CancelToken()
    seen: list[str] = []

    def on_token(piece):
        seen.append(piece)
        if len(seen) == 1:
            cancel.cancel()

    answer = chat.ask("How many days of annual leave do employees get?", ["hr"], on_token=on_token, cancel=cancel)
    assert answer.cancelled and len(seen) == 1


def test_citations_map_answer_sentences_to_sources():
    sources = [Source(i, "kb", f"/d{i}", None, (), "s", "t", 0.5, 0, 1) for i in (1, 2, 3)]
    ordered = map_citations("Leave is 25 days [2]. Travel is paid [1, 2]. Nothing else.", sources)
    assert [s.n for s in ordered] == [1, 2, 3]
    assert ordered[1].supports == ["Leave is 25 days [2].", "Travel is paid [1, 2]."]
    assert ordered[2].supports == []


def test_model_state_reports_loading_progress(tmp_path: Path):
    settings = Settings()
    settings.model.model_path = str(tmp_path / "missing.gguf")
    chat = ChatService(settings, _library())
    assert chat.model_state() == "not loaded"
    with pytest.raises(Exception):
        chat.load_model()
    assert chat.model_state().startswith("error: ") and "not found" in chat.model_state()
