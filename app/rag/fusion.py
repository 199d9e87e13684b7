"""Adaptive fusion of dense and keyword candidates, decided per query.

Plain reciprocal-rank fusion and fixed-weight score fusion both assume the two retrievers are
equally trustworthy on every query.  They are not: an English embedder knows next to nothing about
a Chinese question, and either retriever may be sure of itself on one query and guessing on the
next.  So each query gets its own weights, from two signals that need no training data:

- language coverage: when the embedder's languages (`Embedder.languages`) do not include the
  query's language, its vote is scaled down to `UNCOVERED_WEIGHT`;
- confidence: how far a retriever's best candidate stands above the rest of its own candidate
  list, in standard deviations.  A flat list means the retriever is guessing.

Scores are z-normalised per retriever and per query (raw cosines and BM25 scores live on unrelated
scales), mixed with those weights, and the mix decides the order.  Measurements that chose these
constants: `localkb bench retrieval` on SQuAD v1.1 dev and CMRC 2018 trial (see tests/app/rag and the
issue 3 note): language coverage alone recovers Chinese from the fixed-fusion loss, confidence adds
MRR on both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Sequence

# Weight left to a retriever whose model does not cover the query's language.
UNCOVERED_WEIGHT = 0.1
# Prior share of the dense retriever when both cover the query and are equally confident.
DENSE_PRIOR = 0.5
# Confidence is the square root of the top candidate's z-score (the root damps outliers: a
# retriever that is very sure should lead, not rule); the floor keeps a flat list from zero weight.
MIN_CONFIDENCE = 0.25


@dataclass(frozen=True)
class FusionWeights:
    dense: float
    keyword: float
    dense_confidence: float
    keyword_confidence: float
    covered: bool


def _zscores(scored: Sequence[tuple[Hashable, float]]) -> tuple[dict[Hashable, float], float]:
    """z-scores of a candidate list and the top candidate's z (the list's confidence)."""
    if not scored:
        return {}, 0.0
    values = [s for _, s in scored]
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    sd = math.sqrt(var)
    if sd < 1e-9:
        return {key: 0.0 for key, _ in scored}, 0.0
    z = {key: (s - mean) / sd for key, s in scored}
    return z, (max(values) - mean) / sd


def fusion_weights(dense_confidence: float, keyword_confidence: float, covered: bool,
                   has_dense: bool = True, has_keyword: bool = True) -> FusionWeights:
    wd = DENSE_PRIOR * (1.0 if covered else UNCOVERED_WEIGHT) * math.sqrt(max(dense_confidence, MIN_CONFIDENCE))
    wk = (1.0 - DENSE_PRIOR) * math.sqrt(max(keyword_confidence, MIN_CONFIDENCE))
    if not has_dense:
        wd = 0.0
    if not has_keyword:
        wk = 0.0
    total = wd + wk
    if total <= 0:
        wd, wk = (1.0, 0.0) if has_dense else (0.0, 1.0)
        total = 1.0
    return FusionWeights(wd / total, wk / total, dense_confidence, keyword_confidence, covered)


def fuse(dense: Sequence[tuple[Hashable, float]], keyword: Sequence[tuple[Hashable, float]],
         covered: bool, keyword_complete: bool = False) -> tuple[list[tuple[Hashable, float]], FusionWeights]:
    """Order the union of both candidate lists by adaptively weighted z-scores.

    `dense` holds (key, cosine), `keyword` (key, BM25 score), each in any order.  A candidate
    missing from one list scores as that list's worst -- it was not among that retriever's top
    candidates -- except that when `keyword_complete` says the keyword list holds every chunk
    matching any query term, a missing candidate matched no term at all and its BM25 is 0.
    Returns (key, fused z) best first and the weights used.
    """
    keyword = list(keyword)
    missing_kw = [k for k, _ in dense if k not in dict(keyword)] if keyword_complete and keyword else []
    # Known zeros join the keyword distribution, so a few true matches stand out as they should.
    zk, conf_k = _zscores(keyword + [(k, 0.0) for k in missing_kw])
    zd, conf_d = _zscores(dense)
    weights = fusion_weights(conf_d, conf_k, covered, bool(dense), bool(keyword))
    floor_d = min(zd.values()) if zd else 0.0
    floor_k = min(zk.values()) if zk else 0.0
    fused = {
        key: weights.dense * zd.get(key, floor_d) + weights.keyword * zk.get(key, floor_k)
        for key in list(zd) + [k for k in zk if k not in zd]
    }
    ranked = sorted(fused.items(), key=lambda kv: -kv[1])
    return ranked, weights
