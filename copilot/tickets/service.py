"""Work orders: create from the form, the status flow, dispatch, duplicates, search.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction and leaves the
commit to the caller (``with db.session() as s: ...``), so a failure part-way leaves nothing
behind. Errors are :class:`TicketError` subclasses whose message says what to change.

Operator edits win over the copilot's suggestions, field by field: a field the operator did not
touch (``None``) takes the suggested value; one the operator set takes the operator's value,
and an explicit empty string clears a suggested value (the operator deleted it). Which side
each stored value came from is kept in ``fields_source``, and the suggestions the operator
overrode are kept in the ``create`` event, so the copilot's accuracy can be measured later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from classifier.deadline import CHINA_TZ, DEADLINE_DAYS, due_date
from copilot.form.idcard import is_valid_id
from copilot.tickets.duplicates import to_utc
from copilot.tickets.models import (
    ACCEPTED,
    CLOSED,
    DISPATCHED,
    FIELD_LIMITS,
    FORM_FIELDS,
    NEXT_STATUS,
    STATUSES,
    Ticket,
    TicketEvent,
)
from copilot.tickets.similarity import address_key, merchant_key
from knowledge_base.models import Category, Unit

REQUEST_TYPES: tuple[str, ...] = tuple(DEADLINE_DAYS)
MERGED_FIELDS: tuple[str, ...] = (*FORM_FIELDS, "content", "request_type", "category_code",
                                  "unit")
FLOW = " → ".join(STATUSES)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(0(?:10|2\d|[3-9]\d{2}))([2-9]\d{6,7})$")
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")
_PHONE_JUNK = re.compile(r"[\s\-－—–()（）]")


class TicketError(ValueError):
    """A request the ticket store refuses, with a message saying what to change."""


class TicketNotFound(TicketError):
    pass


class TicketConflict(TicketError):
    """Refused by the ticket's state: the status flow, a link, a concurrent change."""


class TicketInvalid(TicketError):
    """Field values that fail validation; ``errors`` maps each field to what to do."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name}: {msg}" for name, msg in errors.items()))


@dataclass
class TicketDraft:
    """What the operator submits. ``None`` = not touched; ``""`` = cleared on purpose."""

    content: str | None = None
    request_type: str | None = None
    category_code: str | None = None
    category_path: list[str] | None = None
    unit: str | None = None
    call_id: str | None = None
    accepted_at: dt.datetime | None = None  # must carry a time zone; default: now
    caller_name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street_address: str | None = None
    merchant: str | None = None
    incident_time: str | None = None
    amount: str | None = None
    plate: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TicketDraft:
        """Build from a dict; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TicketInvalid({k: f"unknown field; expected some of {', '.join(sorted(known))}"
                                 for k in unknown})
        return cls(**dict(data))


@dataclass(frozen=True)
class TicketPage:
    total: int
    items: list[Ticket]


# ---------------------------------------------------------------- helpers


def _now(now: dt.datetime | None) -> dt.datetime:
    return to_utc(now) if now is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor or len(actor) > 64:
        raise TicketInvalid({"actor": "say who does this (a user name of 1 to 64 characters)"})
    return actor


def _event(ticket: Ticket, actor: str, action: str, at: dt.datetime, from_status: str | None,
           to_status: str | None, **detail: Any) -> None:
    ticket.events.append(TicketEvent(actor=actor, action=action, at=at, from_status=from_status,
                                     to_status=to_status, detail=detail))


def _flush(session: Session, ticket: Ticket) -> None:
    number = ticket.number  # read now: after a failed flush the session cannot load it
    try:
        session.flush()
    except StaleDataError as e:
        raise TicketConflict(f"ticket {number} was changed by someone else meanwhile: "
                             f"reload it and try again") from e


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    """The ticket with its history, or :class:`TicketNotFound`."""
    ticket = session.get(Ticket, ticket_id, options=[selectinload(Ticket.events)])
    if ticket is None:
        raise TicketNotFound(f"no ticket with id {ticket_id}")
    return ticket


def _root(session: Session, ticket: Ticket) -> Ticket:
    """Follow ``duplicate_of`` to the original (links are kept one level deep)."""
    seen = {ticket.id}
    while ticket.duplicate_of is not None:
        ticket = get_ticket(session, ticket.duplicate_of)
        if ticket.id in seen:
            raise TicketConflict(f"duplicate links loop at ticket {ticket.number}")
        seen.add(ticket.id)
    return ticket


# ---------------------------------------------------------------- validation


def normalize_phone(value: str) -> str | None:
    """A Chinese mobile ('13812345678'), landline with area code ('020-12345678') or local
    landline ('12345678'), normalised; None when it is none of those."""
    digits = _PHONE_JUNK.sub("", value)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if _MOBILE.match(digits):
        return digits
    if m := _LANDLINE.match(digits):
        return f"{m.group(1)}-{m.group(2)}"
    return digits if _LOCAL.match(digits) else None


