"""Live call audio in, transcript events out: ``ws /api/v1/calls/{call_id}/audio``.

Protocol (DESIGN.md): a JSON start message ``{"type": "start", "sample_rate": 8000|16000,
"channels": 1|2, "encoding": "pcm_s16le", "caller_channel": "right"}``; the server answers
``{"type": "ready", …}``; then binary PCM frames (interleaved for stereo); then
``{"type": "end"}``. Events come back as JSON (``ensure_ascii=False``): ``partial`` and
``final`` transcript events, an ``error`` with a ``detail`` before any refusal, and ``end``.

Close codes: 1000 done; 1003 unsupported audio format; 1007 a malformed frame; 1008 a
protocol error (no or bad start message); 1009 a frame over the size limit; 1013 the server is
at its concurrent-stream limit. Final utterances are stored in the call's session as they come
(and pushed to the consoles watching ``/api/v1/calls/{call_id}/events``), so whatever was final
before a drop or an error is kept (``GET /api/v1/calls/{call_id}/transcript``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import reprlib
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from asr.audio import AudioFormatError
from asr.call import CallAudioFormat, CallTranscriber
from asr.streaming import TranscriptEvent
from copilot.calls.live import LiveCalls
from copilot.calls.store import check_call_id
from copilot.context import AppContext

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


class StreamSlots:
    """A cap on concurrent audio streams in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    def acquire(self) -> bool:
        if self.active >= self.limit:
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active -= 1


