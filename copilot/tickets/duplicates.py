"""The duplicate check over stored tickets: open tickets (not 办结) accepted in a recent window
that report the same incident as a draft, best first, each with the reasons to show.

The database narrows the candidates (open, in the window, same district or a matching address
or merchant key); :func:`copilot.tickets.similarity.match_pair` decides. Usable during the call
(a partial form) and when the ticket is saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, literal, or_, select
from sqlalchemy.orm import Session

from copilot.tickets.models import OPEN_STATUSES, Ticket
from copilot.tickets.similarity import (
    DEFAULT_THRESHOLDS,
    Thresholds,
    match_pair,
    merchant_key,
    parse_address,
    region_key,
)

DEFAULT_WINDOW_DAYS = 30
MAX_CANDIDATES = 5000  # most recent open tickets compared per check

_COLUMNS = (Ticket.id, Ticket.number, Ticket.status, Ticket.accepted_at, Ticket.city,
            Ticket.district, Ticket.street_address, Ticket.merchant, Ticket.content,
            Ticket.unit, Ticket.duplicate_of)


@dataclass(frozen=True)
class DuplicateCandidate:
    ticket_id: int
    number: str | None
    status: str
    accepted_at: dt.datetime  # naive UTC
    district: str | None
    street_address: str | None
    merchant: str | None
    content: str
    unit: str | None
    original_id: int | None  # set when this ticket is itself linked to an original
    score: float
    text_similarity: float
    place: str  # "same", "near" or "district"
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["accepted_at"] = self.accepted_at.replace(tzinfo=dt.UTC).isoformat()
        return out


def to_utc(moment: dt.datetime) -> dt.datetime:
    """Naive UTC, the form times are stored in; a naive argument is taken as UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _prefilter(form: Mapping[str, str | None]) -> list[ColumnElement[bool]]:
    """SQL conditions that any candidate matching ``form`` meets (one of them)."""
    conds: list[ColumnElement[bool]] = []
    if district := region_key(form.get("district")):
        conds.append(Ticket.district.startswith(district, autoescape=True))
    if (address := parse_address(form.get("street_address"))) is not None:
        conds.append(Ticket.address_key == address.key)
        if len(address.root) >= 2:
            conds.append(Ticket.address_key.contains(address.root, autoescape=True))
    if merchant := merchant_key(form.get("merchant")):
        conds.append(Ticket.merchant_key.contains(merchant, autoescape=True))
        conds.append(literal(merchant).contains(Ticket.merchant_key))
    return conds


def find_duplicates(
    session: Session,
    form_fields: Mapping[str, str | None],
    content: str,
    *,
    now: dt.datetime | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    exclude_ticket_id: int | None = None,
    limit: int = 5,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[DuplicateCandidate]:
    """Open tickets accepted in the last ``window_days`` before ``now`` that report the same
    incident as the draft (its form fields and request text). One entry per incident: a ticket
    already linked to an original is folded into it (the better score is kept)."""
    if window_days < 1 or limit < 1:
        raise ValueError(f"window_days and limit must be at least 1, got {window_days}, {limit}")
    if not content.strip():
        return []
    conds = _prefilter(form_fields)
    if not conds:
        return []  # no district, address nor merchant yet: nothing to compare against
    until = to_utc(now) if now is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    query = (select(*_COLUMNS)
             .where(Ticket.status.in_(OPEN_STATUSES),
                    Ticket.accepted_at >= until - dt.timedelta(days=window_days),
                    Ticket.accepted_at <= until, or_(*conds))
             .order_by(Ticket.accepted_at.desc()).limit(MAX_CANDIDATES))
    if exclude_ticket_id is not None:
        query = query.where(Ticket.id != exclude_ticket_id,
                            or_(Ticket.duplicate_of.is_(None),
                                Ticket.duplicate_of != exclude_ticket_id))
    draft = {**form_fields, "content": content}
    best: dict[int, DuplicateCandidate] = {}
    for row in session.execute(query).mappings():
        match = match_pair(draft, row, thresholds)
        if not match.duplicate:
            continue
        candidate = DuplicateCandidate(
            ticket_id=row["id"], number=row["number"], status=row["status"],
            accepted_at=row["accepted_at"], district=row["district"],
            street_address=row["street_address"], merchant=row["merchant"],
            content=row["content"], unit=row["unit"], original_id=row["duplicate_of"],
            score=match.score, text_similarity=match.text_similarity, place=match.place,
            reasons=list(match.reasons))
        root = row["duplicate_of"] or row["id"]
        if root not in best or candidate.score > best[root].score:
            best[root] = candidate
    ranked = sorted(best.values(), key=lambda c: (-c.score, -c.ticket_id))
    return ranked[:limit]
