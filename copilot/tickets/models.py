"""SQLAlchemy models of work orders (工单) and their history.

The ticket tables have their own declarative base so the knowledge base does not depend on them;
:func:`create_tables` adds them to any database (SQLite or PostgreSQL). Times are stored as naive
UTC, like the rest of the project; the ticket number and the deadline use the Beijing date.
``address_key`` and ``merchant_key`` hold the normalised place keys the duplicate check
compares (see :mod:`copilot.tickets.duplicates`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, ClassVar

from sqlalchemy import JSON, Date, DateTime, Engine, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The status flow, in order: accepted, dispatched, in progress, answered, revisited, closed.
STATUSES: tuple[str, ...] = ("受理", "派单", "办理", "答复", "回访", "办结")
ACCEPTED, DISPATCHED, IN_PROGRESS, ANSWERED, REVISITED, CLOSED = STATUSES
OPEN_STATUSES: tuple[str, ...] = STATUSES[:-1]
NEXT_STATUS: dict[str, str] = dict(itertools.pairwise(STATUSES))

# Work-order fields an operator fills (the form) plus those the copilot also suggests.
FORM_FIELDS: tuple[str, ...] = (
    "caller_name", "phone", "id_number", "province", "city", "district", "street_address",
    "merchant", "incident_time", "amount", "plate",
)
FIELD_LIMITS: dict[str, int] = {
    "caller_name": 64, "phone": 32, "id_number": 18, "province": 32, "city": 32,
    "district": 32, "street_address": 200, "merchant": 100, "incident_time": 64, "amount": 32,
    "plate": 16, "content": 4000, "request_type": 8, "category_code": 32, "unit": 100,
    "call_id": 128,
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class TicketBase(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class Ticket(TicketBase):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(8), default=ACCEPTED)
    request_type: Mapped[str] = mapped_column(String(8))
    category_code: Mapped[str | None] = mapped_column(String(32), index=True)
    category_path: Mapped[list[str]] = mapped_column(default=list)

    caller_name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18))
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    street_address: Mapped[str | None] = mapped_column(String(200))
    merchant: Mapped[str | None] = mapped_column(String(100))
    incident_time: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[str | None] = mapped_column(String(32))
    plate: Mapped[str | None] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)

    unit: Mapped[str | None] = mapped_column(String(100), index=True)
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    due_date: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    fields_source: Mapped[dict[str, Any]] = mapped_column(default=dict)

    address_key: Mapped[str | None] = mapped_column(String(200), index=True)
    merchant_key: Mapped[str | None] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_tickets_status_accepted", "status", "accepted_at"),
        Index("ix_tickets_district_accepted", "district", "accepted_at"),
    )
    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status != CLOSED

    def form(self) -> dict[str, str | None]:
        """The form fields as a plain dict (the batch contract's keys)."""
        return {name: getattr(self, name) for name in FORM_FIELDS}


class TicketEvent(TicketBase):
    """One step in a ticket's history: created, dispatched, a status change, linked, …"""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(8))
    to_status: Mapped[str | None] = mapped_column(String(8))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


def create_tables(engine: Engine) -> None:
    """Create the ticket tables where they are missing (idempotent)."""
    TicketBase.metadata.create_all(engine)
