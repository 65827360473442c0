"""The live side of calls: utterances in (from the audio stream or typed), events out to the
consoles, and suggestions recomputed after each final caller utterance.

Suggestions run off the event loop, one at a time per call. When utterances come faster than
suggestions are made, the ones in between are skipped and the next run covers all of them, so
a busy machine shows the latest state a little later instead of a growing backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from copilot.assist import suggest
from copilot.calls.hub import EventHub
from copilot.calls.session import CallRegistry, CallSession

if TYPE_CHECKING:
    from copilot.context import AppContext

logger = logging.getLogger(__name__)


class LiveCalls:
    def __init__(self, ctx: AppContext, hub: EventHub | None = None) -> None:
        self.ctx = ctx
        self.hub = hub or EventHub()
        self.registry = CallRegistry(ctx.calls)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()

    def session(self, call_id: str, create: bool = True) -> CallSession:
        return self.registry.get(call_id, create)

    # ---- utterances ---------------------------------------------------------------------

    def record(self, call_id: str, speaker: str, text: str, *, start: float | None = None,
               end: float | None = None, source: str = "audio") -> dict[str, Any]:
        """Store a final utterance durably (blocking: call it from a worker thread)."""
        return self.session(call_id).add_utterance(speaker, text, start=start, end=end,
                                                   source=source)

    async def announce(self, call_id: str, utterance: dict[str, Any]) -> asyncio.Task[None]:
        """Tell the consoles about a stored utterance and the form it changed, and start the
        suggestions; returns the task that delivers them."""
        session = self.session(call_id)
        self.hub.publish(call_id, {"type": "final", "call_id": call_id, **utterance})
        self.hub.publish(call_id, {"type": "form", "call_id": call_id, "form": session.form()})
        return self.refresh(call_id)

    async def utterance(self, call_id: str, speaker: str, text: str, *,
                        start: float | None = None, end: float | None = None,
                        source: str = "audio", wait: bool = False) -> dict[str, Any]:
        """Record and announce; with ``wait``, return once the suggestions are made."""
        stored = await run_in_threadpool(self.record, call_id, speaker, text, start=start,
                                         end=end, source=source)
        task = await self.announce(call_id, stored)
        if wait:
            await asyncio.shield(task)
        return stored

    def partial(self, call_id: str, event: dict[str, Any]) -> None:
        self.hub.publish(call_id, {"call_id": call_id, **event})

    def form_changed(self, call_id: str) -> None:
        session = self.session(call_id)
        self.hub.publish(call_id, {"type": "form", "call_id": call_id, "form": session.form()})

    # ---- events from other processes (copilot.calls.relay) ---------------------------------

    async def on_remote(self, call_id: str, event: dict[str, Any]) -> None:
        """Apply another process's event to this process's copy of the call, then show it to
        the consoles here. Journaled changes reload the copy from disk; suggestions (not
        journaled) are taken from the event."""
        kind = event.get("type")
        if kind in ("final", "form", "ticket", "ended"):
            self.registry.forget(call_id)
        elif kind == "suggestions" and "for_utterance" in event:
            session = await run_in_threadpool(self.session, call_id)
            kept = {k: v for k, v in event.items()
                    if k not in ("type", "call_id", "for_utterance", "form")}
            session.set_suggestions(kept, int(event["for_utterance"]) + 1)
        self.hub.publish(call_id, event, remote=True)

    # ---- suggestions ----------------------------------------------------------------------

    def refresh(self, call_id: str) -> asyncio.Task[None]:
        """Make suggestions for the call as it stands, coalescing bursts."""
        self._dirty.add(call_id)
        task = self._running.get(call_id)
        if task is None or task.done():
            task = asyncio.create_task(self._suggest_loop(call_id))
            self._running[call_id] = task
        return task

    async def _suggest_loop(self, call_id: str) -> None:
        try:
            while call_id in self._dirty:
                self._dirty.discard(call_id)
                started = time.perf_counter()
                session = self.session(call_id)
                try:
                    result = await run_in_threadpool(self._suggest, session)
                except Exception:  # a failure must not end the call: log it, tell the console
                    logger.exception("call %s: suggestions failed", call_id)
                    self.hub.publish(call_id, {"type": "error", "call_id": call_id,
                                               "detail": "建议生成失败，请稍后重试（已记录日志）"})
                    continue
                if result is None:
                    continue
                count, suggestions = result
                suggestions["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
                if session.set_suggestions(suggestions, count):
                    self.hub.publish(call_id, {"type": "suggestions", "call_id": call_id,
                                               "for_utterance": count - 1,
                                               "form": session.form(), **suggestions})
        finally:
            self._running.pop(call_id, None)

    def _suggest(self, session: CallSession) -> tuple[int, dict[str, Any]] | None:
        turns = session.turns()
        if not any(t["speaker"] == "caller" for t in turns):
            return None
        ticket = session.meta.get("ticket_id")
        result = suggest(self.ctx, turns, session.call_time, form=session.form_values(),
                         exclude_ticket_id=ticket)
        return len(turns), result

    async def drain(self) -> None:
        """Wait for running suggestions (at shutdown, and in tests)."""
        for task in list(self._running.values()):
            with contextlib.suppress(Exception):
                await task
