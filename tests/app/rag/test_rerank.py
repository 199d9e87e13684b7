"""The optional cross-encoder: loads from a local folder, scores pairs; a bad folder is a ModelError."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ModelError
from app.rag.rerank import CrossEncoderReranker
from app.rag.retrieve import Retriever
from tests.app.rag.fakes import BagOfWordsEmbedder, FakeKB


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-ce")
    words = "annual leave days employees get travel expenses reimbursed how many are the of".split()
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(vocab))
    config = BertConfig(vocab_size=len(words) + 5, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=1)
    model = BertForSequenceClassification(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_tiny_cross_encoder_loads_and_scores(tiny_cross_encoder: Path):
    rr = CrossEncoderReranker(tiny_cross_encoder)
    scores = rr.scores("annual leave days", ["employees get annual leave", "travel expenses"])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    assert rr.scores("q", []) == []


def test_reranker_orders_retrieved_passages_and_scores_them_0_to_1(tiny_cross_encoder: Path):
    emb = BagOfWordsEmbedder()
    kb = FakeKB("hr", {"/a.txt": "Employees get annual leave days.", "/b.txt": "Travel expenses are reimbursed."}, emb)
    r = Retriever(emb, top_k=5, score_threshold=0.0, reranker=CrossEncoderReranker(tiny_cross_encoder))
    passages = r.search("annual leave travel", [kb]).passages
    assert passages and all(0.0 <= p.score <= 1.0 for p in passages)
    assert [p.rank_score for p in passages] == sorted((p.rank_score for p in passages), reverse=True)


def test_missing_or_broken_reranker_folder_is_a_model_error(tmp_path: Path):
    with pytest.raises(ModelError, match="not found"):
        CrossEncoderReranker(tmp_path / "nope")
    (tmp_path / "broken").mkdir()
    with pytest.raises(ModelError, match="Cannot load reranker"):
        CrossEncoderReranker(tmp_path / "broken").scores("q", ["t"])
