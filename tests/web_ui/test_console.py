"""The operator console in real headless Chromium against a real server: scripted and recorded
calls play through it, the transcript shows both speakers, the work order fills with its marks,
answers and a unit are suggested, a ticket is filed, and the console survives a dropped events
connection and a server restart without losing anything final. Screenshots of each test's final
state are kept in tests/artifacts/."""

from __future__ import annotations

import json
import re
import time
import wave
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import SHARED_DATA, requires_shared_data
from tests.web_ui.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.slow

STATIC = Path(__file__).resolve().parents[2] / "web_ui" / "static"
DEMO_CALLS = {c["id"]: c for c in
              json.loads((STATIC / "demo_calls.json").read_text(encoding="utf-8"))["calls"]}
# Whisper and the suggestions on two shared CPU cores: be generous.
SLOW_MS = 240_000
# A recorded call, cut short to keep it quick: the caller's request, then the operator asking
# for a phone number and the caller giving it (a turn Whisper base recognises well).
# The caller's complaint, address and phone (said in groups: 一八七，二三五四，六零九一).
RECORDING = ("calls", "audio", "call-072.flac")
RECORDING_PIECES = ((6.0, 21.6), (39.0, 45.0))


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def open_console(page: Any, pace: float = 0.15) -> None:
    page.goto("/console")
    expect(page.get_by_test_id("demo-select").locator("option")).not_to_have_count(0)
    page.evaluate(f"window.__copilot.setPace({pace})")


def new_call(page: Any) -> str:
    page.get_by_test_id("new-call").click()
    expect(page.get_by_test_id("call-id")).not_to_have_text("未开始")
    call_id = page.get_by_test_id("call-id").text_content()
    assert f"call={call_id}" in page.url
    return str(call_id)


def play_demo(page: Any, demo_id: str) -> str:
    call_id = new_call(page)
    page.get_by_test_id("demo-select").select_option(demo_id)
    page.get_by_test_id("demo-play").click()
    return call_id


def utterances(page: Any, speaker: str | None = None) -> Any:
    sel = "[data-testid=utterance]" + (f"[data-speaker={speaker}]" if speaker else "")
    return page.locator(sel)


def server_call(server: LiveServer, call_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/api/v1/calls/{call_id}", headers=server.headers(), timeout=30)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def wait_for(check: Any, timeout: float = 60, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_a_scripted_call_fills_the_order_suggests_and_files_a_ticket(
        page: Any, live_server: LiveServer) -> None:
    open_console(page)
    call_id = play_demo(page, "gym-refund")
    script = DEMO_CALLS["gym-refund"]["turns"]

    expect(utterances(page, "agent").first).to_be_visible()
    expect(utterances(page, "caller").first).to_contain_text("健身房")
    expect(page.get_by_test_id("badge-district")).to_have_text("智能填写", timeout=SLOW_MS)
    expect(page.get_by_test_id("field-district")).to_have_value("天河区")
    expect(page.get_by_test_id("badge-phone")).to_have_text("智能填写", timeout=SLOW_MS)
    expect(page.get_by_test_id("field-phone")).to_have_value("13926081357")
    # the badge explains where the value came from
    assert "13926081357" in (page.get_by_test_id("badge-phone").get_attribute("title") or "")

    answer = page.get_by_test_id("answer").first
    expect(answer).to_be_visible(timeout=SLOW_MS)
    expect(answer.get_by_test_id("answer-source")).to_contain_text("依据")
    expect(answer.get_by_test_id("copy-answer")).to_have_text("复制")
    expect(page.get_by_test_id("suggested-unit")).not_to_contain_text("暂无建议")
    expect(page.get_by_test_id("category")).to_have_count(3)
    expect(page.get_by_test_id("field-content")).not_to_have_value("")
    expect(page.get_by_test_id("field-unit")).not_to_have_value("")
    expect(page.get_by_test_id("field-request_type")).to_have_value("投诉")
    expect(utterances(page)).to_have_count(len(script), timeout=SLOW_MS)
    expect(page.get_by_test_id("alerts").get_by_test_id("alert")).to_have_count(0)

    # an operator edit is marked 人工 and reaches the server
    name = page.get_by_test_id("field-caller_name")
    name.fill("陈志明")
    name.press("Tab")
    expect(page.get_by_test_id("badge-caller_name")).to_have_text("人工")
    wait_for(lambda: server_call(live_server, call_id)["form"]["caller_name"]
             == {**server_call(live_server, call_id)["form"]["caller_name"],
                 "value": "陈志明", "source": "operator"}, what="the edit on the server")

    page.get_by_test_id("file-ticket").click()
    result = page.get_by_test_id("ticket-result")
    expect(result).to_contain_text("工单已提交", timeout=60_000)
    expect(result).to_contain_text(re.compile(r"编号 \S+"))
    assert not page.console_errors