class Refusal(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


async def send_json(ws: WebSocket, payload: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(payload, ensure_ascii=False))


async def refuse(ws: WebSocket, code: int, detail: str) -> None:
    """Say why in an error message, then close with a short reason (≤ 123 bytes)."""
    with contextlib.suppress(Exception):
        await send_json(ws, {"type": "error", "code": code, "detail": detail})
        reason = detail.encode("utf-8")[:120].decode("utf-8", "ignore")
        await ws.close(code=code, reason=reason)


def load_json(text: str) -> Any:
    """Parse a text message; a nesting too deep for the parser counts as not JSON, not as a
    server error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(e.msg) from e
    except RecursionError as e:
        raise ValueError("nested too deeply") from e


def whole_number(msg: dict[str, Any], field: str, default: int) -> int:
    """A start-message field as an int, refused (1003) with the field's name when it is not a
    whole number (null, a list, "fast", Infinity…)."""
    value = msg.get(field, default)
    if isinstance(value, str) and field == "caller_channel":
        value = {"left": 0, "right": 1}.get(value, value)
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError) as e:
        raise Refusal(1003, f"{field} must be a whole number, got "
                            f"{reprlib.repr(value)}") from e


def parse_start(text: str) -> CallAudioFormat:
    try:
        msg = load_json(text)
    except ValueError as e:
        raise Refusal(1008, f"the start message is not JSON ({e})") from e
    if not isinstance(msg, dict) or msg.get("type", "start") != "start":
        raise Refusal(1008, 'the first message must be {"type": "start", "sample_rate": …}')
    if msg.get("encoding", "pcm_s16le") != "pcm_s16le":
        raise Refusal(1003, f"encoding {reprlib.repr(msg.get('encoding'))} is not supported: "
                            "send pcm_s16le")
    fmt = CallAudioFormat(sample_rate=whole_number(msg, "sample_rate", 8000),
                          channels=whole_number(msg, "channels", 1),
                          caller_channel=whole_number(msg, "caller_channel", 1),
                          mono_speaker=str(msg.get("speaker", "caller")))
    try:
        fmt.validate()
    except ValueError as e:
        raise Refusal(1003, str(e)) from e
    return fmt


def _event_json(call_id: str, e: TranscriptEvent) -> dict[str, Any]:
    return {"call_id": call_id, **e.as_dict()}


@router.websocket("/{call_id}/audio")
async def call_audio(ws: WebSocket, call_id: str) -> None:
    ctx: AppContext = ws.app.state.context
    live: LiveCalls = ws.app.state.live
    slots: StreamSlots = ws.app.state.stream_slots
    settings = ctx.settings
    await ws.accept()
    try:
        check_call_id(call_id)
    except ValueError as e:
        await refuse(ws, 1008, str(e))
        return
    if not slots.acquire():
        await refuse(ws, 1013, f"all {slots.limit} speech streams of this server are busy; "
                               "try again shortly or use another server")
        return
    transcriber: CallTranscriber | None = None
    frames: list[bytes] = []
    wake = asyncio.Event()
    ended = False

    async def deliver(events: list[TranscriptEvent]) -> None:
        for event in events:
            payload = _event_json(call_id, event)
            if event.type == "final":
                if event.text.strip():
                    stored = await run_in_threadpool(live.record, call_id, event.speaker,
                                                     event.text, start=event.start,
                                                     end=event.end)
                    await live.announce(call_id, stored)
            else:
                live.partial(call_id, payload)
            with contextlib.suppress(Exception):
                await send_json(ws, payload)

    async def receive() -> None:
        nonlocal ended
        assert transcriber is not None
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is not None:
                    if len(data) > settings.max_frame_bytes:
                        raise Refusal(1009, f"a frame of {len(data)} bytes is over the limit of "
                                            f"{settings.max_frame_bytes}; send frames of "
                                            "20–200 ms")
                    if len(data) % (2 * transcriber.fmt.channels):
                        raise Refusal(1007, f"a frame of {len(data)} bytes is not whole "
                                            f"{transcriber.fmt.channels}-channel pcm_s16le "
                                            "samples")
                    frames.append(data)
                    wake.set()
                else:
                    text = message.get("text") or ""
                    try:
                        kind = load_json(text).get("type")
                    except (ValueError, AttributeError):
                        kind = None
                    if kind != "end":
                        raise Refusal(1008, 'after the start message send binary frames and '
                                            'then {"type": "end"}')
                    break
        finally:
            ended = True
            wake.set()

    error: Refusal | None = None
    receiver: asyncio.Task[None] | None = None
    try:
        try:
            first = await ws.receive_text()
        except (KeyError, RuntimeError) as e:
            raise Refusal(1008, "the first message must be the JSON start message") from e
        fmt = parse_start(first)
        engine = await run_in_threadpool(lambda: ctx.asr_engine)
        names = await run_in_threadpool(ctx.names.gazetteer)  # built once per REFRESH_S
        transcriber = CallTranscriber(engine, fmt, correct=lambda t: names.correct(t)[0])
        await send_json(ws, {"type": "ready", "call_id": call_id,
                             "max_frame_bytes": settings.max_frame_bytes,
                             "speakers": fmt.speakers})
        receiver = asyncio.create_task(receive())
        # Frames pile up while a decode runs; the next batch takes them all, so a slow
        # machine decodes fewer partials (the recogniser skips them past its backlog limit)
        # but never drops audio or finals.
        while True:
            await wake.wait()
            wake.clear()
            batch, frames[:] = list(frames), []
            if batch:
                events = await run_in_threadpool(_feed_and_process, transcriber, batch)
                await deliver(events)
            if ended and not frames:
                break
        await receiver  # re-raises a Refusal from the receiver
    except Refusal as e:
        error = e
    except WebSocketDisconnect:
        logger.info("call %s: client went away", call_id)
    except AudioFormatError as e:
        error = Refusal(1007, str(e))
    finally:
        if receiver is not None and not receiver.done():
            receiver.cancel()
        if receiver is not None and receiver.done() and not receiver.cancelled() \
                and isinstance(receiver.exception(), Refusal) and error is None:
            error = receiver.exception()  # type: ignore[assignment]
        try:
            if transcriber is not None:
                # Keep what was said: whatever is still open becomes final and is stored, in
                # a thread that finishes even if this handler is cancelled by a disconnect.
                pending, frames[:] = list(frames), []
                flushed, stored = await asyncio.shield(run_in_threadpool(
                    _finish_and_store, transcriber, live, call_id, pending))
                for utterance in stored:
                    await live.announce(call_id, utterance)
                for payload in flushed:
                    with contextlib.suppress(Exception):
                        await send_json(ws, payload)
        finally:
            slots.release()
    if error is not None:
        await refuse(ws, error.code, error.detail)
        return
    with contextlib.suppress(Exception):
        await send_json(ws, {"type": "end", "call_id": call_id,
                             "audio_s": round(transcriber.audio_seconds, 3) if transcriber
                             else 0.0})
        await ws.close(code=1000)


def _finish_and_store(transcriber: CallTranscriber, live: LiveCalls, call_id: str,
                      pending: list[bytes]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Feed frames that arrived but were not yet decoded, close the stream, store its finals;
    returns the events for the audio client and the stored utterances."""
    events = []
    for frame in pending:
        try:
            transcriber.feed(frame)
        except AudioFormatError:
            break  # the malformed frame that ended the call, and anything after it
        events += transcriber.process()
    events += transcriber.finish()
    stored = [live.record(call_id, e.speaker, e.text, start=e.start, end=e.end)
              for e in events if e.type == "final" and e.text.strip()]
    return [_event_json(call_id, e) for e in events], stored


def _feed_and_process(transcriber: CallTranscriber, batch: list[bytes]) -> list[TranscriptEvent]:
    for frame in batch:
        transcriber.feed(frame)
    return transcriber.process()
