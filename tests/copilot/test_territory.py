"""Territorial units (属地): the directory's street office of the caller's 街道 / 镇 and the
district government of their district, beside the suggested unit, read from the real unit
directory (the demo's, imported) and followed when the directory changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.dispatch import Dispatcher
from copilot.settings import Settings
from copilot.territory import district_key
from knowledge_base import service
from knowledge_base.db import Database
from knowledge_base.importer import import_table

DEMO_UNITS = Path(__file__).resolve().parents[2] / "knowledge_base" / "demo" / "units.csv"
BARBECUE = "我住在广州市越秀区北京街道解放路12号，楼下烧烤店油烟直排，熏得家里没法开窗"


@pytest.fixture
def dispatcher(settings: Settings, db: Database) -> Dispatcher:
    with db.session() as s:
        import_table(s, "units", DEMO_UNITS.read_bytes(), "units.csv")
    return Dispatcher(settings.home, db)


def _names(dispatcher: Dispatcher, district: str | None, street: str | None = None
           ) -> list[str]:
    found = dispatcher.local_units({"district": district, "street_address": street})
    return [u["name"] for u in found]


def test_the_street_office_then_the_district_government(dispatcher: Dispatcher) -> None:
    found = dispatcher.local_units({"district": "越秀区", "street_address": "北京街12号"})
    assert found == [
        {"name": "越秀区北京街道办事处", "phone": "020-5550-0048", "kind": "街道办事处",
         "district": "越秀区", "reason": "属地：越秀区北京街道"},
        {"name": "越秀区人民政府", "phone": "020-5550-0037", "kind": "区政府",
         "district": "越秀区", "reason": "属地：越秀区"}]
    for district, street in [("越秀区", "北京街道解放路12号"), ("广州市越秀区", "北京街道"),
                             ("越秀", "北京街道办事处旁边")]:
        assert _names(dispatcher, district, street) == ["越秀区北京街道办事处", "越秀区人民政府"]
    assert _names(dispatcher, "海珠区", "江南中街道南华西路3号")[0] == "海珠区江南中街道办事处"
    assert _names(dispatcher, "番禺区", "市桥街") == ["番禺区市桥街道办事处", "番禺区人民政府"]


def test_a_street_not_in_the_directory_gives_the_district_government(
        dispatcher: Dispatcher) -> None:
    assert _names(dispatcher, "天河区", "天河路385号") == ["天河区人民政府"]
    assert _names(dispatcher, "越秀区", "北京路12号") == ["越秀区人民政府"]  # a road, not 北京街
    assert _names(dispatcher, "越秀区") == ["越秀区人民政府"]
    # a street office of another district is not this district's
    assert _names(dispatcher, "天河区", "北京街道") == ["天河区人民政府"]


def test_no_district_or_one_the_directory_lacks_gives_none(dispatcher: Dispatcher) -> None:
    assert _names(dispatcher, None, "北京街道解放路12号") == []
    assert _names(dispatcher, "", "北京街道") == []
    assert dispatcher.local_units(None) == [] and dispatcher.local_units({}) == []
    assert _names(dispatcher, "浦东新区", "北京街道") == []
    assert _names(dispatcher, "西湖区", "北山街道") == []


def test_district_names_are_matched_loosely() -> None:
    assert {district_key(n) for n in ("越秀区", "越秀", "广州市越秀区", "广东省广州市越秀区")} == {
        "越秀"}
    assert district_key("沙市区") == "沙市" and district_key("市中区") == "市中"
    assert district_key("城区") == "城区" and district_key(None) == ""


def test_the_directory_changing_is_followed(dispatcher: Dispatcher, db: Database) -> None:
    form = {"district": "南沙区", "street_address": "黄阁镇麒麟村"}
    assert [u["name"] for u in dispatcher.local_units(form)] == ["南沙区人民政府"]
    with db.session() as s:  # as the knowledge managers' console adds a unit
        service.upsert_unit(s, {"name": "南沙区黄阁镇人民政府", "kind": "镇政府",
                                "district": "南沙区", "phone": "020-8498-0001"})
        service.bump_revision(s)
    found = dispatcher.local_units(form)
    assert [u["name"] for u in found] == ["南沙区黄阁镇人民政府", "南沙区人民政府"]
    assert found[0]["phone"] == "020-8498-0001" and found[0]["reason"] == "属地：南沙区黄阁镇"
    # an imported directory that writes the district with its city and gives no kind
    data = "name,district,phone\n天河区猎德街道办事处,广州市天河区,020-3802-0001\n"
    with db.session() as s:
        import_table(s, "units", data.encode("utf-8"), "more_units.csv")
    assert _names(dispatcher, "天河区", "猎德街道猎德大道8号") == ["天河区猎德街道办事处",
                                                              "天河区人民政府"]
    with db.session() as s:  # a unit moved out of the district is no longer its
        unit = service.unit_by_name(s, "天河区人民政府")
        assert unit is not None
        service.update_unit(s, unit, {"district": "全市"})
    assert _names(dispatcher, "天河区", "天河路385号") == []


def test_assist_names_the_territorial_units_beside_the_suggested_unit(
        demo_settings: Settings) -> None:
    from copilot.assist import assist, suggest
    from copilot.context import AppContext

    ctx = AppContext(demo_settings)
    try:
        out = assist(ctx, {"id": "c1", "text": BARBECUE})
        assert out["form"]["district"] == "越秀区"
        assert out["form"]["street_address"] == "北京街道解放路12号"
        assert [u["name"] for u in out["local_units"]] == ["越秀区北京街道办事处", "越秀区人民政府"]
        assert out["local_units"][0]["reason"] == "属地：越秀区北京街道"
        # the suggested unit is the vote's, as without a district
        alone = ctx.classifier.classify({"text": BARBECUE})
        assert out["unit"] == alone["unit"] and out["units"] == alone["units"]
        assert "local_units" not in alone
        turns = [{"speaker": "caller", "text": BARBECUE}]
        assert suggest(ctx, turns)["local_units"] == []  # no form: no place
    finally:
        ctx.close()
