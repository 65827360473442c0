"""The citizen chatbot on the real app, the demo knowledge base and a real SQLite database:
cited answers quoted exactly, no-answers with a ticket offer, emergencies, clarifications, the
ticket dialogue up to a filed ticket, rate limiting, the log, and that nothing is said that is
not a knowledge-base answer or a fixed phrase."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from copilot.api.app import create_app
from copilot.chat import phrases
from copilot.chat.decide import Thresholds, choose
from copilot.chat.log import ChatTurn, unanswered
from copilot.chat.ratelimit import RateLimiter
from copilot.context import AppContext
from copilot.settings import Settings
from copilot.tickets.models import Ticket

CHAT = "/api/v1/chat"
ANSWERS_CSV = Path(__file__).resolve().parents[2] / "knowledge_base" / "demo" / "answers.csv"
PARAPHRASE = "笔试面试都过了，教师资格证下一步要怎么申请认定"  # kb-06-025, in other words
UNANSWERABLE = "今年征兵报名的年龄和学历要求是多少"


def kb_rows() -> dict[str, dict[str, str]]:
    with ANSWERS_CSV.open(encoding="utf-8") as fh:
        return {row["id"]: row for row in csv.DictReader(fh)}


class Chat:
    """One conversation through the HTTP API, every reply kept."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.id: str | None = None
        self.replies: list[dict[str, Any]] = []

    def say(self, message: str) -> dict[str, Any]:
        body: dict[str, Any] = {"message": message}
        if self.id:
            body["conversation_id"] = self.id
        r = self.client.post(CHAT, json=body)
        assert r.status_code == 200, r.text
        data = r.json()
        self.id = data["conversation_id"]
        self.replies.append(data["reply"])
        return data["reply"]


def app_client(settings: Settings) -> Iterator[tuple[TestClient, AppContext]]:
    ctx = AppContext(settings)
    with TestClient(create_app(context=ctx)) as client:
        yield client, ctx
    ctx.close()


@pytest.fixture
def client_ctx(demo_settings: Settings) -> Iterator[tuple[TestClient, AppContext]]:
    demo_settings.chat_burst = 1000
    yield from app_client(demo_settings)


@pytest.fixture
def client(client_ctx: tuple[TestClient, AppContext]) -> TestClient:
    return client_ctx[0]


def assert_allowed(reply: dict[str, Any], kb: dict[str, dict[str, str]]) -> None:
    """A reply is an answer template's text (with its citation) or built from fixed phrases;
    its options are fixed phrases or answer titles."""
    if reply["kind"] == "answer":
        cited = reply["citation"]
        assert reply["text"] == kb[cited["id"]]["answer"]
        assert cited["title"] == kb[cited["id"]]["title"]
    else:
        assert phrases.is_fixed_reply(reply["text"]), reply["text"]
    titles = {row["title"] for row in kb.values()}
    for option in reply.get("options", []):
        assert option in titles or phrases.is_fixed_reply(option), option


# ------------------------------------------------------------------ answers


@pytest.mark.slow
def test_paraphrase_gets_the_cited_answer_quoted_exactly(client: TestClient) -> None:
    reply = Chat(client).say(PARAPHRASE)
    kb = kb_rows()
    assert reply["kind"] == "answer"
    cited = reply["citation"]
    assert cited["id"] == "kb-06-025"
    assert reply["text"] == kb["kb-06-025"]["answer"]
    assert cited["title"] == kb["kb-06-025"]["title"]
    assert cited["unit"] == kb["kb-06-025"]["unit"]
    assert cited["version"] >= 1 and cited["template_id"] > 0
    assert cited["contact"]  # the unit's phone, or the fixed phrase pointing to 12345


