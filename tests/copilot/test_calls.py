"""Call sessions over the real app, the demo knowledge base and the real encoder: typed
utterances fill the form and bring suggestions, operator edits win, the events websocket gives
a snapshot then live events, and a restarted server rebuilds the call from disk."""

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

CALL = [
    ("agent", "您好，12345热线，请问有什么可以帮您？"),
    ("caller", "你好，我在天河区一家健身房办了卡，现在健身房突然关门了，钱也不退，我想投诉。"),
    ("agent", "请问健身房叫什么名字？"),
    ("caller", "叫力美健身，在天河路385号。"),
    ("agent", "请问您贵姓，联系电话多少？"),
    ("caller", "我姓王，电话13912345678。"),
]


@pytest.fixture
def client(demo_settings: Settings) -> Iterator[TestClient]:
    ctx = AppContext(demo_settings)
    with TestClient(create_app(context=ctx)) as c:
        c.headers.update(sign_in(c, ctx.db, "operator", ('operator',)))
        yield c
    ctx.close()


def say(client: TestClient, call_id: str, speaker: str, text: str) -> dict[str, Any]:
    r = client.post(f"/api/v1/calls/{call_id}/utterances",
                    json={"speaker": speaker, "text": text})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_typed_call_fills_the_form_and_suggests(client: TestClient) -> None:
    call_id = client.post("/api/v1/calls", json={"call_id": "t-1"}).json()["call_id"]
    body: dict[str, Any] = {}
    for speaker, text in CALL:
        body = say(client, call_id, speaker, text)
    form = body["form"]
    assert form["phone"]["value"] == "13912345678"
    assert form["phone"]["source"] == "copilot"
    assert form["phone"]["suggested"]["utterance"] == 5
    assert form["district"]["value"] == "天河区"
    assert form["caller_name"]["value"] == "王先生" or form["caller_name"]["value"].startswith("王")
    s = body["suggestions"]
    assert s["request_type"] == "投诉" and s["deadline_working_days"] == 15
    assert len(s["top"]) == 3 and s["top"][0]["score"] >= s["top"][1]["score"]
    assert s["answers"] and all(a["template_id"] and a["version"] >= 1 and a["source"]
                                for a in s["answers"])
    assert any("预付" in a["answer"] or "退" in a["answer"] for a in s["answers"])
    assert s["unit"]
    assert s["alerts"] == []


def test_operator_edits_win_and_can_be_handed_back(client: TestClient) -> None:
    client.post("/api/v1/calls", json={"call_id": "t-2"})
    say(client, "t-2", "caller", "我的电话是13912345678，小区门口的路灯坏了。")
    r = client.patch("/api/v1/calls/t-2/form", json={"fields": {"phone": "13800001111"}})
    assert r.status_code == 200
    assert r.json()["form"]["phone"] == {**r.json()["form"]["phone"], "value": "13800001111",
                                         "source": "operator"}
    # the caller says another number: the operator's value stays, the copilot's is shown beside
    form = say(client, "t-2", "caller", "哦不对，电话是13700002222。")["form"]
    assert form["phone"]["value"] == "13800001111"
    assert form["phone"]["suggested"]["value"] == "13700002222"
    form = client.patch("/api/v1/calls/t-2/form", json={"fields": {"phone": None}}).json()["form"]
    assert form["phone"]["value"] == "13700002222" and form["phone"]["source"] == "copilot"


def test_an_emergency_raises_an_alert(client: TestClient) -> None:
    client.post("/api/v1/calls", json={"call_id": "t-3"})
    s = say(client, "t-3", "caller", "楼下厨房着火了，烟很大，快来人啊！")["suggestions"]
    assert s["alerts"][0]["kind"] == "emergency" and s["alerts"][0]["line"] == "119"


def test_bad_requests_get_clear_errors(client: TestClient) -> None:
    assert client.get("/api/v1/calls/nope").status_code == 404
    assert "POST /api/v1/calls" in client.get("/api/v1/calls/nope").json()["detail"]
    assert client.post("/api/v1/calls", json={"call_id": "../x"}).status_code == 422
    client.post("/api/v1/calls", json={"call_id": "t-4"})
    r = client.patch("/api/v1/calls/t-4/form", json={"fields": {"shoe_size": "42"}})
    assert r.status_code == 422 and "shoe_size" in r.json()["detail"]
    r = client.post("/api/v1/calls/t-4/utterances", json={"speaker": "robot", "text": "hi"})
    assert r.status_code == 422
    client.post("/api/v1/calls/t-4/end")
    r = client.post("/api/v1/calls/t-4/utterances", json={"speaker": "caller", "text": "喂"})
    assert r.status_code == 409 and "ended" in r.json()["detail"]


