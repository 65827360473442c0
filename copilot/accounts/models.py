"""Tables of accounts, login sessions and the audit log, on their own declarative base (like the
ticket and chat tables) so :func:`create_tables` can add them to any database. Times are naive
UTC. A session's token is stored only as its SHA-256, so a copy of the database opens nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from knowledge_base.models import utcnow


class AccountsBase(DeclarativeBase):
    pass


class User(AccountsBase):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated Role names
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LoginSession(AccountsBase):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    client: Mapped[str] = mapped_column(String(200), default="")


class AuditEntry(AccountsBase):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # username, or "-" when nobody signed in
    action: Mapped[str] = mapped_column(String(64))  # e.g. ticket.view, knowledge.change
    target: Mapped[str] = mapped_column(String(300), default="")  # what was touched
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok / denied / failed
    detail: Mapped[str] = mapped_column(Text, default="")
    client: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_audit_action_at", "action", "at"),
                      Index("ix_audit_actor_at", "actor", "at"))


def create_tables(engine: Engine) -> None:
    """Create the account, session and audit tables where missing (idempotent)."""
    AccountsBase.metadata.create_all(engine)
