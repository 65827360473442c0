"""What the copilot suggests for a call as it stands: category, request type and deadline,
triage alerts, standard answers with their source, the handling unit, the territorial units
(属地) of the form's district and street, and possible duplicates.

One function serves the live call session (after each final caller utterance), ``copilot
assist --jsonl`` and the REST API, so the operator and a batch run see the same thing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from copilot.classification import request_text
from retrieval.index import SearchHit

if TYPE_CHECKING:
    from copilot.context import AppContext

ANSWERS = 3
def answer_json(hit: SearchHit) -> dict[str, Any]:
    """An answer as the operator sees it: the text to read, and where it comes from."""
    return {"id": hit.id, "template_id": hit.template_id, "version": hit.version,
            "title": hit.title, "question": hit.question, "answer": hit.answer,
            "unit": hit.unit, "unit_phone": hit.unit_phone, "category_code": hit.category_code,
            "category_path": hit.category_path, "source": hit.source,
            "score": round(hit.score, 4)}


def alerts(classification: dict[str, Any]) -> list[dict[str, Any]]:
    """Emergency and out-of-scope flags as alerts the console shows at the top."""
    found = classification.get("triage") or {}
    out: list[dict[str, Any]] = []
    if found.get("emergency"):
        out.append({"kind": "emergency", "line": found["emergency"],
                    "also_notify": found.get("also_notify", []),
                    "reason": found.get("emergency_reason", ""),
                    "triggers": found.get("emergency_triggers", []),
                    "message": f"紧急情况：请立即转接 {found['emergency']}"})
    if found.get("out_of_scope"):
        out.append({"kind": "out_of_scope", "matter": found["out_of_scope"],
                    "reason": found.get("out_of_scope_reason", ""),
                    "direct_to": found.get("direct_to", ""),
                    "triggers": found.get("out_of_scope_triggers", []),
                    "message": f"不予受理（{found['out_of_scope']}）："
                               f"{found.get('direct_to', '')}"})
    return out


def suggest(ctx: AppContext, turns: list[dict[str, Any]], call_time: dt.datetime | None = None,
            *, form: dict[str, str | None] | None = None,
            exclude_ticket_id: int | None = None) -> dict[str, Any]:
    """Everything the copilot suggests for these turns (the caller's side needs a turn); with
    the work order's ``form`` values also the duplicates and the territorial units."""
    # the answers are the best of those retrieved for the unit vote (same query, same category)
    classification, hits = ctx.classifier.classify_turns(turns, call_time)
    query = request_text(turns)
    duplicates: list[dict[str, Any]] = []
    if form is not None:
        duplicates = ctx.find_duplicates(form, query, now=call_time,
                                         exclude_ticket_id=exclude_ticket_id)
    out = dict(classification)
    out["answers"] = [answer_json(h) for h in hits[:ANSWERS]]
    out["alerts"] = alerts(classification)
    out["duplicates"] = duplicates
    out["local_units"] = ctx.classifier.dispatcher.local_units(form)
    out["summary"] = query
    return out


def assist(ctx: AppContext, obj: dict[str, Any], *, save: bool = False) -> dict[str, Any]:
    """The batch contract's assist line for one call or message: the form (as ``extract``),
    everything ``classify`` gives, the answers and the duplicates among open tickets. With
    ``save`` the call is filed as a ticket (``ticket_id``) and each duplicate names the input
    ``id`` of the earlier call it repeats."""
    from copilot.extraction import extract, parse_call

    turns, call_time = parse_call(obj)
    extracted = extract(obj)
    suggestions = suggest(ctx, turns, call_time, form=extracted["form"])
    out = {"id": obj.get("id"), **extracted, **suggestions}
    if save:
        out.update(_save(ctx, obj.get("id"), call_time, extracted["form"], suggestions))
    return out


def _save(ctx: AppContext, call_id: Any, call_time: dt.datetime | None,
          form: dict[str, str | None], suggestions: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import select

    from copilot.tickets.filing import file_suggested, suggested_values
    from copilot.tickets.models import Ticket

    with ctx.db.session() as session:
        ticket = file_suggested(session, suggested_values(form, suggestions),
                                call_id=None if call_id is None else str(call_id),
                                call_time=call_time, actor="batch")
        earlier = [d["ticket_id"] for d in suggestions["duplicates"]]
        ids = dict(session.execute(select(Ticket.id, Ticket.call_id)
                                   .where(Ticket.id.in_(earlier))).tuples().all())
        return {"ticket_id": ticket.id, "ticket_number": ticket.number,
                "duplicates": [{"ticket_id": d["ticket_id"], "id": ids.get(d["ticket_id"]),
                                "score": d["score"], "reasons": d["reasons"]}
                               for d in suggestions["duplicates"]]}
