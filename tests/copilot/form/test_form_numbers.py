import pytest

from copilot.form.numbers import arabic, digit_runs, parse_int, parse_number, spoken_digits


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3500", 3500),
        ("三千五百", 3500),
        ("三千六", 3600),  # colloquial: the digit after 千 is hundreds
        ("两万四", 24000),
        ("2万4千", 24000),
        ("一百五", 150),
        ("一百零五", 105),
        ("三千零六", 3006),
        ("十五", 15),
        ("二十三", 23),
        ("五二二", 522),  # read digit by digit
        ("二〇二〇", 2020),
        ("1万5", 15000),
        ("一千二百三十四万五千六百七十八", 12345678),
    ],
)
def test_parse_number(text: str, value: int) -> None:
    assert parse_number(text) == value


def test_parse_number_decimal_and_garbage() -> None:
    assert parse_number("3.5万") == 35000
    assert parse_number("三点五") == 3.5
    assert parse_number("三块") is None
    assert parse_number("") is None
    assert parse_int("三点五") is None


def test_spoken_digits_with_yao_liang_and_pauses() -> None:
    assert spoken_digits("幺五九，五九二八，幺四七六") == "15959281476"
    assert spoken_digits("两洞零") == "200"
    assert spoken_digits("一九五八零七一六 叉") == "19580716X"


def test_digit_runs_keep_groups_and_spans() -> None:
    text = "电话一三六，二七一三，九零五四。"
    (run,) = digit_runs(text)
    assert run.digits == "13627139054"
    assert [g.digits for g in run.groups] == ["136", "2713", "9054"]
    assert text[run.start:run.end] == "一三六，二七一三，九零五四"


def test_arabic_rewrites_numerals_only() -> None:
    assert arabic("五二二号") == "522号"
    assert arabic("十二栋三单元") == "12栋3单元"
    assert arabic("建设路") == "建设路"
