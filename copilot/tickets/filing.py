"""Filing a ticket from a call: the copilot's form and suggestions become the draft's suggested
values, the operator's edits and choices win over them (``service.create_ticket`` merges).
Shared by the console (``POST /api/v1/calls/{id}/ticket``) and ``copilot assist --save``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from classifier.deadline import CHINA_TZ
from copilot.tickets import service
from copilot.tickets.models import FORM_FIELDS, Ticket


def suggested_values(form: Mapping[str, str | None],
                     suggestions: Mapping[str, Any] | None) -> dict[str, Any]:
    """The copilot's values for a ticket: the form's fields, the request summary, the request
    type, the best category and the suggested unit."""
    out: dict[str, Any] = {name: form.get(name) for name in FORM_FIELDS if form.get(name)}
    s = suggestions or {}
    if s.get("summary"):
        out["content"] = s["summary"]
    if s.get("request_type"):
        out["request_type"] = s["request_type"]
    category = s.get("category") or {}
    if category.get("code"):
        out["category_code"] = category["code"]
        out["category_path"] = list(category.get("path") or [])
    if s.get("unit"):
        out["unit"] = s["unit"]
    return out


def accepted_at(call_time: dt.datetime | None) -> dt.datetime:
    """When the ticket was accepted: the call's time (naive = Beijing time), else now."""
    if call_time is None:
        return dt.datetime.now(dt.UTC)
    return call_time if call_time.tzinfo else call_time.replace(tzinfo=CHINA_TZ)


def file_suggested(session: Session, suggested: dict[str, Any], *, call_id: str | None,
                   call_time: dt.datetime | None, actor: str) -> Ticket:
    """File a ticket from the copilot's values alone (batch): a suggested value that fails
    validation (a misheard phone number, say) is left empty rather than losing the ticket."""
    draft = service.TicketDraft(call_id=call_id, accepted_at=accepted_at(call_time))
    try:
        with session.begin_nested():
            return service.create_ticket(session, draft, suggested, actor=actor)
    except service.TicketInvalid as e:
        dropped = {k: v for k, v in suggested.items() if k not in e.errors}
        if dropped == suggested:
            raise
        with session.begin_nested():
            return service.create_ticket(session, draft, dropped, actor=actor)
