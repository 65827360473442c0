"""County-level divisions abolished, merged or renamed since 2009, with the division that holds
their ground today, so that a caller who still says the old name gets the current district.

Source: the Ministry of Civil Affairs' yearly lists of changes (民政部《中华人民共和国县级以上
行政区划变更情况》) and the State Council approvals they cite, 2009-2021. Only changes of *name*
are listed here: a county or county-level city that became a district of the same stem (富阳市 ->
富阳区, 玉环县 -> 玉环市, 龙华新区 -> 龙华区) is recognised by `regions` without a table.

TOWN_SPLITS: towns / streets that moved to another division when one was split; a district said
with one of them right after it ('江干区下沙…', '苍南县龙港镇…') is the division that holds the
town today.
"""

from __future__ import annotations

# old name -> adcode of the division that holds it today
RENAMED: dict[str, str] = {
    # 2021 杭州: 江干区 -> 上城区 (下沙, 白杨 -> 钱塘区); 下城区 -> 拱墅区
    "江干区": "330102",
    "下城区": "330105",
    # 2016 宁波: 江东区 -> 鄞州区; 2002 鄞县 -> 鄞州区
    "江东区": "330212",
    "鄞县": "330212",
    # 2013 绍兴: 绍兴县 -> 柯桥区; 2001 衢州: 衢县 -> 衢江区
    "绍兴县": "330603",
    "衢县": "330803",
    # 上海: 2009 南汇区 -> 浦东新区; 2011 卢湾区 -> 黄浦区; 2015 闸北区 -> 静安区
    "南汇区": "310115",
    "卢湾区": "310101",
    "闸北区": "310106",
    # 2010 北京: 崇文区 -> 东城区, 宣武区 -> 西城区
    "崇文区": "110101",
    "宣武区": "110102",
    # 天津: 2009 塘沽 / 汉沽 / 大港 -> 滨海新区; 2016 蓟县 -> 蓟州区
    "塘沽区": "120116",
    "汉沽区": "120116",
    "大港区": "120116",
    "蓟县": "120119",
    # 2016 重庆: 开县 -> 开州区
    "开县": "500154",
    # 江苏: 2011 维扬区 -> 邗江区; 2012 沧浪 / 平江 / 金阊 -> 姑苏区, 楚州区 -> 淮安区;
    # 2013 白下区 -> 秦淮区, 下关区 -> 鼓楼区 (南京); 2014 新浦区 -> 海州区;
    # 2015 戚墅堰区 -> 武进区; 2016 崇安 / 南长 / 北塘 -> 梁溪区, 清浦区 -> 清江浦区 (清河区,
    # merged too, is still a name in 铁岭); 2020 港闸区 -> 崇川区
    "维扬区": "321003",
    "沧浪区": "320508",
    "平江区": "320508",
    "金阊区": "320508",
    "楚州区": "320803",
    "白下区": "320104",
    "下关区": "320106",
    "新浦区": "320706",
    "戚墅堰区": "320412",
    "崇安区": "320213",
    "南长区": "320213",
    "北塘区": "320213",
    "清浦区": "320812",
    "港闸区": "320613",
    # 2014 茂名: 茂港区 -> 电白区; 2014 十堰: 郧县 -> 郧阳区; 2010 襄阳: 襄阳区 -> 襄州区
    "茂港区": "440904",
    "郧县": "420304",
    "襄阳区": "420607",
    # 2016 成都: 郫县 -> 郫都区
    "郫县": "510117",
    # 2019 济南 (莱芜市 merged in): 莱城区 -> 莱芜区; 2020 烟台: 长岛县 -> 蓬莱区
    "莱城区": "370116",
    "长岛县": "370614",
}

# division (old or current name) -> {town said right after it: adcode of its division today}
TOWN_SPLITS: dict[str, dict[str, str]] = {
    # 2021 杭州: 钱塘区 from 江干区 (下沙, 白杨) and 萧山区 (河庄, 义蓬, 新湾, 临江, 前进);
    # 临平区 from 余杭区 (临平, 东湖, 南苑, 星桥, 运河, 乔司, 崇贤, 塘栖)
    "江干区": {"下沙": "330114", "白杨": "330114"},
    "萧山区": {t: "330114" for t in ("河庄", "义蓬", "新湾", "临江", "前进")},
    "余杭区": {t: "330113" for t in ("临平", "东湖", "南苑", "星桥", "运河", "乔司", "崇贤",
                                     "塘栖")},
    # 2019 温州: 龙港市 from 苍南县 龙港镇
    "苍南县": {"龙港": "330383"},
}

# official short names that are not the place name plus 县 (阜新蒙古族自治县 -> 阜蒙县)
SHORT_NAMES: dict[str, str] = {
    "阜蒙县": "210921",
    "喀左县": "211324",
}
