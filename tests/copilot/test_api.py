"""The FastAPI app on a real database and the real encoder (TestClient runs the lifespan)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.context import AppContext
from copilot.settings import Settings
from knowledge_base.importer import import_table
from tests.conftest import sign_in

pytestmark = pytest.mark.slow

ANSWERS = """id,question,answer,unit,level1,level2,level3
fund-1,公积金怎么提取,职工离职、购房、租房可申请提取住房公积金。,公积金中心,住房,公积金,提取
card-1,健身房倒闭了会员卡怎么退钱,经营者停业的应退还预付款余额，可向市场监管部门投诉。,市场监管局,消费,预付卡,退费
"""


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    ctx = AppContext(settings)
    with ctx.db.session() as s:
        import_table(s, "answers", ANSWERS.encode(), "answers.csv")
    with TestClient(create_app(context=ctx)) as c:
        c.headers.update(sign_in(c, ctx.db, "admin", ('admin',)))
        yield c
    ctx.close()


def test_health_reports_the_index(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["answers_indexed"] == 2
    assert body["index_revision"] == body["kb_revision"]


def test_search_answers_a_chinese_question_with_its_unit(client: TestClient) -> None:
    r = client.get("/api/v1/kb/search", params={"q": "健身卡的店关门了怎么退钱"})
    assert r.status_code == 200
    body = r.json()
    assert r.headers["content-type"].startswith("application/json")
    top = body["results"][0]
    assert (top["id"], top["unit"], top["version"]) == ("card-1", "市场监管局", 1)
    post = client.post("/api/v1/kb/search", json={"query": "离职后公积金能取吗", "top_k": 1})
    assert post.json()["results"][0]["id"] == "fund-1"


@pytest.mark.parametrize("params,fragment", [
    ({"q": ""}, "at least 1"),
    ({"q": "问" * 2001}, "more than the limit"),
    ({"q": "公积金", "top_k": 0}, "greater than or equal"),
    ({"q": "公积金", "category": "abc"}, "pattern"),
])
def test_bad_queries_get_422_with_a_detail(client: TestClient, params: dict[str, object],
                                           fragment: str) -> None:
    r = client.get("/api/v1/kb/search", params=params)
    assert r.status_code == 422
    assert fragment in str(r.json()["detail"])


def test_answer_history_and_404(client: TestClient) -> None:
    body = client.get("/api/v1/kb/answers/fund-1").json()
    assert body["version"] == 1 and body["history"][0]["snapshot"]["answer"].startswith("职工")
    missing = client.get("/api/v1/kb/answers/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_taxonomy_tree_and_units(client: TestClient) -> None:
    tree = client.get("/api/v1/kb/categories").json()
    assert [n["name"] for n in tree] == ["住房", "消费"]
    assert tree[0]["children"][0]["children"][0]["code"] == "01.01.001"
    names = {u["name"] for u in client.get("/api/v1/kb/units").json()}
    assert names == {"公积金中心", "市场监管局"}


def test_openapi_and_console_page(client: TestClient) -> None:
    assert "/api/v1/kb/search" in client.get("/openapi.json").json()["paths"]
    page = client.get("/")
    assert page.status_code == 200 and "12345" in page.text
