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
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared, percentile
from classifier.triage import triage
from copilot.chat.decide import ANSWER, CLARIFY, Thresholds, choose
from copilot.context import AppContext
from copilot.settings import Settings
from retrieval.index import SearchHit

DATA = Path(__file__).resolve().parent / "data" / "chat_paraphrases.jsonl"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Item:
    q: str
    expect: list[str] | None  # None: the knowledge base cannot answer it
    kind: str | None = None  # "emergency"
    line: str | None = None
    hits: list[SearchHit] | None = None
    emergency: str | None = None
    out_of_scope: str | None = None


def load_items(path: Path = DATA) -> list[Item]:
    with path.open(encoding="utf-8") as fh:
        return [Item(**{k: v for k, v in json.loads(line).items()}) for line in fh if line.strip()]


def search_all(ctx: AppContext, items: list[Item], top_k: int = 5) -> float:
    """Search and triage every question once; returns seconds per question."""
    started = time.perf_counter()
    for item in items:
        item.hits = ctx.index.search(item.q, top_k, refresh=False)
        t = triage(item.q)
        item.emergency, item.out_of_scope = t.emergency, t.out_of_scope
    return (time.perf_counter() - started) / max(1, len(items))


def outcome(item: Item, t: Thresholds) -> tuple[str, list[str]]:
    """The reply kind the bot gives to this question as a first message, and the answer ids it
    quotes (one) or offers (clarify) -- the same steps as ``ChatBot._step`` / ``_question``."""
    if item.emergency:
        return "emergency", []
    choice = choose(item.hits or [], t)
    if choice.kind == ANSWER and choice.hit is not None:
        return "answer", [choice.hit.id]
    if item.out_of_scope:
        return "out_of_scope", []
    if choice.kind == CLARIFY:
        return "clarify", [h.id for h in choice.options]
    return "no_answer", []


@dataclass
class Scores:
    answerable: int = 0
    correct: int = 0
    wrong: int = 0
    clarify_right: int = 0  # the right answer is among the options
    clarify_other: int = 0
    refused: int = 0  # no_answer / out_of_scope on an answerable question
    false_emergency: int = 0
    unanswerable: int = 0
    u_answered: int = 0
    u_clarify: int = 0
    u_refused: int = 0
    u_emergency: int = 0
    emergencies: int = 0
    emergency_right: int = 0

    def line(self) -> str:
        n, u = max(1, self.answerable), max(1, self.unanswerable)
        refused_all = self.refused + self.u_refused
        precision = self.u_refused / refused_all if refused_all else 1.0
        clarify = self.clarify_right + self.clarify_other
        out = (f"answerable n={self.answerable}: answered correctly {self.correct / n:.1%}, "
               f"+ via clarification {(self.correct + self.clarify_right) / n:.1%}, "
               f"wrong {self.wrong / n:.1%}, clarify {clarify / n:.1%}, "
               f"refused {self.refused / n:.1%}, false emergency {self.false_emergency / n:.1%}")
        if self.unanswerable:
            out += (f"\n    unanswerable n={self.unanswerable}: answered (wrong) "
                    f"{self.u_answered / u:.1%}, clarify {self.u_clarify / u:.1%}, refusal recall "
                    f"{self.u_refused / u:.1%}, refusal precision {precision:.1%}")
        if self.emergencies:
            out += (f"\n    emergencies: {self.emergency_right}/{self.emergencies} sent to the "
                    f"right line")
        return out


def score(items: Iterable[Item], t: Thresholds) -> Scores:
    s = Scores()
    for item in items:
        kind, ids = outcome(item, t)
        if item.kind == "emergency":
            s.emergencies += 1
            s.emergency_right += kind == "emergency" and item.emergency == item.line
        elif item.expect:
            s.answerable += 1
            if kind == "answer":
                s.correct += ids[0] in item.expect
                s.wrong += ids[0] not in item.expect
            elif kind == "clarify":
                if set(ids) & set(item.expect):
                    s.clarify_right += 1
                else:
                    s.clarify_other += 1
            elif kind == "emergency":
                s.false_emergency += 1
            else:
                s.refused += 1
        else:
            s.unanswerable += 1
            if kind == "answer":
                s.u_answered += 1
            elif kind == "clarify":
                s.u_clarify += 1
            elif kind == "emergency":
                s.u_emergency += 1
            else:
                s.u_refused += 1
    return s


def objective(s: Scores) -> float:
    n = max(1, s.answerable)
    u = max(1, s.unanswerable)
    return ((s.correct + s.clarify_right) / n - 0.3 * (s.clarify_right + s.clarify_other) / n
            - 3 * s.wrong / n - 0.3 * s.u_clarify / u)


def frange(start: float, stop: float, step: float) -> list[float]:
    out, x = [], start
    while x <= stop + 1e-9:
        out.append(round(x, 4))
        x += step
    return out


def calibrate(items: list[Item], base: Thresholds, max_wrong_refusal: float = 0.02
              ) -> Thresholds:
    """The thresholds with the best objective on ``items`` among those that answer at most
    ``max_wrong_refusal`` of its unanswerable questions."""
    best: tuple[float, Thresholds] | None = None
    tops = sorted(float(i.hits[0].dense_score or 0) for i in items if i.hits)
    low, high = round(tops[0], 2) - 0.01, round(tops[-1], 2) + 0.01
    for suggest in frange(low, high, 0.0025):
        for answer in frange(suggest, high, 0.0025):
            for margin in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
                t = replace(base, suggest=suggest, answer=answer, margin=margin)
                s = score(items, t)
                if s.unanswerable and s.u_answered / s.unanswerable > max_wrong_refusal:
                    continue
                key = objective(s)
                if best is None or key > best[0]:
                    best = (key, t)
    return best[1] if best else base


def add(a: Scores, b: Scores) -> Scores:
    return Scores(**{k: getattr(a, k) + getattr(b, k) for k in a.__dataclass_fields__})


def report(items: list[Item], shipped: Thresholds) -> Thresholds:
    """Two-fold cross-validation (thresholds chosen on one half, scored on the other, both
    ways), then the thresholds chosen on the whole set (the ones to ship) and the shipped
    settings on the whole set. Returns the thresholds chosen on the whole set."""
    even, odd = items[0::2], items[1::2]
    t_even, t_odd = calibrate(even, shipped), calibrate(odd, shipped)
    for label, t in (("even", t_even), ("odd", t_odd)):
        print(f"  chosen on the {label} half: suggest {t.suggest:.4f}, answer {t.answer:.4f}, "
              f"margin {t.margin}")
    held = add(score(odd, t_even), score(even, t_odd))
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
        items = load_items()
        per_q = search_all(ctx, items)
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
            search_all(bctx, bitems)
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
