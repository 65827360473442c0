"""Dispatch benchmark: the handling unit of a citizen's question, predicted from the question alone.

On ../shared/data/knowledge/beijing_gov_qa.csv (question, answer, handling ``unit``). The rows are
split in two halves A / B, stratified by unit (seeded). Half A's answers are imported, with
their ids and units but WITHOUT their questions, into a fresh COPILOT_HOME; each question of half
B is then dispatched, so the row's own answer is never in the index when its question is asked:

(i)   retrieval, top answer: the unit of the best answer the search returns (what
      ``copilot.classification`` suggests today);
(ii)  retrieval, vote: the units of the top k answers (k = 5, 10) weighted by their scores;
(iii) history: a category model trained (``classifier.training.train``) from half A's questions
      to their units, i.e. "units that handled similar tickets" — TF-IDF (asked for), and e5 and
      the ensemble for comparison;
(iv)  history TF-IDF + retrieval vote (k = 10): the average of the two unit distributions;
(v)   the product: the dispatch model trained from half A's questions to their units by
      ``copilot.dispatch.train_dispatch`` (what ``copilot dispatch train`` runs) and saved in a
      home, then the unit suggestion of ``copilot.classification`` (``Classifier.dispatcher``,
      the saved model averaged with the vote of the top 10 answers), scored on half B — with
      the TF-IDF model and, with e5, the ensemble (the default of ``copilot dispatch train``).

Then the halves swap and the two directions are averaged. Prints top-1 and top-3 unit accuracy
of each, the number of units, and the majority-class baseline. ``--folds K`` (K > 2) uses K
stratified folds instead: each fold's questions are dispatched with the answers and the
history of the other K − 1 folds (a hotline that trains on all its history: 80 % of the rows
at K = 5, where the halves give 50 %).

The homes (database and index of each half) and the search results are cached in
/tmp/hotline-dispatch-cache, keyed by the content, so a second run does not encode again
(--fresh: a temporary home, nothing reused); e5 vectors of the questions are cached by
bench/train_cache.py.

    .venv/bin/python bench/dispatch_bench.py [--seed 0] [--folds 2] [--fresh]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")  # two shared cores
os.environ.setdefault("MKL_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import argparse
import hashlib
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.retrieval_bench import answers_csv, load_qa
from bench.train_cache import cached_embedder
from classifier.text_features import e5_embedder, lead
from classifier.training import LabelledData, stratified_folds, stratified_split, train
from copilot.context import AppContext
from copilot.dispatch import DEFAULT_METHOD, train_dispatch
from copilot.settings import Settings
from knowledge_base.importer import import_table

CACHE = Path("/tmp/hotline-dispatch-cache")
TOP_K = 10
GOAL_TOP1 = 0.95

Ranking = list[str]  # units, best first


def quiet(_message: str) -> None:
    pass


def search_units(index_rows: list[dict[str, str]], queries: list[str], fresh: bool,
                 tmp: Path) -> tuple[list[list[tuple[str, float]]], str]:
    """For each query, the (unit, score) of the top ``TOP_K`` answers of an index holding
    ``index_rows``' answers (no questions); and how long the build and the searches took."""
    table = answers_csv(index_rows)
    digest = hashlib.sha256(table).hexdigest()[:16]
    qdigest = hashlib.sha256("\x1e".join(queries).encode()).hexdigest()[:16]
    home = tmp / digest if fresh else CACHE / f"home-{digest}"
    hits_file = home / f"hits-{qdigest}-top{TOP_K}.json"
    if not fresh and hits_file.exists():
        return json.loads(hits_file.read_text(encoding="utf-8")), "cached"
    marker = home / ".imported"
    if not marker.exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
    ctx = AppContext(Settings(home=home, load_demo=False))
    try:
        if not marker.exists():
            with ctx.db.session() as session:
                import_table(session, "answers", table, "dispatch.csv", actor="bench")
        started = time.perf_counter()
        index = ctx.index  # built (or loaded when cached)
        built = time.perf_counter() - started
        marker.touch()
        started = time.perf_counter()
        results = []
        for query in queries:
            hits = index.search(query[: ctx.settings.max_query_chars], TOP_K)
            results.append([(h.unit or "", float(h.score)) for h in hits])
        searched = time.perf_counter() - started
    finally:
        ctx.close()
    hits_file.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    return results, (f"index of {len(index_rows)} answers {built:.0f} s, "
                     f"{len(queries)} searches {searched:.0f} s")


def vote(hits: list[tuple[str, float]], k: int) -> dict[str, float]:
    """Unit → share of the summed scores of the top ``k`` answers."""
    totals: dict[str, float] = defaultdict(float)
    for unit, score in hits[:k]:
        totals[unit] += max(score, 1e-6)
    total = sum(totals.values()) or 1.0
    return {u: s / total for u, s in totals.items()}


