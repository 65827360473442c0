"""The chat log: one row per citizen message and the bot's reply, for the knowledge gap report.

Its own declarative base, like the ticket tables, so the knowledge base does not depend on it;
:func:`create_tables` adds the table to any database. What the citizen typed while giving a
name, phone or address for a ticket is personal data and is not stored (``question`` says which
field it was); questions, answers and non-answers are stored as they were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import DateTime, Engine, Float, Index, Integer, String, Text, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ChatLogBase(DeclarativeBase):
    pass


class ChatTurn(ChatLogBase):
    __tablename__ = "chat_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    stage: Mapped[str] = mapped_column(String(16))  # the dialogue state the message arrived in
    question: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(16))  # the reply kind
    answer_id: Mapped[str | None] = mapped_column(String(64))
    template_id: Mapped[int | None] = mapped_column(Integer)
    answer_version: Mapped[int | None] = mapped_column(Integer)
    top_id: Mapped[str | None] = mapped_column(String(64))  # best candidate, even when refused
    top_score: Mapped[float | None] = mapped_column(Float)
    options: Mapped[str | None] = mapped_column(String(400))  # ids offered by a clarification
    ticket_number: Mapped[str | None] = mapped_column(String(32))
    latency_ms: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_chat_log_decision_at", "decision", "at"),)


def create_tables(engine: Engine) -> None:
    """Create the chat log table where it is missing (idempotent)."""
    ChatLogBase.metadata.create_all(engine)


@dataclass(frozen=True)
class GapRow:
    """A question the bot could not answer, how often it was asked, and its best candidate."""

    question: str
    count: int
    last_at: dt.datetime
    top_id: str | None
    top_score: float | None


def unanswered(session: Session, *, since: dt.datetime | None = None,
               limit: int = 100) -> list[GapRow]:
    """Questions answered with no answer, most frequent first (the gap report's raw list)."""
    query = (select(ChatTurn.question, func.count(), func.max(ChatTurn.at),
                    func.max(ChatTurn.top_id), func.max(ChatTurn.top_score))
             .where(ChatTurn.decision == "no_answer"))
    if since is not None:
        query = query.where(ChatTurn.at >= since)
    query = (query.group_by(ChatTurn.question)
             .order_by(func.count().desc(), func.max(ChatTurn.at).desc()).limit(limit))
    return [GapRow(q, n, last, top, score) for q, n, last, top, score in session.execute(query)]
