"""The knowledge managers' API on the real app, a real SQLite database and the real encoder:
the review flow and its refusals, versions and diffs, publication and retirement live at once,
urgent answers and expiry, all-or-nothing import with a per-row report, export round trips,
taxonomy and unit editing, and the gap report fed through the chatbot."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from copilot.api.app import create_app
from copilot.chat.log import ChatTurn, create_tables
from copilot.context import AppContext
from copilot.km.review import DRAFT_PLACEHOLDER
from copilot.settings import Settings
from knowledge_base import service
from knowledge_base.importer import import_table
from knowledge_base.models import AnswerTemplate
from tests.conftest import TEST_PASSWORD, sign_in

pytestmark = pytest.mark.slow

KM = "/api/v1/km"
UNITS = """name,kind,district,duty,phone
公积金中心,市直部门,全市,住房公积金缴存提取,020-1111
市场监管局,市直部门,全市,预付卡退费,020-2222
人武部,军事机关,全市,征兵报名和兵役登记,020-3333
"""
ANSWERS = """id,question,answer,unit,level1,level2,level3
fund-1,公积金怎么提取,职工离职、购房、租房可申请提取住房公积金。,公积金中心,住房,公积金,提取
card-1,健身房倒闭了会员卡怎么退钱,经营者停业的应退还预付款余额，可向市场监管部门投诉。,市场监管局,消费,预付卡,退费
"""
DRAFT = {
    "title": "征兵报名条件",
    "questions": ["征兵报名有什么条件", "参军入伍的年龄要求是多少"],
    "answer": "男性青年年满18至22周岁、高中以上学历可报名应征，大学生可放宽至24周岁。"
              "请登录全国征兵网报名并参加体检和政治考核。",
    "unit_name": "人武部",
    "source": "《征兵工作条例》",
    "request_type": "咨询",
}
PARAPHRASE = "想去当兵，报名对年龄和学历有什么要求"


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    context = AppContext(settings)
    with context.db.session() as s:
        import_table(s, "units", UNITS.encode(), "units.csv")
        import_table(s, "answers", ANSWERS.encode(), "answers.csv")
    yield context
    context.close()


# The people of these tests: two knowledge managers who also review (so the four-eyes rule,
# not the role, is what stops an author approving), and a knowledge manager only.
PEOPLE = {"张三": ("knowledge_manager", "reviewer"), "李四": ("knowledge_manager", "reviewer"),
          "王五": ("knowledge_manager", "reviewer"),
          "导入员": ("knowledge_manager",)}


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx)) as c:
        c.people = {name: sign_in(c, ctx.db, name, roles)  # type: ignore[attr-defined]
                    for name, roles in PEOPLE.items()}
        c.headers.update(c.people["张三"])  # type: ignore[attr-defined]
        yield c


def as_(client: TestClient, name: str) -> dict[str, str]:
    """The headers that make a request come from ``name``."""
    return client.people[name]  # type: ignore[attr-defined,no-any-return]


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def step(client: TestClient, tid: int, name: str, actor: str, **body: Any) -> Any:
    return client.post(f"{KM}/answers/{tid}/{name}", json=body, headers=as_(client, actor))


def search_ids(client: TestClient, q: str) -> list[str]:
    body = ok(client.get("/api/v1/kb/search", params={"q": q, "top_k": 5}))
    return [h["id"] for h in body["results"]]


def create(client: TestClient, actor: str = "张三", **fields: Any) -> dict[str, Any]:
    return ok(client.post(f"{KM}/answers", json={**DRAFT, **fields},
                          headers=as_(client, actor)), 201)


def test_review_flow_with_its_refusals_and_search_at_once(client: TestClient) -> None:
    a = create(client)
    tid = a["template_id"]
    assert (a["status"], a["version"], a["authors"]) == ("draft", 1, ["张三"])
    assert a["id"] not in search_ids(client, PARAPHRASE)

    skipped = step(client, tid, "approve", "李四")
    assert skipped.status_code == 409 and "请先提交审核" in skipped.json()["detail"]
    assert step(client, tid, "reject", "李四", note="x").status_code == 409

    assert ok(step(client, tid, "submit", "张三"))["status"] == "in_review"
    again = step(client, tid, "submit", "张三")
    assert again.status_code == 409 and "已在等待审核" in again.json()["detail"]

    own = step(client, tid, "approve", "张三")
    assert own.status_code == 403 and "审核人不能是作者" in own.json()["detail"]
    assert "张三" in own.json()["detail"]
    writer_only = step(client, tid, "approve", "导入员")
    assert writer_only.status_code == 403 and "审核员" in writer_only.json()["detail"]

    no_reason = step(client, tid, "reject", "李四")
    assert no_reason.status_code == 409 and "原因" in no_reason.json()["detail"]
    rejected = ok(step(client, tid, "reject", "李四", note="请补充体检要求"))
    assert rejected["status"] == "draft"
    assert rejected["versions"][-1]["note"] == "退回：请补充体检要求"

    ok(step(client, tid, "submit", "张三"))
    stale = step(client, tid, "approve", "李四", version=1)
    assert stale.status_code == 409 and "请刷新" in stale.json()["detail"]
    current = ok(client.get(f"{KM}/answers/{tid}"))["version"]
    published = ok(step(client, tid, "approve", "李四", version=current))
    assert published["status"] == "published" and published["live"] is True
    # live for the very next search, without a restart
    assert search_ids(client, PARAPHRASE)[0] == a["id"]
    assert [v["status"] for v in published["versions"]] == [
        "draft", "in_review", "draft", "in_review", "published"]

    assert step(client, tid, "submit", "张三").status_code == 409
    retired = ok(step(client, tid, "retire", "王五"))
    assert retired["status"] == "retired"
    assert a["id"] not in search_ids(client, PARAPHRASE)
    assert step(client, tid, "retire", "王五").status_code == 409
    assert client.get(f"{KM}/answers/999999").status_code == 404


def test_edit_keeps_versions_and_the_diff_shows_the_change(client: TestClient) -> None:
    a = create(client)
    tid = a["template_id"]
    new_text = DRAFT["answer"].replace("18至22周岁", "18至24周岁")
    edited = ok(client.put(f"{KM}/answers/{tid}", json={
        "answer": new_text, "base_version": 1,
        "questions": ["征兵报名有什么条件", "大学生当兵有什么优待"]}))
    assert edited["changed"] is True and edited["answer"]["version"] == 2
    assert [v["version"] for v in edited["answer"]["versions"]] == [1, 2]
    assert edited["answer"]["versions"][0]["snapshot"]["answer"] == DRAFT["answer"]

    d = ok(client.get(f"{KM}/answers/{tid}/diff", params={"from": 1, "to": 2}))
    by_field = {c["field"]: c for c in d["changes"]}
    assert set(by_field) == {"answer", "questions"}
    segments = by_field["answer"]["segments"]
    assert {"op": "delete", "text": "2"} in segments and {"op": "insert", "text": "4"} in segments
    assert "".join(s["text"] for s in segments if s["op"] != "insert") == DRAFT["answer"]
    assert "".join(s["text"] for s in segments if s["op"] != "delete") == new_text
    assert {"op": "delete", "text": "参军入伍的年龄要求是多少"} in by_field["questions"]["segments"]
    assert {"op": "insert", "text": "大学生当兵有什么优待"} in by_field["questions"]["segments"]
    assert ok(client.get(f"{KM}/answers/{tid}/diff"))["from_version"] == 1  # default: last two
    assert client.get(f"{KM}/answers/{tid}/diff", params={"from": 9}).status_code == 404

    same = ok(client.put(f"{KM}/answers/{tid}", json={"answer": new_text}))
    assert same["changed"] is False and same["answer"]["version"] == 2
    stale = client.put(f"{KM}/answers/{tid}", json={"title": "x",
                                                       "base_version": 1})
    assert stale.status_code == 409
    bad_unit = client.put(f"{KM}/answers/{tid}", json={"unit_name": "无此单位"})
    assert bad_unit.status_code == 422 and "无此单位" in bad_unit.json()["detail"]

    # editing a published answer puts it back to draft: it leaves search until re-approved,
    # and the editor becomes an author who may not approve it
    ok(step(client, tid, "submit", "张三"))
    ok(step(client, tid, "approve", "李四"))
    assert search_ids(client, PARAPHRASE)[0] == a["id"]
    after = ok(client.put(f"{KM}/answers/{tid}", json={"source": "新依据"},
                          headers=as_(client, "李四")))
    assert after["answer"]["status"] == "draft"
    assert "退回草稿" in after["answer"]["versions"][-1]["note"]
    assert a["id"] not in search_ids(client, PARAPHRASE)
    ok(step(client, tid, "submit", "李四"))
    assert step(client, tid, "approve", "李四").status_code == 403
    assert ok(step(client, tid, "approve", "张三"))["status"] == "published"


def test_an_answer_past_its_expiry_date_is_not_published(client: TestClient) -> None:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    a = create(client, effective_from=(yesterday - dt.timedelta(days=9)).isoformat(),
               expires_on=yesterday.isoformat())
    ok(step(client, a["template_id"], "submit", "张三"))
    late = step(client, a["template_id"], "approve", "李四")
    assert late.status_code == 409 and "失效日期" in late.json()["detail"]
    bad_dates = client.post(f"{KM}/answers", json={
        **DRAFT, "effective_from": "2030-01-02", "expires_on": "2030-01-01"})
    assert bad_dates.status_code == 422 and "expires_on" in bad_dates.json()["detail"]


def test_list_filters(client: TestClient) -> None:
    create(client)
    everything = ok(client.get(f"{KM}/answers"))
    assert everything["total"] == 3
    assert ok(client.get(f"{KM}/answers", params={"status": "draft"}))["total"] == 1
    assert ok(client.get(f"{KM}/answers", params={"q": "参军入伍"}))["items"][0]["title"] == \
        "征兵报名条件"
    assert ok(client.get(f"{KM}/answers", params={"q": "会员卡"}))["items"][0]["id"] == "card-1"
    assert ok(client.get(f"{KM}/answers", params={"unit": "公积金中心"}))["total"] == 1
    code = ok(client.get(f"{KM}/answers/1"))["category_code"]
    assert ok(client.get(f"{KM}/answers", params={"category": code[:2]}))["total"] == 1
    page = ok(client.get(f"{KM}/answers", params={"limit": 2, "offset": 2}))
    assert (page["total"], len(page["items"])) == (3, 1)


def test_urgent_answer_is_live_at_once_and_expires_by_itself(client: TestClient,
                                                             ctx: AppContext) -> None:
    today = dt.date.today()
    urgent = {"reviewer": "李四", "reviewer_password": TEST_PASSWORD, "title": "台风停课通知",
              "questions": ["台风来了明天学校停课吗"],
              "answer": "受台风影响，全市中小学和幼儿园明日停课一天，请家长做好看护。",
              "expires_on": (today + dt.timedelta(days=1)).isoformat()}
    alone = client.post(f"{KM}/answers/urgent", json={**urgent, "reviewer": "张三"})
    assert alone.status_code == 403 and "两人" in alone.json()["detail"]
    unproven = client.post(f"{KM}/answers/urgent", json={**urgent, "reviewer_password": "猜的"})
    assert unproven.status_code == 403 and "审核人确认失败" in unproven.json()["detail"]
    not_reviewer = client.post(f"{KM}/answers/urgent", json={**urgent, "reviewer": "导入员"})
    assert not_reviewer.status_code == 403 and "不是审核员" in not_reviewer.json()["detail"]
    too_long = client.post(f"{KM}/answers/urgent", json={
        **urgent, "expires_on": (today + dt.timedelta(days=31)).isoformat()})
    assert too_long.status_code == 422 and "30 天" in too_long.json()["detail"]
    no_expiry = {k: v for k, v in urgent.items() if k != "expires_on"}
    assert client.post(f"{KM}/answers/urgent", json=no_expiry).status_code == 422

    a = ok(client.post(f"{KM}/answers/urgent", json=urgent), 201)
    assert (a["status"], a["urgent"], a["effective_from"]) == ("published", True,
                                                             today.isoformat())
    assert a["expiry"] == "expiring" and a["authors"] == ["张三"]
    assert search_ids(client, "台风天学校停不停课")[0] == a["id"]
    # tomorrow it is gone from search with nothing rebuilt: dates are checked per query
    hits = ctx.index.search("台风天学校停不停课", 5, today=today + dt.timedelta(days=1))
    assert a["id"] not in [h.id for h in hits]

    # an answer whose expiry date has come (dates set as if published earlier)
    with ctx.db.session() as s:
        s.execute(update(AnswerTemplate).where(AnswerTemplate.id == a["template_id"]).values(
            effective_from=today - dt.timedelta(days=10), expires_on=today))
        service.bump_revision(s)
    assert a["id"] not in search_ids(client, "台风天学校停不停课")
    expired = ok(client.get(f"{KM}/answers", params={"expired": "true"}))
    assert [i["id"] for i in expired["items"]] == [a["id"]]
    assert expired["items"][0]["expiry"] == "expired" and expired["items"][0]["live"] is False
    assert ok(client.get(f"{KM}/answers", params={"expiring_within_days": 30}))["total"] == 0


def _upload(client: TestClient, kind: str, data: bytes, name: str, actor: str = "张三") -> Any:
    return client.post(f"{KM}/import/{kind}", headers=as_(client, actor),
                       files={"file": (name, io.BytesIO(data), "text/csv")})


def test_import_with_bad_rows_is_refused_whole_with_a_row_report(client: TestClient) -> None:
    before = ok(client.get(f"{KM}/answers"))["total"]
    units_before = ok(client.get(f"{KM}/units"))
    csv_text = ("id,question,answer,unit,request_type\n"
                "new-1,垃圾分类怎么投放,按可回收物、有害垃圾、厨余垃圾和其他垃圾分类投放。,城管局,咨询\n"
                "new-2,噪音扰民找谁,请向所在街道反映。,街道办,吐槽\n"
                "new-3,空答案,,街道办,咨询\n")
    r = _upload(client, "answers", csv_text.encode(), "answers.csv")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [p["line"] for p in detail["problems"]] == [3, 4]
    assert "吐槽" in detail["problems"][0]["message"] and "整份文件未导入" in detail["message"]
    assert ok(client.get(f"{KM}/answers"))["total"] == before
    assert ok(client.get(f"{KM}/units")) == units_before  # 城管局 was not created either

    not_a_table = _upload(client, "answers", b"PK\x03\x04garbage", "a.xlsx")
    assert not_a_table.status_code == 422 and "无法读取" in not_a_table.json()["detail"]
    assert _upload(client, "recipes", b"a\n1\n", "a.csv").status_code == 404

    good = ok(_upload(client, "answers", csv_text.splitlines()[0].encode() + b"\n" +
                      csv_text.splitlines()[1].encode(), "answers.csv"))
    assert good["summary"]["created"] == 1 and good["summary"]["created_units"] == ["城管局"]
    assert search_ids(client, "垃圾应该怎么分类投放")[0] == "new-1"


def test_oversized_upload_gets_413(client: TestClient, ctx: AppContext) -> None:
    ctx.settings.max_upload_bytes = 1024
    r = _upload(client, "answers", b"id,answer\n" + b"x,y\n" * 400, "big.csv")
    assert r.status_code == 413 and "1024" in r.json()["detail"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_round_trip(client: TestClient, fmt: str) -> None:
    create(client)
    for kind in ("taxonomy", "units", "answers"):
        r = client.get(f"{KM}/export/{kind}", params={"format": fmt})
        assert r.status_code == 200 and f"{kind}-" in r.headers["content-disposition"]
        back = ok(_upload(client, kind, r.content, f"{kind}.{fmt}", actor="导入员"))
        summary = back["summary"]
        assert summary["created"] == 0, summary
        if kind == "answers":
            assert summary["unchanged"] == summary["rows"] == 3
    assert client.get(f"{KM}/export/answers", params={"format": "pdf"}).status_code == 422


def test_taxonomy_and_unit_editing(client: TestClient) -> None:
    tree = ok(client.get("/api/v1/kb/categories"))
    housing = tree[0]
    assert housing["name"] == "住房"
    made = ok(client.post(f"{KM}/categories", json={
        "parent_code": housing["code"], "name": "租赁",
        "description": "住房租赁"}), 201)
    assert made["code"] == f"{housing['code']}.02" and made["path"] == ["住房", "租赁"]
    assert client.post(f"{KM}/categories", json={
        "parent_code": housing["code"], "name": "租赁"}).status_code == 409
    leaf = housing["children"][0]["children"][0]["code"]
    deep = client.post(f"{KM}/categories", json={"parent_code": leaf,
                                                 "name": "四级"})
    assert deep.status_code == 422 and "三级" in deep.json()["detail"]
    wrong_code = client.post(f"{KM}/categories", json={
        "parent_code": housing["code"], "name": "物业", "code": "09.01"})
    assert wrong_code.status_code == 422
    renamed = ok(client.put(f"{KM}/categories/{leaf}", json={"name": "提取业务"}))
    assert renamed["path"][-1] == "提取业务"
    fund = ok(client.get(f"{KM}/answers/1"))
    assert fund["category_path"][-1] == "提取业务"
    assert client.put(f"{KM}/categories/99", json={"name": "y"}).status_code == 404

    unit = ok(client.post(f"{KM}/units", json={"name": "城管局",
                                               "phone": "020-4444"}), 201)
    assert unit["phone"] == "020-4444"
    assert client.post(f"{KM}/units", json={"name": "城管局"}).status_code == 409
    ok(client.put(f"{KM}/units/公积金中心", json={"phone": "020-9999"}))
    hit = ok(client.get("/api/v1/kb/search", params={"q": "公积金怎么取"}))["results"][0]
    assert (hit["unit"], hit["unit_phone"]) == ("公积金中心", "020-9999")  # live at once
    by_id = ok(client.put(f"{KM}/units/{unit['id']}", json={
        "name": "城市管理局", "phone": ""}))
    assert (by_id["name"], by_id["phone"]) == ("城市管理局", "")
    clash = client.put(f"{KM}/units/城市管理局", json={"name": "市场监管局"})
    assert clash.status_code == 422
    assert client.put(f"{KM}/units/无此单位", json={}).status_code == 404
    nobody = client.post(f"{KM}/units", json={"name": "某局"}, headers={"Authorization": ""})
    assert nobody.status_code == 401 and "请先登录" in nobody.json()["detail"]


def test_gap_report_groups_similar_unanswered_questions(client: TestClient,
                                                        ctx: AppContext) -> None:
    ctx.settings.chat_burst = 100
    asked = ["今年征兵报名的年龄和学历要求是多少"] * 3 + [
        "征兵报名有什么年龄限制", "参军报名条件是什么",
        "新能源汽车充电桩怎么申请安装", "私人充电桩安装需要物业同意吗",
        "狗狗疫苗在哪里打"]
    for message in asked:
        reply = ok(client.post("/api/v1/chat", json={"message": message}))["reply"]
        assert reply["kind"] == "no_answer", (message, reply)

    report = ok(client.get(f"{KM}/gaps", params={"days": 30}))
    assert report["asked"] == len(asked) and report["questions"] == 6
    groups = report["groups"]
    first = groups[0]
    assert first["count"] == 5
    assert first["questions"][0] == {"question": "今年征兵报名的年龄和学历要求是多少", "count": 3,
                                     "last_at": first["questions"][0]["last_at"]}
    assert {q["question"] for q in first["questions"]} == {
        "今年征兵报名的年龄和学历要求是多少", "征兵报名有什么年龄限制", "参军报名条件是什么"}
    assert groups[1]["count"] == 2 and "充电桩" in groups[1]["questions"][0]["question"]
    assert [g["count"] for g in groups] == [5, 2, 1]
    assert first["drafted"] is None

    questions = [q["question"] for q in first["questions"]]
    draft = ok(client.post(f"{KM}/gaps/draft", json={"questions": questions}),
               201)
    assert draft["status"] == "draft" and draft["questions"] == questions
    assert draft["title"] == questions[0] and draft["answer"] == DRAFT_PLACEHOLDER
    placeholder = step(client, draft["template_id"], "submit", "张三")
    assert placeholder.status_code == 409 and "占位" in placeholder.json()["detail"]
    again = ok(client.get(f"{KM}/gaps"))["groups"][0]
    assert again["drafted"]["template_id"] == draft["template_id"]
    assert again["answered_now"] is None

    # once an answer is written and published, the report says the chatbot answers it now
    tid = draft["template_id"]
    ok(client.put(f"{KM}/answers/{tid}", json={**DRAFT, "questions": questions}))
    ok(step(client, tid, "submit", "张三"))
    ok(step(client, tid, "approve", "李四"))
    now = ok(client.get(f"{KM}/gaps"))["groups"][0]
    assert now["answered_now"]["template_id"] == tid and now["count"] == 5


def test_gap_report_counts_the_question_behind_none_of_these(ctx: AppContext,
                                                             client: TestClient) -> None:
    create_tables(ctx.db.engine)
    with ctx.db.session() as s:
        s.add_all([
            ChatTurn(conversation_id="c1", stage="idle", question="公积金贷款和提取有什么区别",
                     decision="clarify"),
            ChatTurn(conversation_id="c1", stage="clarify", question="以上都不是",
                     decision="no_answer", top_id="fund-1", top_score=0.9),
            ChatTurn(conversation_id="c2", stage="idle", question="公积金贷款和提取有什么区别",
                     decision="no_answer"),
            ChatTurn(conversation_id="c3", stage="idle", question="你好", decision="info"),
        ])
    report = ok(client.get(f"{KM}/gaps"))
    assert report["asked"] == 2
    assert [(g["count"], g["questions"][0]["question"]) for g in report["groups"]] == [
        (2, "公积金贷款和提取有什么区别")]
    assert report["groups"][0]["best_id"] == "fund-1"
