"""Calibrating the chatbot on a knowledge base's own labelled questions: the real demo index,
the real `copilot chat calibrate` command, and the chatbot then using the saved thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.chat.calibration import FILE, CalibrationError, current_thresholds, load_items
from copilot.settings import Settings, get_settings

pytestmark = pytest.mark.slow
PARAPHRASES = Path(__file__).resolve().parents[2] / "bench" / "data" / "chat_paraphrases.jsonl"


def labelled(tmp_path: Path) -> Path:
    rows = [json.loads(line) for line in PARAPHRASES.read_text(encoding="utf-8").splitlines()]
    answerable = [r for r in rows if r.get("expect") and not r.get("kind")][::8][:40]
    unanswerable = [r for r in rows if r.get("expect") is None and not r.get("kind")][:15]
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                            for r in answerable + unanswerable), encoding="utf-8")
    return path


def invoke(settings: Settings, *args: str) -> object:
    from copilot.cli import app

    get_settings.cache_clear()  # the command reads the settings of this home
    try:
        return CliRunner().invoke(app, ["chat", "calibrate", *args], env={
            "COPILOT_HOME": str(settings.home), "COPILOT_LOAD_DEMO": "false",
            "COPILOT_MODELS_DIR": str(settings.models_dir)})
    finally:
        get_settings.cache_clear()


def test_calibrated_thresholds_are_saved_and_used(demo_settings: Settings,
                                                  tmp_path: Path) -> None:
    before = current_thresholds(demo_settings)
    result = invoke(demo_settings, str(labelled(tmp_path)), "--save")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = json.loads(result.output)  # type: ignore[attr-defined]
    chosen = out["chosen"]
    assert out["in_sample"]["unanswerable_answered"] <= 0.02  # the constraint holds
    assert 0 <= out["held_out"]["answered_correctly"] <= 1
    assert out["before"]["answer"] == before.answer
    saved = json.loads((demo_settings.home / FILE).read_text(encoding="utf-8"))
    assert (saved["answer"], saved["suggest"]) == (chosen["answer"], chosen["suggest"])
    now = current_thresholds(demo_settings)  # what the chatbot uses from its next message
    assert (now.answer, now.suggest, now.margin) == (chosen["answer"], chosen["suggest"],
                                                     chosen["margin"])


def test_a_damaged_thresholds_file_falls_back_to_the_settings(settings: Settings) -> None:
    settings.ensure_dirs()
    (settings.home / FILE).write_text("{not json", encoding="utf-8")
    t = current_thresholds(settings)
    assert (t.answer, t.suggest) == (settings.chat_answer_threshold,
                                     settings.chat_suggest_threshold)


def test_a_bad_questions_file_names_its_lines(tmp_path: Path, settings: Settings) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "公积金怎么取", "expect": ["kb-1"]}\n{"q": ""}\nnot json\n'
                   '{"q": "x", "expect": "kb-1"}\n', encoding="utf-8")
    with pytest.raises(CalibrationError) as err:
        load_items(bad)
    assert "line 2" in str(err.value) and "line 3" in str(err.value)
    assert "line 4" in str(err.value) and "list of answer ids" in str(err.value)
    result = invoke(settings, str(bad))
    assert result.exit_code == 2 and "line 3" in result.output  # type: ignore[attr-defined]
    few = tmp_path / "few.jsonl"
    few.write_text('{"q": "公积金怎么取", "expect": ["kb-1"]}\n', encoding="utf-8")
    with pytest.raises(CalibrationError, match="at least 10 answerable"):
        load_items(few)
