"""Correcting names by sound against a directory (asr/gazetteer.py); no models needed."""

from __future__ import annotations

from asr.gazetteer import Gazetteer, syllable_cost

NAMES = ["南岗区", "南港区", "丰和中大道", "绿苑物业", "动力源健身", "绿源农业开发有限公司",
         "红谷滩区", "徐汇区", "徐水区", "五一大道", "革新小区", "王府井"]


def test_a_name_heard_with_other_characters_is_written_as_the_directory_has_it() -> None:
    g = Gazetteer(NAMES)
    text, fixes = g.correct("我住红骨参区风和中大道，离院物业不管事")
    assert text == "我住红谷滩区丰和中大道，绿苑物业不管事"
    assert [(f.heard, f.name) for f in fixes] == [
        ("红骨参区", "红谷滩区"), ("风和中大道", "丰和中大道"), ("离院物业", "绿苑物业")]
    # long names may differ more: two syllables in ten
    assert g.correct("律人猛叶开发有限公司欠我工资")[0] == "绿源农业开发有限公司欠我工资"
    # a division's 区 / 县 / 市 is often written by its sound
    assert Gazetteer(["九龙坡区"]).correct("九龙迫去杨家坪")[0] == "九龙坡区杨家坪"


def test_known_names_and_ordinary_words_are_left_alone() -> None:
    g = Gazetteer(NAMES)
    for text in ("徐汇区宛平南路88弄", "南港区那边", "我们在五一大道湘雅医院门口",
                 "旁边几个新小区都有", "王府井"):
        assert g.correct(text) == (text, []), text
    # ... but not when the place is an everyday word
    assert Gazetteer(["平安区"]).correct("我们到平安去")[0] == "我们到平安去"
    # three characters must sound the same: 月鸟路 is not 玉鸟路 (yue / yu)
    assert Gazetteer(["玉鸟路"]).correct("月鸟路88号")[0] == "月鸟路88号"
    # the last character must agree, and one more
    assert Gazetteer(["动力源健身"]).correct("动力源健康")[0] == "动力源健康"


def test_two_character_names_and_odd_entries_are_not_used() -> None:
    g = Gazetteer(["天河", "A区路", "", "  丰和中大道  "])
    assert g.size == 1
    assert g.correct("天和区风和中大道")[0] == "天和区丰和中大道"


def test_syllable_costs() -> None:
    assert syllable_cost("gang", "gang") == 0
    assert syllable_cost("zhong", "zong") == 0.5  # zh / z
    assert syllable_cost("lv", "li") == 0.5  # one letter
    assert syllable_cost("ren", "yuan") == 1
