"""The ticket endpoints on the real app and a real SQLite database (TestClient runs the
lifespan, which loads the encoder): create with suggestions, duplicates at creation and during
the call, the status flow, dispatch, links, list and search, and the error codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.context import AppContext
from copilot.settings import Settings
from tests.conftest import sign_in

pytestmark = pytest.mark.slow

T = "/api/v1/tickets"
SMOKE: dict[str, Any] = {
    "content": "市民反映中山大道西123号楼下老王烧烤店每晚油烟直排，熏到楼上住户，要求处理。",
    "request_type": "投诉", "district": "天河区", "street_address": "中山大道西123号",
    "merchant": "老王烧烤", "accepted_at": "2025-09-28T10:00:00+08:00", "actor": "op1",
}
SMOKE_AGAIN: dict[str, Any] = {
    "content": "我家楼下那个烧烤店天天晚上油烟特别大，熏得窗户都不敢开。",
    "district": "天河区", "street_address": "中山大道西一二三号",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    ctx = AppContext(settings)
    with TestClient(create_app(context=ctx)) as c:
        c.headers.update(sign_in(c, ctx.db, "operator", ('operator',)))
        yield c
    ctx.close()


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post(T, json={**SMOKE, **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_create_merges_suggestions_and_sets_the_due_date(client: TestClient) -> None:
    body = create(client, phone="13812345678", merchant="", suggested={
        "phone": "13900000000", "merchant": "川味烤吧", "caller_name": "王先生",
        "unit": "天河区城管局"})
    t = body["ticket"]
    assert body["due_date"] == t["due_date"] == "2025-10-23"  # 15 working days over 国庆
    assert (t["phone"], t["merchant"], t["caller_name"]) == ("13812345678", None, "王先生")
    assert t["fields_source"]["caller_name"] == "suggestion"
    assert t["fields_source"]["phone"] == "operator"
    assert t["status"] == "受理" and t["next_status"] == "派单" and t["unit"] == "天河区城管局"
    assert t["number"].startswith("GD20250928-") and t["accepted_at"].endswith("+00:00")
    assert t["history"][0]["action"] == "create"
    assert t["history"][0]["detail"]["overridden_suggestions"]["phone"] == "13900000000"
    assert body["duplicates"] == []


def test_the_second_report_of_an_incident_comes_back_with_its_original(
        client: TestClient) -> None:
    first = create(client, accepted_at=None)["ticket"]
    second = client.post(T, json={**SMOKE_AGAIN, "request_type": "投诉"})
    assert second.status_code == 201
    dups = second.json()["duplicates"]
    assert [d["ticket_id"] for d in dups] == [first["id"]]
    assert dups[0]["reasons"][0] == "同一地址：天河区中山大道西123号"
    assert dups[0]["number"] == first["number"]


def test_the_duplicate_check_during_the_call_saves_nothing(client: TestClient) -> None:
    first = create(client, accepted_at=None)["ticket"]
    r = client.post(f"{T}/duplicates", json=SMOKE_AGAIN)
    assert r.status_code == 200
    assert [d["ticket_id"] for d in r.json()["duplicates"]] == [first["id"]]
    assert r.json()["took_ms"] >= 0
    assert client.get(T).json()["total"] == 1
    other = client.post(f"{T}/duplicates", json={
        **SMOKE_AGAIN, "content": "中山大道西123号门口人行道地砖破损，老人容易绊倒。"})
    assert other.json()["duplicates"] == []  # same address, another problem
    bad = client.post(f"{T}/duplicates", json={"content": ""})
    assert bad.status_code == 422


def test_link_at_creation_and_dispatch_refused_for_the_duplicate(client: TestClient) -> None:
    first = create(client, unit="天河区城管局", dispatch=True)["ticket"]
    assert first["status"] == "派单"
    dup = create(client, content=SMOKE_AGAIN["content"], link_to=first["id"])
    assert dup["ticket"]["duplicate_of"] == first["id"] and dup["duplicates"] == []
    r = client.post(f"{T}/{dup['ticket']['id']}/dispatch", json={"unit": "天河区城管局"})
    assert r.status_code == 409
    assert f"duplicate of {first['number']}" in r.json()["detail"]
    original = client.get(f"{T}/{first['id']}").json()
    assert original["linked_duplicates"] == [dup["ticket"]["id"]]
    unlinked = client.post(f"{T}/{dup['ticket']['id']}/link", json={"original_id": None})
    assert unlinked.status_code == 200 and unlinked.json()["duplicate_of"] is None
    relinked = client.post(f"{T}/{dup['ticket']['id']}/link",
                           json={"original_id": first["id"], "note": "同一事项"})
    assert relinked.json()["history"][-1]["action"] == "link_duplicate"


def test_status_flow_over_http(client: TestClient) -> None:
    t = create(client)["ticket"]
    skip = client.post(f"{T}/{t['id']}/transition", json={"to_status": "办理"})
    assert skip.status_code == 409 and "next step is 派单" in skip.json()["detail"]
    no_unit = client.post(f"{T}/{t['id']}/transition", json={"to_status": "派单"})
    assert no_unit.status_code == 422
    assert no_unit.json()["detail"][0]["loc"] == ["body", "unit"]
    assert client.post(f"{T}/{t['id']}/dispatch", json={"unit": "天河区城管局"}).status_code \
        == 200
    for status in ("办理", "答复", "回访", "办结"):
        r = client.post(f"{T}/{t['id']}/transition",
                        json={"to_status": status, "actor": "op2"})
        assert r.status_code == 200, r.text
    done = client.get(f"{T}/{t['id']}").json()
    assert done["status"] == "办结" and done["next_status"] is None and not done["overdue"]
    assert [h["to_status"] for h in done["history"]] == ["受理", "派单", "办理", "答复", "回访",
                                                         "办结"]
    bad = client.post(f"{T}/{t['id']}/transition", json={"to_status": "完成"})
    assert bad.status_code == 422


def test_validation_errors_name_each_field(client: TestClient) -> None:
    r = client.post(T, json={**SMOKE, "content": " ", "request_type": "投拆",
                             "phone": "12345"})
    assert r.status_code == 422
    detail = {d["loc"][-1]: d["msg"] for d in r.json()["detail"]}
    assert set(detail) == {"content", "request_type", "phone"}
    assert "choose one of" in detail["request_type"]
    too_long = client.post(T, json={**SMOKE, "merchant": "店" * 101})
    assert too_long.status_code == 422  # refused by the request model already
    naive = client.post(T, json={**SMOKE, "accepted_at": "2025-09-28T10:00:00"})
    assert naive.status_code == 422 and "time zone" in str(naive.json()["detail"])
    assert client.get(T).json()["total"] == 0


def test_list_search_and_not_found(client: TestClient) -> None:
    first = create(client, unit="天河区城管局", dispatch=True)["ticket"]
    create(client, content="咨询公积金提取条件", request_type="咨询", district="越秀区",
           street_address=None, merchant=None)
    assert client.get(T).json()["total"] == 2
    assert [t["id"] for t in client.get(T, params={"status": "派单"}).json()["items"]] == [
        first["id"]]
    assert client.get(T, params={"q": "公积金"}).json()["items"][0]["district"] == "越秀区"
    assert client.get(T, params={"unit": "天河区城管局"}).json()["total"] == 1
    page = client.get(T, params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert client.get(T, params={"status": "完成"}).status_code == 422
    missing = client.get(f"{T}/999")
    assert missing.status_code == 404 and "999" in missing.json()["detail"]
    assert client.post(f"{T}/999/transition", json={"to_status": "派单"}).status_code == 404
    assert client.post(T, json={**SMOKE, "link_to": 999}).status_code == 404
    assert client.get(T).json()["total"] == 2  # the failed create left nothing


def test_openapi_lists_the_ticket_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (T, f"{T}/duplicates", f"{T}/{{ticket_id}}", f"{T}/{{ticket_id}}/transition",
                 f"{T}/{{ticket_id}}/dispatch", f"{T}/{{ticket_id}}/link"):
        assert path in paths
