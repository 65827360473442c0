"""The directory of names a call's transcript is corrected against (copilot/calls/names.py),
on a real database with work orders and units."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from copilot.calls.names import NameDirectory, directory_names, road_name
from copilot.settings import Settings
from copilot.tickets import TicketDraft, create_tables, create_ticket
from knowledge_base import service as kb
from knowledge_base.db import Database


@pytest.fixture
def tdb(db: Database) -> Database:
    create_tables(db.engine)
    with db.session() as s:
        kb.upsert_unit(s, {"name": "余杭区住房和城乡建设局"})
        create_ticket(s, TicketDraft(content="物业不修屋顶漏水", request_type="投诉",
                                     merchant="绿苑物业", street_address="玉鸟路88号金色家园7幢"),
                      actor="op1")
    return db


def test_past_tickets_units_divisions_and_the_names_file_make_the_directory(
        tdb: Database, tmp_path: Path) -> None:
    extra = tmp_path / "names.txt"
    extra.write_text("丰和中大道\n江景华府\n", encoding="utf-8")
    names = set(directory_names(tdb, extra))
    assert {"绿苑物业", "玉鸟路", "余杭区住房和城乡建设局", "丰和中大道", "江景华府"} <= names
    assert {"浙江省", "杭州市", "余杭区", "红谷滩区"} <= names  # every division of China
    directory = NameDirectory(tdb, extra)
    names = directory.gazetteer()
    assert names.correct("就是那个离院物业，风和中大道")[0] == "就是那个绿苑物业，丰和中大道"
    assert names.correct("我要投诉物业") == ("我要投诉物业", [])


def test_the_road_an_address_starts_with() -> None:
    assert road_name("建设路55号3楼") == "建设路"
    assert road_name("丰和中大道江景华府6栋") == "丰和中大道"
    assert road_name("55号") is None
    assert road_name(None) is None


def test_a_names_file_that_is_not_there_stops_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="one name a line"):
        Settings(home=tmp_path, names_file=tmp_path / "missing.txt")
