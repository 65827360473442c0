"""Latency of the text path: one final utterance -> form + categories + type + triage + unit +
answers + duplicates, as the live session computes them (no audio, no HTTP, no websocket).

An AppContext is opened on a private copy of a demo home (the e2e bench's template in /tmp when
it is marked bench-ready, else a home built here once with load_demo and kept in
/tmp/hotline-bench-textpath-home). Each call of ../shared/data/calls/calls.jsonl is fed turn by
turn through copilot.calls.session.CallSession (store in a temp dir); after each caller turn
the path is timed: add_utterance (journal + form filler) then
suggest(ctx, session.turns(), None, form=session.form_values()). The parts are timed by
wrapping them in this process only: category prediction (of which the query encoder), triage,
request type, index search (unit inside classify, answers in suggest), duplicates.

    .venv/bin/python bench/text_path_bench.py [--calls N] [--rounds 1] [--fp32]
        [--suggestions OUT.jsonl] [--compare EARLIER.jsonl]

--suggestions writes what each timed turn suggested (top category, answers, unit, request type,
emergency); --compare counts the turns whose suggestions differ from such a file, to check that
a speed-up did not change them. --fp32 keeps the encoder in float32 where it would use bfloat16
(retrieval/encoder.py), for an A/B run.

The query encoder runs on torch with COPILOT_TORCH_THREADS threads (default 2): on a busy
2-core machine 2 threads made one short query ~20x slower than 1 (1070 ms vs 55 ms, load ~4);
compare with COPILOT_TORCH_THREADS=1 .venv/bin/python bench/text_path_bench.py
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared, percentile, summarize_ms

E2E_TEMPLATE = Path(tempfile.gettempdir()) / "hotline-bench-demo-home"
OWN_TEMPLATE = Path(tempfile.gettempdir()) / "hotline-bench-textpath-home"
GOAL_P95_MS = 100.0

TIMES: dict[str, float] = defaultdict(float)  # seconds spent per part in the current step
ENCODES: list[tuple[float, int, int]] = []  # (seconds, texts, characters) per encoder call


def timed(name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - t0
    return wrapper


def prepared_home(source: Path | None = None) -> Path:
    """A private copy of ``source`` (a home, e.g. one with a trained category model), else of
    the demo template."""
    from copilot.context import AppContext
    from copilot.settings import Settings

    if source is not None:
        template = source
    elif (E2E_TEMPLATE / "bench-ready").exists():
        template = E2E_TEMPLATE
    else:
        template = OWN_TEMPLATE
        if not (template / "bench-ready").exists():
            print(f"building a demo home in {template} (once) ...", flush=True)
            shutil.rmtree(template, ignore_errors=True)
            ctx = AppContext(Settings(home=template, env="test", load_demo=True))
            ctx.load_demo_if_empty()
            ctx.index  # noqa: B018 - builds and saves the index
            ctx.close()
            (template / "bench-ready").touch()
    home = Path(tempfile.mkdtemp(prefix="textpath-home-"))
    shutil.copytree(template, home, dirs_exist_ok=True)
    shutil.rmtree(home / "calls", ignore_errors=True)
    print(f"home: copy of {template}")
    return home


def instrument(ctx: Any) -> None:
    import copilot.classification as classification
    import retrieval.encoder as encoder

    classification.triage = timed("triage", classification.triage)
    classification.request_type = timed("request_type", classification.request_type)
    queries = timed("encoder", encoder.Encoder.queries)

    def logged(self: Any, texts: list[str], *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return queries(self, texts, *args, **kwargs)
        finally:
            ENCODES.append((time.perf_counter() - t0, len(texts), sum(map(len, texts))))
    encoder.Encoder.queries = logged
    ctx.classifier.predict = timed("categories", ctx.classifier.predict)
    index = ctx.index
    index.search = timed("search", index.search)
    ctx.find_duplicates = timed("duplicates", ctx.find_duplicates)


def suggested(turn: str, out: dict[str, Any]) -> dict[str, Any]:
    """What the operator sees of one turn's suggestions, to compare runs."""
    return {"turn": turn, "category": (out["category"] or {}).get("code"),
            "top_answer": out["answers"][0]["id"] if out["answers"] else None,
            "answers": [a["id"] for a in out["answers"]], "unit": out["unit"],
            "request_type": out["request_type"], "emergency": out["emergency"]}


