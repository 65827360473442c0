"""`copilot extract --jsonl` and `/api/v1/extract` on calls written for these tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from copilot.api.routes import understanding

CALL = {
    "id": "t-1",
    "call_time": "2026-11-23T10:00:00",
    "turns": [
        {"speaker": "agent", "text": "您好，12345热线，请问有什么可以帮您？"},
        {"speaker": "caller", "text": "我叫李晓梅，我在天河区体育西路的美力健身房办了卡，"
                                      "花了四千八，现在店关门了。"},
        {"speaker": "agent", "text": "李女士，您的电话是？"},
        {"speaker": "caller", "text": "一三九，幺二三四，五六七八。"},
        {"speaker": "caller", "text": "哦不对，尾号是五六七九。"},
    ],
}


def test_cli_extract_one_line_per_input(tmp_path: Path) -> None:
    src = tmp_path / "calls.jsonl"
    src.write_text("\n".join([json.dumps(CALL, ensure_ascii=False), "{bad json",
                              json.dumps({"id": "t-2", "text": "我的车牌是粤A12345，被人刮了"},
                                         ensure_ascii=False),
                              json.dumps({"id": "t-3"})]), encoding="utf-8")
    env = {**os.environ, "COPILOT_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-m", "copilot.cli", "extract", "--jsonl", str(src)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    form = rows[0]["form"]
    assert rows[0]["id"] == "t-1"
    assert form["caller_name"] == "李晓梅"
    assert form["phone"] == "13912345679"  # the correction of the last digits wins
    assert form["district"] == "天河区" and form["city"] == "广州市"
    assert form["amount"] == "4800元"
    assert rows[0]["fields"]["phone"]["utterance"] == 4
    assert "not valid JSON" in rows[1]["error"]
    assert rows[2]["form"]["plate"] == "粤A12345"
    assert "turns" in rows[3]["error"]


def test_api_extract_validates_and_fills() -> None:
    app = FastAPI()
    app.include_router(understanding.router)
    client = TestClient(app)
    body = client.post("/api/v1/extract", json=CALL).json()
    assert body["form"]["phone"] == "13912345679"
    assert 0 < body["fields"]["caller_name"]["confidence"] <= 1
    assert client.post("/api/v1/extract", json={"id": "x"}).status_code == 422
    bad = client.post("/api/v1/extract", json={"turns": [{"speaker": "robot", "text": "hi"}]})
    assert bad.status_code == 422
    assert client.post("/api/v1/extract", json={"text": "x" * 20001}).status_code == 422
