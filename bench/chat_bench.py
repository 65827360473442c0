"""Citizen chatbot benchmark: answer accuracy, refusals, clarifications, latency.

Data:
- ``bench/data/chat_paraphrases.jsonl``: questions written in other words than the demo
  knowledge base's (spoken, colloquial, some typos), each with the answer ids that answer it
  (``expect``); emergencies (``kind: emergency``, with the ``line`` to call); and questions the
  demo knowledge base cannot answer (``expect: null``, topics checked absent from
  ``knowledge_base/demo/answers.csv``).
- ``../shared/data/knowledge/beijing_gov_qa.csv``: half of the answers (by a hash of the id) are
  imported as a knowledge base without their questions; the questions of that half are
  answerable, those of the other half (whose answer text is not in the first half) are not.

Each question is searched once; the dialogue (triage, out-of-scope, the decision) then runs on
the stored results for any thresholds. Thresholds are chosen on the even-numbered questions of a
set (the most questions resolved -- answered right, or the right answer among the options of a
clarification -- with clarifications and wrong answers penalised, and at most 2 % of the
unanswerable questions answered) on one half of a set and scored on the other, both ways
(two-fold cross-validation); the thresholds chosen on the whole set are the ones to ship.

Latency: a real uvicorn server (a separate process, on loopback) over a copy of the demo home,
one client, then 20 concurrent clients (threads + httpx), each request a new conversation.

    .venv/bin/python bench/chat_bench.py [--demo-home DIR] [--beijing-home DIR]
        [--beijing-queries 400] [--latency-requests 200] [--skip-beijing] [--skip-latency]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared, percentile
from copilot.chat.calibration import (
    Item,
    calibrate,
    load_items,
    outcome,
    score,
    search_items,
)
from copilot.chat.decide import Thresholds
from copilot.context import AppContext
from copilot.settings import Settings

DATA = Path(__file__).resolve().parent / "data" / "chat_paraphrases.jsonl"
ROOT = Path(__file__).resolve().parents[1]


def report(items: list[Item], shipped: Thresholds) -> Thresholds:
    """Two-fold cross-validation (thresholds chosen on one half, scored on the other, both
    ways), then the thresholds chosen on the whole set (the ones to ship) and the shipped
    settings on the whole set. Returns the thresholds chosen on the whole set."""
    even, odd = items[0::2], items[1::2]
    t_even, t_odd = calibrate(even, shipped), calibrate(odd, shipped)
    for label, t in (("even", t_even), ("odd", t_odd)):
        print(f"  chosen on the {label} half: suggest {t.suggest:.4f}, answer {t.answer:.4f}, "
              f"margin {t.margin}")
    held = score(odd, t_even) + score(even, t_odd)
    print(f"  held out (each half scored with the thresholds chosen on the other):\n"
          f"    {held.line()}")
    best = calibrate(items, shipped)
    print(f"  chosen on the whole set: suggest {best.suggest:.4f}, answer {best.answer:.4f}, "
          f"margin {best.margin} (in-sample):\n    {score(items, best).line()}")
    print(f"  shipped settings (suggest {shipped.suggest}, answer {shipped.answer}, "
          f"margin {shipped.margin}), whole set:\n    {score(items, shipped).line()}")
    print("  trade-off of the suggest threshold (answer and margin as chosen on the whole set):")
    for delta in (-0.015, -0.01, -0.005, 0.0, 0.005):
        t = replace(best, suggest=round(best.suggest + delta, 4))
        sc = score(items, t)
        n, u = max(1, sc.answerable), max(1, sc.unanswerable)
        print(f"    suggest {t.suggest:.4f}: resolved {(sc.correct + sc.clarify_right) / n:.1%}, "
              f"clarify {(sc.clarify_right + sc.clarify_other) / n:.1%}, refused "
              f"{sc.refused / n:.1%} | unanswerable: clarify {sc.u_clarify / u:.1%}, "
              f"refused {sc.u_refused / u:.1%}")
    return best


# ------------------------------------------------------------------ knowledge bases


def demo_context(home: Path | None, tmp: Path) -> AppContext:
    if home is not None and (home / "copilot.db").exists():
        return AppContext(Settings(home=home, load_demo=False))
    ctx = AppContext(Settings(home=tmp / "demo", load_demo=True))
    ctx.load_demo_if_empty()
    return ctx


def in_beijing_kb(row: dict[str, str]) -> bool:
    return int(hashlib.sha1(row["id"].encode()).hexdigest(), 16) % 2 == 0


def beijing(home: Path | None, tmp: Path, limit: int) -> tuple[AppContext, list[Item]]:
    from knowledge_base.importer import import_table

    path = need_shared("knowledge", "beijing_gov_qa.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    kb = [r for r in rows if in_beijing_kb(r)]
    target = home if home is not None else tmp / "beijing"
    ctx = AppContext(Settings(home=target, load_demo=False))
    if ctx.kb_is_empty():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["id", "answer", "unit"])
        for r in kb:
            writer.writerow([r["id"], r["answer"], r["unit"]])
        with ctx.db.session() as session:
            import_table(session, "answers", buf.getvalue().encode("utf-8"), "beijing.csv",
                         actor="bench")
        started = time.perf_counter()
        _ = ctx.index
        print(f"  imported {len(kb)} Beijing answers (without questions), index built in "
              f"{time.perf_counter() - started:.0f} s")
    by_answer: dict[str, list[str]] = {}
    for r in kb:
        by_answer.setdefault(r["answer"], []).append(r["id"])
    answerable = [Item(r["question"], by_answer[r["answer"]]) for r in kb]
    unanswerable = [Item(r["question"], None) for r in rows
                    if not in_beijing_kb(r) and r["answer"] not in by_answer]
    half = max(1, limit // 2)
    # every k-th question, so a bounded run still spans the whole file
    items = (answerable[:: max(1, len(answerable) // half)][:half]
             + unanswerable[:: max(1, len(unanswerable) // half)][:half])
    items.sort(key=lambda i: hashlib.sha1(i.q.encode()).hexdigest())  # mix the two kinds
    return ctx, items


# ------------------------------------------------------------------ latency


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def latency(home: Path, questions: list[str], requests: int, clients: int) -> None:
    import httpx

    port = free_port()
    env = {**os.environ, "COPILOT_HOME": str(home), "COPILOT_LOAD_DEMO": "false",
           "COPILOT_CHAT_RATE_PER_MINUTE": "1000000", "COPILOT_CHAT_BURST": "1000000",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "copilot.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900
        while True:
            try:
                if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.5)

        def ask(client: httpx.Client, q: str) -> float:
            started = time.perf_counter()
            r = client.post(url + "/api/v1/chat", json={"message": q}, timeout=120)
            r.raise_for_status()
            return time.perf_counter() - started

        with httpx.Client() as client:
            for q in questions[:10]:
                ask(client, q)  # warm-up
            single = [ask(client, questions[i % len(questions)])
                      for i in range(min(requests, 100))]
        print(f"  1 client:   {summary(single)}")

        times: list[float] = []
        lock = threading.Lock()
        per_client = max(1, requests // clients)

        def worker(k: int) -> None:
            with httpx.Client() as client:
                for j in range(per_client):
                    t = ask(client, questions[(k * per_client + j) % len(questions)])
                    with lock:
                        times.append(t)

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - started
        print(f"  {clients} clients: {summary(times)}; {len(times) / wall:.1f} replies/s")
    finally:
        server.terminate()
        server.wait(30)


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"p50 {percentile(ms, 50):.0f} ms  p95 {percentile(ms, 95):.0f} ms  "
            f"max {max(ms):.0f} ms  n={len(ms)}")


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-home", type=Path, help="a home with the demo KB indexed (reused)")
    parser.add_argument("--beijing-home", type=Path,
                        help="a home for the Beijing half-KB (built there once, then reused)")
    parser.add_argument("--beijing-queries", type=int, default=400)
    parser.add_argument("--latency-requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--skip-beijing", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list the wrong answers")
    args = parser.parse_args()

    s = Settings()
    shipped = Thresholds(answer=s.chat_answer_threshold, suggest=s.chat_suggest_threshold,
                         margin=s.chat_clarify_margin, max_options=s.chat_max_options)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ctx = demo_context(args.demo_home, tmp)
        items = load_items(DATA)
        started = time.perf_counter()
        search_items(ctx.index, items)
        per_q = (time.perf_counter() - started) / len(items)
        print(f"== demo knowledge base: {sum(1 for i in items if i.expect and not i.kind)} "
              f"paraphrases, {sum(1 for i in items if i.kind)} emergencies, "
              f"{sum(1 for i in items if i.expect is None)} unanswerable "
              f"(search + triage {per_q * 1000:.0f} ms per question)")
        top1 = [i for i in items if i.expect and not i.kind]
        r1 = sum(i.hits[0].id in i.expect for i in top1 if i.hits) / len(top1)
        r5 = sum(any(h.id in i.expect for h in i.hits or []) for i in top1) / len(top1)
        print(f"  retrieval alone: recall@1 {r1:.1%}, recall@5 {r5:.1%}")
        report(items, shipped)
        if args.errors:
            for i in items:
                kind, ids = outcome(i, shipped)
                if kind == "answer" and (not i.expect or ids[0] not in i.expect):
                    print(f"    wrong: {i.q} -> {ids[0]} (expected {i.expect})")
        demo_home = ctx.settings.home
        ctx.close()

        if not args.skip_beijing:
            print("== Beijing Q/A as a knowledge base (half imported, the other half's "
                  "questions unanswerable)")
            bctx, bitems = beijing(args.beijing_home, tmp, args.beijing_queries)
            search_items(bctx.index, bitems)
            report(bitems, shipped)
            bctx.close()

        if not args.skip_latency:
            print(f"== latency: POST /api/v1/chat on a uvicorn server (loopback), "
                  f"{os.cpu_count()} CPU cores")
            home = tmp / "latency-home"
            shutil.copytree(demo_home, home)
            latency(home, [i.q for i in items], args.latency_requests, args.clients)


if __name__ == "__main__":
    main()