def compare(seen: list[dict[str, Any]], earlier_path: Path) -> None:
    earlier = {d["turn"]: d for d in map(json.loads, earlier_path.read_text(
        encoding="utf-8").splitlines())}
    both = [(d, earlier[d["turn"]]) for d in seen if d["turn"] in earlier]
    print(f"\n  suggestions vs {earlier_path} ({len(both)} turns in both):")
    for key in ("category", "top_answer", "answers", "unit", "request_type", "emergency"):
        differ = [d["turn"] for d, e in both if d[key] != e[key]]
        print(f"    {key:<13} differ in {len(differ)}  {', '.join(differ[:8])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1,
                        help="passes over the calls (later passes hit the encoder's cache)")
    parser.add_argument("--calls", type=int, default=0, help="only the first N calls")
    parser.add_argument("--home", type=Path, help="run on a copy of this home (e.g. with a "
                        "category model from `copilot classifier train`) instead of the demo")
    parser.add_argument("--fp32", action="store_true", help="encoder in float32, not bfloat16")
    parser.add_argument("--suggestions", type=Path, help="write each turn's suggestions here")
    parser.add_argument("--compare", type=Path, help="compare them with an earlier --suggestions")
    args = parser.parse_args()

    path = need_shared("calls", "calls.jsonl")
    calls = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    calls = calls[: args.calls] if args.calls else calls

    from copilot.assist import suggest
    from copilot.calls.session import CallSession
    from copilot.calls.store import CallStore
    from copilot.context import AppContext
    from copilot.settings import Settings

    home = prepared_home(args.home)
    ctx = AppContext(Settings(home=home, env="test", load_demo=False))
    t0 = time.perf_counter()
    ctx.index  # noqa: B018
    ctx.classifier.model()
    ctx.classifier.wait_for_rebuild()
    print(f"index + category model loaded in {time.perf_counter() - t0:.1f} s")
    if args.fp32:
        ctx.encoder.bf16 = False
    print(f"encoder in {'bfloat16' if ctx.encoder.bf16 else 'float32'}")
    instrument(ctx)
    seen: list[dict[str, Any]] = []
    store_dir = Path(tempfile.mkdtemp(prefix="textpath-calls-"))
    store = CallStore(store_dir)

    def run_call(call: dict[str, Any], tag: str) -> list[dict[str, float]]:
        session = CallSession(f"{call['id']}-{tag}", store)
        steps = []
        for turn in call["turns"]:
            if turn["speaker"] != "caller":
                session.add_utterance(turn["speaker"], turn["text"], source="text")
                continue
            TIMES.clear()
            t0 = time.perf_counter()
            session.add_utterance("caller", turn["text"], source="text")
            t1 = time.perf_counter()
            out = suggest(ctx, session.turns(), None, form=session.form_values())
            t2 = time.perf_counter()
            steps.append({"total": t2 - t0, "form": t1 - t0, "suggest": t2 - t1, **TIMES})
            seen.append(suggested(f"{call['id']}-{tag}#{len(steps)}", out))
        return steps

    t0 = time.perf_counter()
    for call in calls[:3]:  # warm-up (jieba, regex caches, the encoder's first runs), on
        # altered texts so that the timed turns do not find their embeddings in its cache
        run_call({**call, "turns": [{**t, "text": "预热：" + t["text"]} for t in call["turns"]]},
                 "warm")
    print(f"warm-up {time.perf_counter() - t0:.1f} s", flush=True)
    steps: list[dict[str, float]] = []
    ENCODES.clear()
    seen.clear()
    for r in range(args.rounds):
        for call in calls:
            steps.extend(run_call(call, f"r{r}"))
        print(f"round {r + 1}: {len(steps)} turns so far", flush=True)

    load = os.getloadavg()
    print(f"\n{len(calls)} calls x {args.rounds} rounds, {len(steps)} caller turns timed; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    total = [s["total"] for s in steps]
    print(f"text path per caller turn: {summarize_ms(total)}")
    parts = ("form", "suggest", "categories", "encoder", "triage", "request_type", "search",
             "duplicates")
    print(f"\n  {'part':<14}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'share':>8}")
    mean_total = statistics.fmean(total)
    for part in parts:
        ms = [s.get(part, 0.0) * 1000 for s in steps]
        print(f"  {part:<14}{percentile(ms, 50):>9.2f}{percentile(ms, 95):>9.2f}"
              f"{statistics.fmean(ms):>9.2f}{statistics.fmean(ms) / (mean_total * 1000):>8.1%}")
    print("  (categories includes encoder; search = unit lookup in classify + answers in suggest;"
          "\n   suggest = everything but the form; other = suggest minus the timed parts)")
    other = [s["suggest"] - sum(s.get(p, 0.0) for p in ("categories", "triage", "request_type",
                                                        "search", "duplicates")) for s in steps]
    print(f"  {'other':<14}{percentile(other, 50) * 1000:>9.2f}{percentile(other, 95) * 1000:>9.2f}"
          f"{statistics.fmean(other) * 1000:>9.2f}")
    slow = [e for e in ENCODES if e[0] > 0.01]
    if ENCODES:
        print(f"\n  encoder calls: {len(ENCODES)} for {len(steps)} turns; {len(slow)} took > 10 ms"
              f" (the others answered from a cache), those: "
              f"{summarize_ms([e[0] for e in slow]) if slow else '-'}; mean input "
              f"{statistics.fmean(e[2] for e in slow) if slow else 0:.0f} characters")
        hit = [s["total"] * 1000 for s in steps if s.get("encoder", 0) <= 0.01]
        rest = (f"text path without one: p50 {percentile(hit, 50):.1f} ms, "
                f"p95 {percentile(hit, 95):.1f} ms" if hit else "every turn encoded something")
        print(f"  turns with an encoder miss: {len(steps) - len(hit)}/{len(steps)}; {rest}")
    if args.suggestions:
        args.suggestions.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n"
                                            for s in seen), encoding="utf-8")
    if args.compare:
        compare(seen, args.compare)
    p95 = percentile(total, 95) * 1000
    biggest = max(parts[2:], key=lambda p: statistics.fmean(s.get(p, 0.0) for s in steps))
    verdict = "met" if p95 <= GOAL_P95_MS else f"missed by {p95 - GOAL_P95_MS:.1f} ms"
    print(f"\np95 {p95:.1f} ms vs goal {GOAL_P95_MS:.0f} ms: {verdict}; "
          f"largest part: {biggest}")
    ctx.close()
    shutil.rmtree(store_dir, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
