from copilot.form import address as addr
from copilot.form import extract_call
from copilot.form.location import Mention, resolve_location
from copilot.form.merchant import extract_merchants, is_name
from copilot.form.name import extract_honorifics, extract_names, looks_like_name
from copilot.form.regions import find_regions


def _names(text: str, prompted: bool = False) -> list[tuple[str, bool]]:
    return [(n.value, n.surname_only) for n in extract_names(text, prompted)]


def test_self_introductions() -> None:
    assert _names("中，俺叫王振山，电话139") == [("王振山", False)]
    assert _names("我叫姜丽电话158") == [("姜丽", False)]
    assert _names("你好，我姓陈，我跟装修公司有纠纷") == [("陈", True)]
    assert _names("我是七十年代当的兵") == []


def test_answer_to_the_name_question() -> None:
    assert _names("唐静，唐朝的唐，安静的静。", prompted=True) == [("唐静", False)]
    assert _names("许，许志强。", prompted=True) == [("许志强", False)]
    assert _names("姓黄。", prompted=True) == [("黄", True)]
    assert _names("不方便，怕被报复。", prompted=True) == []
    assert _names("郭淑华。", prompted=False) == []  # not asked, no phone after: not taken


def test_looks_like_name_rejects_words() -> None:
    assert looks_like_name("欧阳娜娜")
    assert not looks_like_name("高兴")
    assert not looks_like_name("王是")


def test_honorifics_give_gender() -> None:
    hs = extract_honorifics("13857024618，黄先生；好的熊志刚先生；顾阿姨您好")
    assert [(h.surname, h.gender, h.given) for h in hs] == [
        ("黄", "male", ""), ("熊", "male", "志刚"), ("顾", "female", "")]


def _merchants(text: str, prompted: bool = False) -> list[str]:
    return [m.value for m in extract_merchants(text, prompted)]


def test_merchant_patterns() -> None:
    assert _merchants("俺在丰收农资店买的玉米种子") == ["丰收农资店"]
    assert _merchants("我们楼下有个大排档叫好再来，后巷堆了罐子") == ["好再来大排档"]
    assert _merchants("开了个川菜馆，叫味道川菜馆，油烟直排") == ["味道川菜馆"]
    assert _merchants("我要投诉赣江置业，房产证办不下来") == ["赣江置业"]
    assert _merchants("渝味轩火锅，九龙坡区杨家坪步行街22号。", prompted=True) == ["渝味轩火锅"]


def test_not_merchants() -> None:
    assert _merchants("旁边手机店有个男的拿着刀") == []  # a category, not a name
    assert _merchants("我跟装修公司的纠纷") == []
    assert _merchants("我孩子在青山湖区育才中学读初一") == []  # a public school
    assert _merchants("贵阳云岩区检察院，律师说在审查") == []
    assert not is_name("区教育局")


def test_gazetteer() -> None:
    found = extract_merchants("那个平台叫什么乐购的我也不知道", gazetteer=["乐购"])
    assert [m.value for m in found] == ["乐购"]


def test_region_short_forms_need_word_boundaries() -> None:
    assert [m.text for m in find_regions("武汉汉阳区")] == ["武汉", "汉阳区"]
    assert find_regions("黄河北大街明德小学门口") == []  # no 河北
    assert find_regions("垃圾焚烧发电厂自动监测数据公开平台") == []  # no 开平
    (m,) = find_regions("西湖区")
    assert {r.adcode for r in m.candidates} == {"330106", "360103"}  # 杭州 and 南昌


def test_short_district_within_a_known_city() -> None:
    form = extract_call([{"speaker": "caller",
                          "text": "我是海口的，今天中午在美兰机场坐的出租车，被多收了钱。"}])
    assert form.district is not None and form.district.value == "美兰区"
    assert form.district.normalized == "460108"
    assert form.city is not None and form.city.value == "海口市"


def _street(text: str, **kw: object) -> str | None:
    st = addr.parse_statement(text, **kw)  # type: ignore[arg-type]
    return addr.render(st.components) if st else None


def test_street_assembled_from_clauses() -> None:
    assert _street("武汉汉阳区，龙阳大道，锦江花园，12栋，六楼。") == "龙阳大道锦江花园12栋"
    assert _street("西湖区，文一西路，五二二号。") == "文一西路522号"
    assert _street("对。余杭区，玉鸟路88号，金色家园，7幢2单元702。") == \
        "玉鸟路88号金色家园7幢2单元702室"
    assert _street("南宁青秀区，民族大道，136号那个公交站旁边。") == "民族大道136号公交站旁边"
    assert _street("保定清苑区，冉庄镇，东孙庄村，村北那块地。") == "冉庄镇东孙庄村北"
    assert _street("刚才在长江路和黄河路交叉口，有车撞了人") == "长江路和黄河路交叉口"


def test_a_street_office_area_is_not_a_road() -> None:
    # 石牌街道 is the 街道 石牌, not the road 石牌街 followed by 道 (which lost the address)
    assert _street("天河区石牌街道石牌东路5号") == "石牌街道石牌东路5号"
    assert _street("我住在越秀区北京街道解放路12号") == "北京街道解放路12号"
    assert _street("越秀区北京街12号") == "北京街12号"


def test_street_correction_inside_a_turn() -> None:
    assert _street("绍兴越城区解放北路，261号，啊说反了，216号，我住三楼。") == "解放北路216号"


def test_not_an_address() -> None:
    assert _street("我孩子在青山湖区育才中学读初一") is None
    assert _street("德州陵城区，镇上那个丰收农资店。") is None
    assert _street("对面那栋楼六楼在冒黑烟") is None


def test_merge_continuation_and_readback_cover() -> None:
    said = addr.parse_statement("成都建设路那个动力源健身跑路了")
    assert said is not None
    back = addr.parse_statement("您说的是成华区建设路55号的动力源健身吗？", partial=True)
    assert back is not None and addr.covers(back.components, list(said.components))
    more = addr.parse_statement("对，就是55号3楼那家。", context=list(back.components))
    assert more is not None
    assert addr.render(addr.merge(list(back.components), more)) == "建设路55号3楼"
    other = addr.parse_statement("文一西路522号栖居公寓", partial=True)
    assert other is not None
    assert not addr.covers(other.components, list(said.components))


def _mentions(*turns: tuple[str, str]) -> list[Mention]:
    return [Mention(r, speaker, k, text) for k, (speaker, text) in enumerate(turns)
            for r in find_regions(text)]


def test_location_same_named_district_by_the_city_said() -> None:
    found = resolve_location(_mentions(("agent", "您好，南昌12345。"),
                                       ("caller", "西湖区系马桩街74号")))
    assert {k: v.region.name for k, v in found.items() if v} == \
        {"province": "江西省", "city": "南昌市", "district": "西湖区"}
    district = found["district"]
    assert district is not None and district.region.adcode == "360103"


def test_location_operator_city_only_as_last_resort() -> None:
    found = resolve_location(_mentions(("agent", "您好，厦门12345。"), ("caller", "我想问社保")))
    city = found["city"]
    assert city is not None and city.region.name == "厦门市" and city.confidence < 0.6
    assert found["district"] is None
    found = resolve_location(_mentions(("agent", "您好，厦门12345。"), ("caller", "我在泉州")))
    assert found["city"] is not None and found["city"].region.name == "泉州市"
