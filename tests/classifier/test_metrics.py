"""Evaluation helpers used by the classifier tests and the triage benchmark."""

from __future__ import annotations

import pytest

from classifier.metrics import accuracy, confusion, flag_score, label_score

GOLD = [None, "119", "110", None, "120", "122"]
PRED = [None, "119", "120", "110", "120", None]


def test_label_score() -> None:
    s = label_score(GOLD, PRED, "120")
    assert (s.gold, s.predicted, s.correct) == (1, 2, 1)
    assert s.precision == 0.5 and s.recall == 1.0
    empty = label_score(GOLD, PRED, "999")
    assert empty.precision == 1.0 and empty.recall == 1.0


def test_flag_score_counts_a_wrong_label_as_a_miss() -> None:
    s = flag_score(GOLD, PRED)
    assert (s.gold, s.predicted, s.correct) == (4, 4, 2)
    assert s.precision == 0.5 and s.recall == 0.5


def test_accuracy_and_confusion() -> None:
    assert accuracy(GOLD, PRED) == pytest.approx(3 / 6)
    assert accuracy([], []) == 1.0
    assert confusion(GOLD, PRED)[("110", "120")] == 1


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        label_score(GOLD, PRED[:-1], "119")
    with pytest.raises(ValueError):
        accuracy(GOLD, PRED[:-1])
