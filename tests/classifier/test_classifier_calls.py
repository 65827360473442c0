"""Triage and request type on the annotated calls (../shared/data/calls/calls.jsonl).

The rules were written from patterns, not from these lines (a held-out set written the same way
exists). Emergencies are held to recall 1.0 with no false alarm; the other floors sit at or
below what the rules reach here (out of scope 2/2 found, none wrong; request type 40/40 when
written) with room for harder calls.
"""

from __future__ import annotations

import json

import pytest

from classifier.metrics import accuracy, flag_score
from classifier.request_type import REQUEST_TYPES, request_type
from classifier.triage import triage
from tests.conftest import SHARED_DATA, requires_shared_data

CALLS = SHARED_DATA / "calls" / "calls.jsonl"
OUT_OF_SCOPE_RECALL_FLOOR = 0.9
OUT_OF_SCOPE_PRECISION_FLOOR = 0.75
REQUEST_TYPE_ACCURACY_FLOOR = 0.9

pytestmark = [pytest.mark.shared_data, requires_shared_data("calls", "calls.jsonl")]


def _calls() -> list[dict]:
    return [json.loads(line) for line in CALLS.read_text(encoding="utf-8").splitlines() if line]


def test_every_emergency_found_on_the_right_line_and_no_false_alarm() -> None:
    calls = _calls()
    gold = [c["gold"]["emergency"] for c in calls]
    assert sum(g is not None for g in gold) >= 1, "the file should hold emergencies"
    results = {c["id"]: triage(c["turns"]) for c in calls}
    missed = [c["id"] for c in calls if c["gold"]["emergency"] and not results[c["id"]].emergency]
    false = [(c["id"], results[c["id"]].emergency_triggers) for c in calls
             if not c["gold"]["emergency"] and results[c["id"]].emergency]
    wrong = [(c["id"], c["gold"]["emergency"], results[c["id"]].emergency) for c in calls
             if c["gold"]["emergency"] and results[c["id"]].emergency not in
             (None, c["gold"]["emergency"])]
    assert missed == [], "missed emergencies"
    assert false == [], "false emergencies"
    assert wrong == [], "wrong line"
    score = flag_score(gold, [results[c["id"]].emergency for c in calls])
    assert score.recall == 1.0 and score.precision == 1.0


def test_out_of_scope_floors() -> None:
    calls = _calls()
    gold = [c["gold"]["out_of_scope"] for c in calls]
    predicted = [triage(c["turns"]).out_of_scope for c in calls]
    assert sum(g is not None for g in gold) >= 1
    score = flag_score(gold, predicted)
    detail = [(c["id"], g, p) for c, g, p in zip(calls, gold, predicted, strict=True) if g != p]
    assert score.recall >= OUT_OF_SCOPE_RECALL_FLOOR, detail
    assert score.precision >= OUT_OF_SCOPE_PRECISION_FLOOR, detail


def test_request_type_floor() -> None:
    calls = _calls()
    gold = [c["gold"]["request_type"] for c in calls]
    assert set(gold) <= set(REQUEST_TYPES)
    predicted = [request_type(c["turns"]).type for c in calls]
    detail = [(c["id"], g, p) for c, g, p in zip(calls, gold, predicted, strict=True) if g != p]
    assert accuracy(gold, predicted) >= REQUEST_TYPE_ACCURACY_FLOOR, detail


def test_operators_words_are_never_read() -> None:
    calls = _calls()
    agent_only = [[t for t in c["turns"] if t["speaker"] == "agent"] for c in calls]
    for turns in agent_only:
        result = triage(turns)
        assert result.emergency is None and result.out_of_scope is None
    # the same words said by a caller would fire: the operators do say "抢劫", "起诉", "119"
    as_caller = [[{"speaker": "caller", "text": t["text"]} for t in turns] for turns in agent_only]
    assert any(triage(turns).emergency or triage(turns).out_of_scope for turns in as_caller)
