"""Field accuracy of the filler on the annotated calls (../shared/data/calls/calls.jsonl)."""

import json

import pytest

from copilot.form import FIELD_NAMES, FormFiller, extract_call
from copilot.form.scoring import normalize, score_calls
from tests.conftest import SHARED_DATA, requires_shared_data

CALLS = SHARED_DATA / "calls" / "calls.jsonl"
# floors below what the filler reaches on these calls (0.998 overall when written), with room
# for the held-out calls being harder; a drop under them is a regression worth a look
OVERALL_FLOOR = 0.95
FIELD_FLOORS = {"caller_name": 0.9, "phone": 0.9, "district": 0.9, "street_address": 0.8,
                "merchant": 0.85, "amount": 0.85, "incident_time": 0.8}


def _calls() -> list[dict]:
    return [json.loads(line) for line in CALLS.read_text(encoding="utf-8").splitlines() if line]


def test_normalize_is_light() -> None:
    assert normalize("phone", " 138-1234 5678 ") == "13812345678"
    assert normalize("plate", "粤a·d12345") == "粤AD12345"
    assert normalize("street_address", "") is None
    assert normalize("amount", None) is None


@pytest.mark.shared_data
@requires_shared_data("calls", "calls.jsonl")
def test_field_accuracy_on_annotated_calls() -> None:
    calls = _calls()
    assert len(calls) >= 20
    predictions = [extract_call(c["turns"]).as_dict() for c in calls]
    report = score_calls(predictions, [c["gold"]["entities"] for c in calls])
    per_field = {name: round(report.fields[name].accuracy, 3) for name in FIELD_NAMES}
    assert report.accuracy >= OVERALL_FLOOR, per_field
    for name, floor in FIELD_FLOORS.items():
        assert report.fields[name].accuracy >= floor, (name, per_field)
    assert report.precision >= 0.9, per_field


@pytest.mark.shared_data
@requires_shared_data("calls", "calls.jsonl")
def test_incremental_and_batch_agree_on_annotated_calls() -> None:
    for call in _calls()[:10]:
        filler = FormFiller()
        for k, turn in enumerate(call["turns"]):
            changed = filler.update(k, turn["speaker"], turn["text"])
            assert set(changed) <= set(FIELD_NAMES)
        assert filler.form.as_dict() == extract_call(call["turns"]).as_dict()
