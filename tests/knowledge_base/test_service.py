from __future__ import annotations

import datetime as dt

import pytest

from knowledge_base import service
from knowledge_base.db import Database
from knowledge_base.models import AnswerStatus, ChangeLog


def _new(db: Database, **extra: object) -> int:
    with db.session() as s:
        service.ensure_category(s, ["住房", "物业管理", "物业费"])
        service.upsert_unit(s, {"name": "住建局"})
        t = service.create_answer(s, {"answer": "物业费按合同约定缴纳。", "questions": ["物业费"],
                                      "category_code": "01.01.001", "unit_name": "住建局",
                                      **extra}, actor="alice")
        return t.id


def test_review_flow_is_enforced(db: Database) -> None:
    tid = _new(db)
    with db.session() as s:
        t = s.get(service.AnswerTemplate, tid)
        with pytest.raises(service.KbError, match="cannot go from draft to published"):
            service.set_status(s, t, AnswerStatus.published, actor="bob")
    with db.session() as s:
        t = s.get(service.AnswerTemplate, tid)
        service.set_status(s, t, AnswerStatus.in_review, actor="alice")
        service.set_status(s, t, AnswerStatus.published, actor="bob")
    with db.session() as s:
        t = s.get(service.AnswerTemplate, tid)
        assert t.status == AnswerStatus.published and t.version == 3
        history = service.answer_history(s, tid)
        assert [(v.version, v.changed_by, v.snapshot["status"]) for v in history] == [
            (1, "alice", "draft"), (2, "alice", "in_review"), (3, "bob", "published")]
        assert s.query(ChangeLog).filter_by(entity="answer").count() == 3


def test_edit_bumps_version_and_revision(db: Database) -> None:
    tid = _new(db)
    rev = db.revision()
    with db.session() as s:
        t = s.get(service.AnswerTemplate, tid)
        assert service.update_answer(s, t, {"answer": "新的答复。"}, actor="carol") is True
        assert service.update_answer(s, t, {"answer": "新的答复。"}, actor="carol") is False
    assert db.revision() == rev + 1


def test_unknown_code_and_unit_are_refused_with_guidance(db: Database) -> None:
    _new(db)
    with db.session() as s, pytest.raises(service.KbError, match="import the taxonomy first"):
        service.create_answer(s, {"answer": "x", "category_code": "09.09.009"})
    with db.session() as s, pytest.raises(service.KbError, match="unit directory"):
        service.create_answer(s, {"answer": "x", "unit_name": "不存在的单位"})


def test_expiry_must_follow_effective_date(db: Database) -> None:
    with pytest.raises(service.KbError, match="expires_on must be after"):
        _new(db, effective_from=dt.date(2026, 5, 1), expires_on=dt.date(2026, 4, 1))


def test_is_live_window(db: Database) -> None:
    tid = _new(db, status=AnswerStatus.published, effective_from=dt.date(2026, 1, 1),
               expires_on=dt.date(2026, 12, 31))
    with db.session() as s:
        t = s.get(service.AnswerTemplate, tid)
        assert not t.is_live(dt.date(2025, 12, 31))
        assert t.is_live(dt.date(2026, 6, 1))
        assert not t.is_live(dt.date(2026, 12, 31))
