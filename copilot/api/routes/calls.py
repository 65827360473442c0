"""Call sessions for the operator console: start a call, type utterances (chat, training,
tests), edit the work order, watch everything live over ``ws /api/v1/calls/{call_id}/events``.

Events (JSON, ``ensure_ascii=False``): first a ``snapshot`` of the whole call (utterances,
form, latest suggestions), so a console that reconnects resumes where it was; then
``partial`` / ``final`` transcript events, ``form`` when a field changes, ``suggestions`` after
each final caller utterance (categories, request type and deadline, answers, unit, alerts,
duplicates), ``ended``, ``ticket``, and ``resync`` when the console fell too far behind (it
gets a fresh snapshot next).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from copilot.api.auth import Operator
from copilot.api.deps import LiveDep
from copilot.api.routes.tickets import CreateOut, created, ticket_errors
from copilot.calls.live import LiveCalls
from copilot.calls.session import MAX_UTTERANCE_CHARS, CallSession
from copilot.calls.store import check_call_id
from copilot.tickets import service
from copilot.tickets.filing import accepted_at, suggested_values
from copilot.tickets.models import FIELD_LIMITS

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


class CallStart(BaseModel):
    call_id: str | None = Field(default=None, max_length=64,
                                description="an id from the telephony system; one is made if "
                                            "absent")
    call_time: dt.datetime | None = Field(default=None, description="when the call began "
                                          "(relative dates are resolved against it)")


class UtteranceIn(BaseModel):
    speaker: Literal["caller", "agent"]
    text: str = Field(min_length=1, max_length=MAX_UTTERANCE_CHARS)
    wait: bool = Field(default=True, description="answer once the suggestions are made")


class CallTicket(BaseModel):
    """The operator's choices for the ticket; the form comes from the call (the copilot's
    values with the operator's edits), and anything left null takes the copilot's value."""

    content: str | None = Field(default=None, max_length=FIELD_LIMITS["content"],
                                description="诉求内容; default: the copilot's summary")
    request_type: str | None = Field(default=None, max_length=8)
    category_code: str | None = Field(default=None, max_length=FIELD_LIMITS["category_code"])
    unit: str | None = Field(default=None, max_length=FIELD_LIMITS["unit"])
    link_to: int | None = Field(default=None, ge=1, description="the open ticket this call "
                                "repeats: linked to it, not dispatched again")
    dispatch: bool = Field(default=False, description="dispatch to the unit at once")


class FormEdit(BaseModel):
    fields: dict[str, str | None] = Field(
        max_length=32, description="field (a form field, or the ticket's content / "
        "request_type / category_code / unit) → the operator's value; null hands the field "
        "back to the copilot")


def _session(live: LiveCalls, call_id: str) -> CallSession:
    try:
        return live.session(call_id, create=False)
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from e
    except KeyError as e:
        raise HTTPException(404, detail=f"no call {call_id!r}: start it with POST "
                                        "/api/v1/calls") from e


@router.post("", status_code=201)
def start_call(live: LiveDep, body: CallStart | None = None) -> dict[str, Any]:
    """Start a call (or return the existing one with that id)."""
    body = body or CallStart()
    call_id = body.call_id or dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    try:
        session = live.session(call_id)
        if body.call_time is not None and session.call_time is None:
            session.set_call_time(body.call_time)
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from e
    return session.snapshot()


@router.get("")
def list_calls(live: LiveDep, limit: Annotated[int, Query(ge=1, le=500)] = 20
               ) -> dict[str, Any]:
    """Recent calls, newest first."""
    calls = []
    for call_id in live.ctx.calls.call_ids()[: max(1, min(limit, 200))]:
        meta = live.ctx.calls.read_meta(call_id)
        calls.append({"call_id": call_id, **meta})
    return {"calls": calls}


@router.get("/{call_id}")
def get_call(live: LiveDep, call_id: str) -> dict[str, Any]:
    """The whole call: utterances, work order (with each field's source) and suggestions."""
    return _session(live, call_id).snapshot()


@router.get("/{call_id}/transcript")
def transcript(live: LiveDep, call_id: str) -> dict[str, Any]:
    """The final utterances recognised (or typed) so far."""
    try:
        return {"call_id": call_id, "utterances": live.ctx.calls.read(call_id)}
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from e


@router.post("/{call_id}/utterances")
async def add_utterance(live: LiveDep, call_id: str, body: UtteranceIn) -> dict[str, Any]:
    """A typed utterance (chat, training, tests): stored like a recognised one; with ``wait``
    the answer carries the suggestions made after it."""
    session = _session(live, call_id)
    if session.ended:
        raise HTTPException(409, detail="the call has ended; start a new call")
    try:
        stored = await live.utterance(call_id, body.speaker, body.text, source="text",
                                      wait=body.wait)
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from e
    return {"utterance": stored, "form": session.form(), "suggestions": session.suggestions}


@router.patch("/{call_id}/form")
def edit_form(live: LiveDep, who: Operator, call_id: str, body: FormEdit) -> dict[str, Any]:
    """The operator's edits; they win over the copilot's values from then on."""
    session = _session(live, call_id)
    try:
        session.edit(body.fields, actor=who.username)
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from e
    live.form_changed(call_id)
    return {"call_id": call_id, "form": session.form()}


@router.post("/{call_id}/end")
def end_call(live: LiveDep, call_id: str) -> dict[str, Any]:
    session = _session(live, call_id)
    session.end()
    live.hub.publish(call_id, {"type": "ended", "call_id": call_id,
                               "ended_at": session.meta["ended_at"]})
    return session.snapshot()


@router.post("/{call_id}/ticket", response_model=CreateOut, status_code=201)
def file_ticket(live: LiveDep, who: Operator, call_id: str, body: CallTicket) -> CreateOut:
    """File the call's work order: the form as it stands (operator edits win), the
    operator's choices here over the copilot's suggestions; the due date follows the request
    type; duplicates found among open tickets come back with it."""
    session = _session(live, call_id)
    if session.meta.get("ticket_id"):
        raise HTTPException(409, detail=f"this call already has ticket {session.meta['ticket_id']}"
                                        "; open it with GET /api/v1/tickets/{id}")
    suggested = suggested_values(session.form_values(), session.suggestions)
    operator: dict[str, str] = {}
    for name, value in session.edits.items():  # the operator's edits, an empty one included
        operator[name] = value or ""
    operator.update({k: v for k, v in body.model_dump(
        include={"content", "request_type", "category_code", "unit"}).items() if v is not None})
    draft = service.TicketDraft(**operator, call_id=call_id,
                                accepted_at=accepted_at(session.call_time))
    with ticket_errors(live.ctx) as db:
        ticket = service.create_ticket(db, draft, suggested, actor=who.username,
                                       link_to=body.link_to, dispatch_now=body.dispatch)
        out = created(db, ticket)
    session.set_ticket(out.ticket.id)
    live.hub.publish(call_id, {"type": "ticket", "call_id": call_id,
                               "ticket": out.ticket.model_dump()})
    return out


async def _send(ws: WebSocket, payload: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(payload, ensure_ascii=False))


@router.websocket("/{call_id}/events")
async def call_events(ws: WebSocket, call_id: str) -> None:
    """Everything about a call as it happens; a snapshot first (also after a reconnect)."""
    live: LiveCalls = ws.app.state.live
    await ws.accept()
    try:
        check_call_id(call_id)
    except ValueError as e:
        with contextlib.suppress(Exception):
            await _send(ws, {"type": "error", "detail": str(e)})
            await ws.close(code=1008, reason="bad call id")
        return
    queue = live.hub.subscribe(call_id)
    closed = asyncio.Event()

    async def watch_client() -> None:
        # The console sends nothing we need; reading is how a closed browser is noticed.
        with contextlib.suppress(Exception):
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
        closed.set()

    watcher = asyncio.create_task(watch_client())
    try:
        session = await run_in_threadpool(live.session, call_id)
        await _send(ws, {"type": "snapshot", "call": session.snapshot()})
        while not closed.is_set():
            getter = asyncio.ensure_future(queue.get())
            stopper = asyncio.ensure_future(closed.wait())
            done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            stopper.cancel()
            event = getter.result()
            if event.get("type") == "resync":  # the call as it is now (it may have been
                session = await run_in_threadpool(live.session, call_id)  # reloaded meanwhile)
                await _send(ws, {"type": "snapshot", "call": session.snapshot()})
            else:
                await _send(ws, event)
    except (WebSocketDisconnect, RuntimeError):
        logger.info("call %s: a console went away", call_id)
    finally:
        live.hub.unsubscribe(call_id, queue)
        watcher.cancel()
