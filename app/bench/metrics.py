"""Scores: ranking metrics for retrieval, official SQuAD EM/F1 (Chinese scored by character), percentiles."""

from __future__ import annotations

import collections
import math
import re
import string

import numpy as np

def ranking_metrics(ranked_docs: list[list[str]], golds: list[dict[str, float]]) -> dict[str, float]:
    """recall@1/5/10 (any gold document in the top k), MRR@10 and nDCG@10 (graded gains).

    `ranked_docs` holds each question's documents in passage order; a document repeated by a
    later passage counts once, at its first rank.
    """
    n = len(golds)
    if n == 0:
        return {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0}
    r = {1: 0, 5: 0, 10: 0}
    mrr = ndcg = 0.0
    for ranked, gold in zip(ranked_docs, golds):
        unique = list(dict.fromkeys(ranked))[:10]
        first = next((i for i, d in enumerate(unique) if d in gold), None)
        if first is not None:
            for k in r:
                if first < k:
                    r[k] += 1
            mrr += 1.0 / (first + 1)
        dcg = sum((2 ** gold.get(d, 0.0) - 1) / math.log2(i + 2) for i, d in enumerate(unique))
        ideal = sorted(gold.values(), reverse=True)[:10]
        idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg += dcg / idcg if idcg > 0 else 0.0
    return {"recall@1": r[1] / n, "recall@5": r[5] / n, "recall@10": r[10] / n, "mrr@10": mrr / n, "ndcg@10": ndcg / n}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return float(np.percentile(np.asarray(values), q))


_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_PUNCT = set("，。！？；：、“”‘’（）《》【】—…·「」『』")


def normalize_answer(text: str) -> str:
    """Official SQuAD v1.1 normalisation: lower, drop punctuation and articles, squeeze spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation) and ch not in _ZH_PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    """Whitespace tokens of the normalised text; Chinese is scored character by character."""
    norm = normalize_answer(text)
    if _CJK_CHAR.search(norm):
        out: list[str] = []
        for piece in norm.split():
            buf = ""
            for ch in piece:
                if _CJK_CHAR.match(ch):
                    if buf:
                        out.append(buf)
                        buf = ""
                    out.append(ch)
                else:
                    buf += ch
            if buf:
                out.append(buf)
        return out
    return norm.split()


def exact_match(prediction: str, truths: list[str]) -> float:
    p = "".join(answer_tokens(prediction)) if _CJK_CHAR.search(prediction) else normalize_answer(prediction)
    for t in truths:
        tt = "".join(answer_tokens(t)) if _CJK_CHAR.search(t) else normalize_answer(t)
        if p == tt:
            return 1.0
    return 0.0


def f1_score(prediction: str, truths: list[str]) -> float:
    best = 0.0
    pred = answer_tokens(prediction)
    for truth in truths:
        gold = answer_tokens(truth)
        common = collections.Counter(pred) & collections.Counter(gold)
        same = sum(common.values())
        if same == 0 or not pred or not gold:
            continue
        precision, recall = same / len(pred), same / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best
