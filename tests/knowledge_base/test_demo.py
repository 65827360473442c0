"""The demo knowledge base the project ships: loads cleanly and is big enough to be useful."""

from __future__ import annotations

import re

from sqlalchemy import select

from knowledge_base import service
from knowledge_base.db import Database
from knowledge_base.demo import is_empty, load_demo
from knowledge_base.models import AnswerStatus, AnswerTemplate, Category, Unit


def test_demo_loads_with_the_promised_coverage(db: Database) -> None:
    assert is_empty(db)
    summaries = load_demo(db)
    assert not is_empty(db)
    assert summaries["answers"]["created_units"] == []
    assert summaries["answers"]["created_categories"] == []
    with db.session() as s:
        counts = service.counts(s)
        assert counts["categories_level1"] >= 12
        assert counts["categories_level2"] >= 80
        assert counts["categories_level3"] >= 300
        assert counts["units"] >= 60
        assert counts["answers_published"] >= 400
        kinds = {u.kind for u in s.scalars(select(Unit))}
        assert {"市直部门", "区政府", "街道办事处", "公用企事业单位"} <= kinds
        for t in s.scalars(select(AnswerTemplate)):
            assert t.category is not None and t.category.level == 3, t.external_id
            assert t.unit is not None, t.external_id
            assert t.status == AnswerStatus.published
            assert len(t.questions) >= 2 and len(t.answer) >= 60, t.external_id
            assert t.request_type in {"咨询", "求助", "投诉", "举报", "意见建议"}
        for c in s.scalars(select(Category)):
            assert re.fullmatch(r"\d\d(\.\d\d(\.\d{3})?)?", c.code), c.code


def test_every_second_level_class_has_answers(db: Database) -> None:
    load_demo(db)
    with db.session() as s:
        level2 = {c.code for c in s.scalars(select(Category).where(Category.level == 2))}
        answered = {t.category.code.rsplit(".", 1)[0] for t in s.scalars(select(AnswerTemplate))}
    assert level2 == answered


def test_emergency_and_out_of_scope_answers_are_there(db: Database) -> None:
    load_demo(db)
    with db.session() as s:
        text = "\n".join(t.answer for t in s.scalars(select(AnswerTemplate)))
    for line in ("119", "120", "110", "122", "仲裁", "信访", "行政复议", "纪"):
        assert line in text, line