def ranked(scores: dict[str, float]) -> Ranking:
    return sorted(scores, key=lambda u: -scores[u])


def first_units(hits: list[tuple[str, float]]) -> Ranking:
    return list(dict.fromkeys(unit for unit, _ in hits))


def history_model(rows: list[dict[str, str]], method: str,
                  embed: Callable[[list[str]], np.ndarray] | None
                  ) -> Callable[[list[str]], list[dict[str, float]]]:
    """Train the category model from ``rows``' questions to their units (the product's
    training procedure, final model on all rows); returns texts → unit probabilities."""
    data = LabelledData([r["question"] for r in rows], [(r["unit"],) for r in rows],
                        ["question"], ["unit"], "beijing_gov_qa.csv (half)", "", len(rows))
    model = train(data, method, seed=0, embed=embed, progress=quiet).model

    def predict(texts: list[str]) -> list[dict[str, float]]:
        probs = model.raw_proba(texts, embed=embed)
        return [{c[0]: float(p) for c, p in zip(model.classes, row, strict=True)}
                for row in probs]

    return predict


def product_rankings(rows: list[dict[str, str]], queries: list[str],
                     hits: list[list[tuple[str, float]]], method: str,
                     embed: Callable[[list[str]], np.ndarray] | None, home: Path
                     ) -> list[Ranking]:
    """The product's suggestion (top 3 units) for each query: the dispatch model trained and
    saved through ``copilot.dispatch.train_dispatch`` in ``home``, loaded and blended by the
    app's classifier (``ctx.classifier.dispatcher``) with the vote of the cached ``hits``."""
    data = LabelledData([r["question"] for r in rows], [(r["unit"],) for r in rows],
                        ["question"], ["unit"], "beijing_gov_qa.csv (half)", "", len(rows))
    train_dispatch(home, data, method, seed=0, embed=embed, progress=quiet)
    ctx = AppContext(Settings(home=home, load_demo=False))
    try:
        dispatcher = ctx.classifier.dispatcher
        if embed is not None:
            dispatcher.embedder = lambda: embed  # the cached e5 vectors, not the encoder
        out = []
        for query, found in zip(queries, hits, strict=True):
            answers = [SimpleNamespace(unit=u, score=s, unit_phone=None, id="", category_path=[])
                       for u, s in found]
            out.append([u["name"] for u in dispatcher.suggest(query, answers)])
        return out
    finally:
        ctx.close()


