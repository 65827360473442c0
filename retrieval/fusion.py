"""Reciprocal-rank fusion of several rankings into one."""

from __future__ import annotations

from collections.abc import Sequence


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