@pytest.mark.slow
def test_unanswerable_question_gets_no_answer_and_a_ticket_offer(client: TestClient) -> None:
    reply = Chat(client).say(UNANSWERABLE)
    assert reply["kind"] == "no_answer"
    assert reply["text"] == phrases.NO_ANSWER
    assert reply["options"] == [phrases.OFFER_YES, phrases.OFFER_NO]
    assert "citation" not in reply


@pytest.mark.slow
def test_fire_gets_119_at_once_even_mid_ticket(client: TestClient) -> None:
    reply = Chat(client).say("救命，我家厨房着火了，火越烧越大")
    assert reply["kind"] == "emergency"
    assert reply["lines"][0] == "119"
    assert "119" in reply["text"] and phrases.is_fixed_reply(reply["text"])

    chat = Chat(client)
    chat.say(UNANSWERABLE)
    assert chat.say(phrases.OFFER_YES)["kind"] == "ask_field"
    assert chat.say("楼道里着火了，好多烟")["kind"] == "emergency"
    assert chat.say("张伟")["field"] == "phone"  # the ticket goes on where it was


@pytest.mark.slow
def test_expired_answer_is_not_quoted(client_ctx: tuple[TestClient, AppContext]) -> None:
    from knowledge_base import service
    from knowledge_base.models import AnswerTemplate

    client, ctx = client_ctx
    assert Chat(client).say(PARAPHRASE)["kind"] == "answer"
    with ctx.db.session() as session:
        template = session.scalar(select(AnswerTemplate)
                                  .where(AnswerTemplate.external_id == "kb-06-025"))
        service.update_answer(session, template,
                              {"expires_on": dt.date.today() - dt.timedelta(days=1)})
    reply = Chat(client).say(PARAPHRASE)
    assert reply.get("citation", {}).get("id") != "kb-06-025"


@pytest.mark.slow
def test_close_answers_of_different_topics_ask_back(demo_settings: Settings) -> None:
    # every answer below certainty is asked back here, to test the clarification itself
    demo_settings.chat_answer_threshold = 0.99
    demo_settings.chat_suggest_threshold = 0.85
    kb = kb_rows()
    for client, _ in app_client(demo_settings):
        chat = Chat(client)
        reply = chat.say("给老人买的按摩仪说能治高血压糖尿病")
        assert reply["kind"] == "clarify" and reply["text"] == phrases.CLARIFY
        wanted = kb["kb-03-032"]["title"]
        assert wanted in reply["options"] and reply["options"][-1] == phrases.NONE_OF_THESE
        assert 3 <= len(reply["options"]) <= 4
        picked = chat.say(wanted)
        assert picked["kind"] == "answer" and picked["citation"]["id"] == "kb-03-032"
        assert picked["text"] == kb["kb-03-032"]["answer"]

        again = Chat(client)
        first = again.say("给老人买的按摩仪说能治高血压糖尿病")
        by_number = again.say("1")
        assert by_number["citation"]["title"] == first["options"][0]
        none = Chat(client)
        none.say("给老人买的按摩仪说能治高血压糖尿病")
        assert none.say(phrases.NONE_OF_THESE)["kind"] == "no_answer"


# ------------------------------------------------------------------ tickets


def ticket_rows(ctx: AppContext) -> list[Ticket]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Ticket)))


