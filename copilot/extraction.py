"""Work-order extraction for one call or message: the one place the CLI and the API share.

Input (the batch contract): ``{"id", "turns": [{"speaker", "text"}]}`` or ``{"text"}``, with an
optional ISO ``call_time`` that relative dates are resolved against.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from copilot.form.filler import extract_call

MAX_TURNS = 500
MAX_CHARS = 20_000
SPEAKERS = {"caller", "agent"}


def parse_call(obj: dict[str, Any]) -> tuple[list[dict[str, str]], dt.datetime | None]:
    """Validate a call or message; raises ValueError saying what is wrong."""
    turns = obj.get("turns")
    text = obj.get("text")
    if turns is None and text is None:
        raise ValueError('give "turns": [{"speaker": "caller"|"agent", "text": …}] or "text"')
    if turns is not None:
        if not isinstance(turns, list) or not turns:
            raise ValueError('"turns" must be a non-empty list')
        if len(turns) > MAX_TURNS:
            raise ValueError(f'"turns" has {len(turns)} items, more than {MAX_TURNS}')
        for i, turn in enumerate(turns):
            if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
                raise ValueError(f'turn {i} must be an object with a "text" string')
            if turn.get("speaker", "caller") not in SPEAKERS:
                raise ValueError(f'turn {i}: speaker must be "caller" or "agent"')
        parsed = [{"speaker": t.get("speaker", "caller"), "text": t["text"]} for t in turns]
    else:
        if not isinstance(text, str) or not text.strip():
            raise ValueError('"text" must be a non-empty string')
        parsed = [{"speaker": "caller", "text": text}]
    if sum(len(t["text"]) for t in parsed) > MAX_CHARS:
        raise ValueError(f"the call has more than {MAX_CHARS} characters of text")
    call_time = None
    if obj.get("call_time") is not None:
        try:
            call_time = dt.datetime.fromisoformat(str(obj["call_time"]))
        except ValueError as e:
            raise ValueError('"call_time" must be an ISO date-time, e.g. 2026-11-23T10:30:00') \
                from e
    return parsed, call_time


def extract(obj: dict[str, Any]) -> dict[str, Any]:
    """``{"id", "form": {field: value|None}, "fields": {field: {value, utterance, span,
    confidence, normalized}}}``."""
    turns, call_time = parse_call(obj)
    form = extract_call(turns, call_time)
    details = {name: {k: v for k, v in asdict(value).items() if k != "source_text"}
               for name in form.as_dict() if (value := getattr(form, name)) is not None}
    return {"id": obj.get("id"), "form": form.as_dict(), "fields": details}