def test_a_repeated_report_is_flagged_and_linked_to_the_open_ticket(
        page: Any, live_server: LiveServer) -> None:
    # the first caller's ticket, filed through the API
    api = f"{live_server.url}/api/v1/calls"
    auth = live_server.headers()
    first = httpx.post(api, headers=auth, json={}, timeout=30).json()["call_id"]
    for turn in DEMO_CALLS["gym-refund"]["turns"]:
        r = httpx.post(f"{api}/{first}/utterances", headers=auth, json={**turn, "wait": False},
                       timeout=60)
        assert r.status_code == 200, r.text
    wait_for(lambda: server_call(live_server, first)["suggested_for"]
             == len(DEMO_CALLS["gym-refund"]["turns"]), timeout=SLOW_MS / 1000,
             what="the first call's suggestions")
    r = httpx.post(f"{api}/{first}/ticket", headers=auth, json={}, timeout=60)
    assert r.status_code == 201, r.text
    original = r.json()["ticket"]

    # a second caller reports the same gym: the console offers the open ticket to link
    open_console(page, pace=0.1)
    play_demo(page, "gym-refund")
    duplicate = page.get_by_test_id("duplicate").filter(has_text=original["number"])
    expect(duplicate).to_be_visible(timeout=SLOW_MS)
    duplicate.get_by_test_id("link-duplicate").click()
    expect(page.get_by_test_id("link-note")).to_contain_text(original["number"])
    expect(utterances(page)).to_have_count(len(DEMO_CALLS["gym-refund"]["turns"]),
                                           timeout=SLOW_MS)
    page.get_by_test_id("file-ticket").click()
    result = page.get_by_test_id("ticket-result")
    expect(result).to_contain_text("工单已提交", timeout=60_000)
    expect(result).to_contain_text(f"关联到工单 {original['number']}")
    assert not page.console_errors


def test_an_emergency_call_raises_the_red_alert(page: Any) -> None:
    open_console(page)
    play_demo(page, "gas-leak")
    alert = page.locator("[data-testid=alert][data-kind=emergency]")
    expect(alert).to_be_visible(timeout=SLOW_MS)
    expect(alert).to_contain_text(re.compile("119|120"))
    expect(alert).to_contain_text("触发词")
    assert "emergency" in (alert.get_attribute("class") or "")
    color = alert.evaluate("e => getComputedStyle(e).borderTopColor")
    assert color == "rgb(217, 45, 32)"  # red
    assert not page.console_errors


