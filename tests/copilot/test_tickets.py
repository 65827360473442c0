"""Work orders on a real SQLite database: merging operator edits with suggestions, validation,
deadlines over the official calendar, the status flow, dispatch, duplicate links, atomicity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from classifier.deadline import CHINA_TZ
from copilot.form.idcard import check_char
from copilot.tickets import (
    TicketConflict,
    TicketDraft,
    TicketInvalid,
    TicketNotFound,
    create_tables,
    create_ticket,
    dispatch,
    get_ticket,
    link_duplicate,
    list_tickets,
    transition,
    unlink_duplicate,
)
from copilot.tickets.models import Ticket, TicketEvent
from copilot.tickets.service import normalize_phone
from knowledge_base import service as kb
from knowledge_base.db import Database

ACCEPTED = dt.datetime(2025, 11, 3, 10, 0, tzinfo=CHINA_TZ)  # a Monday
ID_17 = "11010519491231002"
VALID_ID = ID_17 + check_char(ID_17)
BAD_ID = ID_17 + ("0" if check_char(ID_17) != "0" else "1")
FLOW = ["派单", "办理", "答复", "回访", "办结"]


@pytest.fixture
def tdb(db: Database) -> Database:
    create_tables(db.engine)
    return db


def draft(**changes: Any) -> TicketDraft:
    values: dict[str, Any] = {"content": "市民反映天河路208号楼下烧烤店油烟直排，要求处理。",
                              "request_type": "投诉", "district": "天河区",
                              "street_address": "天河路208号", "accepted_at": ACCEPTED}
    return TicketDraft(**{**values, **changes})


def new(tdb: Database, **changes: Any) -> int:
    with tdb.session() as s:
        return create_ticket(s, draft(**changes), actor="op1").id


def count(tdb: Database, model: type) -> int:
    with tdb.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


# ---------------------------------------------------------------- create


def test_operator_values_win_over_suggestions_field_by_field(tdb: Database) -> None:
    suggested = {"phone": "13900000000", "merchant": "川味烤吧", "caller_name": "王先生",
                 "request_type": "咨询", "unit": "天河区城管局"}
    with tdb.session() as s:
        t = create_ticket(s, draft(phone="13812345678", merchant="", request_type="投诉"),
                          suggested, actor="op1")
        tid, events = t.id, [(e.action, e.detail) for e in t.events]
    with tdb.session() as s:
        t = get_ticket(s, tid)
        assert t.phone == "13812345678"  # the operator's number, not the suggested one
        assert t.merchant is None  # an explicit "" clears the suggested merchant
        assert t.caller_name == "王先生"  # untouched by the operator: the suggestion stays
        assert t.request_type == "投诉" and t.unit == "天河区城管局"
        assert t.fields_source == {
            "phone": "operator", "merchant": "operator", "caller_name": "suggestion",
            "request_type": "operator", "unit": "suggestion", "content": "operator",
            "district": "operator", "street_address": "operator"}
    assert events[0][0] == "create"
    assert events[0][1]["overridden_suggestions"] == {
        "phone": "13900000000", "merchant": "川味烤吧", "request_type": "咨询"}


def test_content_and_request_type_may_come_from_suggestions(tdb: Database) -> None:
    with tdb.session() as s:
        t = create_ticket(s, TicketDraft(accepted_at=ACCEPTED),
                          {"content": "  咨询公积金提取条件  ", "request_type": "咨询"},
                          actor="op1")
        assert (t.content, t.request_type) == ("咨询公积金提取条件", "咨询")
        assert t.status == "受理" and t.number == f"GD20251103-{t.id:06d}"


@pytest.mark.parametrize("changes,field,fragment", [
    ({"content": "  "}, "content", "empty: write what the caller asks for"),
    ({"content": "问" * 4001}, "content", "4001 characters, at most 4000"),
    ({"request_type": None}, "request_type", "missing: choose one of"),
    ({"request_type": "投拆"}, "request_type", "'投拆' is not a request type"),
    ({"phone": "1381234567"}, "phone", "neither a mobile number"),
    ({"phone": "13812345678x"}, "phone", "read it back to the caller"),
    ({"id_number": BAD_ID}, "id_number", "not a valid resident ID number"),
    ({"merchant": "店" * 101}, "merchant", "at most 100"),
    ({"accepted_at": dt.datetime(2025, 11, 3, 10)}, "accepted_at", "time zone"),
])
def test_validation_names_the_field_and_what_to_do(
        tdb: Database, changes: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(TicketInvalid) as err, tdb.session() as s:
        create_ticket(s, draft(**changes), actor="op1")
    assert field in err.value.errors
    assert fragment in err.value.errors[field]
    assert f"{field}: " in str(err.value)
    assert count(tdb, Ticket) == 0


def test_every_problem_is_reported_at_once(tdb: Database) -> None:
    with pytest.raises(TicketInvalid) as err, tdb.session() as s:
        create_ticket(s, draft(content="", request_type="x", phone="123"), actor="op1")
    assert set(err.value.errors) == {"content", "request_type", "phone"}


def test_unknown_suggestion_or_draft_fields_are_refused(tdb: Database) -> None:
    with pytest.raises(TicketInvalid, match=r"suggested\.colour"), tdb.session() as s:
        create_ticket(s, draft(), {"colour": "red"}, actor="op1")
    with pytest.raises(TicketInvalid, match="colour"):
        TicketDraft.from_mapping({"content": "x", "colour": "red"})


@pytest.mark.parametrize("raw,normal", [
    ("+86 138-1234-5678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("02087654321", "020-87654321"),
    ("02012345678", None),  # subscriber numbers do not start with 0 or 1
    ("0571 8877 6655", "0571-88776655"),
    ("(010)6512 3456", "010-65123456"),
    ("87654321", "87654321"),
    ("12345678901", None),
    ("0201234", None),
])
def test_phone_numbers_are_normalised(raw: str, normal: str | None) -> None:
    assert normalize_phone(raw) == normal


def test_stored_values_are_normalised(tdb: Database) -> None:
    with tdb.session() as s:
        t = create_ticket(s, draft(phone="020 8765 4321", id_number=VALID_ID.lower()),
                          actor="op1")
        assert (t.phone, t.id_number) == ("020-87654321", VALID_ID.upper())
        assert t.address_key == "天河路208号"


@pytest.mark.parametrize("request_type,accepted,due", [
    # accepted on the 调休 Sunday before National Day: 9/28-9/30, then 10/9 on, Saturday
    # 10/11 is a working day: the 15th working day is 10/23
    ("投诉", dt.datetime(2025, 9, 28, 10, 0, tzinfo=CHINA_TZ), dt.date(2025, 10, 23)),
    # after 17:00 on 9/30: counts from 10/9, so 10/9, 10/10, 10/11
    ("咨询", dt.datetime(2025, 9, 30, 18, 0, tzinfo=CHINA_TZ), dt.date(2025, 10, 11)),
    # 10:00 UTC is 18:00 in Beijing, after the cut-off: counts from Tuesday
    ("求助", dt.datetime(2025, 11, 3, 10, 0, tzinfo=dt.UTC), dt.date(2025, 11, 12)),
])
def test_due_date_follows_request_type_and_calendar(
        tdb: Database, request_type: str, accepted: dt.datetime, due: dt.date) -> None:
    with tdb.session() as s:
        t = create_ticket(s, draft(request_type=request_type, accepted_at=accepted),
                          actor="op1")
        assert t.due_date == due
        assert t.events[0].detail["due_date"] == due.isoformat()


def test_number_uses_the_beijing_date_and_times_are_stored_in_utc(tdb: Database) -> None:
    accepted = dt.datetime(2025, 11, 4, 1, 30, tzinfo=CHINA_TZ)  # still 11-03 in UTC
    with tdb.session() as s:
        t = create_ticket(s, draft(accepted_at=accepted), actor="op1")
        assert t.number == f"GD20251104-{t.id:06d}"
        assert t.accepted_at == dt.datetime(2025, 11, 3, 17, 30)


def test_category_and_unit_are_checked_against_the_knowledge_base(tdb: Database) -> None:
    with tdb.session() as s:
        code = kb.ensure_category(s, ["城乡建设", "市容环卫", "油烟污染"]).code
        kb.upsert_unit(s, {"name": "天河区城管局"})
    with tdb.session() as s:
        t = create_ticket(s, draft(category_code=code, unit="天河区城管局"), actor="op1")
        assert t.category_path == ["城乡建设", "市容环卫", "油烟污染"]
    with pytest.raises(TicketInvalid) as err, tdb.session() as s:
        create_ticket(s, draft(category_code="99.99.999", unit="火星局"), actor="op1")
    assert "GET /api/v1/kb/categories" in err.value.errors["category_code"]
    assert "GET /api/v1/kb/units" in err.value.errors["unit"]


def test_a_failing_create_leaves_nothing_behind(tdb: Database) -> None:
    # the link to a missing original fails after the ticket row was inserted and flushed
    with pytest.raises(TicketNotFound, match="no ticket with id 999"), tdb.session() as s:
        create_ticket(s, draft(), actor="op1", link_to=999)
    assert count(tdb, Ticket) == 0 and count(tdb, TicketEvent) == 0
    with pytest.raises(TicketInvalid, match="unit"), tdb.session() as s:
        create_ticket(s, draft(), actor="op1", dispatch_now=True)  # no unit to dispatch to
    assert count(tdb, Ticket) == 0 and count(tdb, TicketEvent) == 0
    new(tdb)
    assert count(tdb, Ticket) == 1 and count(tdb, TicketEvent) == 1


# ---------------------------------------------------------------- status flow


def test_the_full_status_flow_records_every_step(tdb: Database) -> None:
    tid = new(tdb, unit="天河区城管局")
    with tdb.session() as s:
        for status in FLOW:
            t = transition(s, tid, status, actor="op2", note=f"to {status}")
        assert t.status == "办结" and t.closed_at is not None
    with tdb.session() as s:
        events = get_ticket(s, tid).events
        assert [e.action for e in events] == ["create", "dispatch", *["transition"] * 4]
        assert [(e.from_status, e.to_status) for e in events[1:]] == list(
            zip(["受理", *FLOW[:-1]], FLOW, strict=True))
        assert events[1].detail["unit"] == "天河区城管局" and events[-1].actor == "op2"


@pytest.mark.parametrize("done,target,fragment", [
    ([], "办理", "the next step is 派单, not 办理"),
    ([], "办结", "the next step is 派单, not 办结"),
    (FLOW[:3], "办结", "the next step is 回访, not 办结"),
    (FLOW[:2], "派单", "the next step is 答复, not 派单"),
    (FLOW, "受理", "it is closed"),
])
def test_skipping_or_going_back_is_refused(tdb: Database, done: list[str], target: str,
                                           fragment: str) -> None:
    tid = new(tdb, unit="天河区城管局")
    with tdb.session() as s:
        for status in done:
            transition(s, tid, status, actor="op1")
    with pytest.raises(TicketConflict, match=fragment), tdb.session() as s:
        transition(s, tid, target, actor="op1")


def test_dispatch_needs_a_unit_and_may_be_redirected(tdb: Database) -> None:
    tid = new(tdb)
    with pytest.raises(TicketInvalid, match="dispatched to a handling unit"), \
            tdb.session() as s:
        transition(s, tid, "派单", actor="op1")
    with tdb.session() as s:
        assert dispatch(s, tid, "天河区城管局", actor="op1").status == "派单"
        t = dispatch(s, tid, "天河区市场监管局", actor="op1", note="职责不符，改派")
        assert t.unit == "天河区市场监管局" and t.fields_source["unit"] == "operator"
        assert [e.action for e in t.events][-2:] == ["dispatch", "redispatch"]
    with pytest.raises(TicketConflict, match="already dispatched"), tdb.session() as s:
        dispatch(s, tid, "天河区市场监管局", actor="op1")
    with tdb.session() as s:
        transition(s, tid, "办理", actor="unit")
    with pytest.raises(TicketConflict, match="past dispatch"), tdb.session() as s:
        dispatch(s, tid, "天河区城管局", actor="op1")


def test_bad_status_and_missing_ticket(tdb: Database) -> None:
    tid = new(tdb)
    with pytest.raises(TicketInvalid, match="not a status"), tdb.session() as s:
        transition(s, tid, "完成", actor="op1")
    with pytest.raises(TicketNotFound), tdb.session() as s:
        transition(s, 12345, "派单", actor="op1")
    with pytest.raises(TicketInvalid, match="actor"), tdb.session() as s:
        transition(s, tid, "派单", actor=" ")


def test_a_change_made_meanwhile_is_a_conflict(tdb: Database) -> None:
    tid = new(tdb, unit="天河区城管局")
    with tdb.session() as first, tdb.session() as second:
        seen = get_ticket(second, tid)  # loaded before the first session changes it
        transition(first, tid, "派单", actor="a")
        first.commit()
        assert seen.status == "受理"  # the second session still works from what it read
        with pytest.raises(TicketConflict, match="changed by someone else"):
            transition(second, tid, "派单", actor="b")
    with tdb.session() as s:
        assert [e.actor for e in get_ticket(s, tid).events] == ["op1", "a"]


# ---------------------------------------------------------------- duplicates


def test_a_linked_duplicate_is_not_dispatched_again(tdb: Database) -> None:
    original = new(tdb, unit="天河区城管局")
    with tdb.session() as s:
        dispatch(s, original, None, actor="op1")
        dup = create_ticket(s, draft(content="楼下烧烤油烟又来了", unit="天河区城管局"),
                            actor="op2", link_to=original)
        dup_id, number = dup.id, get_ticket(s, original).number
        assert dup.duplicate_of == original and dup.status == "受理"
    with pytest.raises(TicketConflict) as err, tdb.session() as s:
        dispatch(s, dup_id, "天河区城管局", actor="op2")
    message = str(err.value)
    assert f"duplicate of {number}" in message and "handled by 天河区城管局" in message
    with pytest.raises(TicketConflict, match="duplicate of"), tdb.session() as s:
        transition(s, dup_id, "派单", actor="op2")
    with tdb.session() as s:
        assert [e.action for e in get_ticket(s, original).events][-1] == "duplicate_linked"


def test_closing_the_original_closes_its_duplicates(tdb: Database) -> None:
    original = new(tdb, unit="天河区城管局")
    dup = new(tdb)
    with tdb.session() as s:
        link_duplicate(s, dup, original, actor="op1")
        for status in FLOW:
            transition(s, original, status, actor="op1")
    with tdb.session() as s:
        t = get_ticket(s, dup)
        assert t.status == "办结" and t.closed_at is not None
        assert t.events[-1].action == "close_with_original"


def test_link_rules(tdb: Database) -> None:
    first, second, third = new(tdb, unit="u"), new(tdb), new(tdb)
    with tdb.session() as s:
        link_duplicate(s, second, first, actor="op1")
        # linking to a duplicate links to its original
        assert link_duplicate(s, third, second, actor="op1").duplicate_of == first
    with pytest.raises(TicketConflict, match="itself"), tdb.session() as s:
        link_duplicate(s, first, third, actor="op1")  # third's original is first
    with tdb.session() as s:
        dispatch(s, first, None, actor="op1")
    fourth = new(tdb)
    with pytest.raises(TicketConflict, match="not yet dispatched"), tdb.session() as s:
        link_duplicate(s, first, fourth, actor="op1")  # first is already at 派单
    with tdb.session() as s:
        for status in FLOW[1:]:
            transition(s, first, status, actor="op1")
    with pytest.raises(TicketConflict, match="is closed"), tdb.session() as s:
        link_duplicate(s, fourth, first, actor="op1")


def test_followers_move_to_the_new_original_and_unlink_restores_the_flow(
        tdb: Database) -> None:
    a, b, c = new(tdb), new(tdb), new(tdb, unit="天河区城管局")
    with tdb.session() as s:
        link_duplicate(s, a, b, actor="op1")  # a follows b
        link_duplicate(s, b, c, actor="op1")  # b follows c: a moves to c as well
    with tdb.session() as s:
        assert get_ticket(s, a).duplicate_of == c and get_ticket(s, b).duplicate_of == c
        unlink_duplicate(s, a, actor="op1", note="不同事项")
        assert dispatch(s, a, "天河区城管局", actor="op1").status == "派单"
    with pytest.raises(TicketConflict, match="not linked"), tdb.session() as s:
        unlink_duplicate(s, a, actor="op1")


# ---------------------------------------------------------------- search


def test_list_filters_search_and_pages(tdb: Database) -> None:
    first = new(tdb, merchant="老王烧烤", unit="天河区城管局")
    new(tdb, content="咨询公积金提取", request_type="咨询", district="越秀区",
        street_address=None, accepted_at=ACCEPTED + dt.timedelta(days=1))
    third = new(tdb, content="小区电梯故障", phone="13812345678",
                accepted_at=ACCEPTED + dt.timedelta(days=2))
    with tdb.session() as s:
        dispatch(s, first, None, actor="op1")
        page = list_tickets(s)
        assert page.total == 3 and page.items[0].id == third  # newest first
        assert [t.id for t in list_tickets(s, status="派单").items] == [first]
        assert [t.id for t in list_tickets(s, unit="天河区城管局").items] == [first]
        assert [t.id for t in list_tickets(s, q="老王").items] == [first]
        assert [t.id for t in list_tickets(s, q="5678").items] == [third]
        number = get_ticket(s, first).number
        assert [t.id for t in list_tickets(s, q=number).items] == [first]
        assert list_tickets(s, q="100%").total == 0  # % is a character, not a wildcard
        assert list_tickets(s, district="越秀区").total == 1
        assert list_tickets(s, since=ACCEPTED + dt.timedelta(hours=1)).total == 2
        paged = list_tickets(s, limit=2, offset=2)
        assert paged.total == 3 and [t.id for t in paged.items] == [first]
    with pytest.raises(TicketInvalid, match="not a status"), tdb.session() as s:
        list_tickets(s, status="完成")
