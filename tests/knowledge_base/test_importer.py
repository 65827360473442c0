from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from knowledge_base import service
from knowledge_base.db import Database
from knowledge_base.exporter import export_all
from knowledge_base.importer import ImportRejected, import_table
from knowledge_base.models import AnswerStatus, AnswerTemplate, AnswerVersion, Category, Unit
from knowledge_base.tables import TableError

TAXONOMY = """一级分类,二级分类,三级分类
住房,物业管理,物业费
住房,物业管理,电梯维修
住房,房屋交易,网签备案
消费,预付卡,退费纠纷
""".encode()

UNITS = """name,duty,district,phone
市住房和城乡建设局,物业管理,全市,020-5550-0001
天河区市场监督管理局,预付卡退费,天河区,020-5550-0002
"""

ANSWERS = """id,question,answer,unit,level1,level2,level3
a1,物业费涨价合法吗|物业公司能随便涨价吗,物业服务收费应当遵循合理、公开的原则，调整须经业主共同决定。,市住房和城乡建设局,住房,物业管理,物业费
a2,健身房关门了卡里的钱怎么退,经营者停业的，应当退还预付款余额，可向市场监管部门投诉。,天河区市场监督管理局,消费,预付卡,退费纠纷
"""


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _import(db: Database, kind: str, data: bytes | str, name: str = "f.csv"):
    raw = data.encode() if isinstance(data, str) else data
    with db.session() as s:
        return import_table(s, kind, raw, name)  # type: ignore[arg-type]


def test_taxonomy_gets_codes_in_order(db: Database) -> None:
    summary = _import(db, "taxonomy", TAXONOMY)
    assert summary.created == 4
    with db.session() as s:
        codes = {c.code: c.path() for c in s.scalars(select(Category))}
    assert codes["01"] == ["住房"]
    assert codes["01.01"] == ["住房", "物业管理"]
    assert codes["01.01.001"] == ["住房", "物业管理", "物业费"]
    assert codes["01.01.002"] == ["住房", "物业管理", "电梯维修"]
    assert codes["01.02.001"] == ["住房", "房屋交易", "网签备案"]
    assert codes["02.01.001"] == ["消费", "预付卡", "退费纠纷"]


def test_taxonomy_keeps_given_codes_and_extends_after_them(db: Database) -> None:
    _import(db, "taxonomy", "code,level1,level2,level3\n03.02.005,城管,占道,流动摊贩\n")
    _import(db, "taxonomy", "level1,level2,level3\n城管,占道,店外经营\n")
    with db.session() as s:
        assert service.category_by_path(s, ["城管", "占道", "店外经营"]).code == "03.02.006"


def test_bad_rows_are_all_reported_and_nothing_is_written(db: Database) -> None:
    bad = ("level1,level2,level3,code\n"
           "住房,物业管理,物业费,01.01.001\n"
           ",物业管理,空的一级,\n"          # line 3: empty level above a filled one
           "住房,物业管理,物业费,\n"         # line 4: duplicate path
           "消费,预付卡,退费,1.2\n")          # line 5: code does not fit a level-3 class
    with pytest.raises(ImportRejected) as err:
        _import(db, "taxonomy", bad)
    lines = [p.line for p in err.value.problems]
    assert lines == [3, 4, 5]
    assert "row 3" in str(err.value) and "nothing was imported" in str(err.value)
    assert _count(db, Category) == 0


def test_answer_import_links_units_and_categories(db: Database) -> None:
    _import(db, "taxonomy", TAXONOMY)
    _import(db, "units", UNITS)
    summary = _import(db, "answers", ANSWERS)
    assert summary.created == 2 and not summary.created_units
    with db.session() as s:
        a1 = s.scalar(select(AnswerTemplate).where(AnswerTemplate.external_id == "a1"))
        assert a1.questions == ["物业费涨价合法吗", "物业公司能随便涨价吗"]
        assert a1.unit.name == "市住房和城乡建设局"
        assert a1.category.code == "01.01.001"
        assert a1.status == AnswerStatus.published and a1.version == 1


def test_answers_with_unknown_units_create_them_and_say_so(db: Database) -> None:
    summary = _import(db, "answers", "id,answer,unit\nx1,请携带身份证办理。,体育局\n")
    assert summary.created_units == ["体育局"]
    assert _count(db, Unit) == 1