def test_events_give_a_snapshot_then_live_events(client: TestClient) -> None:
    client.post("/api/v1/calls", json={"call_id": "t-5"})
    say(client, "t-5", "caller", "你好，我想问一下公积金怎么提取。")
    with client.websocket_connect("/api/v1/calls/t-5/events") as ws:
        first = ws.receive_json()
        assert first["type"] == "snapshot"
        assert first["call"]["utterances"][0]["text"].startswith("你好")
        assert first["call"]["suggestions"]["answers"]
        client.post("/api/v1/calls/t-5/utterances",
                    json={"speaker": "caller", "text": "我已经离职了，住在越秀区。"})
        kinds = []
        while "suggestions" not in kinds:
            event = ws.receive_json()
            kinds.append(event["type"])
            if event["type"] == "suggestions":
                assert event["for_utterance"] == 1
                assert event["form"]["district"]["value"] == "越秀区"
        assert kinds[:2] == ["final", "form"]


def test_a_restarted_server_keeps_the_call(demo_settings: Settings) -> None:
    ctx = AppContext(demo_settings)
    with TestClient(create_app(context=ctx)) as c:
        c.headers.update(sign_in(c, ctx.db, "operator", ('operator',)))
        c.post("/api/v1/calls", json={"call_id": "t-6"})
        for speaker, text in CALL:
            say(c, "t-6", speaker, text)
        c.patch("/api/v1/calls/t-6/form", json={"fields": {"caller_name": "王小明"}})
        before = c.get("/api/v1/calls/t-6").json()
    ctx.close()
    ctx = AppContext(demo_settings)
    with TestClient(create_app(context=ctx)) as c:
        c.headers.update(sign_in(c, ctx.db, "operator", ('operator',)))
        after = c.get("/api/v1/calls/t-6").json()
    ctx.close()
    assert after["utterances"] == before["utterances"]
    assert after["form"] == before["form"]
    assert after["form"]["caller_name"]["value"] == "王小明"


def test_filing_a_ticket_from_the_call(client: TestClient) -> None:
    client.post("/api/v1/calls", json={"call_id": "t-7", "call_time": "2026-11-20T10:00:00"})
    for speaker, text in CALL:
        say(client, "t-7", speaker, text)
    client.patch("/api/v1/calls/t-7/form", json={"fields": {"caller_name": "王小明"}})
    with client.websocket_connect("/api/v1/calls/t-7/events") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        r = client.post("/api/v1/calls/t-7/ticket", json={"request_type": "投诉"})
        assert r.status_code == 201, r.text
        assert ws.receive_json()["type"] == "ticket"
    ticket = r.json()["ticket"]
    assert ticket["number"].startswith("GD20261120-")
    assert ticket["caller_name"] == "王小明"
    assert ticket["fields_source"]["caller_name"] == "operator"
    assert ticket["phone"] == "13912345678" and ticket["fields_source"]["phone"] == "suggestion"
    assert ticket["content"] and ticket["unit"] and ticket["call_id"] == "t-7"
    assert r.json()["due_date"] > "2026-12-01"  # 15 working days for a complaint
    again = client.post("/api/v1/calls/t-7/ticket", json={})
    assert again.status_code == 409
    # the same incident reported in a second call is flagged as a duplicate of the first
    client.post("/api/v1/calls", json={"call_id": "t-8", "call_time": "2026-11-21T10:00:00"})
    s = say(client, "t-8", "caller", "天河区天河路385号的力美健身关门跑路了，我的卡退不了钱。")
    dup = s["suggestions"]["duplicates"]
    assert dup and dup[0]["ticket_id"] == ticket["id"] and dup[0]["reasons"]
    r = client.post("/api/v1/calls/t-8/ticket", json={"link_to": ticket["id"]})
    assert r.status_code == 201 and r.json()["ticket"]["duplicate_of"] == ticket["id"]


def test_a_ticket_needs_what_the_form_lacks(client: TestClient) -> None:
    client.post("/api/v1/calls", json={"call_id": "t-9"})
    say(client, "t-9", "caller", "你好，我想问一下公积金怎么提取。")
    r = client.post("/api/v1/calls/t-9/ticket", json={"content": ""})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "content"]


def test_the_ticket_draft_is_kept_with_the_call(client: TestClient) -> None:
    client.post("/api/v1/calls", json={"call_id": "t-10"})
    say(client, "t-10", "caller", "你好，天河区天河路100号的路灯坏了，晚上很黑。")
    r = client.patch("/api/v1/calls/t-10/form",
                     json={"fields": {"content": "天河路100号路灯损坏，请维修",
                                      "request_type": "求助"}})
    assert r.status_code == 200
    snapshot = client.get("/api/v1/calls/t-10").json()
    assert snapshot["draft"] == {"content": "天河路100号路灯损坏，请维修", "request_type": "求助"}
    assert "content" not in snapshot["form"]
    ticket = client.post("/api/v1/calls/t-10/ticket", json={}).json()["ticket"]
    assert ticket["content"] == "天河路100号路灯损坏，请维修" and ticket["request_type"] == "求助"
    assert ticket["fields_source"]["content"] == "operator"
    too_long = client.patch("/api/v1/calls/t-10/form", json={"fields": {"content": "长" * 4001}})
    assert too_long.status_code == 422 and "4000" in too_long.json()["detail"]