def merge_fields(draft: TicketDraft, suggestions: Mapping[str, Any] | None
                 ) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(values, source per field, overridden suggestions): operator values win over suggested
    ones; an operator's empty string clears the field."""
    suggestions = suggestions or {}
    unknown = sorted(set(suggestions) - {*MERGED_FIELDS, "category_path"})
    if unknown:
        raise TicketInvalid({f"suggested.{k}": "unknown field" for k in unknown})
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    overridden: dict[str, Any] = {}
    for name in MERGED_FIELDS:
        mine, suggested = getattr(draft, name), suggestions.get(name)
        suggested = suggested.strip() if isinstance(suggested, str) else suggested
        if mine is not None:
            mine = str(mine).strip()
            values[name], source[name] = mine or None, "operator"
            if suggested and suggested != mine:
                overridden[name] = suggested
        elif suggested:
            values[name], source[name] = str(suggested), "suggestion"
        else:
            values[name] = None
    code_source = source.get("category_code")
    path = draft.category_path if code_source == "operator" else suggestions.get("category_path")
    values["category_path"] = [str(p) for p in path or []][:3]
    return values, source, overridden


def _validate(session: Session, values: dict[str, Any]) -> None:
    """Check and normalise merged values in place; raise :class:`TicketInvalid` with every
    problem found."""
    errors: dict[str, str] = {}
    content = values.get("content") or ""
    if not content:
        errors["content"] = "empty: write what the caller asks for (the request summary)"
    for name, limit in FIELD_LIMITS.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors[name] = f"{len(value)} characters, at most {limit}: shorten it"
    request_type = values.get("request_type")
    if not request_type:
        errors["request_type"] = f"missing: choose one of {', '.join(REQUEST_TYPES)}"
    elif request_type not in REQUEST_TYPES:
        errors["request_type"] = (f"{request_type!r} is not a request type: choose one of "
                                  f"{', '.join(REQUEST_TYPES)}")
    if phone := values.get("phone"):
        normal = normalize_phone(phone)
        if normal is None:
            errors["phone"] = (f"{phone!r} is neither a mobile number (11 digits, 13x-19x) nor "
                               f"a landline (area code + 7 or 8 digits, e.g. 020-12345678): "
                               f"read it back to the caller, or leave it empty")
        values["phone"] = normal or phone
    if id_number := values.get("id_number"):
        id_number = id_number.replace(" ", "").upper()
        if not is_valid_id(id_number):
            errors["id_number"] = (f"{id_number!r} is not a valid resident ID number (18 "
                                   f"characters; birth date and check character must hold): "
                                   f"read it back to the caller, or leave it empty")
        values["id_number"] = id_number
    if code := values.get("category_code"):
        category = session.scalar(select(Category).where(Category.code == code))
        if category is not None:
            values["category_path"] = category.path()
        elif session.scalar(select(func.count()).select_from(Category)):
            errors["category_code"] = (f"{code!r} is not in the taxonomy: pick a code from "
                                       f"GET /api/v1/kb/categories")
    if unit := values.get("unit"):
        _check_unit(session, unit, errors)
    if errors:
        raise TicketInvalid(errors)


def _check_unit(session: Session, unit: str, errors: dict[str, str]) -> None:
    """A unit must be in the directory, when the hotline has imported one."""
    if session.scalar(select(Unit.id).where(Unit.name == unit)) is None and session.scalar(
            select(func.count()).select_from(Unit)):
        errors["unit"] = (f"{unit!r} is not in the handling-unit directory: pick one from "
                          f"GET /api/v1/kb/units")


# ---------------------------------------------------------------- create


