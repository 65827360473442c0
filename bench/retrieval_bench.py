"""Retrieval benchmark on ../shared/data/knowledge/beijing_gov_qa.csv.

The answers are imported with their ids and units but WITHOUT their questions; each question is
then searched. Prints recall@1, recall@5 and MRR for dense only, lexical only and the fusion,
the index build rate, search latency percentiles and memory; then the same latency for a
knowledge base grown to --large answers by perturbed copies.

    .venv/bin/python bench/retrieval_bench.py [--queries N] [--large 20000]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared, rss_mb, summarize_ms
from copilot.context import AppContext
from copilot.settings import Settings
from knowledge_base.importer import import_table


def load_qa() -> list[dict[str, str]]:
    path = need_shared("knowledge", "beijing_gov_qa.csv")
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def answers_csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "answer", "unit"])
    for row in rows:
        writer.writerow([row["id"], row["answer"], row["unit"]])
    return buf.getvalue().encode("utf-8")


def perturb(text: str, rng: random.Random) -> str:
    """Delete, duplicate or swap a few characters: near-copies that must still be encoded."""
    chars = list(text)
    for _ in range(max(1, len(chars) // 30)):
        i = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.4 and len(chars) > 2:
            del chars[i]
        elif op < 0.7:
            chars.insert(i, chars[i])
        elif i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def build(rows: list[dict[str, str]], home: Path) -> tuple[AppContext, float]:
    ctx = AppContext(Settings(home=home, load_demo=False))
    with ctx.db.session() as session:
        import_table(session, "answers", answers_csv(rows), "bench.csv", actor="bench")
    started = time.perf_counter()
    _ = ctx.index  # builds
    return ctx, time.perf_counter() - started


def evaluate(ctx: AppContext, qa: list[dict[str, str]]) -> None:
    """Recall@1/5 and MRR@5 on all queries and on the odd-numbered half (the fusion weight
    was chosen on the even half, so the odd half is held out)."""
    from dataclasses import replace

    index = ctx.index
    linear = index.fusion

    def fused(method: str):  # type: ignore[no-untyped-def]
        def run(q: str) -> list[str]:
            index.fusion = replace(linear, method=method)
            return [h.id for h in index.search(q, 5, refresh=False)]
        return run

    methods = {
        "dense": lambda q: index.dense_only(q, 5),
        "lexical": lambda q: index.lexical_only(q, 5),
        "rrf": fused("rrf"),
        "fusion": fused("linear"),
    }
    print(f"{'method':8s} {'R@1':>6s} {'R@5':>6s} {'MRR@5':>6s}   held-out half: R@1 R@5 MRR@5")
    for name, run in methods.items():
        hits = []
        for row in qa:
            ids = run(row["question"])
            hits.append(ids.index(row["id"]) + 1 if row["id"] in ids[:5] else 0)

        def stats(ranks: list[int]) -> str:
            n = len(ranks)
            return (f"{sum(r == 1 for r in ranks) / n:6.3f} {sum(r > 0 for r in ranks) / n:6.3f} "
                    f"{sum(1 / r for r in ranks if r) / n:6.3f}")
        print(f"{name:8s} {stats(hits)}   {stats(hits[1::2])}")
    index.fusion = linear


def latency(ctx: AppContext, queries: list[str]) -> list[float]:
    index = ctx.index
    for q in queries[:20]:
        index.search(q, 5)  # warm-up
    times = []
    for q in queries:
        started = time.perf_counter()
        index.search(q, 5)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=0, help="evaluate only the first N")
    parser.add_argument("--large", type=int, default=20000, help="size of the grown KB (0: skip)")
    parser.add_argument("--latency-queries", type=int, default=300)
    args = parser.parse_args()

    qa = load_qa()
    queries = qa[: args.queries] if args.queries else qa
    with tempfile.TemporaryDirectory() as tmp:
        ctx, build_s = build(qa, Path(tmp) / "home")
        print(f"== beijing_gov_qa: {len(qa)} answers (imported without questions), "
              f"{len(queries)} queries")
        print(f"index build: {build_s:.1f} s, {len(qa) / build_s:.0f} answers/s "
              f"({ctx.index.last_build})")
        evaluate(ctx, queries)
        lat = latency(ctx, [r["question"] for r in qa[: args.latency_queries]])
        print(f"search latency (fusion, top 5): {summarize_ms(lat)}")
        print(f"peak RSS: {rss_mb():.0f} MB")
        ctx.close()

        if args.large:
            rng = random.Random(12345)
            grown = list(qa)
            while len(grown) < args.large:
                src = qa[len(grown) % len(qa)]
                grown.append({"id": f"{src['id']}-copy{len(grown)}", "unit": src["unit"],
                              "answer": perturb(src["answer"], rng)})
            ctx, build_s = build(grown, Path(tmp) / "large")
            print(f"== grown knowledge base: {len(grown)} answers")
            print(f"index build: {build_s:.1f} s, {len(grown) / build_s:.0f} answers/s")
            lat = latency(ctx, [r["question"] for r in qa[: args.latency_queries]])
            print(f"search latency (fusion, top 5): {summarize_ms(lat)}")
            print(f"peak RSS: {rss_mb():.0f} MB")
            ctx.close()


if __name__ == "__main__":
    main()
