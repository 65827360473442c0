"""Work orders (工单): create from the form, list and search, history, the status flow, dispatch,
duplicate links, and the duplicate check of a draft during the call.

Errors: 404 no such ticket; 409 refused by the ticket's state (the flow, a link, a change made
meanwhile); 422 invalid values, ``detail`` as a list of ``{"loc", "msg", "type"}`` naming each
field (the shape FastAPI uses for its own validation errors).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.deadline import CHINA_TZ
from copilot.api.auth import Operator
from copilot.api.deps import MAX_INT, ContextDep, Offset, RowId
from copilot.context import AppContext
from copilot.privacy.masking import mask_id_number, mask_name, mask_phone
from copilot.tickets import service
from copilot.tickets.duplicates import DEFAULT_WINDOW_DAYS, find_duplicates
from copilot.tickets.models import FIELD_LIMITS, FORM_FIELDS, NEXT_STATUS, STATUSES, Ticket

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

Status = Literal["受理", "派单", "办理", "答复", "回访", "办结"]
assert set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]


def _text(name: str) -> Any:
    return Field(default=None, max_length=FIELD_LIMITS[name])


class FormFields(BaseModel):
    caller_name: str | None = _text("caller_name")
    phone: str | None = _text("phone")
    id_number: str | None = Field(default=None, max_length=32)  # spaces are removed
    province: str | None = _text("province")
    city: str | None = _text("city")
    district: str | None = _text("district")
    street_address: str | None = _text("street_address")
    merchant: str | None = _text("merchant")
    incident_time: str | None = _text("incident_time")
    amount: str | None = _text("amount")
    plate: str | None = _text("plate")


class TicketFields(FormFields):
    content: str | None = Field(default=None, max_length=FIELD_LIMITS["content"],
                                description="the request summary (诉求内容)")
    request_type: str | None = Field(default=None, max_length=8,
                                     description="咨询 / 求助 / 投诉 / 举报 / 意见建议")
    category_code: str | None = _text("category_code")
    category_path: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=3)
    unit: str | None = Field(default=None, max_length=FIELD_LIMITS["unit"],
                             description="the handling unit (承办单位)")


class TicketCreate(TicketFields):
    """The operator's values (null: not touched, "": cleared) and the copilot's suggestions."""

    suggested: TicketFields | None = Field(default=None, description="the copilot's values; "
                                           "the operator's win field by field")
    call_id: str | None = _text("call_id")
    accepted_at: dt.datetime | None = Field(default=None, description="with a time zone; "
                                            "default now")
    link_to: int | None = Field(default=None, ge=1, le=MAX_INT, description="the original "
                                "ticket, when this call reports an incident already open")
    dispatch: bool = Field(default=False, description="dispatch to the unit at once")


class TransitionIn(BaseModel):
    to_status: Status
    note: str = Field(default="", max_length=1000)


class DispatchIn(BaseModel):
    unit: str | None = Field(default=None, max_length=FIELD_LIMITS["unit"],
                             description="default: the unit already on the ticket")
    note: str = Field(default="", max_length=1000)


class LinkIn(BaseModel):
    original_id: int | None = Field(ge=1, le=MAX_INT, description="null removes the link")
    note: str = Field(default="", max_length=1000)


class DuplicateCheck(FormFields):
    content: str = Field(min_length=1, max_length=FIELD_LIMITS["content"])
    exclude_ticket_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    window_days: int = Field(default=DEFAULT_WINDOW_DAYS, ge=1, le=365)
    limit: int = Field(default=5, ge=1, le=20)
    at: dt.datetime | None = Field(default=None, description="check as of this time "
                                   "(default now)")


class EventOut(BaseModel):
    at: str
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any]


class DuplicateOut(BaseModel):
    ticket_id: int
    number: str | None
    status: str
    accepted_at: str
    district: str | None
    street_address: str | None
    merchant: str | None
    content: str
    unit: str | None
    original_id: int | None
    score: float
    text_similarity: float
    place: str
    reasons: list[str]


class TicketOut(FormFields):
    id: int
    number: str | None
    call_id: str | None
    status: str
    next_status: str | None
    request_type: str
    category_code: str | None
    category_path: list[str]
    content: str
    unit: str | None
    accepted_at: str
    due_date: str
    overdue: bool
    closed_at: str | None
    created_by: str
    updated_at: str
    duplicate_of: int | None
    fields_source: dict[str, str]


class TicketDetail(TicketOut):
    history: list[EventOut]
    linked_duplicates: list[int]


class TicketPageOut(BaseModel):
    total: int
    items: list[TicketOut]


class CreateOut(BaseModel):
    ticket: TicketDetail
    due_date: str
    duplicates: list[DuplicateOut]


class DuplicatesOut(BaseModel):
    duplicates: list[DuplicateOut]
    took_ms: float


# ---------------------------------------------------------------- helpers


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.replace(tzinfo=dt.UTC).isoformat() if moment else None


def _out(ticket: Ticket) -> dict[str, Any]:
    today = dt.datetime.now(CHINA_TZ).date()
    return {
        **ticket.form(), "id": ticket.id, "number": ticket.number, "call_id": ticket.call_id,
        "status": ticket.status, "next_status": NEXT_STATUS.get(ticket.status),
        "request_type": ticket.request_type, "category_code": ticket.category_code,
        "category_path": list(ticket.category_path or []), "content": ticket.content,
        "unit": ticket.unit, "accepted_at": _iso(ticket.accepted_at),
        "due_date": ticket.due_date.isoformat(),
        "overdue": ticket.is_open and ticket.due_date < today,
        "closed_at": _iso(ticket.closed_at), "created_by": ticket.created_by,
        "updated_at": _iso(ticket.updated_at), "duplicate_of": ticket.duplicate_of,
        "fields_source": dict(ticket.fields_source or {}),
    }


def masked(out: dict[str, Any]) -> dict[str, Any]:
    """A ticket as lists show it: name, phone and ID number masked. Only the ticket's own page
    (``GET /api/v1/tickets/{id}``, written to the audit log) shows them in full."""
    return {**out, "caller_name": mask_name(out["caller_name"]),
            "phone": mask_phone(out["phone"]), "id_number": mask_id_number(out["id_number"])}


def ticket_detail(session: Session, ticket: Ticket) -> TicketDetail:
    linked = session.scalars(select(Ticket.id).where(Ticket.duplicate_of == ticket.id)
                             .order_by(Ticket.id)).all()
    history = [EventOut(at=_iso(e.at) or "", actor=e.actor, action=e.action,
                        from_status=e.from_status, to_status=e.to_status, detail=e.detail or {})
               for e in ticket.events]
    return TicketDetail(**_out(ticket), history=history, linked_duplicates=list(linked))


def created(session: Session, ticket: Ticket) -> CreateOut:
    """The answer to a create: the ticket, its due date and the open tickets it may repeat."""
    found = [] if ticket.duplicate_of else find_duplicates(
        session, ticket.form(), ticket.content, now=ticket.accepted_at,
        exclude_ticket_id=ticket.id)
    return CreateOut(ticket=ticket_detail(session, ticket), due_date=ticket.due_date.isoformat(),
                     duplicates=[DuplicateOut(**c.as_dict()) for c in found])


@contextmanager
def ticket_errors(ctx: AppContext) -> Iterator[Session]:
    """A session in a transaction; ticket errors become 404 / 409 / 422."""
    try:
        with ctx.db.session() as session:
            yield session
    except service.TicketNotFound as e:
        raise HTTPException(404, detail=str(e)) from e
    except service.TicketConflict as e:
        raise HTTPException(409, detail=str(e)) from e
    except service.TicketInvalid as e:
        raise HTTPException(422, detail=[{"loc": ["body", name], "msg": msg,
                                          "type": "value_error"}
                                         for name, msg in e.errors.items()]) from e


# ---------------------------------------------------------------- routes


@router.post("", response_model=CreateOut, status_code=201)
def create(ctx: ContextDep, who: Operator, body: TicketCreate) -> CreateOut:
    """Save the work order: operator values win over the copilot's suggestions; the due date
    follows the request type; the open tickets it may duplicate come back with it."""
    values = body.model_dump(include={*FORM_FIELDS, "content", "request_type", "category_code",
                                      "category_path", "unit", "call_id", "accepted_at"})
    suggested = body.suggested.model_dump(exclude_none=True) if body.suggested else None
    with ticket_errors(ctx) as session:
        ticket = service.create_ticket(
            session, service.TicketDraft(**values), suggested, actor=who.username,
            link_to=body.link_to, dispatch_now=body.dispatch)
        return created(session, ticket)


@router.get("", response_model=TicketPageOut)
def list_(
    ctx: ContextDep,
    status: Status | None = None,
    unit: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=100, description="text in the number, content, "
                                   "merchant, address or phone")] = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
    call_id: Annotated[str | None, Query(max_length=128)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> TicketPageOut:
    """Tickets, newest first, with filters; ``total`` counts every match. ``since`` /
    ``until`` bound the acceptance time (ISO 8601; without an offset, UTC). Names, phones and
    ID numbers come masked (``138****5678``); open a ticket for them in full."""
    with ticket_errors(ctx) as session:
        page = service.list_tickets(session, status=status, unit=unit, q=q, district=district,
                                    call_id=call_id, since=since, until=until, limit=limit,
                                    offset=offset)
        return TicketPageOut(total=page.total,
                             items=[TicketOut(**masked(_out(t))) for t in page.items])


@router.post("/duplicates", response_model=DuplicatesOut)
def check_duplicates(ctx: ContextDep, body: DuplicateCheck) -> DuplicatesOut:
    """Open tickets the draft may duplicate (same address or merchant and a similar request,
    accepted in the last ``window_days``); nothing is saved. For use during the call."""
    started = time.perf_counter()
    form = body.model_dump(include=set(FORM_FIELDS))
    with ticket_errors(ctx) as session:
        found = find_duplicates(session, form, body.content, now=body.at,
                                window_days=body.window_days,
                                exclude_ticket_id=body.exclude_ticket_id, limit=body.limit)
    return DuplicatesOut(duplicates=[DuplicateOut(**c.as_dict()) for c in found],
                         took_ms=round((time.perf_counter() - started) * 1000, 2))


@router.get("/{ticket_id}", response_model=TicketDetail)
def get(ctx: ContextDep, ticket_id: RowId) -> TicketDetail:
    """One ticket with its history and the duplicates linked to it."""
    with ticket_errors(ctx) as session:
        return ticket_detail(session, service.get_ticket(session, ticket_id))


@router.post("/{ticket_id}/transition", response_model=TicketDetail)
def transition(ctx: ContextDep, who: Operator, ticket_id: RowId,
               body: TransitionIn) -> TicketDetail:
    """One step along 受理 → 派单 → 办理 → 答复 → 回访 → 办结."""
    with ticket_errors(ctx) as session:
        ticket = service.transition(session, ticket_id, body.to_status, actor=who.username,
                                    note=body.note)
        return ticket_detail(session, ticket)


@router.post("/{ticket_id}/dispatch", response_model=TicketDetail)
def dispatch(ctx: ContextDep, who: Operator, ticket_id: RowId, body: DispatchIn) -> TicketDetail:
    """Dispatch to a handling unit (受理 → 派单), or send a dispatched ticket to another unit."""
    with ticket_errors(ctx) as session:
        ticket = service.dispatch(session, ticket_id, body.unit, actor=who.username,
                                  note=body.note)
        return ticket_detail(session, ticket)


@router.post("/{ticket_id}/link", response_model=TicketDetail)
def link(ctx: ContextDep, who: Operator, ticket_id: RowId, body: LinkIn) -> TicketDetail:
    """Link the ticket to the original it duplicates (it is then not dispatched), or remove
    the link with ``original_id: null``."""
    with ticket_errors(ctx) as session:
        if body.original_id is None:
            ticket = service.unlink_duplicate(session, ticket_id, actor=who.username,
                                              note=body.note)
        else:
            ticket = service.link_duplicate(session, ticket_id, body.original_id,
                                            actor=who.username, note=body.note)
        return ticket_detail(session, ticket)
