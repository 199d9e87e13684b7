"""Adaptive fusion: language coverage and per-query confidence decide the weights."""

from app.rag.fusion import fuse, fusion_weights


def test_uncovered_language_leaves_keyword_in_charge():
    # The dense retriever (an English embedder on a Chinese query) ranks junk first and is confident about it.
    dense = [("junk", 0.9), ("gold", 0.2), ("b", 0.19), ("c", 0.18), ("d", 0.17)]
    keyword = [("gold", 12.0), ("junk", 3.0), ("b", 2.5), ("c", 2.0)]
    ranked, weights = fuse(dense, keyword, covered=False)
    assert ranked[0][0] == "gold"
    assert weights.keyword > 0.85 and not weights.covered


def test_covered_language_lets_a_confident_dense_retriever_win():
    dense = [("gold", 0.8), ("a", 0.3), ("b", 0.29), ("c", 0.28), ("d", 0.27)]
    keyword = [("a", 5.0), ("gold", 4.9), ("b", 4.8), ("c", 4.7)]  # flat: keyword is guessing
    ranked, weights = fuse(dense, keyword, covered=True)
    assert ranked[0][0] == "gold"
    assert weights.dense > weights.keyword


def test_confidence_shifts_weight_towards_the_sure_retriever():
    sure = fusion_weights(dense_confidence=4.0, keyword_confidence=1.0, covered=True)
    unsure = fusion_weights(dense_confidence=1.0, keyword_confidence=4.0, covered=True)
    assert sure.dense > 0.5 > unsure.dense
    assert abs(sure.dense + sure.keyword - 1.0) < 1e-9


def test_one_empty_list_gives_the_other_all_weight():
    ranked, weights = fuse([], [("a", 2.0), ("b", 1.0)], covered=True)
    assert [k for k, _ in ranked] == ["a", "b"] and weights.keyword == 1.0
    ranked, weights = fuse([("a", 0.5)], [], covered=False)
    assert [k for k, _ in ranked] == ["a"] and weights.dense == 1.0
    assert fuse([], [], covered=True)[0] == []


def test_candidate_missing_from_one_list_scores_as_its_worst():
    dense = [("x", 0.9), ("y", 0.5), ("z", 0.1)]
    keyword = [("y", 9.0), ("w", 1.0), ("x", 0.5)]
    ranked = dict(fuse(dense, keyword, covered=True)[0])
    assert ranked["y"] > ranked["w"] and ranked["z"] < ranked["y"]
