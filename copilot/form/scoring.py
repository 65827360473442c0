"""Per-field scoring of filled forms against annotated ones (used by the bench and tests)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from copilot.form.fields import FIELD_NAMES
from copilot.form.text import halfwidth

_DROP = re.compile(r"[\s·•.,，。、:：;；!！?？'\"“”‘’()（）\-－—]")


def normalize(name: str, value: str | None) -> str | None:
    """Light normalisation for comparison: width, case, spaces and punctuation."""
    if value is None:
        return None
    text = _DROP.sub("", halfwidth(str(value))).upper()
    return text or None


@dataclass
class FieldScore:
    gold: int = 0  # calls where the gold value is set
    correct: int = 0  # filled with the gold value
    wrong: int = 0  # filled, but not with the gold value (gold set or not)
    missed: int = 0  # gold set, left empty
    true_empty: int = 0  # both empty

    @property
    def filled(self) -> int:
        return self.correct + self.wrong

    @property
    def precision(self) -> float:
        return self.correct / self.filled if self.filled else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 1.0

    @property
    def accuracy(self) -> float:
        total = self.correct + self.wrong + self.missed + self.true_empty
        return (self.correct + self.true_empty) / total if total else 1.0


@dataclass
class Report:
    fields: dict[str, FieldScore] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Share of (call, field) cells right, empty cells included."""
        right = sum(f.correct + f.true_empty for f in self.fields.values())
        total = sum(f.correct + f.wrong + f.missed + f.true_empty for f in self.fields.values())
        return right / total if total else 1.0

    @property
    def precision(self) -> float:
        filled = sum(f.filled for f in self.fields.values())
        return sum(f.correct for f in self.fields.values()) / filled if filled else 1.0

    @property
    def recall(self) -> float:
        gold = sum(f.gold for f in self.fields.values())
        return sum(f.correct for f in self.fields.values()) / gold if gold else 1.0


def score_calls(
    predictions: Sequence[Mapping[str, str | None]], golds: Sequence[Mapping[str, str | None]]
) -> Report:
    """Compare predicted and gold entity dicts call by call."""
    report = Report({name: FieldScore() for name in FIELD_NAMES})
    for pred, gold in zip(predictions, golds, strict=True):
        for name in FIELD_NAMES:
            p, g = normalize(name, pred.get(name)), normalize(name, gold.get(name))
            s = report.fields[name]
            if g is not None:
                s.gold += 1
            if p is None and g is None:
                s.true_empty += 1
            elif p is None:
                s.missed += 1
            elif p == g:
                s.correct += 1
            else:
                s.wrong += 1
    return report