@pytest.mark.slow
def test_ticket_dialogue_ends_in_a_filed_ticket(client_ctx: tuple[TestClient, AppContext]
                                                ) -> None:
    client, ctx = client_ctx
    chat = Chat(client)
    assert chat.say(UNANSWERABLE)["kind"] == "no_answer"
    reply = chat.say(phrases.OFFER_YES)
    assert reply["kind"] == "ask_field" and reply["field"] == "name"
    assert chat.say("我叫李红梅")["field"] == "phone"
    bad = chat.say("138 1234 567")
    assert bad["field"] == "phone" and bad["text"] == phrases.PHONE_INVALID
    assert chat.say("13812345678")["field"] == "address"
    reply = chat.say("天河区体育西路123号")
    assert reply["field"] == "content" and reply["options"] == [phrases.REUSE_QUESTION]
    confirm = chat.say(phrases.REUSE_QUESTION)
    assert confirm["kind"] == "confirm"
    assert confirm["text"] == phrases.fill(phrases.CONFIRM, name="李红梅", phone="13812345678",
                                           address="天河区体育西路123号", content=UNANSWERABLE)
    assert ticket_rows(ctx) == []  # nothing is filed before the citizen says yes
    # a correction at the read-back, then yes
    assert chat.say("电话改成13900001111")["kind"] == "confirm"
    filed = chat.say("确认")
    assert filed["kind"] == "ticket_filed"
    number = filed["ticket"]["number"]
    assert number in filed["text"]
    (ticket,) = ticket_rows(ctx)
    assert ticket.number == number and ticket.created_by == "chatbot"
    assert ticket.caller_name == "李红梅" and ticket.phone == "13900001111"
    assert ticket.street_address == "天河区体育西路123号" and ticket.content == UNANSWERABLE
    assert ticket.request_type in ("咨询", "求助", "投诉", "举报", "意见建议")
    assert ticket.call_id == f"chat:{chat.id}"
    kb = kb_rows()
    for r in chat.replies:
        assert_allowed(r, kb)


@pytest.mark.slow
def test_ticket_fields_given_at_once_edit_and_cancel(client_ctx: tuple[TestClient, AppContext]
                                                     ) -> None:
    client, ctx = client_ctx
    chat = Chat(client)
    chat.say(UNANSWERABLE)
    chat.say("好的")
    reply = chat.say("我叫王小明，电话13912345678，地址是海珠区江南大道中88号")
    assert reply["field"] == "content"
    confirm = chat.say("想了解今年征兵的报名条件，请有关部门回复我")
    assert confirm["kind"] == "confirm" and "海珠区江南大道中88号" in confirm["text"]
    assert chat.say("修改")["options"] == ["姓名", "电话", "地址", "诉求"]
    assert chat.say("地址")["field"] == "address"
    assert "江南大道中99号" in chat.say("海珠区江南大道中99号")["text"]
    assert chat.say("取消")["text"] == phrases.CANCELLED
    assert ticket_rows(ctx) == []
    # declining the offer
    other = Chat(client)
    other.say(UNANSWERABLE)
    assert other.say("不用了")["text"] == phrases.DECLINED


# ------------------------------------------------------------------ API limits and log