def test_reimport_saves_a_new_version_only_when_changed(db: Database) -> None:
    _import(db, "answers", ANSWERS)
    again = _import(db, "answers", ANSWERS)
    assert again.unchanged == 2 and again.updated == 0
    changed = ANSWERS.replace("可向市场监管部门投诉", "可拨打12315投诉")
    summary = _import(db, "answers", changed)
    assert summary.updated == 1
    with db.session() as s:
        a2 = s.scalar(select(AnswerTemplate).where(AnswerTemplate.external_id == "a2"))
        history = service.answer_history(s, a2.id)
    assert a2.version == 2
    assert [v.version for v in history] == [1, 2]
    assert "12315" in history[1].snapshot["answer"]
    assert "12315" not in history[0].snapshot["answer"]


def test_failed_answer_import_leaves_no_trace(db: Database) -> None:
    _import(db, "answers", ANSWERS)
    before = (_count(db, AnswerTemplate), _count(db, AnswerVersion), db.revision())
    bad = ANSWERS + "a3,,,新单位\n" + "a4,问,答,单位,住房,,物业费\n"
    bad = bad.replace("可向市场监管部门投诉", "改过了")  # a valid change that must not land
    with pytest.raises(ImportRejected) as err:
        _import(db, "answers", bad)
    assert [p.line for p in err.value.problems] == [4, 5]
    assert (_count(db, AnswerTemplate), _count(db, AnswerVersion), db.revision()) == before
    with db.session() as s:
        assert service.unit_by_name(s, "新单位") is None
        a2 = s.scalar(select(AnswerTemplate).where(AnswerTemplate.external_id == "a2"))
        assert "改过了" not in a2.answer


def test_missing_required_column_is_named(db: Database) -> None:
    with pytest.raises(ImportRejected, match="the header must have answer"):
        _import(db, "answers", "id,question\n1,问题\n")


def test_extra_fields_in_a_row_are_reported(db: Database) -> None:
    with pytest.raises(ImportRejected, match="unquoted comma"):
        _import(db, "units", "name,district\n甲单位,天河区\n乙单位,天河区,多出来的\n")


def test_not_an_excel_file(db: Database) -> None:
    with pytest.raises(TableError, match="not a readable Excel"):
        _import(db, "units", b"PK\x03\x04 this is not a zip", "units.xlsx")


def test_binary_garbage_is_refused(db: Database) -> None:
    with pytest.raises(TableError):
        _import(db, "units", bytes(range(256)) * 4, "units.csv")


def test_gb18030_csv_is_read(db: Database) -> None:
    _import(db, "units", "名称,职责\n越秀区人民政府,辖区综合事务\n".encode("gb18030"))
    with db.session() as s:
        assert service.unit_by_name(s, "越秀区人民政府").duty == "辖区综合事务"


def test_excel_import_with_chinese_headers(db: Database) -> None:
    wb = Workbook()
    sheet = wb.active
    sheet.append(["一级分类", "二级分类", "三级分类"])
    sheet.append(["交通", "公交", "线路调整"])
    buf = io.BytesIO()
    wb.save(buf)
    _import(db, "taxonomy", buf.getvalue(), "tax.xlsx")
    with db.session() as s:
        assert service.category_by_path(s, ["交通", "公交", "线路调整"]).code == "01.01.001"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_imports_back_to_the_same_base(db: Database, tmp_path, fmt: str) -> None:
    _import(db, "taxonomy", TAXONOMY)
    _import(db, "units", UNITS)
    _import(db, "answers", ANSWERS)
    with db.session() as s:
        paths = export_all(s, tmp_path / "out", fmt)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    for path, kind in zip(paths, ("taxonomy", "units", "answers"), strict=True):
        with other.session() as s:
            import_table(s, kind, path.read_bytes(), path.name)  # type: ignore[arg-type]
    with db.session() as a, other.session() as b:
        assert service.counts(a) == service.counts(b)
        left = {t.external_id: (t.answer, t.category.code, t.unit.name)
                for t in a.scalars(select(AnswerTemplate))}
        right = {t.external_id: (t.answer, t.category.code, t.unit.name)
                 for t in b.scalars(select(AnswerTemplate))}
        assert left == right
    # and importing the export onto the base it came from changes nothing
    with db.session() as s:
        summary = import_table(s, "answers", paths[2].read_bytes(), paths[2].name)
    assert summary.unchanged == 2 and summary.created == 0
    other.dispose()