def create_ticket(
    session: Session,
    draft: TicketDraft,
    suggestions: Mapping[str, Any] | None = None,
    *,
    actor: str,
    link_to: int | None = None,
    dispatch_now: bool = False,
    now: dt.datetime | None = None,
) -> Ticket:
    """Store a new ticket (status 受理) from the operator's draft and the copilot's suggestions,
    with its number and due date; optionally link it to an original (``link_to``) or dispatch
    it at once to its unit (``dispatch_now``)."""
    actor = _actor(actor)
    if link_to is not None and dispatch_now:
        raise TicketInvalid({"dispatch": "a ticket linked to an original is not dispatched: "
                                         "drop dispatch or link_to"})
    values, source, overridden = merge_fields(draft, suggestions)
    _validate(session, values)
    accepted = draft.accepted_at or dt.datetime.now(dt.UTC)
    if accepted.tzinfo is None:
        raise TicketInvalid({"accepted_at": "give a time zone (e.g. 2025-10-09T10:00:00+08:00)"})
    at = _now(now)
    ticket = Ticket(
        **{name: values[name] for name in (*FORM_FIELDS, "content", "request_type",
                                           "category_code", "category_path", "unit")},
        call_id=(draft.call_id or "").strip()[:128] or None, status=ACCEPTED,
        accepted_at=to_utc(accepted), due_date=due_date(values["request_type"], accepted),
        created_by=actor, updated_at=at, fields_source=source,
        address_key=address_key(values["street_address"]),
        merchant_key=merchant_key(values["merchant"]),
    )
    session.add(ticket)
    _event(ticket, actor, "create", at, None, ACCEPTED, overridden_suggestions=overridden,
           due_date=ticket.due_date.isoformat())
    session.flush()  # the id, for the number
    ticket.number = f"GD{accepted.astimezone(CHINA_TZ):%Y%m%d}-{ticket.id:06d}"
    session.flush()
    if link_to is not None:
        link_duplicate(session, ticket.id, link_to, actor=actor, now=now)
    elif dispatch_now:
        dispatch(session, ticket.id, None, actor=actor, now=now)
    return ticket


# ---------------------------------------------------------------- status flow


def _not_a_duplicate(session: Session, ticket: Ticket, doing: str) -> None:
    if ticket.duplicate_of is not None:
        original = get_ticket(session, ticket.duplicate_of)
        handled = f"at {original.status}"
        if original.status != ACCEPTED and original.unit:
            handled += f", handled by {original.unit}"
        raise TicketConflict(
            f"ticket {ticket.number} is linked as a duplicate of {original.number} (id "
            f"{original.id}, {handled}): it is not {doing} on its own and closes with the "
            f"original; unlink it first if it is a different incident")


def dispatch(session: Session, ticket_id: int, unit: str | None, *, actor: str, note: str = "",
             now: dt.datetime | None = None) -> Ticket:
    """Send a ticket to a handling unit (受理 → 派单); a ticket at 派单 may be sent to another
    unit (改派). ``unit`` None: the unit already on the ticket."""
    actor = _actor(actor)
    ticket = get_ticket(session, ticket_id)
    _not_a_duplicate(session, ticket, "dispatched")
    if ticket.status not in (ACCEPTED, DISPATCHED):
        raise TicketConflict(f"ticket {ticket.number} is at {ticket.status}, past dispatch: "
                             f"only a ticket at {ACCEPTED} or {DISPATCHED} can be dispatched")
    unit = (unit or "").strip() or ticket.unit
    errors: dict[str, str] = {}
    if not unit:
        errors["unit"] = "a ticket is dispatched to a handling unit: give one"
    elif len(unit) > FIELD_LIMITS["unit"]:
        errors["unit"] = f"{len(unit)} characters, at most {FIELD_LIMITS['unit']}"
    else:
        _check_unit(session, unit, errors)
    if errors:
        raise TicketInvalid(errors)
    if ticket.status == DISPATCHED and unit == ticket.unit:
        raise TicketConflict(f"ticket {ticket.number} is already dispatched to {unit}")
    at = _now(now)
    action = "redispatch" if ticket.status == DISPATCHED else "dispatch"
    _event(ticket, actor, action, at, ticket.status, DISPATCHED, unit=unit,
           previous_unit=ticket.unit, note=note)
    if ticket.unit != unit:
        ticket.fields_source = {**ticket.fields_source, "unit": "operator"}
    ticket.unit, ticket.status, ticket.updated_at = unit, DISPATCHED, at
    _flush(session, ticket)
    return ticket


def transition(session: Session, ticket_id: int, to_status: str, *, actor: str, note: str = "",
               now: dt.datetime | None = None) -> Ticket:
    """Move a ticket one step along 受理 → 派单 → 办理 → 答复 → 回访 → 办结 (派单 needs a unit,
    see :func:`dispatch`). Closing an original closes the duplicates linked to it."""
    actor = _actor(actor)
    if to_status not in STATUSES:
        raise TicketInvalid({"to_status": f"{to_status!r} is not a status: the flow is {FLOW}"})
    ticket = get_ticket(session, ticket_id)
    _not_a_duplicate(session, ticket, "moved")
    expected = NEXT_STATUS.get(ticket.status)
    if to_status != expected:
        step = f"the next step is {expected}" if expected else "it is closed"
        raise TicketConflict(f"ticket {ticket.number} is at {ticket.status}: {step}, not "
                             f"{to_status} (the flow is {FLOW}, one step at a time)")
    if to_status == DISPATCHED:
        return dispatch(session, ticket_id, None, actor=actor, note=note, now=now)
    at = _now(now)
    _event(ticket, actor, "transition", at, ticket.status, to_status, note=note)
    ticket.status, ticket.updated_at = to_status, at
    if to_status == CLOSED:
        ticket.closed_at = at
        linked = session.scalars(select(Ticket).where(Ticket.duplicate_of == ticket.id,
                                                      Ticket.status != CLOSED))
        for dup in linked:
            _event(dup, actor, "close_with_original", at, dup.status, CLOSED,
                   original_id=ticket.id, original_number=ticket.number)
            dup.status, dup.closed_at, dup.updated_at = CLOSED, at, at
    _flush(session, ticket)
    return ticket


