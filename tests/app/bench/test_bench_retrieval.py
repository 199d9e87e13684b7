"""Benchmarks: SQuAD metrics, ranking metrics, data loaders, and tiny end-to-end retrieval runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.bench import data, metrics, retrieval


def test_squad_normalisation_matches_the_official_script():
    assert metrics.normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert metrics.exact_match("the Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert metrics.exact_match("Broncos", ["Denver Broncos"]) == 0.0
    # official v1.1: F1 over whitespace tokens after normalisation, best over the gold answers
    assert metrics.f1_score("Denver Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert metrics.f1_score("the Broncos of Denver", ["Denver Broncos"]) == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert metrics.f1_score("Carolina", ["Denver Broncos"]) == 0.0
    assert metrics.f1_score("", ["Denver Broncos"]) == 0.0


def test_chinese_answers_are_scored_by_character():
    assert metrics.answer_tokens("北京大学，") == ["北", "京", "大", "学"]
    assert metrics.exact_match("北京大学。", ["北京大学"]) == 1.0
    assert metrics.f1_score("北京", ["北京大学"]) == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert metrics.answer_tokens("2008年 Olympic") == ["2008", "年", "olympic"]


def test_ranking_metrics_count_a_gold_document_once_at_its_first_rank():
    ranked = [["a", "a", "b"], ["x", "y", "gold2", "z"], ["n"] * 3]
    golds = [{"a": 1.0}, {"gold2": 1.0}, {"m": 1.0}]
    m = metrics.ranking_metrics(ranked, golds)
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx((1 + 1 / 3) / 3)
    graded = metrics.ranking_metrics([["b", "a"]], [{"a": 2.0, "b": 1.0}])
    assert 0 < graded["ndcg@10"] < 1
    assert metrics.ranking_metrics([["a", "b"]], [{"a": 2.0, "b": 1.0}])["ndcg@10"] == pytest.approx(1.0)


def _squad(tmp_path: Path) -> Path:
    data = {"version": "1.1", "data": [
        {"title": "Cats", "paragraphs": [
            {"context": "Cats sleep for about sixteen hours a day and hunt at dusk.",
             "qas": [{"id": "q1", "question": "How many hours a day do cats sleep?", "answers": [{"text": "sixteen", "answer_start": 20}]}]},
            {"context": "The oldest known pet cat was found in a grave on Cyprus.",
             "qas": [{"id": "q2", "question": "Where was the oldest known pet cat found?", "answers": [{"text": "Cyprus", "answer_start": 49}]}]}]},
        {"title": "Rivers", "paragraphs": [
            {"context": "The Danube flows through ten countries before reaching the Black Sea.",
             "qas": [{"id": "q3", "question": "Into which sea does the Danube flow?", "answers": [{"text": "the Black Sea", "answer_start": 55}]}]}]},
    ]}
    path = tmp_path / "mini-squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _beir(tmp_path: Path) -> Path:
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    corpus = [{"_id": "d1", "title": "Cats", "text": "Cats sleep for about sixteen hours a day."},
              {"_id": "d/2", "title": "Rivers", "text": "The Danube flows into the Black Sea."},
              {"_id": "d3", "title": "", "text": "Volcanoes erupt when magma rises to the surface."}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus), encoding="utf-8")
    queries = [{"_id": "1", "text": "how long do cats sleep"}, {"_id": "2", "text": "where does the Danube end"},
               {"_id": "3", "text": "no judgements for this one"}]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries), encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t2\n2\td/2\t1\n2\td3\t0\n", encoding="utf-8")
    return root


def test_loaders_read_squad_and_beir(tmp_path: Path):
    ds = data.load_squad(_squad(tmp_path))
    assert len(ds.documents) == 3 and len(ds.questions) == 3
    limited = data.load_squad(_squad(tmp_path), limit=1)
    assert len(limited.questions) == 1 and len(limited.documents) == 2  # the touched article only
    b = data.load_beir(_beir(tmp_path))
    assert [q.id for q in b.questions] == ["1", "2"]
    assert b.questions[1].gold == {"d/2": 1.0}
    with pytest.raises(Exception, match="BEIR"):
        data.load_beir(tmp_path)


def test_bench_retrieval_runs_the_real_pipeline_on_tiny_data(tmp_path: Path, embedder, monkeypatch):
    from app.services import library as library_module

    real_init = library_module.LibraryService.__init__

    def shared_embedder(self, settings, **_kw):
        real_init(self, settings, embedder=embedder)

    monkeypatch.setattr(library_module.LibraryService, "__init__", shared_embedder)
    home = tmp_path / "home-before"
    monkeypatch.setenv("LOCALKB_HOME", str(home))
    out = retrieval.bench_retrieval(_squad(tmp_path), "squad")
    assert out["questions"] == 3 and out["documents"] == 3 and out["chunks"] >= 3
    assert out["recall@5"] == 1.0 and out["mrr@10"] > 0.6
    assert out["latency_p95_ms"] > 0 and out["ingest_chunks_per_s"] > 0
    beir = retrieval.bench_retrieval(_beir(tmp_path), "beir")
    assert beir["questions"] == 2 and beir["recall@1"] == 1.0 and beir["ndcg@10"] == pytest.approx(1.0)
    import os
    assert os.environ["LOCALKB_HOME"] == str(home)  # restored


def test_cli_bench_retrieval_json(tmp_path: Path, capsys, monkeypatch, embedder):
    from app.cli import run
    from app.services import library as library_module

    real_init = library_module.LibraryService.__init__
    monkeypatch.setattr(library_module.LibraryService, "__init__",
                        lambda self, settings, **_kw: real_init(self, settings, embedder=embedder))
    assert run(["bench", "retrieval", str(_squad(tmp_path)), "--limit", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["questions"] == 2 and "recall@10" in doc and "ndcg@10" in doc


def test_bench_scale_times_queries_and_reports_memory_while_answering(tmp_path: Path):
    from app.settings import Settings

    settings = Settings()
    settings.model.builtin = "smollm2-135m"
    settings.model.max_tokens = 16
    out = retrieval.bench_scale(_squad(tmp_path), chunks=80, queries=2, settings=settings, answers=1)
    assert out["chunks"] >= 40 and out["queries"] == 2 and out["latency_p95_ms"] > 0
    assert len(out["answers"]) == 1 and out["answers"][0]["quote_at_s"] is not None
    assert out["model"].endswith(".gguf") and out["peak_rss_mb"] > 100
    assert "cold_open_error" not in out, out.get("cold_open_error")
    assert 0 < out["cold_open_s"] < out["cold_open_then_search_s"]
