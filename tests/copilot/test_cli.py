"""The ``copilot`` command as a user runs it: a subprocess with its own COPILOT_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ANSWERS = """id,question,answer,unit
q-17,公积金怎么提取,职工离职、购房、租房可申请提取住房公积金。,公积金中心
q-42,健身房倒闭了会员卡怎么退钱,经营者停业的应退还预付款余额，可向市场监管部门投诉。,市场监管局
"""


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COPILOT_HOME": str(home), "COPILOT_LOAD_DEMO": "false"}
    return subprocess.run([sys.executable, "-m", "copilot.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=600)


def test_import_then_batch_search_returns_imported_ids(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = tmp_path / "answers.csv"
    src.write_text(ANSWERS, encoding="utf-8")
    imported = run(home, "kb", "import", "answers", str(src))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["created"] == 2

    lines = [{"query": "健身卡的店关门了钱能退吗"}, "not json", {"query": ""},
             {"query": "离职以后住房公积金可以取出来吗"}]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                      for x in lines)
    out = run(home, "kb", "search", "--jsonl", "-", stdin=stdin)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 4
    assert rows[0]["results"][0]["id"] == "q-42"
    assert rows[0]["results"][0]["unit"] == "市场监管局"
    assert set(rows[0]["results"][0]) >= {"id", "question", "answer", "unit", "score"}
    assert "not valid JSON" in rows[1]["error"]
    assert "empty" in rows[2]["error"]
    assert rows[3]["results"][0]["id"] == "q-17"


def test_bad_file_is_reported_and_exit_code_is_2(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("id,answer\n1,\n2,好的答复\n", encoding="utf-8")
    result = run(tmp_path / "home", "kb", "import", "answers", str(src))
    assert result.returncode == 2
    assert "row 2: the answer text is empty" in result.stderr
    assert "nothing was imported" in result.stderr
    stats = run(tmp_path / "home", "kb", "stats")
    assert "answers_published" not in json.loads(stats.stdout)


def test_unknown_kind_and_missing_file(tmp_path: Path) -> None:
    result = run(tmp_path / "home", "kb", "import", "faq", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "unknown kind" in result.stderr
    result = run(tmp_path / "home", "kb", "import", "units", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_classify_jsonl(tmp_path: Path) -> None:
    home = tmp_path / "home"
    taxonomy = tmp_path / "taxonomy.csv"
    taxonomy.write_text("level1,level2,level3,description\n"
                        "消费,预付卡,退费纠纷,健身房美容店关门、预付卡余额不退\n"
                        "环境,噪声,施工噪声,工地夜间施工扰民\n", encoding="utf-8")
    assert run(home, "kb", "import", "taxonomy", str(taxonomy)).returncode == 0
    answers = tmp_path / "answers.csv"
    answers.write_text("id,answer,unit,level1,level2,level3\n"
                       "n1,夜间施工噪声请向生态环境部门投诉。,生态环境局,环境,噪声,施工噪声\n",
                       encoding="utf-8")
    assert run(home, "kb", "import", "answers", str(answers)).returncode == 0
    lines = [json.dumps({"id": "m1", "text": "楼下工地半夜还在打桩，我要投诉"}, ensure_ascii=False),
             json.dumps({"id": "m2"})]
    out = run(home, "classify", "--jsonl", "-", stdin="\n".join(lines))
    assert out.returncode == 0, out.stderr
    first, second = (json.loads(x) for x in out.stdout.splitlines())
    assert first["category"]["path"] == ["环境", "噪声", "施工噪声"]
    assert first["request_type"] == "投诉" and first["unit"] == "生态环境局"
    assert first["emergency"] is None and first["out_of_scope"] is None
    assert "turns" in second["error"]


def test_assist_save_files_tickets_and_names_earlier_duplicates(tmp_path: Path) -> None:
    home = tmp_path / "home"
    answers = tmp_path / "answers.csv"
    answers.write_text("id,answer,unit,level1,level2,level3\n"
                       "c1,经营者停业的应退还预付款余额，可向市场监管部门投诉。,市场监管局,"
                       "消费,预付卡,退费纠纷\n"
                       "l1,路灯损坏请向城市管理部门报修。,城管局,城建,市政设施,路灯\n",
                       encoding="utf-8")
    assert run(home, "kb", "import", "answers", str(answers)).returncode == 0
    calls = [
        {"id": "a1", "call_time": "2026-11-20T10:00:00", "turns": [
            {"speaker": "caller", "text": "我要投诉天河区天河路385号的力美健身，健身房突然关门了，"
                                          "年卡3600元不退，电话13912345678。"}]},
        {"id": "a2", "call_time": "2026-11-21T09:00:00", "turns": [
            {"speaker": "caller",
             "text": "天河区天河路385号那个力美健身跑路了，会员卡的钱退不了。"}]},
        {"id": "a3", "call_time": "2026-11-21T11:00:00", "turns": [
            {"speaker": "caller", "text": "越秀区东风中路300号小区门口路灯坏了好几天了。"}]},
        {"id": "a4"},
    ]
    stdin = "\n".join(json.dumps(c, ensure_ascii=False) for c in calls)
    out = run(home, "assist", "--jsonl", "-", "--save", stdin=stdin)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4"]
    assert rows[0]["form"]["phone"] == "13912345678" and rows[0]["answers"][0]["id"] == "c1"
    assert rows[0]["ticket_id"] and rows[0]["duplicates"] == []
    assert rows[1]["duplicates"][0] == {**rows[1]["duplicates"][0], "id": "a1",
                                        "ticket_id": rows[0]["ticket_id"]}
    assert rows[2]["duplicates"] == [] and rows[2]["unit"] == "城管局"
    assert "turns" in rows[3]["error"] and rows[3]["id"] == "a4"
    assert "1 line(s) had errors" in out.stderr
