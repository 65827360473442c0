"""Districts said by an old name, without 区 / 县, with the wrong suffix, or hidden in a street
name; addresses written for these tests."""

from __future__ import annotations

from copilot.form import renames
from copilot.form.filler import extract_text
from copilot.form.regions import ALIAS, SHORT, find_regions, region


def _where(text: str) -> tuple[str | None, str | None, str | None]:
    d = extract_text(text).as_dict()
    return d["province"], d["city"], d["district"]


def test_every_rename_points_at_a_current_division() -> None:
    codes = list(renames.RENAMED.values()) + list(renames.SHORT_NAMES.values())
    codes += [c for towns in renames.TOWN_SPLITS.values() for c in towns.values()]
    assert all(region(c) is not None for c in codes)


def test_abolished_district_gives_the_current_one() -> None:
    assert _where("杭州市下城区朝晖路二十号") == ("浙江省", "杭州市", "拱墅区")
    assert _where("上海闸北区共和新路一百号")[2] == "静安区"
    district = extract_text("宁波市江东区百丈路8号").district
    assert district is not None and district.normalized == "330212"  # 鄞州区


def test_split_district_follows_the_street_said_after_it() -> None:
    assert _where("江干区下沙街道学源街1号")[2] == "钱塘区"
    assert _where("江干区采荷路5号")[2] == "上城区"


def test_county_turned_district_or_city_by_its_old_suffix() -> None:
    assert _where("富阳市银湖街道")[2] == "富阳区"
    assert _where("台州玉环县坎门街道")[2] == "玉环市"
    (m,) = find_regions("奉化市")
    assert m.kind == ALIAS and m.candidates[0].name == "奉化区"


def test_autonomous_county_and_prefecture_said_short() -> None:
    assert _where("重庆石柱县西沱镇")[2] == "石柱土家族自治县"
    assert _where("云南红河州屏边县玉屏镇")[1] == "红河哈尼族彝族自治州"


def test_homophone_in_a_district_name() -> None:
    assert _where("安徽阜阳颖州区清河路")[2] == "颍州区"


def test_district_without_suffix() -> None:
    assert _where("鹿城五马街8号")[2] == "鹿城区"
    (m,) = find_regions("鹿城")
    assert m.kind == SHORT and not m.needs_context
    # an everyday word or a name several counties share needs its city
    assert _where("平安小区三栋")[2] is None
    assert _where("江北新村五号")[2] is None


def test_county_name_inside_a_street_or_town_name_is_not_the_district() -> None:
    assert _where("温州永嘉县瓯北镇码头路3号")[2] == "永嘉县"  # not 北镇市
    assert _where("浙江省舟山市普陀区东港街道海莲路")[2] == "普陀区"  # not 东港市
    assert _where("象山县丹阳路12号")[2] == "象山县"  # not 丹阳市
    assert _where("金华义乌东方大厦")[2] == "义乌市"  # not 东方市
    assert _where("柯桥轻纺城东区二楼")[2] == "柯桥区"  # not 西宁 城东区


def test_district_outside_the_named_city_is_not_taken() -> None:
    prov, _, district = _where("贵州省麻江县宣威镇某村")
    assert (prov, district) == ("贵州省", "麻江县")  # not 宣威市 in 云南
