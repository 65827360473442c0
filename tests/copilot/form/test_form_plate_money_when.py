import datetime as dt

import pytest

from copilot.form.money import extract_amounts
from copilot.form.plate import extract_plates, normalize_plate
from copilot.form.when import extract_times, resolve

CALL = dt.datetime(2024, 5, 15, 10, 30)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("琼A，T，3582。我当时急着去开会", "琼AT3582"),
        ("湘A，T，6，3，2，7，我特意记下来了", "湘AT6327"),
        ("粤A·D12345", "粤AD12345"),
        ("车牌是粤B 一二三四五", "粤B12345"),
        ("京N拐勾洞幺两", "京N79012"),
        ("苏E12345学", "苏E12345学"),
    ],
)
def test_plates(text: str, plate: str) -> None:
    assert [p.value for p in extract_plates(text)] == [plate]


def test_no_plate_in_ordinary_talk() -> None:
    assert extract_plates("我在浙江嘉兴上班，电话13812345678") == []
    assert normalize_plate("粤A") is None


@pytest.mark.parametrize(
    ("text", "talk", "amounts"),
    [
        ("花了3500块", False, ["3500元"]),
        ("我交了两千块钱", False, ["2000元"]),
        ("押金四千五一直不退给我", False, ["4500元"]),
        ("装修款八万六付了", False, ["86000元"]),
        ("一个月五千，一个半月就是七千五", True, ["7500元"]),  # 一个月五千 is a rate
        ("说好每亩每年八百块", False, []),
        ("也就七八十块", False, []),  # a range
        ("系统显示我要补税八百多", False, []),  # vague
        ("我收入没到十二万", True, []),  # a threshold
        ("种了三十亩，三千六", True, ["3600元"]),
        ("三千六", False, []),  # a bare number with no talk of money
        ("三块五", False, ["3.5元"]),
    ],
)
def test_amounts(text: str, talk: bool, amounts: list[str]) -> None:
    assert [a.value for a in extract_amounts(text, money_talk=talk)] == amounts


@pytest.mark.parametrize(
    ("expr", "iso"),
    [
        ("昨天", "2024-05-14"),
        ("前天晚上8点", "2024-05-13T20:00"),
        ("今天下午三点半", "2024-05-15T15:30"),
        ("上周三", "2024-05-08"),
        ("这周一", "2024-05-13"),
        ("上个礼拜", "2024-05-06/2024-05-12"),
        ("上个月", "2024-04"),
        ("上个月底", "2024-04-21/2024-04-30"),
        ("这三天", "2024-05-13/2024-05-15"),
        ("今年五月份", "2024-05"),
        ("3号晚上", "2024-05-03"),
        ("23号晚上", "2024-04-23"),  # later than today: last month
        ("2020年", "2020"),
        ("三天前", "2024-05-12"),
    ],
)
def test_resolve_relative_dates(expr: str, iso: str) -> None:
    (m,) = extract_times(expr, CALL)
    assert m.text == expr
    assert m.iso == iso == resolve(expr, CALL)


def test_times_in_context() -> None:
    times = extract_times("这周一突然就关门了，我三月份才办的年卡")
    assert [t.text for t in times] == ["这周一", "三月份"]
    assert times[0].iso is None  # no call time given


def test_not_incident_times() -> None:
    for text in ("下个月要生了", "我去年换了两个工作", "前年拿的证", "我是66年8月的",
                 "我1990年出生的", "俺今年六十八了", "往常都是十号前到"):
        assert extract_times(text, CALL) == [], text


@pytest.mark.parametrize(("text", "value"), [
    ("损失大概两万块。", "20000元"), ("修要一千五左右。", "1500元"), ("差不多三千块钱吧", "3000元"),
    ("赔了一千五百块左右", "1500元"),
])
def test_a_hedged_amount_is_the_callers_best_figure_at_lower_confidence(text: str,
                                                                         value: str) -> None:
    (found,) = extract_amounts(text)
    assert found.value == value and found.confidence <= 0.6


@pytest.mark.parametrize("text", ["被骗了两万多", "每个月大概五千", "没到十二万", "好几万块",
                                  "工资一个月五千左右"])
def test_bounds_rates_and_vague_amounts_stay_out(text: str) -> None:
    assert extract_amounts(text) == []
