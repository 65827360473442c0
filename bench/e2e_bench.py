"""End-to-end benchmark of the live copilot on the shared test calls (audio).

A real server (``copilot serve``) runs in a subprocess on a private copy of the demo home.
N calls are played at once, in real time, as stereo PCM over the audio websocket, while a
console for each listens on the events websocket. Measured:

- latency from the end of each caller turn in the audio (the recording's own timings) to the
  arrival of suggestions that cover it, p50/p90 (what the operator waits for);
- whether the server kept up (how far finals lag the audio);
- form completeness: share of gold work-order fields filled correctly, from the audio (the
  session's form at the end of the call) and from the transcript (the same calls' text).

    .venv/bin/python bench/e2e_bench.py [--calls 3] [--rounds 1] [--speed 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.audio import load_audio_file
from bench.common import BENCH_ADMIN_PASSWORD, login_headers, need_shared, percentile
from copilot.form.fields import FIELD_NAMES
from copilot.form.filler import extract_call
from copilot.form.scoring import score_calls

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(tempfile.gettempdir()) / "hotline-bench-demo-home"
FRAME_S = 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COPILOT_HOME": str(home), "COPILOT_ADMIN_PASSWORD": BENCH_ADMIN_PASSWORD}
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "copilot"), "serve", "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 900  # the first start builds the demo index
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                sys.exit("the server did not start")
            time.sleep(1)
    proc.kill()
    sys.exit("the server did not answer within 15 minutes")


def prepared_home() -> Path:
    """A copy of a demo home whose index is built (built once, kept in /tmp)."""
    ready = TEMPLATE / "bench-ready"
    if not ready.exists():
        port = free_port()
        proc = start_server(TEMPLATE, port)
        proc.terminate()
        proc.wait()
        ready.touch()
    home = Path(tempfile.mkdtemp(prefix="e2e-home-"))
    shutil.copytree(TEMPLATE, home, dirs_exist_ok=True)
    shutil.rmtree(home / "calls", ignore_errors=True)
    return home


def pcm_frames(meta: dict[str, Any], flac: Path) -> list[bytes]:
    """Stereo 16 kHz int16 frames of 100 ms, the caller on the right channel."""
    audio = load_audio_file(flac)
    side = {v: i for i, v in enumerate(meta["channels"].values())}
    left, right = audio.channels[side["agent"]], audio.channels[side["caller"]]
    stereo = np.stack([left, right], axis=1)
    pcm = (np.clip(stereo, -1, 1) * 32767).astype("<i2")
    step = int(16000 * FRAME_S)
    return [pcm[i:i + step].tobytes() for i in range(0, len(pcm), step)]


async def play_call(port: int, call_id: str, meta: dict[str, Any], frames: list[bytes],
                    speed: float, auth: dict[str, str]) -> dict[str, Any]:
    import websockets

    base = f"ws://127.0.0.1:{port}/api/v1/calls/{call_id}"
    finals: list[tuple[float, int, float]] = []  # (wall, index, end) of caller finals
    suggestions: list[tuple[float, int]] = []  # (wall, for_utterance)
    async with websockets.connect(base + "/events", max_size=None,
                                  additional_headers=auth) as events, \
            websockets.connect(base + "/audio", max_size=None, additional_headers=auth) as audio:
        json.loads(await events.recv())  # the snapshot

        async def watch() -> None:
            async for message in events:
                event = json.loads(message)
                now = time.monotonic()
                if event["type"] == "final" and event["speaker"] == "caller":
                    finals.append((now, event["index"], event["end"]))
                elif event["type"] == "suggestions":
                    suggestions.append((now, event["for_utterance"]))

        watcher = asyncio.create_task(watch())
        await audio.send(json.dumps({"type": "start", "sample_rate": 16000, "channels": 2,
                                     "encoding": "pcm_s16le", "caller_channel": "right"}))
        json.loads(await audio.recv())  # ready

        async def drain() -> None:
            async for _ in audio:
                pass

        drainer = asyncio.create_task(drain())
        t0 = time.monotonic()
        for k, frame in enumerate(frames):
            delay = t0 + k * FRAME_S / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await audio.send(frame)
        await audio.send(json.dumps({"type": "end"}))
        audio_done = time.monotonic()
        await asyncio.wait_for(drainer, timeout=300)
        flushed = time.monotonic()
        last = max((i for _, i, _ in finals), default=-1)
        for _ in range(600):  # suggestions for the last caller final
            if any(f >= last for _, f in suggestions):
                break
            await asyncio.sleep(0.1)
        watcher.cancel()
    latencies = []
    for turn in (t for t in meta["turns"] if t["speaker"] == "caller"):
        cover = [(w, i) for w, i, end in finals if end >= turn["end"] - 0.3]
        if not cover:
            continue
        index = min(i for _, i in cover)
        arrivals = [w for w, f in suggestions if f >= index]
        if arrivals:
            latencies.append(min(arrivals) - (t0 + turn["end"] / speed))
    return {"call_id": call_id, "latencies": latencies, "flush_s": flushed - audio_done,
            "finals": len(finals)}


def form_of(port: int, call_id: str, auth: dict[str, str]) -> dict[str, str | None]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/calls/{call_id}",
                                     headers=auth)
    with urllib.request.urlopen(request) as r:
        form = json.loads(r.read())["form"]
    return {name: form[name]["value"] for name in FIELD_NAMES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3, help="calls played at once")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of concurrent calls")
    parser.add_argument("--speed", type=float, default=1.0, help="playback speed")
    parser.add_argument("--show-forms", action="store_true", help="print every wrong field")
    args = parser.parse_args()

    folder = need_shared("calls", "audio")
    gold = {json.loads(line)["id"]: json.loads(line)
            for line in need_shared("calls", "calls.jsonl").read_text("utf-8").splitlines()
            if line.strip()}
    metas = [json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("call-*.json"))]
    metas = [m for m in metas if m["id"] in gold][: args.calls * args.rounds]
    home = prepared_home()
    port = free_port()
    proc = start_server(home, port)
    try:
        auth = login_headers(f"http://127.0.0.1:{port}")
        results: list[dict[str, Any]] = []
        audio_forms: list[dict[str, str | None]] = []
        for r in range(args.rounds):
            batch = metas[r * args.calls:(r + 1) * args.calls]
            frames = [pcm_frames(m, folder / f"{m['id']}.flac") for m in batch]

            async def run_batch(batch: list[dict[str, Any]] = batch,
                                frames: list[list[bytes]] = frames, r: int = r
                                ) -> list[dict[str, Any]]:
                return await asyncio.gather(*(
                    play_call(port, f"bench-{r}-{m['id']}", m, f, args.speed, auth)
                    for m, f in zip(batch, frames, strict=True)))

            done = asyncio.run(run_batch())
            results += done
            audio_forms += [form_of(port, d["call_id"], auth) for d in done]
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(home, ignore_errors=True)

    latencies = [x for d in results for x in d["latencies"]]
    print(f"{len(results)} calls, {args.calls} at once, speed {args.speed}x")
    print(f"caller turn end → suggestions at the console: p50 {percentile(latencies, 50):.2f} s"
          f"  p90 {percentile(latencies, 90):.2f} s  max {max(latencies):.2f} s  "
          f"(n={len(latencies)})")
    print("time from the end of the audio to its last final: "
          + ", ".join(f"{d['flush_s']:.1f} s" for d in results))
    golds = [gold[m["id"]]["gold"]["entities"] for m in metas[: len(results)]]
    from_audio = score_calls(audio_forms, golds)
    from_text = score_calls([extract_call(gold[m["id"]]["turns"]).as_dict()
                             for m in metas[: len(results)]], golds)
    print(f"form fields correct (of gold fields): from audio {from_audio.recall:.3f}, "
          f"from the transcript {from_text.recall:.3f}; precision {from_audio.precision:.3f} "
          f"/ {from_text.precision:.3f}")
    print(f"{'field':<15}{'gold':>5}{'audio ok':>9}{'text ok':>8}")
    for name in FIELD_NAMES:
        a, t = from_audio.fields[name], from_text.fields[name]
        if a.gold:
            print(f"{name:<15}{a.gold:>5}{a.correct:>9}{t.correct:>8}")
    if args.show_forms:
        for m, form in zip(metas, audio_forms, strict=False):
            want = gold[m["id"]]["gold"]["entities"]
            for name in FIELD_NAMES:
                if want[name] and form[name] != want[name]:
                    print(f"{m['id']} {name:<15} got {form[name]!r:<24} want {want[name]!r}")


if __name__ == "__main__":
    main()
