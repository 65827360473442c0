"""Small evaluation helpers for the classifiers: per-label precision/recall and confusion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LabelScore:
    """Counts and rates for one label (``None`` = "nothing flagged" is never a label here)."""

    label: Hashable
    gold: int  # items whose gold is this label
    predicted: int  # items predicted as this label
    correct: int

    @property
    def precision(self) -> float:
        """Share of predictions of this label that are right (1.0 when nothing was predicted)."""
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of gold items of this label that were found (1.0 when there were none)."""
        return self.correct / self.gold if self.gold else 1.0


def label_score(gold: Sequence[Hashable], predicted: Sequence[Hashable],
                label: Hashable) -> LabelScore:
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} items, predicted {len(predicted)}")
    pairs = list(zip(gold, predicted, strict=True))
    return LabelScore(label, sum(g == label for g, _ in pairs), sum(p == label for _, p in pairs),
                      sum(g == p == label for g, p in pairs))


def flag_score(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> LabelScore:
    """Any flag (not None) as one label: right when gold is flagged and the very same label was
    predicted; a wrong label counts as a miss and a false flag."""
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} items, predicted {len(predicted)}")
    pairs = list(zip(gold, predicted, strict=True))
    return LabelScore("any", sum(g is not None for g, _ in pairs),
                      sum(p is not None for _, p in pairs),
                      sum(g is not None and g == p for g, p in pairs))


def accuracy(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} items, predicted {len(predicted)}")
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 1.0


def confusion(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> Counter[tuple]:
    """(gold, predicted) → count."""
    return Counter(zip(gold, predicted, strict=True))
