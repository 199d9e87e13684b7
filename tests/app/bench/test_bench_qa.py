"""`localkb bench qa`: question selection, scoring helpers, and a real run with the fast model."""

from __future__ import annotations

import json
from pathlib import Path

from app.bench import qa
from app.bench.data import load_squad


def _squad(tmp_path: Path) -> Path:
    paras = [
        ("Cats sleep for about sixteen hours a day and hunt at dusk.", "How many hours a day do cats sleep?", "sixteen"),
        ("The oldest known pet cat was found in a grave on Cyprus.", "Where was the oldest known pet cat found?", "Cyprus"),
        ("Cats were worshipped in ancient Egypt as the goddess Bastet.", "Which goddess was a cat?", "Bastet"),
        ("A group of cats is called a clowder.", "What is a group of cats called?", "clowder"),
        ("House cats share 95.6 percent of their genes with tigers; sixteen is not involved.", "How much DNA do cats share with tigers?", "95.6 percent"),
    ]
    data = {"version": "2.0", "data": [{"title": "Cats", "paragraphs": [
        {"context": c, "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": c.find(a)}]}]}
        for i, (c, q, a) in enumerate(paras)]}]}
    data["data"][0]["paragraphs"][0]["qas"].append(
        {"id": "imp", "question": "What colour are the cats of Mars?", "answers": [], "is_impossible": True})
    path = tmp_path / "cats.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_questions_split_into_answerable_and_removed_paragraph_probes(tmp_path: Path):
    full = load_squad(_squad(tmp_path))
    answerable, probes, documents = qa.split_questions(full, limit=2, unanswerable=2)
    assert [q.id for q in answerable] == ["q0"]  # the limit's impossible question is a probe, not answerable
    assert [p.question.id for p in probes if not p.removed] == ["imp"]
    removed = [p.question for p in probes if p.removed]
    assert [q.id for q in removed] == ["q1", "q2"]
    for q in removed:
        assert not set(q.gold) & set(documents)  # its paragraph is not in the KB
        assert not any(q.answers[0] in text for text in documents.values())
    assert set(answerable[0].gold) <= set(documents)


def test_a_probe_whose_answer_stands_elsewhere_in_the_kb_is_not_used(tmp_path: Path):
    full = load_squad(_squad(tmp_path))
    full.questions[5].answers = ["clowder"]  # now answered by paragraph 3, which stays in
    answerable, probes, _docs = qa.split_questions(full, limit=5, unanswerable=5)
    assert [q.id for q in answerable] == ["q0", "q1", "q2", "q3"]
    assert [p.question.id for p in probes] == ["imp"]  # q4 is dropped: "clowder" stands in q3's paragraph


def test_scoring_helpers():
    assert qa.clean_answer("Sixteen hours [1]. Cats also hunt.\nMore") == "Sixteen hours."
    assert qa.clean_answer("两年[1]。电池除外。") == "两年。"
    assert qa.contains_answer("They sleep about sixteen hours.", ["Sixteen"])
    assert qa.contains_answer("保修期为 两年", ["两年"])
    assert not qa.contains_answer("They sleep a lot.", ["sixteen"])


def test_bench_qa_runs_the_real_services_and_reports_every_figure(tmp_path: Path, embedder, monkeypatch):
    from app.services import library as library_module

    real_init = library_module.LibraryService.__init__
    monkeypatch.setattr(library_module.LibraryService, "__init__",
                        lambda self, settings, **_kw: real_init(self, settings, embedder=embedder))
    out = qa.bench_qa(_squad(tmp_path), limit=3, max_tokens=16, unanswerable=1, builtin="smollm2-135m", details=True)
    assert out["answerable"] == 2 and out["unanswerable"] == 2 and out["unanswerable_removed_paragraph"] == 1
    assert out["model"].endswith(".gguf") and "smollm" in out["model"].lower()
    for key in ("exact_match", "f1", "quote_contains_answer_pct", "false_not_found_pct", "not_found_on_unanswerable_pct"):
        assert 0 <= out[key] <= 100, key
    assert out["quote_contains_answer_pct"] == 100.0  # one clear sentence per paragraph: the quote must find it
    assert out["quote_at_s_p95"] < out["first_token_at_s_p95"] or out["first_token_at_s_p95"] is None
    assert out["peak_rss_mb"] > 100
    assert len(out["details"]) == 4 and all("quote" in row for row in out["details"])
