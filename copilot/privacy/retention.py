"""The retention purge: call transcripts (and any recording kept with them) and chatbot
questions older than ``COPILOT_RETENTION_DAYS`` are deleted; work orders, the knowledge base and
the audit log are kept (they are the hotline's records, under their own rules).

A call's age is the time since anything in its folder was last written, so a call still going
on is never purged. Each purge that deletes something is itself written to the audit log."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select

from copilot.accounts import audit
from copilot.calls.store import CallStore
from copilot.chat.log import ChatTurn, create_tables
from knowledge_base.db import Database

logger = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    days: int
    cutoff: dt.datetime  # UTC
    calls: list[str] = field(default_factory=list)
    chat_turns: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"days": self.days, "cutoff_utc": self.cutoff.isoformat(timespec="seconds"),
                "calls": len(self.calls), "call_ids": self.calls,
                "chat_turns": self.chat_turns, "dry_run": self.dry_run}


def _last_written(folder: Path) -> float:
    times = [p.stat().st_mtime for p in folder.iterdir() if p.is_file()]
    return max(times, default=folder.stat().st_mtime)


def purge(db: Database, calls: CallStore, days: int, *, now: dt.datetime | None = None,
          dry_run: bool = False) -> PurgeReport:
    """Delete (or with ``dry_run`` only count) what is older than ``days``."""
    if days < 1:
        raise ValueError("retention must be at least 1 day")
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    cutoff = now - dt.timedelta(days=days)
    limit = cutoff.replace(tzinfo=dt.UTC).timestamp()
    report = PurgeReport(days=days, cutoff=cutoff, dry_run=dry_run)
    for call_id in calls.call_ids():
        folder = calls.folder(call_id)
        if _last_written(folder) < limit:
            report.calls.append(call_id)
            if not dry_run:
                shutil.rmtree(folder, ignore_errors=True)
    create_tables(db.engine)
    with db.session() as session:
        old = ChatTurn.at < cutoff
        report.chat_turns = session.scalar(select(func.count(ChatTurn.id)).where(old)) or 0
        if not dry_run and report.chat_turns:
            session.execute(delete(ChatTurn).where(old))
    if not dry_run and (report.calls or report.chat_turns):
        audit.record(db, "system", "retention.purge", f"older than {days} days",
                     detail=f"{len(report.calls)} calls, {report.chat_turns} chat turns")
        logger.info("retention: purged %d calls and %d chat turns older than %d days",
                    len(report.calls), report.chat_turns, days)
    return report

