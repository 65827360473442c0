"""Dispatch: the unit model trained from history (CLI, from a file and from the tickets), saved
beside the category model, and blended with the retrieved answers' vote in the suggestion."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.deadline import CHINA_TZ
from classifier.text_features import e5_embedder
from classifier.trained import model_dir, read_manifest
from classifier.training import TrainingError, load_labelled
from copilot.dispatch import (
    DEFAULT_METHOD,
    KIND,
    suggest_units,
    ticket_history,
    train_dispatch,
)
from copilot.settings import Settings
from copilot.tickets import TicketDraft, create_tables, create_ticket
from knowledge_base.db import Database
from tests.classifier.test_training import write_history as write_labelled

DISTRICT_UNIT = "天河区城市管理和综合执法局"  # not in the demo's unit directory
PLACES = ["天河路", "体育西路", "珠江新城", "石牌桥", "岗顶", "龙口西", "五山路"]
HISTORY = {
    DISTRICT_UNIT: [f"{p}{what}" for p in PLACES for what in (
        "楼下烧烤店油烟直排，熏得家里没法开窗", "大排档占道经营到半夜，噪音很大")],
    "广州市人力资源和社会保障局": [f"{p}{what}" for p in PLACES[:7] for what in (
        "的公司拖欠我三个月工资，老板不接电话", "的工厂不给员工交社保")][:13],
    "广州市市场监督管理局": [f"{p}{what}" for p in PLACES[:7] for what in (
        "的健身房预付卡关门了不给退钱", "的饭店卖过期食品")][:13],
}
BARBECUE = "楼下烧烤店油烟直排，熏得家里没法开窗，要求处理"


def write_history(path: Path, rows: list[tuple[str, str, str]] | None = None) -> Path:
    """A dispatched history as a hotline might export it: title, content, handling unit."""
    if rows is None:
        rows = [(text[:6], text, unit) for unit, texts in HISTORY.items() for text in texts]
    return write_labelled(path, rows, label_column="承办单位")


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return write_history(tmp_path / "dispatched.csv")


def test_the_history_has_forty_rows_and_three_units(history: Path) -> None:
    data = load_labelled(history, ["内容"], ["承办单位"])
    assert len(data.texts) == 40 and len(set(data.labels)) == 3


# ------------------------------------------------------------------ the CLI


def test_cli_train_info_remove(history: Path, cli_home: Path) -> None:
    from copilot.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["dispatch", "train", str(history), "--text", "标题,内容",
                              "--unit", "承办单位", "--method", "tfidf"])
    assert out.exit_code == 0, out.output
    assert "held out, level1 (3 classes): accuracy" in out.output
    assert "saved in" in out.output
    found = read_manifest(cli_home, KIND)
    assert found is not None and found["method"] == "tfidf"
    assert found["label_columns"] == ["承办单位"] and [DISTRICT_UNIT] in found["classes"]
    assert read_manifest(cli_home) is None  # the category model is another folder
    report = json.loads((model_dir(cli_home, KIND) / "report.json").read_text("utf-8"))
    assert report["split"]["test"] > 0
    info = json.loads(runner.invoke(app, ["dispatch", "info"]).output)
    assert info["model"] == "trained" and info["path"].startswith(str(cli_home / "models"))
    removed = runner.invoke(app, ["dispatch", "remove"])
    assert removed.exit_code == 0 and "removed" in removed.output
    assert json.loads(runner.invoke(app, ["dispatch", "info"]).output)["model"] == "answers_vote"
    again = runner.invoke(app, ["dispatch", "remove"])
    assert again.exit_code == 0 and "no trained dispatch model" in again.output


def test_cli_errors_are_clear(history: Path, cli_home: Path, tmp_path: Path) -> None:
    from copilot.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["dispatch", "train", str(history), "--text", "内容",
                              "--unit", "办理科室"])
    assert out.exit_code == 2 and "no column '办理科室'" in out.output and "承办单位" in out.output
    broken = tmp_path / "broken.csv"
    broken.write_text("标题,内容,承办单位\n油烟,烧烤店油烟直排,城管\n工资,拖欠工资,人社局,多出来的\n",
                      encoding="utf-8")
    out = runner.invoke(app, ["dispatch", "train", str(broken), "--text", "内容",
                              "--unit", "承办单位"])
    assert out.exit_code == 2 and "malformed row" in out.output and "line 3" in out.output
    out = runner.invoke(app, ["dispatch", "train", str(history), "--text", "内容"])
    assert out.exit_code == 2 and "--unit" in out.output
    out = runner.invoke(app, ["dispatch", "train", str(history), "--from-tickets"])
    assert out.exit_code == 2 and "give no FILE" in out.output
    assert not model_dir(cli_home, KIND).exists()


# ------------------------------------------------------------------ from the tickets


def _file_tickets(db: Database, rows: list[tuple[str, str]], dispatched: bool = True) -> None:
    create_tables(db.engine)
    accepted = dt.datetime(2025, 11, 3, 10, 0, tzinfo=CHINA_TZ)
    with db.session() as s:
        for content, unit in rows:
            draft = TicketDraft(content=content, request_type="投诉", unit=unit,
                                accepted_at=accepted)
            create_ticket(s, draft, actor="op1", dispatch_now=dispatched)


def test_from_tickets_refuses_too_few_then_trains(cli_home: Path) -> None:
    from copilot.cli import app
    from copilot.context import AppContext

    rows = [(text, unit) for unit, texts in HISTORY.items() for text in texts]
    runner = CliRunner()
    ctx = AppContext()
    _file_tickets(ctx.db, rows[:12])  # 12 dispatched tickets, one unit
    _file_tickets(ctx.db, rows[14:40], dispatched=False)  # a unit at 受理 is not history yet
    out = runner.invoke(app, ["dispatch", "train", "--from-tickets"])
    assert out.exit_code == 2, out.output
    assert "12 dispatched ticket(s) with a unit, across 1 unit(s)" in out.output
    assert "at least 20 tickets and 2 units" in out.output
    _file_tickets(ctx.db, rows[12:])
    data = ticket_history(ctx.db)
    assert len(data.texts) == 40 and len(set(data.labels)) == 3
    ctx.close()
    out = runner.invoke(app, ["dispatch", "train", "--from-tickets"])  # the default method
    assert out.exit_code == 0, out.output
    found = read_manifest(cli_home, KIND)
    assert found is not None and found["data"]["file"] == "tickets (database)"
    assert found["method"] == DEFAULT_METHOD == "ensemble" and found["encoder"]
    assert found["data"]["rows_used"] == 40


# ------------------------------------------------------------------ the suggestion


def test_the_vote_alone_keeps_its_shape() -> None:
    from retrieval.index import SearchHit

    hits = [SearchHit(id=f"kb-{i}", template_id=i, version=1, title="", question="", answer="",
                      unit=unit, unit_phone="020-1", category_code=None, category_path=["城管"],
                      source="", score=score, dense_score=None, lexical_score=None)
            for i, (unit, score) in enumerate([("甲", 0.6), ("乙", 0.3), ("甲", 0.1)])]
    units = suggest_units(hits)
    assert [u["name"] for u in units] == ["甲", "乙"]
    assert units[0]["share"] == 0.7 and units[0]["phone"] == "020-1"
    assert units[0]["sources"] == {"answers": 0.7}
    assert units[0]["reason"] == units[0]["reasons"][0] == "相似答复口径：0.70（如 kb-0，城管）"
    blended = suggest_units(hits, {"丙": 0.9, "甲": 0.1}, {"丙": "020-9"})
    assert [u["name"] for u in blended] == ["丙", "甲", "乙"]
    assert blended[0]["share"] == 0.45 and blended[0]["phone"] == "020-9"
    assert blended[0]["in_directory"] and blended[1]["in_directory"]
    assert not suggest_units(hits, {"丁": 1.0}, {})[0]["in_directory"]
    assert blended[1]["sources"] == {"answers": 0.7, "history": 0.1}
    assert blended[1]["reasons"][1] == "历史相似工单：0.10"


def test_history_changes_the_suggested_unit(history: Path, demo_settings: Settings) -> None:
    from copilot.context import AppContext

    ctx = AppContext(demo_settings)
    before = ctx.classifier.classify({"text": BARBECUE})
    assert before["unit"] != DISTRICT_UNIT and before["units"][0]["sources"].keys() == {"answers"}
    train_dispatch(ctx.settings.home, load_labelled(history, ["内容"], ["承办单位"]),
                   embed=e5_embedder(ctx.encoder))  # the ensemble: e5 when suggesting too
    after = ctx.classifier.classify({"text": BARBECUE})
    top = after["unit_detail"]
    assert after["unit"] == top["name"] == DISTRICT_UNIT, after["units"]
    assert top["phone"] == "" and not top["in_directory"]  # the directory does not know it
    assert ctx.classifier.dispatcher.saved.get().needs_encoder  # type: ignore[union-attr]
    assert top["sources"]["history"] > 0.5 and top["reasons"][-1].startswith("历史相似工单：")
    assert after["units"][0] == top
    vote_top = before["unit"]
    again = {u["name"]: u for u in after["units"]}
    if vote_top in again:  # the vote's unit keeps its answers' share and its phone
        assert again[vote_top]["sources"]["answers"] == before["units"][0]["share"]
        assert again[vote_top]["phone"] == before["unit_detail"]["phone"]
    from classifier.trained import remove_model

    remove_model(ctx.settings.home, KIND)
    assert ctx.classifier.classify({"text": BARBECUE})["unit"] == before["unit"]
    ctx.close()


def test_a_dispatch_model_needs_one_label(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    rows = [(t, u, u[:2]) for u, texts in HISTORY.items() for t in texts]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("内容", "单位", "科室"), *rows])
    data = load_labelled(path, ["内容"], ["单位", "科室"])
    with pytest.raises(TrainingError, match="one label"):
        train_dispatch(tmp_path / "home", data)
