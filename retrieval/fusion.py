"""Fusing the dense and the lexical ranking into one.

Two methods, chosen in settings (``COPILOT_FUSION``) and compared by ``bench/retrieval_bench.py``:

- ``linear`` (default): ``alpha · dense' + (1 − alpha) · bm25'`` where ``dense'`` is the cosine
  min-max scaled over the candidates and ``bm25'`` the BM25 score divided by the best one. It
  keeps how far apart the scores are, which rank fusion throws away; on the Beijing Q/A
  benchmark it beats reciprocal-rank fusion and both single methods.
- ``rrf``: reciprocal-rank fusion, ``Σ w_i / (k + rank_i)``, weights ``alpha`` and ``1 − alpha``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

FusionMethod = Literal["linear", "rrf"]


@dataclass(frozen=True)
class FusionOptions:
    method: FusionMethod = "linear"
    alpha: float = 0.7  # share of the dense side
    rrf_k: int = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], weights: Sequence[float], k: int = 60
) -> dict[int, float]:
    """``sum_i w_i / (k + rank_i(d))`` for every item ``d`` in any ranking (ranks from 1)."""
    if len(rankings) != len(weights):
        raise ValueError("give one weight per ranking")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


def linear_fusion(
    dense: Mapping[int, float], lexical: Mapping[int, float], alpha: float,
    floor: float | None = None,
) -> dict[int, float]:
    """``alpha · minmax(dense) + (1 − alpha) · lexical / max(lexical)`` over the items of
    ``dense`` (every candidate must have a dense score; a missing lexical score counts 0).

    ``floor`` is the dense score that scales to 0 (the dense side's last candidate); lower
    scores (candidates found only by the lexical side) are clipped to it, so they do not
    stretch the scale of the dense side.
    """
    if not dense:
        return {}
    low = min(dense.values()) if floor is None else floor
    high = max(dense.values())
    span = high - low if high > low else 1.0
    top_lexical = max(lexical.values(), default=0.0) or 1.0
    return {item: alpha * (max(score, low) - low) / span
            + (1 - alpha) * lexical.get(item, 0.0) / top_lexical
            for item, score in dense.items()}


def fuse(dense: Mapping[int, float], lexical: Mapping[int, float],
         options: FusionOptions, floor: float | None = None) -> dict[int, float]:
    """One fused score per candidate (the keys of ``dense``)."""
    if options.method == "linear":
        return linear_fusion(dense, lexical, options.alpha, floor)
    rankings = [sorted(dense, key=lambda d: -dense[d]),
                sorted(lexical, key=lambda d: -lexical[d])]
    fused = reciprocal_rank_fusion(rankings, [options.alpha, 1 - options.alpha], options.rrf_k)
    return {d: fused.get(d, 0.0) for d in dense}
