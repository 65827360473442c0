from copilot.form.idcard import check_char, extract_ids, is_valid_id
from copilot.form.phone import apply_edit, extract_phone_edits, extract_phones


def test_mobile_read_in_chinese_with_pauses() -> None:
    (p,) = extract_phones("我叫王某，电话一三六，二七一三，九零五四。")
    assert (p.value, p.kind) == ("13627139054", "mobile")
    assert p.confidence > 0.9  # 电话 right before


def test_mobile_after_other_digits_in_the_same_run() -> None:
    (p,) = extract_phones("7幢2单元702，13857162218")
    assert p.value == "13857162218"


def test_not_a_mobile() -> None:
    assert extract_phones("12345热线") == []
    assert extract_phones("23857162218") == []  # mobiles start 1[3-9]


def test_landline_with_area_code() -> None:
    assert [p.value for p in extract_phones("座机0571-88776655")] == ["0571-88776655"]
    (p,) = extract_phones("区号零五一二，号码五七六八，一二三四")
    assert (p.value, p.kind) == ("0512-57681234", "landline")


def test_tail_correction_edits_the_end() -> None:
    (edit,) = extract_phone_edits("哦不，尾号是78")
    assert (edit.digits, edit.where) == ("78", "tail")
    assert apply_edit("13812345679", edit) == "13812345678"


def test_tail_said_twice_keeps_the_longer_restatement() -> None:
    (edit,) = extract_phone_edits("不是，最后是三六，五九三六。")
    assert edit.digits == "5936"
    assert apply_edit("18874015963", edit) == "18874015936"


def test_head_correction_and_landline_dash_kept() -> None:
    (edit,) = extract_phone_edits("前三位是139")
    assert apply_edit("13812345678", edit) == "13912345678"
    (tail,) = extract_phone_edits("尾号是56")
    assert apply_edit("0571-88776655", tail) == "0571-88776656"


def test_id_check_character() -> None:
    assert check_char("23010319580716202") == "8"
    assert is_valid_id("230103195807162028")
    assert is_valid_id("61011219660802162x")


def test_id_checksum_failure_is_rejected() -> None:
    assert not is_valid_id("230103195807162029")
    assert extract_ids("身份证230103195807162029") == []
    (bad,) = extract_ids("身份证230103195807162029", strict=False)
    assert not bad.valid and bad.confidence < 0.5


def test_id_bad_date_or_province() -> None:
    assert not is_valid_id("230103195813162028")  # month 13
    assert not is_valid_id("990103195807162028")


def test_id_read_in_chinese_with_cha() -> None:
    (m,) = extract_ids("身份证号六一零一一二，一九六六零八零二，一六二叉")
    assert m.value == "61011219660802162X"
    assert extract_phones("身份证号二三零一零三，一九五八零七一六，二零二八") == []


def test_middle_group_correction_replaces_digits_four_to_seven() -> None:
    (edit,) = extract_phone_edits("中间四位不对，是二二三五。")
    assert (edit.where, edit.digits) == ("middle", "2235")
    assert apply_edit("15822345678", edit) == "15822355678"
    assert apply_edit("020-83456789", edit) == "020-83456789"  # a landline has no middle group
    (tail,) = extract_phone_edits("尾号错了，应该是5679")
    assert apply_edit("13812345678", tail) == "13812345679"
    assert extract_phone_edits("中间是两个人在吵，有三个") == []
