"""The server answers Chinese questions from the built-in demo knowledge base with the right
standard answer and its handling unit (questions worded unlike the stored ones)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.context import AppContext
from copilot.settings import Settings
from tests.conftest import sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(demo_home_template: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("demo-search") / "home"
    shutil.copytree(demo_home_template, home)
    ctx = AppContext(Settings(home=home, env="test", load_demo=False))
    with TestClient(create_app(context=ctx)) as c:
        c.headers.update(sign_in(c, ctx.db, "admin", ('admin',)))
        yield c
    ctx.close()


@pytest.mark.parametrize("question,expected,unit", [
    ("离职了公积金能取出来吗", {"kb-08-008"}, "广州住房公积金管理中心"),
    ("健身房倒闭了卡里的钱怎么退", {"kb-16-032", "kb-03-005"}, None),
    ("家里燃气泄漏了怎么办", {"kb-13-002", "kb-11-016"}, "广州燃气集团有限公司"),
    ("孩子上小学要准备什么材料", {"kb-06-005"}, "广州市教育局"),
    ("我想起诉我的房东", {"kb-14-020"}, None),
])
def test_demo_questions_get_the_standard_answer(client: TestClient, question: str,
                                                expected: set[str], unit: str | None) -> None:
    r = client.get("/api/v1/kb/search", params={"q": question, "top_k": 3})
    assert r.status_code == 200
    top = r.json()["results"][0]
    assert top["id"] in expected, [h["id"] for h in r.json()["results"]]
    assert top["unit"] and top["unit_phone"]
    if unit:
        assert top["unit"] == unit
    assert top["version"] >= 1 and len(top["category_path"]) == 3


def test_health_counts_the_demo(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body["answers_indexed"] >= 400
    assert body["counts"]["categories_level3"] >= 300


def test_classify_a_call_on_the_demo(client: TestClient) -> None:
    call = {"call_time": "2026-11-23T10:00:00", "turns": [
        {"speaker": "agent", "text": "您好，12345热线。"},
        {"speaker": "caller", "text": "我家厨房一股很重的煤气味，现在还在漏，怎么办啊"}]}
    body = client.post("/api/v1/classify", json=call).json()
    assert body["emergency"] == "119"
    assert body["category"]["code"].count(".") == 2 and len(body["top"]) == 3
    assert body["unit"]  # a unit from the best answer in that category
    complaint = {"call_time": "2026-11-23T10:00:00", "turns": [
        {"speaker": "caller", "text": "我要投诉，小区旁边的工地每天半夜还在施工，吵得没法睡觉"}]}
    body = client.post("/api/v1/classify", json=complaint).json()
    assert body["emergency"] is None and body["request_type"] == "投诉"
    assert body["deadline_working_days"] == 15 and body["due_date"] > "2026-12-01"
    assert body["levels"]["level1"][0]["path"][0] in {"生态环境", "城市管理", "住房城乡建设"}
    assert client.post("/api/v1/classify", json={"turns": []}).status_code == 422
