"""Bounded load / soak check of the live server: audio calls and citizen chat at the same time.

A real server (``copilot serve``) runs in a subprocess on a free 127.0.0.1 port over a private
copy of the demo home (the e2e bench's template in /tmp, built there once). Then, at once:

- N simulated calls: each streams a recorded stereo call of ../shared/data/calls/audio
  (call-*.flac + .json, cycled) in real time over ``ws /api/v1/calls/{id}/audio`` while a
  console watches ``/events`` (``play_call`` of bench/e2e_bench.py, as the administrator). A
  stream the server refuses at its COPILOT_MAX_STREAMS limit (close code 1013) counts as
  refused, not failed;
- M chat clients: each loops ``POST /api/v1/chat`` with the questions of
  bench/data/chat_paraphrases.jsonl (cycled, each client from its own offset), one conversation
  per client, ``--think`` seconds between messages, for ``--duration`` seconds (default: until
  the calls are done, at least 30 s). The chat rate limit is lifted (COPILOT_CHAT_RATE_PER_MINUTE
  and COPILOT_CHAT_BURST very high) unless ``--rate-limited``; then the shipped limits apply and
  each client sends its own X-Forwarded-For (with COPILOT_CHAT_TRUST_FORWARDED_FOR) so the
  limiter sees M citizens rather than one loopback address.

Measured: calls played / refused / failed; caller turn end → suggestions at the console
(p50/p90/max); time from the end of each call's audio to its last final; chat requests, errors
(5xx, connection errors, timeouts), 429s, other 4xx, latency of the answered ones (p50/p95/p99),
throughput; the server's resident memory (sampled every second: peak and final); wall time.
It exits 1 if a call failed, a chat request errored or the run hit its hard time limit, so it
serves as a soak check. Bounds: 120 s per chat request; the whole run stops after the chat
duration + the longest call + 120 s; the server is always terminated.

    .venv/bin/python bench/load_bench.py [--calls 2] [--chats 10] [--duration S] [--speed 1.0]
                                         [--think 1.0] [--rate-limited]

To see refusals: COPILOT_MAX_STREAMS=1 .venv/bin/python bench/load_bench.py --calls 2
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import login_headers, need_shared, percentile
from bench.e2e_bench import FRAME_S, free_port, pcm_frames, play_call, prepared_home, start_server

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "bench" / "data" / "chat_paraphrases.jsonl"
REQUEST_TIMEOUT_S = 120.0
GRACE_S = 120.0
MIN_CHAT_S = 30.0
REFUSED = 1013

@dataclass
class CallResult:
    call_id: str
    status: str = "unfinished"  # ok | refused | failed | unfinished
    detail: str = ""
    latencies: list[float] = field(default_factory=list)
    flush_s: float | None = None
    finals: int = 0


@dataclass
class Stats:
    calls: list[CallResult] = field(default_factory=list)
    chat_ok: list[float] = field(default_factory=list)  # latency of 200 replies
    chat_latency_all: list[float] = field(default_factory=list)  # every answered request
    chat_429: int = 0
    chat_4xx: int = 0
    chat_errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    chat_started: float | None = None
    chat_last: float | None = None
    rss_mb: list[float] = field(default_factory=list)
    timed_out: bool = False

    def chat_error(self, what: str) -> None:
        self.chat_errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


# ------------------------------------------------------------------ server memory


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_mb(pid: int) -> float:
    """Resident memory of the process and its descendants, in MB (0 once it is gone)."""
    if importlib.util.find_spec("psutil") is not None:
        import psutil

        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs) / 2**20
        except psutil.Error:
            return 0.0
    tree, total, todo = _children(), 0.0, [pid]
    while todo:
        p = todo.pop()
        todo += tree.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


async def sample_rss(pid: int, stats: Stats) -> None:
    while True:
        stats.rss_mb.append(await asyncio.to_thread(tree_rss_mb, pid))
        await asyncio.sleep(1.0)


# ------------------------------------------------------------------ load


async def one_call(port: int, result: CallResult, meta: dict[str, Any], frames: list[bytes],
                   speed: float, auth: dict[str, str]) -> None:
    import websockets

    try:
        done = await play_call(port, result.call_id, meta, frames, speed, auth)
    except websockets.exceptions.ConnectionClosed as e:
        code = e.rcvd.code if e.rcvd is not None else None
        result.status = "refused" if code == REFUSED else "failed"
        result.detail = f"closed {code}: {e.rcvd.reason if e.rcvd else e}"
    except asyncio.CancelledError:
        result.detail = "stopped at the run's time limit"
        raise
    except Exception as e:
        result.status, result.detail = "failed", f"{type(e).__name__}: {e}"
    else:
        result.status = "ok"
        result.latencies, result.flush_s = done["latencies"], done["flush_s"]
        result.finals = done["finals"]


async def chat_client(k: int, clients: int, url: str, questions: list[str], think: float,
                      chatting: Callable[[], bool], stats: Stats) -> None:
    import httpx

    headers = {"X-Forwarded-For": f"10.{k // 65536 % 256}.{k // 256 % 256}.{k % 256}"}
    i = k * len(questions) // clients
    conversation: str | None = None
    await asyncio.sleep(think * k / clients)  # stagger the first messages
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, headers=headers) as client:
        while chatting():
            body: dict[str, str] = {"message": questions[i % len(questions)]}
            if conversation:
                body["conversation_id"] = conversation
            i += 1
            pause = think
            started = time.monotonic()
            try:
                r = await client.post(url, json=body)
            except httpx.HTTPError as e:
                stats.chat_error(f"{type(e).__name__}: {e}")
            else:
                took = time.monotonic() - started
                stats.chat_latency_all.append(took)
                if r.status_code == 200:
                    stats.chat_ok.append(took)
                    conversation = r.json()["conversation_id"]
                elif r.status_code == 429:
                    stats.chat_429 += 1
                    pause = max(think, float(r.headers.get("Retry-After", think)))
                elif r.status_code >= 500:
                    stats.chat_error(f"HTTP {r.status_code}: {r.text[:200]}")
                else:
                    stats.chat_4xx += 1
                    if len(stats.error_samples) < 5:
                        stats.error_samples.append(f"(4xx) HTTP {r.status_code}: {r.text[:200]}")
            stats.chat_last = time.monotonic()
            await asyncio.sleep(pause)


async def run_load(port: int, auth: dict[str, str], plays: list[tuple[dict[str, Any], list[bytes]]],
                   args: argparse.Namespace, questions: list[str], server_pid: int,
                   stats: Stats) -> None:
    import websockets

    def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # a refused call leaves play_call's console watcher with a closed socket: not news
        if not isinstance(context.get("exception"), websockets.exceptions.ConnectionClosed):
            loop.default_exception_handler(context)

    asyncio.get_running_loop().set_exception_handler(quiet)
    sampler = asyncio.create_task(sample_rss(server_pid, stats))
    calls_done = asyncio.Event()
    start = time.monotonic()
    stats.chat_started = start

    def chatting() -> bool:
        elapsed = time.monotonic() - start
        if args.duration is not None:
            return elapsed < args.duration
        return not calls_done.is_set() or elapsed < MIN_CHAT_S

    async def calls() -> None:
        try:
            await asyncio.gather(*(one_call(port, result, meta, frames, args.speed, auth)
                                   for result, (meta, frames) in zip(stats.calls, plays,
                                                                     strict=True)))
        finally:
            calls_done.set()

    url = f"http://127.0.0.1:{port}/api/v1/chat"
    try:
        await asyncio.gather(calls(), *(chat_client(k, args.chats, url, questions, args.think,
                                                    chatting, stats)
                                        for k in range(args.chats)))
        stats.rss_mb.append(await asyncio.to_thread(tree_rss_mb, server_pid))  # final
    finally:
        sampler.cancel()


# ------------------------------------------------------------------ report


def seconds(values: list[float], *qs: int) -> str:
    if not values:
        return "n=0"
    parts = [f"p{q} {percentile(values, q):.2f} s" for q in qs]
    return "  ".join([*parts, f"max {max(values):.2f} s", f"(n={len(values)})"])


def millis(values: list[float]) -> str:
    if not values:
        return "n=0"
    ms = [v * 1000 for v in values]
    return (f"p50 {percentile(ms, 50):.0f} ms  p95 {percentile(ms, 95):.0f} ms  "
            f"p99 {percentile(ms, 99):.0f} ms  max {max(ms):.0f} ms  (n={len(ms)})")


def report(stats: Stats, args: argparse.Namespace, wall: float) -> bool:
    """Print the report; whether the run passed as a soak check."""
    by = {s: [c for c in stats.calls if c.status == s]
          for s in ("ok", "refused", "failed", "unfinished")}
    print(f"{len(stats.calls)} calls at once (speed {args.speed}x), {args.chats} chat clients "
          f"(think {args.think} s, rate limit {'on' if args.rate_limited else 'lifted'}), "
          f"{os.cpu_count()} CPU cores")
    print(f"calls: {len(by['ok'])} played, {len(by['refused'])} refused, "
          f"{len(by['failed']) + len(by['unfinished'])} failed")
    for c in by["refused"] + by["failed"] + by["unfinished"]:
        print(f"  {c.call_id}: {c.status} — {c.detail}")
    latencies = [x for c in by["ok"] for x in c.latencies]
    print(f"caller turn end → suggestions at the console: {seconds(latencies, 50, 90)}")
    if by["ok"]:
        print("end of the audio → its last final: "
              + ", ".join(f"{c.call_id} {c.flush_s:.1f} s" for c in by["ok"]))
    answered = len(stats.chat_latency_all)
    total = answered + stats.chat_errors
    span = (stats.chat_last or 0) - (stats.chat_started or 0)
    rate = total / span if span > 0 else float("nan")
    print(f"chat: {total} requests, {len(stats.chat_ok)} answered 200, {stats.chat_errors} "
          f"errors, {stats.chat_429} × 429, {stats.chat_4xx} other 4xx; {rate:.2f} req/s "
          f"over {span:.0f} s")
    print(f"chat latency (200 replies): {millis(stats.chat_ok)}")
    for sample in stats.error_samples:
        print(f"  {sample}")
    if stats.rss_mb:
        print(f"server RSS: peak {max(stats.rss_mb):.0f} MB, final {stats.rss_mb[-1]:.0f} MB "
              f"(first sample {stats.rss_mb[0]:.0f} MB, {len(stats.rss_mb)} samples)")
    stopped = "  — STOPPED AT THE HARD TIME LIMIT" if stats.timed_out else ""
    print(f"wall time of the load {wall:.0f} s{stopped}")
    ok = not (by["failed"] or by["unfinished"] or stats.chat_errors or stats.timed_out)
    print("PASS" if ok else "FAIL")
    return ok


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2, help="calls streamed at once")
    parser.add_argument("--chats", type=int, default=10, help="chat clients at once")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds of chat (default: until the calls finish, at least 30)")
    parser.add_argument("--speed", type=float, default=1.0, help="audio playback speed")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds a chat client waits between messages")
    parser.add_argument("--rate-limited", action="store_true",
                        help="keep the shipped chat rate limit (one limit per client)")
    args = parser.parse_args()
    if args.calls < 0 or args.chats < 0 or args.speed <= 0 or args.think < 0:
        parser.error("--calls/--chats/--think must be ≥ 0 and --speed > 0")

    folder = need_shared("calls", "audio")
    metas = [json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("call-*.json"))]
    metas = [m for m in metas if (folder / f"{m['id']}.flac").exists()]
    if args.calls and not metas:
        sys.exit(f"skipped: no call-*.flac + .json in {folder}")
    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text("utf-8").splitlines()
                 if line.strip()]
    decoded: dict[str, list[bytes]] = {}
    plays: list[tuple[dict[str, Any], list[bytes]]] = []
    for k in range(args.calls):
        meta = metas[k % len(metas)]
        if meta["id"] not in decoded:
            decoded[meta["id"]] = pcm_frames(meta, folder / f"{meta['id']}.flac")
        plays.append((meta, decoded[meta["id"]]))
    longest = max((len(f) * FRAME_S / args.speed for _, f in plays), default=0.0)
    hard_limit = (args.duration if args.duration is not None else MIN_CHAT_S) + longest + GRACE_S

    if args.rate_limited:
        os.environ["COPILOT_CHAT_TRUST_FORWARDED_FOR"] = "true"
    else:
        os.environ["COPILOT_CHAT_RATE_PER_MINUTE"] = "1000000"
        os.environ["COPILOT_CHAT_BURST"] = "1000000"
    os.environ["COPILOT_HOST"] = "127.0.0.1"  # loopback only
    home = prepared_home()
    port = free_port()
    proc = None
    stats = Stats(calls=[CallResult(f"load-{k}-{meta['id']}") for k, (meta, _) in
                         enumerate(plays)])
    started = time.monotonic()
    try:
        proc = start_server(home, port)
        auth = login_headers(f"http://127.0.0.1:{port}")
        print(f"server up on 127.0.0.1:{port} (pid {proc.pid}) after "
              f"{time.monotonic() - started:.0f} s; load runs for at most "
              f"{hard_limit:.0f} s", flush=True)
        started = time.monotonic()
        try:
            asyncio.run(asyncio.wait_for(
                run_load(port, auth, plays, args, questions, proc.pid, stats), hard_limit))
        except TimeoutError:
            stats.timed_out = True
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except Exception:
                proc.kill()
                proc.wait()
        shutil.rmtree(home, ignore_errors=True)
    ok = report(stats, args, time.monotonic() - started)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