def short_wav(source: Path, pieces: tuple[tuple[float, float], ...], target: Path) -> Path:
    """Pieces (start, end seconds) of a recording as one 16 kHz 16-bit WAV (stereo stays
    stereo)."""
    from asr.audio import load_audio_file

    channels = [np.concatenate([c[int(a * 16000):int(b * 16000)] for a, b in pieces])
                for c in load_audio_file(source).channels]
    pcm = (np.clip(np.stack(channels, axis=1), -1, 1) * 32767).astype("<i2")
    with wave.open(str(target), "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return target


@requires_shared_data(*RECORDING)
def test_a_recorded_call_played_from_a_file_transcribes_and_fills(
        page: Any, tmp_path: Path) -> None:
    wav = short_wav(SHARED_DATA.joinpath(*RECORDING), RECORDING_PIECES, tmp_path / "call.wav")
    open_console(page)
    new_call(page)
    page.get_by_test_id("speed").select_option("2")
    page.get_by_test_id("file-input").set_input_files(str(wav))
    expect(page.get_by_test_id("source-status")).to_contain_text("秒", timeout=60_000)
    expect(utterances(page, "caller").first).to_be_visible(timeout=SLOW_MS)
    expect(utterances(page, "caller").first).not_to_have_text("")
    # finals decode at temperature 0, so the same recording fills the same number every time
    expect(page.get_by_label("联系电话")).to_have_value("18723546091", timeout=SLOW_MS)
    expect(page.get_by_test_id("badge-phone")).to_have_text("智能填写")
    assert not page.console_errors


def test_a_dropped_events_connection_reconnects_and_redraws(
        page: Any, live_server: LiveServer) -> None:
    open_console(page)
    call_id = new_call(page)
    base = f"{live_server.url}/api/v1/calls/{call_id}"
    first = httpx.post(f"{base}/utterances", headers=live_server.headers(), timeout=60, json={
        "speaker": "caller", "text": "你好，我家小区的路灯坏了。", "wait": False})
    assert first.status_code == 200
    expect(utterances(page)).to_have_count(1)

    page.evaluate("window.__copilot.dropEvents(4000)")
    expect(page.get_by_test_id("reconnect-banner")).to_be_visible()
    expect(page.get_by_test_id("reconnect-banner")).to_have_text("连接中断，正在重连…")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reconnect-banner.png"))
    said = [("agent", "请问具体在什么位置？"), ("caller", "越秀区东风中路120号门口。"),
            ("agent", "好的，我们马上登记。")]
    for speaker, text in said:  # said while the console is away
        r = httpx.post(f"{base}/utterances", headers=live_server.headers(), timeout=60,
                       json={"speaker": speaker, "text": text, "wait": False})
        assert r.status_code == 200

    expect(page.get_by_test_id("reconnect-banner")).to_be_hidden(timeout=30_000)
    expect(utterances(page)).to_have_count(4)
    shown = [t.strip() for t in utterances(page).locator(".text").all_text_contents()]
    assert shown == [u["text"] for u in server_call(live_server, call_id)["utterances"]]
    assert not page.console_errors


def test_a_server_restart_mid_call_loses_nothing_final(
        page: Any, live_server: LiveServer) -> None:
    open_console(page, pace=0.3)
    call_id = play_demo(page, "streetlight")
    script = DEMO_CALLS["streetlight"]["turns"]
    expect(utterances(page)).to_have_count(3, timeout=SLOW_MS)

    live_server.stop()
    expect(page.get_by_test_id("reconnect-banner")).to_be_visible(timeout=30_000)
    live_server.start()

    expect(page.get_by_test_id("reconnect-banner")).to_be_hidden(timeout=120_000)
    expect(utterances(page)).to_have_count(len(script), timeout=SLOW_MS)
    shown = [t.strip() for t in utterances(page).locator(".text").all_text_contents()]
    assert shown == [t["text"] for t in script]
    stored = server_call(live_server, call_id)["utterances"]
    assert [u["text"] for u in stored] == [t["text"] for t in script]
    expect(page.get_by_test_id("field-phone")).to_have_value("18688902234", timeout=SLOW_MS)

    # a reload resumes the call from the URL
    page.reload()
    expect(page.get_by_test_id("call-id")).to_have_text(call_id)
    expect(utterances(page)).to_have_count(len(script))
    assert not page.console_errors


def test_demo_recordings_are_listed_and_served_safely(live_server: LiveServer) -> None:
    auth = live_server.headers()
    nobody = httpx.get(f"{live_server.url}/api/v1/demo/audio", timeout=30)
    assert nobody.status_code == 401
    listing = httpx.get(f"{live_server.url}/api/v1/demo/audio", headers=auth, timeout=30).json()
    assert set(listing) >= {"files"}
    if listing["files"]:
        name = listing["files"][0]["name"]
        assert name.endswith((".wav", ".flac"))
        r = httpx.get(f"{live_server.url}/api/v1/demo/audio/{name}", headers=auth, timeout=30)
        assert r.status_code == 200 and r.headers["content-type"].startswith("audio/")
    for bad in ("..%2Fcalls.jsonl", "call-031.json", "%2Fetc%2Fpasswd", ".hidden.wav"):
        assert httpx.get(f"{live_server.url}/api/v1/demo/audio/{bad}", headers=auth,
                         timeout=30).status_code == 404
