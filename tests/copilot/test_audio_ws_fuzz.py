"""Fuzz the live audio websocket (``ws /api/v1/calls/{call_id}/audio``) with seeded random and
hand-picked malformed messages: every one is answered with a JSON ``error`` event saying what
was wrong and a documented close code (1003, 1007, 1008, 1009), never an unhandled exception,
and a fresh, valid stream on the same app still works afterwards."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.conftest import requires_shared_data
from tests.copilot.test_audio_ws import CLIP, clip_with_silence, pcm_frames

pytestmark = pytest.mark.slow
SEED = 12345
REFUSALS = {1003, 1007, 1008, 1009}
VALID_START = {"type": "start", "sample_rate": 16000, "channels": 1, "encoding": "pcm_s16le"}
# Values of every JSON type, for the fields of the start message.
ODD_VALUES: list[Any] = [None, True, 0, -1, 1, 2, 3, 7, 8000, 16000, 44100, 10**30, 1.5, "",
                         "16000", "abc", "left", "right", "mono", [], [1], {}, {"a": 1}, "пцм"]
START_FIELDS = ["type", "sample_rate", "channels", "encoding", "caller_channel", "speaker"]


def until_closed(ws: Any) -> tuple[list[dict[str, Any]], int]:
    """Every JSON message up to the close, and the close code."""
    messages = []
    try:
        while True:
            messages.append(ws.receive_json())
    except WebSocketDisconnect as e:
        return messages, e.code


def assert_refused(messages: list[dict[str, Any]], code: int, codes: set[int],
                   fragment: str = "") -> None:
    """Closed with a documented refusal code after an ``error`` event that says why."""
    assert code in codes, (code, messages)
    errors = [m for m in messages if m.get("type") == "error"]
    assert errors, messages
    assert errors[-1]["code"] == code and isinstance(errors[-1]["detail"], str)
    assert len(errors[-1]["detail"]) > 10 and fragment in errors[-1]["detail"], errors[-1]


def random_start(rng: random.Random) -> dict[str, Any]:
    """A start message with a few of its fields dropped or given odd values."""
    msg: dict[str, Any] = dict(VALID_START)
    for field in rng.sample(START_FIELDS, rng.randint(1, 3)):
        if rng.random() < 0.2:
            msg.pop(field, None)
        else:
            msg[field] = rng.choice(ODD_VALUES)
    return msg


def test_random_start_messages_are_accepted_or_refused_clearly(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(SEED)
    ready = 0
    for i in range(40):
        msg = random_start(rng)
        with client.websocket_connect(f"/api/v1/calls/fz-start-{i}/audio") as ws:
            ws.send_text(json.dumps(msg))
            first = ws.receive_json()
            if first["type"] == "ready":
                ready += 1
                ws.send_text(json.dumps({"type": "end"}))
                messages, code = until_closed(ws)
                assert code == 1000 and messages[-1]["type"] == "end", (msg, messages)
            else:
                messages, code = until_closed(ws)
                assert_refused([first, *messages], code, {1003, 1008})
    assert 0 < ready < 40  # both sides of the validation were exercised
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("first,code,fragment", [
    (b"\x00" * 320, 1008, "start message"),  # binary before start
    ("", 1008, "not JSON"),
    ("{", 1008, "not JSON"),
    ("\x00\xff garbage", 1008, "not JSON"),
    ("null", 1008, "first message"),
    ("[1, 2, 3]", 1008, "first message"),
    ('"start"', 1008, "first message"),
    ('{"type": "end"}', 1008, "first message"),
    ('{"type": "start", "encoding": "mp3"}', 1003, "pcm_s16le"),
    ('{"type": "start", "sample_rate": 22050}', 1003, "8000 or 16000"),
    ('{"type": "start", "channels": 6}', 1003, "channel"),
    ('{"type": "start", "sample_rate": "fast"}', 1003, "sample_rate"),
    ('{"type": "start", "caller_channel": [1]}', 1003, "caller_channel"),
    ('{"type": "start", "caller_channel": {"side": "left"}}', 1003, "caller_channel"),
    ('{"type": "start", "sample_rate": Infinity}', 1003, "sample_rate"),
    ('{"type": "start", "channels": NaN}', 1003, "channels"),
    ("[" * 100_000, 1008, "not JSON"),  # deeper than the JSON parser's recursion limit
])
def test_malformed_first_messages(client: TestClient, first: str | bytes, code: int,
                                  fragment: str) -> None:
    with client.websocket_connect("/api/v1/calls/fz-first/audio") as ws:
        if isinstance(first, bytes):
            ws.send_bytes(first)
        else:
            ws.send_text(first)
        messages, got = until_closed(ws)
    assert_refused(messages, got, {code}, fragment)


def after_start(rng: random.Random, max_frame: int) -> list[tuple[str | bytes, int, str]]:
    """Malformed messages to send once the stream is ready: (message, close code, fragment)."""
    odd = [1, 3, 5, 4095, 2 * rng.randint(1, 500) + 1]
    cases: list[tuple[str | bytes, int, str]] = [
        (rng.randbytes(n), 1007, "not whole") for n in odd]
    cases += [
        (rng.randbytes(max_frame + 2), 1009, "over the limit"),
        (rng.randbytes(max_frame + 1), 1009, "over the limit"),
        ("not json at all", 1008, "binary frames"),
        ('{"type": "stop"}', 1008, "binary frames"),
        ("[]", 1008, "binary frames"),
        ("42", 1008, "binary frames"),
        ("[" * 100_000, 1008, "binary frames"),
        (json.dumps(VALID_START), 1008, "binary frames"),  # a second start
    ]
    return cases


def test_malformed_messages_during_a_stream(client: TestClient,
                                            caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(SEED)
    max_frame = client.app.state.context.settings.max_frame_bytes  # type: ignore[attr-defined]
    for i, (message, code, fragment) in enumerate(after_start(rng, max_frame)):
        with client.websocket_connect(f"/api/v1/calls/fz-mid-{i}/audio") as ws:
            ws.send_text(json.dumps(VALID_START))
            assert ws.receive_json()["type"] == "ready"
            for _ in range(rng.randint(0, 3)):  # some whole-sample noise first
                ws.send_bytes(rng.randbytes(2 * rng.randint(1, 1600)))
            if isinstance(message, bytes):
                ws.send_bytes(message)
            else:
                ws.send_text(message)
            messages, got = until_closed(ws)
        assert_refused(messages, got, {code}, fragment)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@requires_shared_data(*CLIP)
def test_a_valid_stream_still_works_after_the_fuzzing(client: TestClient) -> None:
    rng = random.Random(SEED)
    for i in range(10):  # garbage on the same app first, frees its stream slot each time
        with client.websocket_connect(f"/api/v1/calls/fz-pre-{i}/audio") as ws:
            ws.send_text(json.dumps(VALID_START))
            assert ws.receive_json()["type"] == "ready"
            ws.send_bytes(rng.randbytes(2 * rng.randint(0, 2000) + 1))
            assert until_closed(ws)[1] in REFUSALS
    with client.websocket_connect("/api/v1/calls/fz-ok/audio") as ws:
        ws.send_text(json.dumps(VALID_START))
        assert ws.receive_json()["type"] == "ready"
        for frame in pcm_frames(clip_with_silence()):
            ws.send_bytes(frame)
        ws.send_text(json.dumps({"type": "end"}))
        messages, code = until_closed(ws)
    assert code == 1000 and messages[-1]["type"] == "end"
    finals = [m["text"] for m in messages if m["type"] == "final"]
    assert "交易" in "".join(finals)
    stored = client.get("/api/v1/calls/fz-ok/transcript").json()["utterances"]
    assert [u["text"] for u in stored] == finals
