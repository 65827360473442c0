"""The hybrid index against the real e5 encoder: liveness rules, refresh without restart,
persistence and recovery from a damaged index."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from knowledge_base import service
from knowledge_base.db import Database
from knowledge_base.importer import import_table
from knowledge_base.models import AnswerStatus, AnswerTemplate
from retrieval.index import QueryError, SearchIndex

pytestmark = pytest.mark.slow

ANSWERS = """id,question,answer,unit,level1,level2,level3
fund-1,公积金怎么提取|离职了公积金能取出来吗,职工购房、租房、离职等情形可申请提取住房公积金，携带身份证到公积金中心或通过网上办事大厅办理。,公积金中心,住房,公积金,提取
card-1,健身房倒闭了会员卡怎么退钱|美容店跑路了预付卡怎么办,经营者停业的应退还预付款余额，可向市场监管部门投诉或拨打12315。,市场监管局,消费,预付卡,退费
noise-1,晚上工地施工太吵|夜间施工噪声扰民,夜间22时至次日6时禁止产生噪声的建筑施工作业，因特殊需要连续施工的须取得证明。,生态环境局,环境,噪声,施工噪声
wage-1,老板拖欠工资怎么办|公司不发工资去哪投诉,用人单位拖欠工资的，可向劳动保障监察机构投诉，也可申请劳动争议仲裁。,人社局,劳动,工资,欠薪
water-1,家里突然停水了|停水什么时候恢复,计划停水会提前公告，突发停水可拨打供水服务热线查询抢修进度。,自来水公司,公用事业,供水,停水
"""


@pytest.fixture
def kb(db: Database) -> Database:
    with db.session() as s:
        import_table(s, "answers", ANSWERS.encode(), "answers.csv")
    return db


@pytest.fixture
def index(kb: Database, encoder, tmp_path: Path) -> SearchIndex:  # type: ignore[no-untyped-def]
    idx = SearchIndex(kb, encoder, tmp_path / "index")
    idx.open()
    return idx


def _ids(index: SearchIndex, query: str, **kw: object) -> list[str]:
    return [h.id for h in index.search(query, 5, **kw)]  # type: ignore[arg-type]


@pytest.mark.parametrize("query,expected", [
    ("我辞职了住房公积金可以取吗", "fund-1"),
    ("办的健身卡店关门了钱能退吗", "card-1"),
    ("半夜工地还在打桩吵得睡不着", "noise-1"),
    ("干了三个月活老板一分钱没给", "wage-1"),
])
def test_paraphrases_find_their_answer_first(index: SearchIndex, query: str,
                                             expected: str) -> None:
    hits = index.search(query, 3)
    assert hits[0].id == expected
    assert hits[0].unit and hits[0].version == 1 and hits[0].score > 0
    assert hits[0].dense_score is not None


def test_results_carry_template_version_unit_and_path(index: SearchIndex) -> None:
    hit = index.search("公积金提取", 1)[0]
    assert (hit.id, hit.unit) == ("fund-1", "公积金中心")
    assert hit.category_path == ["住房", "公积金", "提取"]
    assert hit.category_code == "01.01.001" and hit.template_id > 0


def test_drafts_retired_and_expired_answers_never_come_back(kb: Database,
                                                            index: SearchIndex) -> None:
    with kb.session() as s:
        t = s.query(AnswerTemplate).filter_by(external_id="card-1").one()
        service.update_answer(s, t, {"status": AnswerStatus.retired})
    assert "card-1" not in _ids(index, "健身房预付卡退钱")

    with kb.session() as s:
        t = s.query(AnswerTemplate).filter_by(external_id="noise-1").one()
        service.update_answer(s, t, {"expires_on": dt.date.today()})
    assert "noise-1" not in _ids(index, "夜间施工噪声")
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert "noise-1" not in _ids(index, "夜间施工噪声", today=tomorrow)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    assert "noise-1" in _ids(index, "夜间施工噪声", today=yesterday)


def test_new_published_answer_is_found_without_restart(kb: Database,
                                                       index: SearchIndex) -> None:
    query = "暴雨后小区地下车库被淹怎么办"
    assert "flood-1" not in _ids(index, query)
    with kb.session() as s:
        t = service.create_answer(s, {"external_id": "flood-1", "questions": ["地下车库被淹"],
                                      "answer": "遇暴雨内涝请立即转移车辆，水务部门负责排涝抢险。"})
        service.set_status(s, t, AnswerStatus.in_review)
        assert "flood-1" not in _ids(index, query)  # not committed yet
    assert "flood-1" not in _ids(index, query)  # in review is not published
    with kb.session() as s:
        service.set_status(s, s.query(AnswerTemplate).filter_by(external_id="flood-1").one(),
                           AnswerStatus.published)
    hits = index.search(query, 3)
    assert hits[0].id == "flood-1" and hits[0].version == 3
    assert index.last_build["encoded"] == 2  # only the new texts were encoded


def test_category_filter_and_boost(index: SearchIndex) -> None:
    code = "03"  # 环境 (third level-1 class created by the import)
    filtered = index.search("怎么投诉", 5, category=code, category_mode="filter")
    assert [h.id for h in filtered] == ["noise-1"]
    plain = {h.id: (rank, h.score) for rank, h in enumerate(index.search("怎么投诉", 5))}
    boosted = {h.id: (rank, h.score)
               for rank, h in enumerate(index.search("怎么投诉", 5, category=code))}
    assert boosted["noise-1"][1] == pytest.approx(plain["noise-1"][1] * 1.5, rel=1e-4)
    assert boosted["noise-1"][0] <= plain["noise-1"][0]
    assert boosted["wage-1"][1] == pytest.approx(plain["wage-1"][1])


def test_index_is_persisted_and_reloaded_without_encoding(kb: Database, encoder,  # type: ignore[no-untyped-def]
                                                          index: SearchIndex) -> None:
    again = SearchIndex(kb, encoder, index.folder)
    again.open()
    assert again.last_build == {}  # loaded, not rebuilt
    assert _ids(again, "公积金提取")[0] == "fund-1"


def test_corrupt_index_is_rebuilt_from_the_database(kb: Database, encoder,  # type: ignore[no-untyped-def]
                                                    index: SearchIndex) -> None:
    (index.folder / "vectors.npy").write_bytes(b"garbage")
    again = SearchIndex(kb, encoder, index.folder)
    again.open()
    assert again.last_build["docs"] == 5
    assert _ids(again, "公积金提取")[0] == "fund-1"


def test_bad_queries_get_clear_errors(index: SearchIndex) -> None:
    with pytest.raises(QueryError, match="empty"):
        index.search("   ")
    with pytest.raises(QueryError, match="more than the limit"):
        index.search("长" * 2001)


def test_an_empty_knowledge_base_searches_to_nothing(db: Database, encoder,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    empty = SearchIndex(db, encoder, tmp_path / "empty")
    empty.open()
    assert empty.search("公积金") == []
    again = SearchIndex(db, encoder, tmp_path / "empty")
    again.open()
    assert again.last_build == {} and again.search("公积金") == []
