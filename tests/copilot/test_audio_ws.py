"""The live audio websocket against the real app, Whisper and VAD (in-process server)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from asr.audio import load_audio_file
from tests.conftest import SHARED_DATA, requires_shared_data

pytestmark = pytest.mark.slow
CLIP = ("speech", "BAC009S0764W0121.wav")


def pcm_frames(audio: np.ndarray, frame_s: float = 0.1, rate: int = 16000) -> list[bytes]:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    step = int(frame_s * rate)
    return [pcm[i:i + step].tobytes() for i in range(0, len(pcm), step)]


def clip_with_silence() -> np.ndarray:
    clip = load_audio_file(SHARED_DATA.joinpath(*CLIP)).channels[0]
    pad = np.zeros(16000, dtype=np.float32)
    return np.concatenate([pad, clip, pad])


def start(ws, **kw) -> dict:  # type: ignore[no-untyped-def]
    ws.send_text(json.dumps({"type": "start", "sample_rate": 16000, "channels": 1,
                             "encoding": "pcm_s16le", **kw}))
    return ws.receive_json()


def until_closed(ws) -> tuple[list[dict], int | None]:  # type: ignore[no-untyped-def]
    messages = []
    try:
        while True:
            messages.append(ws.receive_json())
    except WebSocketDisconnect as e:
        return messages, e.code


@requires_shared_data(*CLIP)
def test_a_call_streams_partials_and_a_final(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/calls/c-1/audio") as ws:
        ready = start(ws)
        assert ready["type"] == "ready" and ready["speakers"] == ["caller"]
        for frame in pcm_frames(clip_with_silence()):
            ws.send_bytes(frame)
            time.sleep(0.1)  # real time, as a telephony audio fork sends
        ws.send_text(json.dumps({"type": "end"}))
        messages, code = until_closed(ws)
    assert code == 1000
    kinds = [m["type"] for m in messages]
    assert "partial" in kinds and "final" in kinds and kinds[-1] == "end"
    final = next(m for m in messages if m["type"] == "final")
    assert final["speaker"] == "caller" and final["call_id"] == "c-1"
    assert "交易" in final["text"]
    stored = client.get("/api/v1/calls/c-1/transcript").json()["utterances"]
    assert [u["text"] for u in stored] == [m["text"] for m in messages if m["type"] == "final"]


@requires_shared_data(*CLIP)
def test_audio_sent_faster_than_real_time_drops_partials_not_finals(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/calls/c-9/audio") as ws:
        start(ws)
        for frame in pcm_frames(np.concatenate([clip_with_silence()] * 2)):
            ws.send_bytes(frame)  # 12 s of audio at once: the server is behind
        ws.send_text(json.dumps({"type": "end"}))
        messages, code = until_closed(ws)
    assert code == 1000
    finals = [m for m in messages if m["type"] == "final"]
    assert len(finals) >= 2  # the two copies are apart by 2 s of silence
    assert "".join(m["text"] for m in finals).count("交易") == 2


@requires_shared_data(*CLIP)
def test_a_malformed_frame_closes_1007_and_keeps_what_was_said(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/calls/c-2/audio") as ws:
        start(ws)
        for frame in pcm_frames(clip_with_silence()[:5 * 16000]):
            ws.send_bytes(frame)
        ws.send_bytes(b"\x01\x02\x03")  # not whole 16-bit samples
        messages, code = until_closed(ws)
    assert code == 1007
    error = next(m for m in messages if m["type"] == "error")
    assert "not whole" in error["detail"]
    stored = client.get("/api/v1/calls/c-2/transcript").json()["utterances"]
    assert stored and "交易" in "".join(u["text"] for u in stored)


@requires_shared_data(*CLIP)
def test_a_dropped_connection_keeps_what_was_said(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/calls/c-3/audio") as ws:
        start(ws)
        for frame in pcm_frames(clip_with_silence()[:5 * 16000]):
            ws.send_bytes(frame)
        # let the frames reach the server before the line drops (the in-process test client
        # cancels the app on close, dropping frames still in its own queue, which a real
        # network connection would have delivered)
        time.sleep(1.0)
        ws.close()
    deadline = time.monotonic() + 30  # the server flushes after it sees the drop
    while time.monotonic() < deadline:
        stored = client.get("/api/v1/calls/c-3/transcript").json()["utterances"]
        if "交易" in "".join(u["text"] for u in stored):  # all finals flushed
            break
        time.sleep(0.2)
    assert stored and "交易" in "".join(u["text"] for u in stored)


@pytest.mark.parametrize("first,code,fragment", [
    (b"\x00\x00", 1008, "start message"),
    ('{"type": "start", "encoding": "opus"}', 1003, "pcm_s16le"),
    ('{"type": "start", "sample_rate": 44100}', 1003, "8000 or 16000"),
    ("hello", 1008, "not JSON"),
])
def test_bad_start_messages_are_refused(client: TestClient, first: object, code: int,
                                        fragment: str) -> None:
    with client.websocket_connect("/api/v1/calls/c-4/audio") as ws:
        if isinstance(first, bytes):
            ws.send_bytes(first)
        else:
            ws.send_text(first)  # type: ignore[arg-type]
        messages, got = until_closed(ws)
    assert got == code
    assert fragment in messages[0]["detail"]


def test_oversized_frame_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/calls/c-5/audio") as ws:
        start(ws)
        ws.send_bytes(b"\x00" * (64 * 1024 + 2))
        messages, code = until_closed(ws)
    assert code == 1009 and "over the limit" in messages[-1]["detail"]


def test_stream_cap_refuses_clearly_and_frees_the_slot(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/calls/c-6/audio") as first:
        assert start(first)["type"] == "ready"
        with client.websocket_connect("/api/v1/calls/c-7/audio") as second:
            messages, code = until_closed(second)
        assert code == 1013 and "busy" in messages[0]["detail"]
        first.send_text(json.dumps({"type": "end"}))
        assert until_closed(first)[1] == 1000
    with client.websocket_connect("/api/v1/calls/c-8/audio") as third:
        assert start(third)["type"] == "ready"
        third.send_text(json.dumps({"type": "end"}))
        assert until_closed(third)[1] == 1000


def test_bad_call_id(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/calls/bad%20id%21/audio") as ws:
        messages, code = until_closed(ws)
    assert code == 1008 and "call_id" in messages[0]["detail"]


@requires_shared_data(*CLIP)
def test_the_console_sees_the_audio_finals_and_their_suggestions(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/calls/c-9/events") as events:
        assert events.receive_json()["type"] == "snapshot"
        with client.websocket_connect("/api/v1/calls/c-9/audio") as ws:
            start(ws)
            for frame in pcm_frames(clip_with_silence()):
                ws.send_bytes(frame)
            ws.send_text(json.dumps({"type": "end"}))
            until_closed(ws)
        seen: dict[str, dict] = {}
        while "suggestions" not in seen:
            event = events.receive_json()
            seen.setdefault(event["type"], event)
    assert "交易" in seen["final"]["text"] and seen["final"]["speaker"] == "caller"
    assert seen["suggestions"]["for_utterance"] >= 0
    assert seen["suggestions"]["request_type"] in {"咨询", "求助", "投诉", "举报", "意见建议"}
    snapshot = client.get("/api/v1/calls/c-9").json()
    assert snapshot["utterances"][0]["text"] == seen["final"]["text"]
