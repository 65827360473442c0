"""One live call: its final utterances, the work order they fill, the operator's edits and the
latest suggestions. Everything that matters is journaled by :class:`CallStore` as it happens,
so a session is rebuilt exactly from disk after a restart (the form filler is deterministic:
replaying the utterances gives the same form).

Operator edits win over the copilot's values: an edited field keeps the operator's value
whatever the caller says later, and the copilot's latest value stays visible beside it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import asdict
from typing import Any

from copilot.calls.store import CallStore, check_call_id
from copilot.form.fields import FIELD_NAMES, FieldValue
from copilot.form.filler import FormFiller

logger = logging.getLogger(__name__)

SPEAKERS = ("caller", "agent")
# The ticket's own fields the operator may set during the call (kept with the form edits, so
# another browser or a reload sees them): request summary, type, category, unit.
DRAFT_FIELDS = ("content", "request_type", "category_code", "unit")
DRAFT_LIMITS = {"content": 4000, "request_type": 8, "category_code": 64, "unit": 200}
MAX_UTTERANCE_CHARS = 2000
MAX_FIELD_CHARS = 200


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class CallSession:
    """Thread-safe: audio threads, REST handlers and the suggestion worker all touch it."""

    def __init__(self, call_id: str, store: CallStore) -> None:
        self.call_id = check_call_id(call_id)
        self.store = store
        self._lock = threading.RLock()
        meta = store.read_meta(call_id)
        self.meta: dict[str, Any] = {"call_id": call_id, "created_at": _now(), "call_time": None,
                                     "ended_at": None, "ticket_id": None, **meta}
        if not meta:
            store.write_meta(call_id, self.meta)
        self.utterances: list[dict[str, Any]] = []
        self.edits: dict[str, str | None] = {}
        self.suggestions: dict[str, Any] | None = None
        self.suggested_for = -1  # the utterance count the suggestions were made for
        self._filler = FormFiller(self.call_time)
        for record in store.read(call_id):
            self._take(record)
        for edit in store.read_edits(call_id):
            if edit.get("field") in FIELD_NAMES or edit.get("field") in DRAFT_FIELDS:
                self.edits[edit["field"]] = edit.get("value")

    @property
    def call_time(self) -> dt.datetime | None:
        value = self.meta.get("call_time")
        return dt.datetime.fromisoformat(value) if value else None

    @property
    def ended(self) -> bool:
        return bool(self.meta.get("ended_at"))

    def _take(self, record: dict[str, Any]) -> None:
        speaker = record.get("speaker")
        text = str(record.get("text") or "")
        if speaker not in SPEAKERS:
            return
        index = len(self.utterances)
        self.utterances.append({"index": index, "speaker": speaker, "text": text,
                                "start": record.get("start"), "end": record.get("end"),
                                "source": record.get("source", "audio")})
        self._filler.update(index, speaker, text)

    # ---- changes ----------------------------------------------------------------------------

    def add_utterance(self, speaker: str, text: str, *, start: float | None = None,
                      end: float | None = None, source: str = "audio") -> dict[str, Any]:
        """Store a final utterance and fill the form from it; returns the utterance."""
        if speaker not in SPEAKERS:
            raise ValueError('speaker must be "caller" or "agent"')
        text = (text or "").strip()
        if not text:
            raise ValueError("the utterance is empty")
        if len(text) > MAX_UTTERANCE_CHARS:
            raise ValueError(f"an utterance has at most {MAX_UTTERANCE_CHARS} characters; "
                             "send long texts in several turns")
        record = {"type": "final", "speaker": speaker, "text": text, "start": start,
                  "end": end, "source": source, "at": _now()}
        with self._lock:
            self.store.append(self.call_id, record)
            self._take(record)
            return self.utterances[-1]

    def edit(self, fields: dict[str, str | None], actor: str = "operator") -> None:
        """The operator's values for some fields (the form's, or the ticket's own
        ``DRAFT_FIELDS``); ``None`` hands a field back to the copilot."""
        known = (*FIELD_NAMES, *DRAFT_FIELDS)
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}: the fields are {list(known)}")
        for name, value in fields.items():
            limit = DRAFT_LIMITS.get(name, MAX_FIELD_CHARS)
            if value is not None and len(value) > limit:
                raise ValueError(f"{name} has more than {limit} characters")
        with self._lock:
            for name, value in fields.items():
                value = value.strip() if isinstance(value, str) else None
                self.store.append_edit(self.call_id, {"field": name, "value": value,
                                                      "actor": actor, "at": _now()})
                if value is None:
                    self.edits.pop(name, None)
                else:
                    self.edits[name] = value

    def set_call_time(self, call_time: dt.datetime) -> None:
        with self._lock:
            if self.utterances:
                raise ValueError("the call time is set before the first utterance")
            self.meta["call_time"] = call_time.isoformat(timespec="seconds")
            self.store.write_meta(self.call_id, self.meta)
            self._filler = FormFiller(call_time)

    def end(self) -> None:
        with self._lock:
            if not self.ended:
                self.meta["ended_at"] = _now()
                self.store.write_meta(self.call_id, self.meta)

    def set_ticket(self, ticket_id: int) -> None:
        with self._lock:
            self.meta["ticket_id"] = ticket_id
            self.store.write_meta(self.call_id, self.meta)

    def set_suggestions(self, suggestions: dict[str, Any], for_count: int) -> bool:
        """Keep suggestions made for the first ``for_count`` utterances unless newer ones are
        already kept; returns whether they were kept."""
        with self._lock:
            if for_count < self.suggested_for:
                return False
            self.suggestions, self.suggested_for = suggestions, for_count
            return True

    # ---- views ------------------------------------------------------------------------------

    def turns(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"speaker": u["speaker"], "text": u["text"]} for u in self.utterances]

    def form_values(self) -> dict[str, str | None]:
        """The work order as it would be filed: the operator's values over the copilot's."""
        with self._lock:
            values = self._filler.form.as_dict()
            for name, value in self.edits.items():
                if name in values:
                    values[name] = value or None
            return values

    def draft(self) -> dict[str, str | None]:
        """The operator's values for the ticket's own fields (absent: the copilot's)."""
        with self._lock:
            return {k: v for k, v in self.edits.items() if k in DRAFT_FIELDS}

    def form(self) -> dict[str, dict[str, Any]]:
        """Every field with its value, who set it, and — for the copilot's values — the
        utterance and span it came from and a confidence."""
        with self._lock:
            suggested = self._filler.form
            out: dict[str, dict[str, Any]] = {}
            for name in FIELD_NAMES:
                found: FieldValue | None = getattr(suggested, name)
                entry: dict[str, Any] = {"value": found.value if found else None,
                                         "source": "copilot" if found else None,
                                         "suggested": None}
                if found is not None:
                    detail = asdict(found)
                    detail.pop("source_text")
                    entry["suggested"] = detail
                if name in self.edits:
                    entry["value"] = self.edits[name] or None
                    entry["source"] = "operator"
                out[name] = entry
            return out

    def snapshot(self) -> dict[str, Any]:
        """The whole call as a console needs it to (re)draw its screen."""
        with self._lock:
            return {"call_id": self.call_id, "meta": dict(self.meta),
                    "utterances": [dict(u) for u in self.utterances], "form": self.form(),
                    "draft": self.draft(),
                    "suggestions": self.suggestions, "suggested_for": self.suggested_for}


class CallRegistry:
    """The sessions of this process, loaded from disk on first use."""

    def __init__(self, store: CallStore, max_open: int = 256) -> None:
        self.store = store
        self.max_open = max_open
        self._sessions: dict[str, CallSession] = {}
        self._lock = threading.Lock()

    def get(self, call_id: str, create: bool = True) -> CallSession:
        """The session of a call; raises KeyError for an unknown call when ``create`` is off."""
        with self._lock:
            session = self._sessions.get(call_id)
            if session is None:
                if not create and not self.store.exists(check_call_id(call_id)):
                    raise KeyError(call_id)
                session = CallSession(call_id, self.store)
                self._sessions[call_id] = session
                self._evict()
            return session

    def forget(self, call_id: str) -> None:
        """Drop this process's copy of a call (another process changed it); the next use
        reloads it from the journals."""
        with self._lock:
            self._sessions.pop(call_id, None)

    def cached(self, call_id: str) -> CallSession | None:
        with self._lock:
            return self._sessions.get(call_id)

    def _evict(self) -> None:
        """Forget ended calls past the cap (they stay on disk and load again on demand)."""
        if len(self._sessions) <= self.max_open:
            return
        for call_id in [c for c, s in self._sessions.items() if s.ended]:
            if len(self._sessions) <= self.max_open:
                break
            del self._sessions[call_id]
