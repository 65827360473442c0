"""The duplicate check: place keys, the pair rule on plain dicts (true duplicates and hard
negatives), and find_duplicates over a real SQLite database (open tickets in the window)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from classifier.deadline import CHINA_TZ
from copilot.tickets import (
    TicketDraft,
    create_tables,
    create_ticket,
    find_duplicates,
    link_duplicate,
    transition,
)
from copilot.tickets.similarity import (
    DIFFERENT,
    NEAR,
    SAME,
    compare_addresses,
    match_pair,
    merchant_key,
    parse_address,
    region_key,
    same_merchant,
)
from knowledge_base.db import Database

NOW = dt.datetime(2025, 11, 10, 15, 0, tzinfo=CHINA_TZ)
SMOKE = {"district": "天河区", "street_address": "中山大道西123号", "merchant": "老王烧烤",
         "content": "市民反映中山大道西123号楼下老王烧烤店每晚油烟直排，熏到楼上住户，要求处理。"}
SMOKE_AGAIN = {"district": "天河区", "street_address": "中山大道西一二三号",
               "content": "我家楼下那个烧烤店天天晚上油烟特别大，熏得窗户都不敢开。"}


# ---------------------------------------------------------------- place keys


@pytest.mark.parametrize("a,b,expected", [
    ("中山大道西123号", "中山大道西一二三号", SAME),  # Chinese numerals
    ("中山大道西１２３号", "中山大道西123号附近", SAME),  # full width, a vague tail
    ("张杨路1500弄12号楼", "张杨路1500弄12栋", SAME),  # 号楼 = 栋
    ("古荡新村5幢", "古荡新村五幢302室", SAME),  # more precise form of the same building
    ("龙阳大道锦江花园12栋", "锦江花园12栋", SAME),  # the road left out
    ("解放大道与黄浦大街交叉口", "黄浦大街解放大道路口", SAME),  # a crossing in either order
    ("和平路与解放路交叉口", "解放路和平路口", SAME),  # 和 inside a road name
    ("科华北路65号", "科华北路", NEAR),  # no number to compare
    ("农业路下穿隧道", "农业路隧道", NEAR),  # same road
    ("锦江花园12栋", "锦江花园3栋", DIFFERENT),  # another building
    ("张杨路1500弄12号楼", "张杨路1500弄8号楼", DIFFERENT),
    ("中山大道西123号", "天河路208号", DIFFERENT),
    ("解放大道与黄浦大街交叉口", "沿江大道与一元路交叉口", DIFFERENT),
])
def test_compare_addresses(a: str, b: str, expected: str) -> None:
    assert compare_addresses(parse_address(a), parse_address(b)) == expected
    assert compare_addresses(parse_address(b), parse_address(a)) == expected


def test_missing_address_compares_as_unknown() -> None:
    assert compare_addresses(parse_address(""), parse_address("天河路208号")) is None
    assert parse_address(None) is None


@pytest.mark.parametrize("a,b", [
    ("启航教育科技有限公司", "启航培训"),
    ("金吉鸟健身房", "金吉鸟健身天河北店"),
    ("鸿达电子厂", "鸿达电子有限公司"),
    ("万象城", "青岛万象城"),
])
def test_same_merchant_under_other_names(a: str, b: str) -> None:
    assert same_merchant(a, b) is True


def test_merchant_keys_and_regions() -> None:
    assert merchant_key("启航教育科技有限公司") == "启航"
    assert merchant_key("ＣｏＣｏ都可(百家湖店)") == "coco都可百家湖"
    assert same_merchant("金吉鸟健身", "威尔士健身") is False
    assert same_merchant("金吉鸟健身", None) is None
    assert region_key("天河区") == region_key("天河") == "天河"
    assert region_key("浦东新区") == "浦东"


# ---------------------------------------------------------------- the pair rule


def test_same_incident_from_another_caller_is_a_duplicate() -> None:
    m = match_pair(SMOKE_AGAIN, SMOKE)
    assert m.duplicate and m.place == "same"
    assert m.reasons[0] == "同一地址：天河区中山大道西123号"
    assert m.reasons[-1].startswith("诉求相似度 ")


def test_same_merchant_without_address_is_a_duplicate() -> None:
    gym = {"district": "天河区", "merchant": "金吉鸟健身天河北店",
           "content": "金吉鸟健身突然关门停业，老板失联，会员卡余额无法退还。"}
    again = {"merchant": "金吉鸟健身房",
             "content": "我在金吉鸟办的年卡，店倒闭了老板联系不上，剩下的钱退不了。"}
    m = match_pair(again, gym)
    assert m.duplicate and "同一商家：金吉鸟健身天河北店" in m.reasons


def test_a_place_named_only_in_the_text_counts() -> None:
    old = {"district": "开福区", "street_address": "星光广场",
           "content": "星光广场每晚跳广场舞音箱音量过大，持续到十点以后。"}
    new = {"district": "开福区",
           "content": "星光广场那边天天晚上跳舞，喇叭开到最大，十点多了还在放。"}
    m = match_pair(new, old)
    assert m.duplicate and m.reasons[0].startswith("地址相近")


@pytest.mark.parametrize("other", [
    # same address, another problem
    {"district": "天河区", "street_address": "中山大道西123号",
     "content": "中山大道西123号门口人行道的地砖坏了好多块，老人走路容易绊倒。"},
    # same merchant, another complaint
    {"district": "天河区", "merchant": "老王烧烤",
     "content": "昨晚在老王烧烤吃完上吐下泻，怀疑食物中毒。"},
    # same problem, another address in the same district
    {"district": "天河区", "street_address": "天河路208号",
     "content": "天河路208号楼下烧烤店每晚油烟特别大，熏得窗户都不敢开。"},
    # same problem and street number, another district
    {"district": "越秀区", "street_address": "中山大道西123号",
     "content": "楼下烧烤店油烟直排，熏到楼上住户。"},
    # same problem, another merchant
    {"district": "天河区", "merchant": "川味烤吧",
     "content": "楼下烧烤店每晚油烟直排，熏到楼上住户。"},
])
def test_hard_negatives_are_not_duplicates(other: dict[str, Any]) -> None:
    assert not match_pair(other, SMOKE).duplicate
    assert not match_pair(SMOKE, other).duplicate


# ---------------------------------------------------------------- over the database


@pytest.fixture
def tdb(db: Database) -> Database:
    create_tables(db.engine)
    return db


def add(tdb: Database, record: dict[str, Any], days_ago: float = 1, **extra: Any) -> int:
    with tdb.session() as s:
        draft = TicketDraft(request_type="投诉", accepted_at=NOW - dt.timedelta(days=days_ago),
                            **record, **extra)
        return create_ticket(s, draft, actor="op1").id


def check(tdb: Database, record: dict[str, Any], **kwargs: Any) -> list[Any]:
    form = {k: v for k, v in record.items() if k != "content"}
    with tdb.session() as s:
        return find_duplicates(s, form, record["content"], now=NOW, **kwargs)


def test_find_duplicates_returns_the_open_ticket_with_reasons(tdb: Database) -> None:
    smoke = add(tdb, SMOKE)
    add(tdb, {"district": "天河区", "street_address": "中山大道西123号",
              "content": "中山大道西123号门口人行道地砖破损，老人容易绊倒。"})
    add(tdb, {"district": "天河区", "street_address": "天河路208号",
              "content": "天河路208号楼下烧烤店每晚油烟特别大，熏得窗户都不敢开。"})
    found = check(tdb, SMOKE_AGAIN)
    assert [c.ticket_id for c in found] == [smoke]
    c = found[0]
    assert c.number and c.number.startswith("GD") and c.status == "受理" and c.place == "same"
    assert c.reasons[0] == "同一地址：天河区中山大道西123号" and 0 < c.text_similarity <= 1
    assert c.as_dict()["accepted_at"].endswith("+00:00")


def test_closed_old_and_excluded_tickets_are_not_candidates(tdb: Database) -> None:
    closed = add(tdb, SMOKE, unit="天河区城管局")
    with tdb.session() as s:
        for status in ("派单", "办理", "答复", "回访", "办结"):
            transition(s, closed, status, actor="op1")
    add(tdb, SMOKE, days_ago=31)  # outside the 30-day window
    assert check(tdb, SMOKE_AGAIN) == []
    assert len(check(tdb, SMOKE_AGAIN, window_days=40)) == 1
    recent = add(tdb, SMOKE, days_ago=0.5)
    assert [c.ticket_id for c in check(tdb, SMOKE_AGAIN)] == [recent]
    assert check(tdb, SMOKE_AGAIN, exclude_ticket_id=recent) == []


def test_a_linked_duplicate_folds_into_its_original(tdb: Database) -> None:
    original = add(tdb, SMOKE, days_ago=3)
    dup = add(tdb, SMOKE_AGAIN, days_ago=2)
    with tdb.session() as s:
        link_duplicate(s, dup, original, actor="op1")
    found = check(tdb, {**SMOKE_AGAIN, "content": SMOKE_AGAIN["content"] + "还是没人管"})
    assert len(found) == 1
    c = found[0]
    # the best-matching ticket of the incident, pointing at the original
    assert (c.ticket_id, c.original_id) in {(dup, original), (original, None)}
    # the duplicate check of the original itself does not list its own followers
    assert check(tdb, SMOKE, exclude_ticket_id=original) == []


def test_no_place_yet_means_no_candidates(tdb: Database) -> None:
    add(tdb, SMOKE)
    assert check(tdb, {"content": SMOKE_AGAIN["content"]}) == []
    assert check(tdb, {**SMOKE_AGAIN, "content": "  "}) == []


def test_candidates_are_ranked_and_limited(tdb: Database) -> None:
    ids = [add(tdb, SMOKE, days_ago=d) for d in (1, 2, 3)]
    weaker = add(tdb, {"district": "天河区", "street_address": "中山大道西",
                       "content": "中山大道西有烧烤店油烟扰民"}, days_ago=1)
    found = check(tdb, SMOKE, limit=3)
    assert len(found) == 3 and weaker not in [c.ticket_id for c in found]
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert set(c.ticket_id for c in found) == set(ids)
    with pytest.raises(ValueError, match="at least 1"):
        check(tdb, SMOKE, limit=0)