def mix(a: dict[str, float], b: dict[str, float], weight: float = 0.5) -> dict[str, float]:
    return {u: weight * a.get(u, 0.0) + (1 - weight) * b.get(u, 0.0) for u in {*a, *b}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fresh", action="store_true", help="no cached homes or results")
    parser.add_argument("--folds", type=int, default=2,
                        help="2: the halves A / B; more: that many stratified folds")
    parser.add_argument("--no-e5-history", action="store_true",
                        help="only the TF-IDF history model (no e5 question vectors)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    qa = load_qa()
    units = [r["unit"] for r in qa]
    counts = Counter(units)
    if args.folds <= 2:
        half_a, half_b = stratified_split(units, 0.5, args.seed)
        halves = {"A": [qa[i] for i in half_a], "B": [qa[i] for i in half_b]}
        splits = [("A", halves["A"], "B", halves["B"]), ("B", halves["B"], "A", halves["A"])]
        print(f"== beijing_gov_qa: {len(qa)} rows, {len(counts)} units; halves A "
              f"{len(half_a)} / B {len(half_b)} (stratified by unit, seed {args.seed}); the "
              "index holds one half's answers (no questions), the other half's questions are "
              "dispatched; then swapped")
    else:
        folds = stratified_folds(units, args.folds, args.seed)
        splits = [(f"not {k}", [qa[i] for f in folds if f is not fold for i in f], str(k),
                   [qa[i] for i in fold]) for k, fold in enumerate(folds)]
        print(f"== beijing_gov_qa: {len(qa)} rows, {len(counts)} units; {len(folds)} folds "
              f"(stratified by unit, seed {args.seed}); each fold's questions are dispatched "
              "with the other folds' answers (no questions) and history")
    print("   units: " + ", ".join(f"{u} {n}" for u, n in counts.most_common()))

    settings = Settings(load_demo=False)
    embed: Callable[[list[str]], np.ndarray] | None = None
    if not args.no_e5_history:
        from retrieval.encoder import load_encoder

        encoder = load_encoder(str(settings.e5_dir), settings.torch_threads,
                               settings.encoder_batch_size)
        questions = [r["question"] for r in qa]
        # the questions and their leads (what the e5 head reads), encoded once and cached
        everything = list(dict.fromkeys([*questions, *(lead(q) for q in questions)]))
        started = time.perf_counter()
        vectors = cached_embedder(e5_embedder(encoder))(everything)
        print(f"   e5 vectors of the {len(qa)} questions and their leads: "
              f"{time.perf_counter() - started:.0f} s (cached in /tmp/hotline-train-cache)")
        by_text = dict(zip(everything, vectors, strict=True))
        embed = _lookup(by_text)

    methods = ["majority class (of the index half)", "(i) retrieval: top answer's unit",
               "(ii) retrieval: vote top-5", "(ii) retrieval: vote top-10",
               "(iii) history: TF-IDF + SVM"]
    if embed is not None:
        methods += ["(iii) history: e5 + logistic reg.", "(iii) history: ensemble"]
    methods += ["(iv) history TF-IDF + vote top-10"]
    product = {f"(v) product: {m} model + vote" + (" (default)" if m == DEFAULT_METHOD else ""): m
               for m in (("tfidf", "ensemble") if embed is not None else ("tfidf",))}
    methods += list(product)
    results: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
    pairs: dict[str, list[tuple[str, str]]] = {m: [] for m in methods}  # (gold, predicted)
    with tempfile.TemporaryDirectory() as tmp:
        for index_name, index_rows, query_name, query_rows in splits:
            queries = [r["question"] for r in query_rows]
            gold = [r["unit"] for r in query_rows]
            hits, took = search_units(index_rows, queries, args.fresh, Path(tmp))
            print(f"-- index {index_name} ({len({r['unit'] for r in index_rows})} units), "
                  f"questions {query_name} ({len(set(gold))} units): {took}")
            common = [u for u, _ in Counter(r["unit"] for r in index_rows).most_common(3)]
            rankings: dict[str, list[Ranking]] = {
                methods[0]: [common] * len(gold),
                methods[1]: [first_units(h) for h in hits],
                methods[2]: [ranked(vote(h, 5)) for h in hits],
                methods[3]: [ranked(vote(h, 10)) for h in hits],
            }
            started = time.perf_counter()
            tfidf = history_model(index_rows, "tfidf", embed)(queries)
            tfidf_s = time.perf_counter() - started
            rankings[methods[4]] = [ranked(p) for p in tfidf]
            if embed is not None:
                for name, method in ((methods[5], "e5"), (methods[6], "ensemble")):
                    probs = history_model(index_rows, method, embed)(queries)
                    rankings[name] = [ranked(p) for p in probs]
            rankings[methods[-1 - len(product)]] = [
                ranked(mix(p, vote(h, 10))) for p, h in zip(tfidf, hits, strict=True)]
            for name, method in product.items():
                started = time.perf_counter()
                rankings[name] = product_rankings(index_rows, queries, hits, method, embed,
                                                  Path(tmp) / f"product-{query_name}-{method}")
                print(f"   {name}: trained, saved and run in "
                      f"{time.perf_counter() - started:.1f} s")
            print(f"   history TF-IDF trained and run in {tfidf_s:.1f} s")
            for name, ranks in rankings.items():
                top1 = statistics.fmean(r[:1] == [g] for r, g in zip(ranks, gold, strict=True))
                top3 = statistics.fmean(g in r[:3] for r, g in zip(ranks, gold, strict=True))
                results[name].append((top1, top3))
                pairs[name] += [(g, r[0] if r else "") for r, g in zip(ranks, gold, strict=True)]

    per = "direction (A→B, B→A)" if len(splits) == 2 else "fold"
    print(f"\n   {'method':46s} {'top-1':>7s} {'top-3':>7s}   top-1 per {per}"
          f"   goal: top-1 ≥ {GOAL_TOP1:.2f}")
    for name, scores in results.items():
        top1 = statistics.fmean(s[0] for s in scores)
        top3 = statistics.fmean(s[1] for s in scores)
        print(f"   {_pad(name, 46)} {top1:7.3f} {top3:7.3f}   "
              + "  ".join(f"{s[0]:.3f}" for s in scores))
    best = max(results, key=lambda m: statistics.fmean(s[0] for s in results[m]))
    print(f"\n   {best}, both directions: recall per unit (gold count), most confused")
    per_unit = Counter(g for g, _ in pairs[best])
    right = Counter(g for g, p in pairs[best] if g == p)
    print("   " + ", ".join(f"{u} {right[u] / n:.2f} ({n})" for u, n in per_unit.most_common()))
    wrong = Counter((g, p) for g, p in pairs[best] if g != p)
    portal = "首都之窗"  # the city portal: answers on every topic, not a line department
    rest = [(g, p) for g, p in pairs[best] if g != portal]
    print(f"   top-1 without the questions {portal} answered: "
          f"{statistics.fmean(g == p for g, p in rest):.3f} (n={len(rest)})")
    print("   " + ", ".join(f"{g}→{p} {n}" for (g, p), n in wrong.most_common(10)))


def _lookup(by_text: dict[str, np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([by_text[t] for t in texts])

    return embed


def _pad(text: str, width: int) -> str:
    from bench.triage_bench import _pad as pad

    return pad(text, width)


if __name__ == "__main__":
    main()
