"""Finding answers for the console (filters, pages) and turning them into response data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload

from knowledge_base import service
from knowledge_base.models import AnswerStatus, AnswerTemplate, Category, ChangeLog, Unit

EXPIRY_WARN_DAYS = 7  # a published answer expiring within this many days is flagged


def _like(text: str) -> str:
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def text_filter(q: str) -> Any:
    """Title, answer, source, public id or a question form contains ``q``. Question forms are
    stored as JSON, where Chinese may be written as ``\\uXXXX`` escapes: both spellings match."""
    plain = _like(q)
    escaped = _like(json.dumps(q)[1:-1])
    questions = cast(AnswerTemplate.questions, String)
    return or_(AnswerTemplate.title.like(plain, escape="!"),
               AnswerTemplate.answer.like(plain, escape="!"),
               AnswerTemplate.source.like(plain, escape="!"),
               AnswerTemplate.external_id.like(plain, escape="!"),
               questions.like(plain, escape="!"), questions.like(escaped, escape="!"))


def list_query(*, q: str | None = None, category: str | None = None, unit: str | None = None,
               status: AnswerStatus | None = None, expiring_within_days: int | None = None,
               expired: bool | None = None, today: dt.date | None = None
               ) -> Select[tuple[AnswerTemplate]]:
    """The answers matching every filter given. ``category`` is a code or a code prefix (a
    class and everything under it); ``expired``/``expiring_within_days`` look at published
    answers only (a draft's dates mean nothing until it is published)."""
    today = today or dt.date.today()
    query = select(AnswerTemplate)
    if q and q.strip():
        query = query.where(text_filter(q.strip()))
    if category:
        query = query.join(Category, AnswerTemplate.category_id == Category.id).where(
            or_(Category.code == category, Category.code.like(_like(category + ".")[1:],
                                                              escape="!")))
    if unit:
        query = query.join(Unit, AnswerTemplate.unit_id == Unit.id).where(Unit.name == unit)
    if status is not None:
        query = query.where(AnswerTemplate.status == status)
    if expired is not None:
        is_expired = AnswerTemplate.expires_on.is_not(None) & (AnswerTemplate.expires_on <= today)
        query = query.where(AnswerTemplate.status == AnswerStatus.published)
        query = query.where(is_expired if expired else ~is_expired)
    if expiring_within_days is not None:
        query = query.where(AnswerTemplate.status == AnswerStatus.published,
                            AnswerTemplate.expires_on > today,
                            AnswerTemplate.expires_on
                            <= today + dt.timedelta(days=expiring_within_days))
    return query


def page(session: Session, query: Select[tuple[AnswerTemplate]], limit: int, offset: int
         ) -> tuple[int, list[AnswerTemplate]]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.options(selectinload(AnswerTemplate.category)
                                         .selectinload(Category.parent),
                                         selectinload(AnswerTemplate.unit))
                           .order_by(AnswerTemplate.updated_at.desc(), AnswerTemplate.id.desc())
                           .limit(limit).offset(offset)).all()
    return total, list(rows)


def urgent_ids(session: Session, public_ids: list[str]) -> set[str]:
    """Which of these answers were published through the urgent path."""
    if not public_ids:
        return set()
    return set(session.scalars(select(ChangeLog.entity_id).where(
        ChangeLog.entity == "answer", ChangeLog.action == "urgent",
        ChangeLog.entity_id.in_(public_ids))))


def expiry_state(t: AnswerTemplate, today: dt.date) -> str | None:
    if t.status != AnswerStatus.published:
        return None
    if t.expires_on is not None and t.expires_on <= today:
        return "expired"
    if t.effective_from is not None and t.effective_from > today:
        return "not_yet_effective"
    if t.expires_on is not None and t.expires_on <= today + dt.timedelta(days=EXPIRY_WARN_DAYS):
        return "expiring"
    return None


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item(t: AnswerTemplate, urgent: bool, today: dt.date | None = None) -> dict[str, Any]:
    today = today or dt.date.today()
    return {
        "template_id": t.id, "id": t.public_id, "title": t.title, "status": t.status.value,
        "version": t.version, "category_code": t.category.code if t.category else None,
        "category_path": t.category.path() if t.category else [],
        "unit": t.unit.name if t.unit else None, "effective_from": _iso(t.effective_from),
        "expires_on": _iso(t.expires_on), "updated_by": t.updated_by,
        "updated_at": t.updated_at.isoformat(timespec="seconds"),
        "live": t.is_live(today), "expiry": expiry_state(t, today), "urgent": urgent,
    }


def detail(session: Session, t: AnswerTemplate) -> dict[str, Any]:
    """Everything the editor shows: fields, who may not approve, and every version."""
    versions = service.answer_history(session, t.id)
    out_versions = []
    previous: dict[str, Any] | None = None
    for v in versions:
        content = {k: val for k, val in v.snapshot.items() if k != "status"}
        out_versions.append({
            "version": v.version, "status": v.snapshot.get("status", ""),
            "changed_by": v.changed_by, "changed_at": v.changed_at.isoformat(timespec="seconds"),
            "note": v.note, "content_changed": previous is None or content != previous,
            "snapshot": v.snapshot})
        previous = content
    return {
        **item(t, bool(urgent_ids(session, [t.public_id]))),
        "questions": list(t.questions or []), "answer": t.answer, "source": t.source,
        "request_type": t.request_type, "created_by": t.created_by,
        "created_at": t.created_at.isoformat(timespec="seconds"),
        "authors": sorted(service.content_authors(session, t)),
        "versions": out_versions,
    }