# ---------------------------------------------------------------- duplicates


def link_duplicate(session: Session, ticket_id: int, original_id: int, *, actor: str,
                   note: str = "", now: dt.datetime | None = None) -> Ticket:
    """Mark a ticket (still at 受理) as a duplicate of an open original: it is not dispatched
    and closes when the original closes. Links always point at the first ticket of the
    incident; tickets already linked to this one move to the original too."""
    actor = _actor(actor)
    ticket = get_ticket(session, ticket_id)
    original = _root(session, get_ticket(session, original_id))
    if original.id == ticket.id:
        raise TicketConflict(f"ticket {ticket.number} cannot be a duplicate of itself")
    if ticket.status != ACCEPTED:
        raise TicketConflict(
            f"ticket {ticket.number} is already at {ticket.status} (unit {ticket.unit}): only a "
            f"ticket not yet dispatched can be linked; let it follow its own flow")
    if not original.is_open:
        raise TicketConflict(
            f"the original {original.number} is closed ({CLOSED}): a new report of a closed "
            f"matter is handled as a new ticket")
    at = _now(now)
    for follower in session.scalars(select(Ticket).where(Ticket.duplicate_of == ticket.id)):
        follower.duplicate_of = original.id
        _event(follower, actor, "relink", at, None, None, original_id=original.id)
    ticket.duplicate_of, ticket.updated_at = original.id, at
    _event(ticket, actor, "link_duplicate", at, None, None, original_id=original.id,
           original_number=original.number, note=note)
    _event(original, actor, "duplicate_linked", at, None, None, duplicate_id=ticket.id,
           duplicate_number=ticket.number)
    _flush(session, ticket)
    return ticket


def unlink_duplicate(session: Session, ticket_id: int, *, actor: str, note: str = "",
                     now: dt.datetime | None = None) -> Ticket:
    """Undo a wrong link: the ticket follows its own flow again (from 受理)."""
    actor = _actor(actor)
    ticket = get_ticket(session, ticket_id)
    if ticket.duplicate_of is None:
        raise TicketConflict(f"ticket {ticket.number} is not linked to another ticket")
    if not ticket.is_open:
        raise TicketConflict(f"ticket {ticket.number} is closed; it stays as it was")
    at = _now(now)
    _event(ticket, actor, "unlink_duplicate", at, None, None, original_id=ticket.duplicate_of,
           note=note)
    ticket.duplicate_of, ticket.updated_at = None, at
    _flush(session, ticket)
    return ticket


# ---------------------------------------------------------------- search


def list_tickets(
    session: Session,
    *,
    status: str | None = None,
    unit: str | None = None,
    q: str | None = None,
    district: str | None = None,
    call_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TicketPage:
    """Tickets newest first, filtered; ``q`` searches the number, content, merchant, address
    and phone (case-insensitive substring)."""
    if status is not None and status not in STATUSES:
        raise TicketInvalid({"status": f"{status!r} is not a status: one of {FLOW}"})
    if not 1 <= limit <= 500 or offset < 0:
        raise TicketInvalid({"limit": "limit is 1 to 500 and offset at least 0"})
    conds = []
    if status:
        conds.append(Ticket.status == status)
    if unit:
        conds.append(Ticket.unit == unit)
    if district:
        conds.append(Ticket.district == district)
    if call_id:
        conds.append(Ticket.call_id == call_id)
    if since is not None:
        conds.append(Ticket.accepted_at >= to_utc(since))
    if until is not None:
        conds.append(Ticket.accepted_at < to_utc(until))
    if q and q.strip():
        needle = q.strip()
        conds.append(or_(*(col.icontains(needle, autoescape=True) for col in (
            Ticket.number, Ticket.content, Ticket.merchant, Ticket.street_address,
            Ticket.phone))))
    total = session.scalar(select(func.count()).select_from(Ticket).where(*conds)) or 0
    items = session.scalars(select(Ticket).where(*conds)
                            .order_by(Ticket.accepted_at.desc(), Ticket.id.desc())
                            .limit(limit).offset(offset)).all()
    return TicketPage(total, list(items))
