import datetime as dt

from copilot.form import FIELD_NAMES, FormFiller, WorkOrderForm, extract_call, extract_text


def _run(turns: list[tuple[str, str]], **kw: object) -> tuple[FormFiller, list[list[str]]]:
    filler = FormFiller(**kw)  # type: ignore[arg-type]
    changes = [filler.update(i, s, t) for i, (s, t) in enumerate(turns)]
    return filler, changes


def test_as_dict_contract() -> None:
    d = WorkOrderForm().as_dict()
    assert tuple(d) == FIELD_NAMES
    assert set(d) == {"caller_name", "phone", "id_number", "province", "city", "district",
                      "street_address", "merchant", "incident_time", "amount", "plate"}
    assert all(v is None for v in d.values())


def test_incremental_updates_report_changed_fields() -> None:
    filler, changes = _run([
        ("agent", "您好，12345，请讲。"),
        ("caller", "我要投诉一个健身房，叫力美健健身房，在深圳南山区，"
                   "我上周三办的年卡，两千八百元。"),
        ("agent", "请问您的姓名？"),
        ("caller", "陈晓东。"),
        ("agent", "陈先生，电话？"),
        ("caller", "一三九，二三四五，六七八九。"),
    ], call_time=dt.datetime(2024, 5, 15, 10, 30))
    assert changes[0] == []
    assert set(changes[1]) == {"merchant", "province", "city", "district", "incident_time",
                               "amount"}
    assert changes[3] == ["caller_name"]
    assert changes[5] == ["phone"]
    form = filler.form
    assert form.as_dict() == {
        "caller_name": "陈晓东", "phone": "13923456789", "id_number": None,
        "province": "广东省", "city": "深圳市", "district": "南山区", "street_address": None,
        "merchant": "力美健健身房", "incident_time": "上周三", "amount": "2800元", "plate": None,
    }
    assert form.incident_time is not None and form.incident_time.normalized == "2024-05-08"
    assert form.district is not None and form.district.normalized == "440305"
    fv = form.phone
    assert fv is not None and fv.utterance == 5
    assert fv.source_text[fv.span[0]:fv.span[1]] == "一三九，二三四五，六七八九"


def test_agent_words_do_not_fill_caller_fields() -> None:
    form = extract_call([
        {"speaker": "agent", "text": "您好，请问您要反映什么？您可以拨打13800001111咨询。"},
        {"speaker": "caller", "text": "没事了，谢谢。"},
    ], agent_fallback=False)
    assert form.phone is None


def test_partial_phone_correction_edits_the_end() -> None:
    filler, changes = _run([
        ("agent", "您的电话？"),
        ("caller", "电话是13812345678……哦不，尾号是79。"),
    ])
    assert filler.form.as_dict()["phone"] == "13812345679"
    assert "phone" in changes[1]


def test_caller_rejects_a_misread_readback() -> None:
    filler, _ = _run([
        ("caller", "电话一八八，七四零一，五九三六。"),
        ("agent", "18874015963？"),
        ("caller", "不是，最后是三六，五九三六。"),
    ])
    assert filler.form.as_dict()["phone"] == "18874015936"


def test_unchallenged_readback_stands_and_confirmation_raises_confidence() -> None:
    filler, _ = _run([("caller", "电话155，9510，9326。"), ("agent", "15955109326，好的。")])
    assert filler.form.as_dict()["phone"] == "15955109326"
    filler, _ = _run([("caller", "电话159，5510，9326。"), ("agent", "15955109326，好的。")])
    phone = filler.form.phone
    assert phone is not None and phone.value == "15955109326" and phone.confidence > 0.85


def test_surname_only_gets_the_operator_honorific() -> None:
    filler, changes = _run([
        ("agent", "请问您贵姓？"), ("caller", "我姓沈。"), ("agent", "沈女士，您的电话？"),
    ])
    assert filler.form.as_dict()["caller_name"] == "沈女士"
    assert changes[2] == ["caller_name"]
    filler, _ = _run([("agent", "您贵姓？"), ("caller", "免贵姓黄。")])
    assert filler.form.as_dict()["caller_name"] == "黄"  # gender unknown: as said


def test_name_correction_not_a_but_b() -> None:
    filler, _ = _run([
        ("agent", "您的姓名？"), ("caller", "熊志强。"), ("agent", "熊志强先生，对吗？"),
        ("caller", "不是志强，是志刚，刚强的刚。"),
    ])
    assert filler.form.as_dict()["caller_name"] == "熊志刚"


def test_time_correction_and_first_time_kept() -> None:
    filler, _ = _run([
        ("caller", "我们江景华府小区2019年，不对，2020年就交房了，上个月又停水。"),
    ])
    assert filler.form.as_dict()["incident_time"] == "2020年"
    filler, _ = _run([
        ("caller", "这个月3号我们小区停水了一整天。"),
        ("agent", "是这个月3号吗？"),
        ("caller", "不对，是13号。"),
    ], call_time=dt.datetime(2024, 5, 15, 9, 0))
    t = filler.form.incident_time
    assert t is not None and (t.value, t.normalized) == ("这个月13号", "2024-05-13")


def test_address_correction_and_readback_completion() -> None:
    filler, _ = _run([
        ("agent", "请问地址是？"),
        ("caller", "绍兴越城区解放北路，261号，啊说反了，216号，饭店在一楼，我住三楼。"),
    ])
    d = filler.form.as_dict()
    assert (d["province"], d["city"], d["district"], d["street_address"]) == \
        ("浙江省", "绍兴市", "越城区", "解放北路216号")
    filler, _ = _run([
        ("caller", "西湖区，文一西路，五二二号。"),
        ("agent", "杭州市西湖区文一西路522号，对吗？"),
    ])
    assert filler.form.as_dict()["city"] == "杭州市"  # the read-back picks 杭州 over 南昌


def test_municipality_and_county_level_city() -> None:
    d = extract_text("我在重庆九龙坡区杨家坪步行街22号").as_dict()
    assert (d["province"], d["city"], d["district"]) == ("重庆市", "重庆市", "九龙坡区")
    d = extract_text("我是江苏昆山的，玉山镇人民路128号").as_dict()
    assert (d["province"], d["city"], d["district"]) == ("江苏省", "苏州市", "昆山市")
    assert d["street_address"] == "玉山镇人民路128号"


def test_extract_text_single_message() -> None:
    d = extract_text("京B，D，1，2，3，4，5这辆车前天晚上8点多收了我一百二十元，"
                     "我叫刘洋，手机13812345678").as_dict()
    assert d["plate"] == "京BD12345"
    assert d["amount"] == "120元"
    assert d["caller_name"] == "刘洋"
    assert d["phone"] == "13812345678"
    assert d["incident_time"] == "前天晚上8点多"


def test_a_district_name_shared_by_many_cities_is_left_to_the_operator() -> None:
    alone = extract_call([{"speaker": "caller", "text": "上星夜城区解放北路216号，饭店在一楼"}])
    assert alone.as_dict()["district"] is None and alone.as_dict()["city"] is None
    named = extract_call([{"speaker": "caller", "text": "阳泉市城区南大街18号"}]).as_dict()
    assert (named["city"], named["district"]) == ("阳泉市", "城区")
    west_lake = extract_call([{"speaker": "caller", "text": "杭州西湖区文三路100号"}]).as_dict()
    assert (west_lake["city"], west_lake["district"]) == ("杭州市", "西湖区")