@pytest.mark.slow
def test_rate_limit_gives_429_with_retry_after(demo_settings: Settings) -> None:
    demo_settings.chat_burst = 2
    demo_settings.chat_rate_per_minute = 1
    for client, _ in app_client(demo_settings):
        for _ in range(2):
            assert client.post(CHAT, json={"message": "你好"}).status_code == 200
        r = client.post(CHAT, json={"message": "你好"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert "太快" in r.json()["detail"]


@pytest.mark.slow
def test_empty_oversized_and_malformed_messages(client: TestClient) -> None:
    assert client.post(CHAT, json={"message": "  "}).status_code == 422
    r = client.post(CHAT, json={"message": "问" * 501})
    assert r.status_code == 413 and "500" in r.json()["detail"]
    r = client.post(CHAT, json={"message": "你好", "conversation_id": "../../etc"})
    assert r.status_code == 422
    assert client.post(CHAT, json={}).status_code == 422
    # an unknown (expired) conversation starts afresh under a new id
    r = client.post(CHAT, json={"message": "你好", "conversation_id": "0" * 32})
    assert r.status_code == 200 and r.json()["conversation_id"] != "0" * 32


@pytest.mark.slow
def test_every_turn_is_logged_without_personal_data(client_ctx: tuple[TestClient, AppContext]
                                                    ) -> None:
    client, ctx = client_ctx
    chat = Chat(client)
    script = [PARAPHRASE, UNANSWERABLE, phrases.OFFER_YES, "李红梅", "13812345678", "取消",
              "我家厨房着火了"]
    for message in script:
        chat.say(message)
    with ctx.db.session() as session:
        rows = list(session.scalars(select(ChatTurn).where(ChatTurn.conversation_id == chat.id)
                                    .order_by(ChatTurn.id)))
        gaps = unanswered(session)
    assert [r.decision for r in rows] == [r["kind"] for r in chat.replies]
    answer = rows[0]
    assert answer.question == PARAPHRASE and answer.answer_id == "kb-06-025"
    assert answer.answer_version is not None and answer.top_score is not None
    assert rows[1].decision == "no_answer" and rows[1].top_id and rows[1].answer_id is None
    assert all("13812345678" not in r.question and "李红梅" not in r.question for r in rows)
    assert rows[-1].question == "我家厨房着火了"
    assert any(g.question == UNANSWERABLE for g in gaps)


@pytest.mark.slow
def test_nothing_said_outside_the_phrases_and_the_knowledge_base(client: TestClient) -> None:
    kb = kb_rows()
    messages = ["你好", PARAPHRASE, "公积金怎么取出来", "明天广州会不会下大雨", "谢谢",
                "我要起诉隔壁公司", "我要举报一个干部收受贿赂", "路口两辆车撞了，有人躺在地上流血",
                "？？？", "asdfgh", "小区电梯老是坏", "1", UNANSWERABLE, "不用了"]
    chat = Chat(client)
    for message in messages:
        assert_allowed(chat.say(message), kb)


# ------------------------------------------------------------------ units


class _Hit:
    def __init__(self, id: str, score: float, dense: float, code: str | None) -> None:
        self.id, self.score, self.dense_score, self.category_code = id, score, dense, code
        self.title = id


def test_choose_answers_asks_back_or_refuses() -> None:
    t = Thresholds(answer=0.92, suggest=0.90, margin=0.2)
    clear = [_Hit("a", 1.0, 0.95, "01"), _Hit("b", 0.5, 0.91, "02")]
    assert choose(clear, t).kind == "answer"
    close = [_Hit("a", 1.0, 0.95, "01"), _Hit("b", 0.9, 0.93, "02"), _Hit("c", 0.1, 0.80, "03")]
    c = choose(close, t)
    assert c.kind == "clarify" and [h.id for h in c.options] == ["a", "b"]
    same_topic = [_Hit("a", 1.0, 0.95, "01"), _Hit("b", 0.9, 0.93, "01")]
    assert choose(same_topic, t).kind == "answer"
    unsure = [_Hit("a", 1.0, 0.91, "01"), _Hit("b", 0.2, 0.85, "02")]
    u = choose(unsure, t)
    assert u.kind == "clarify" and [h.id for h in u.options] == ["a"]
    assert choose([_Hit("a", 1.0, 0.89, "01")], t).kind == "no_answer"
    assert choose([], t).kind == "no_answer"


def test_rate_limiter_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=2, clock=lambda: now[0])
    assert limiter.check("a") == 0 and limiter.check("a") == 0
    assert limiter.check("a") == 10  # one token per 10 s
    assert limiter.check("b") == 0  # per client
    now[0] = 10.0
    assert limiter.check("a") == 0


def test_fixed_reply_check() -> None:
    assert phrases.is_fixed_reply(phrases.NO_ANSWER)
    assert phrases.is_fixed_reply(phrases.fill(phrases.TICKET_FILED, number="GD1", due="明天"))
    assert phrases.is_fixed_reply(phrases.EMERGENCY_HEAD + phrases.EMERGENCY["122"]
                                  + phrases.EMERGENCY_ALSO["120"])
    assert not phrases.is_fixed_reply("根据规定，您可以去办理。")
    assert not phrases.is_fixed_reply(phrases.NO_ANSWER + "另外，建议您咨询律师。")
