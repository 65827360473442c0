"""The audit log: who changed knowledge, who looked at which work order or call, who managed
accounts, and every login, refused access included. Entries are only ever added."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from copilot.accounts.models import AuditEntry
from knowledge_base.db import Database


def record(db: Database, actor: str, action: str, target: str = "", *, outcome: str = "ok",
           detail: str = "", client: str = "") -> None:
    with db.session() as session:
        session.add(AuditEntry(actor=actor[:64] or "-", action=action[:64], target=target[:300],
                               outcome=outcome[:16], detail=detail[:4000], client=client[:64]))


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    outcome: str
    detail: str
    client: str


def search(db: Database, *, actor: str | None = None, action: str | None = None,
           target: str | None = None, since: dt.datetime | None = None, limit: int = 100,
           offset: int = 0) -> tuple[int, list[AuditRow]]:
    """Entries newest first, filtered; ``action`` matches a prefix (``ticket.`` = all ticket
    actions), ``target`` a substring. Returns (total matching, page)."""
    query = select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if target:
        query = query.where(AuditEntry.target.contains(target, autoescape=True))
    if since:
        query = query.where(AuditEntry.at >= since)
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
        return total, [AuditRow(r.id, r.at, r.actor, r.action, r.target, r.outcome, r.detail,
                                r.client) for r in rows]
