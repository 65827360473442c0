"""Category and request-type classification on the shared labelled messages, cross-validated.

(a) Teddy Cup labelled messages (457, level 1, 7 classes): 5-fold stratified cross-validation:
    ``classifier.training.train`` on each fold's training rows (TF-IDF + linear SVM, e5 +
    logistic regression, and their ensemble), after importing the Teddy three-level taxonomy
    into a temporary COPILOT_HOME so the predicted label paths map to knowledge base codes.
    Next to it, the cold start (``CategoryClassifier.build`` on that taxonomy, names only) on
    the same folds' texts. Training is given that cold-start model as the taxonomy prior, as
    ``copilot classifier train`` does (classifier/taxonomy_prior.py); ``auto, no prior`` is
    the same training without it (and every method goes without it under --no-cold-start).
(b) Beijing messages: ``type`` (建言 / 投诉/求助 / 咨询), the rule-based
    ``classifier.request_type`` against a trained TF-IDF model on the same held-out 20 % split
    (labels mapped as bench/triage_bench.py does), and ``domain`` with a trained TF-IDF model
    (``classifier.training.train``, held-out 20 %).

e5 vectors of whole files are cached in /tmp/hotline-train-cache (bench/train_cache.py).

With ``--methods finetune`` the e5 encoder is fine-tuned on each fold's training rows
(classifier/finetune.py): about 12 minutes a fold on two idle cores.

    .venv/bin/python bench/categories_cv_bench.py [--methods tfidf,e5,ensemble,auto,finetune]
        [--folds 5]
        [--skip-teddy] [--skip-beijing] [--no-cold-start]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")  # two shared cores
os.environ.setdefault("MKL_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared
from bench.train_cache import CACHE_DIR, cached_embedder
from bench.triage_bench import BEIJING_MAP, _bucket, _pad
from classifier.categories import CategoryClassifier
from classifier.request_type import request_type
from classifier.text_features import E5_MAX_CHARS, e5_embedder, lead
from classifier.trained import taxonomy_codes
from classifier.training import (
    Features,
    LabelledData,
    load_labelled,
    stratified_split,
    train,
)
from copilot.context import AppContext
from copilot.settings import Settings
from knowledge_base.importer import import_table

GOAL_TEDDY_ACCURACY = 0.90


def _scores(gold: list[str], pred: list[str]) -> tuple[float, float]:
    acc = float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))
    return acc, float(f1_score(gold, pred, average="macro", zero_division=0))


def _mean_std(values: list[float]) -> str:
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"


class CachedQueries:
    """The encoder's ``queries``, answering from vectors already computed for known texts (so the
    cold start reuses the cached e5 vectors of the messages instead of encoding them again)."""

    def __init__(self, encoder: object, known: dict[str, np.ndarray]) -> None:
        self.encoder, self.known = encoder, known

    def queries(self, texts: list[str]) -> np.ndarray:
        keys = [t[:E5_MAX_CHARS] for t in texts]
        if all(k in self.known for k in keys):
            return np.stack([self.known[k] for k in keys])
        return self.encoder.queries(texts)  # type: ignore[attr-defined]


def quiet(_message: str) -> None:
    pass


def bench_teddy(methods: list[str], n_folds: int, seed: int, cold_start: bool) -> None:
    taxonomy = need_shared("taxonomy", "teddy2020_label_system_3level.csv")
    teddy = need_shared("messages", "teddy2020_labeled_train.csv")
    data = load_labelled(teddy, ["title", "text"], ["level1"])
    gold = [label[0] for label in data.labels]
    classes = sorted(set(data.labels))
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext(Settings(home=Path(tmp), load_demo=False))
        with ctx.db.session() as session:
            import_table(session, "taxonomy", taxonomy.read_bytes(), taxonomy.name)
        codes = taxonomy_codes(ctx.db)
        mapped = [c for c in classes if c in codes]
        print(f"== (a) Teddy labelled messages, level 1: {len(data.texts)} rows, "
              f"{len(classes)} classes ({Counter(gold).most_common()})")
        print(f"   taxonomy imported: {len(codes)} category paths; {len(mapped)}/{len(classes)} "
              "label names map to a level-1 code: "
              + ", ".join(f"{c[0]}={codes[c]}" for c in mapped))
        features = Features(data.texts)
        by_text: dict[str, np.ndarray] = {}
        need_vectors = methods != ["tfidf"] or cold_start
        if need_vectors:
            started = time.perf_counter()
            # the texts and their leads (what the e5 head reads), encoded once and cached
            everything = list(dict.fromkeys([*data.texts, *(lead(t) for t in data.texts)]))
            vectors = cached_embedder(e5_embedder(ctx.encoder))(everything)
            by_text = dict(zip(everything, vectors, strict=True))
            features.vectors = np.stack([by_text[t] for t in data.texts])
            print(f"   e5 vectors of the {len(data.texts)} texts and their leads: "
                  f"{time.perf_counter() - started:.1f} s (cached in {CACHE_DIR})")
        cold, taxonomy_model = None, None
        if cold_start:
            assert features.vectors is not None
            known = {t[:E5_MAX_CHARS]: v for t, v in zip(data.texts, features.vectors,
                                                          strict=True)}
            started = time.perf_counter()
            model = CategoryClassifier.build(
                ctx.db, CachedQueries(ctx.encoder, known),  # type: ignore[arg-type]
                cache=CACHE_DIR / "teddy-taxonomy-prototypes.npz")
            cold = [model.predict(t).level1[0].path[0] for t in data.texts]
            taxonomy_model = model
            print(f"   cold start built and run in {time.perf_counter() - started:.1f} s "
                  f"({len(model.codes)} leaf classes, names only)")
        encoder = ctx.encoder if "finetune" in methods else None
        ctx.close()

    majority = Counter(gold).most_common(1)[0][0]

    def lookup(texts: list[str]) -> np.ndarray:
        return np.stack([by_text[t] for t in texts])

    y = np.array([classes.index(label) for label in data.labels])
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    runs = [(m, taxonomy_model) for m in methods]
    if taxonomy_model is not None and "auto" in methods:
        runs.append(("auto, no prior", None))
    rows: dict[str, list[tuple[float, float]]] = {
        m: [] for m in [*(name for name, _ in runs), "cold start", "majority"]}
    timing: dict[str, float] = Counter()
    prior_weights: dict[str, list[float]] = {}
    for train_idx, test_idx in folds.split(data.texts, y):
        fold_gold = [gold[i] for i in test_idx]
        fold = replace(data, texts=[data.texts[i] for i in train_idx],
                       labels=[data.labels[i] for i in train_idx])
        for name, prior in runs:
            method = name.split(",")[0]
            # the product's whole training procedure on the fold's training rows (its own
            # inner split chooses the SVM scale, the ensemble weight and the temperatures);
            # the saved (final) model predicts the fold's test rows
            started = time.perf_counter()
            model = train(fold, method, seed=seed, embed=lookup, progress=quiet,
                          encoder=encoder, finetune_report=False, taxonomy=prior).model
            probs = model.raw_proba([data.texts[i] for i in test_idx], embed=lookup,
                                    encoder=encoder)
            timing[name] += time.perf_counter() - started
            pred = [model.classes[int(j)][0] for j in probs.argmax(axis=1)]
            rows[name].append(_scores(fold_gold, pred))
            if model.prior is not None:
                prior_weights.setdefault(name, []).append(model.prior.weight)
        if cold is not None:
            rows["cold start"].append(_scores(fold_gold, [cold[i] for i in test_idx]))
        rows["majority"].append(_scores(fold_gold, [majority] * len(test_idx)))
    print(f"   {n_folds}-fold stratified CV (seed {seed}), accuracy and macro-F1, mean ± std "
          f"over folds; goal: accuracy ≥ {GOAL_TEDDY_ACCURACY:.2f}")
    print(f"   {'method':30s} {'accuracy':>15s} {'macro-F1':>15s}  per-fold accuracy"
          "  (train+predict s/fold)")
    for name, scores in rows.items():
        if not scores:
            continue
        label = {"tfidf": "trained TF-IDF + SVM", "e5": "trained e5 + logistic reg.",
                 "ensemble": "trained ensemble TF-IDF + e5",
                 "auto": "trained auto (the default)",
                 "auto, no prior": "auto, no taxonomy prior",
                 "finetune": "auto + fine-tuned e5",
                 "cold start": "cold start (names only)",
                 "majority": f"majority class ({majority})"}[name]
        accs = [a for a, _ in scores]
        took = f"  ({timing[name] / n_folds:.1f} s)" if name in timing else ""
        weights = prior_weights.get(name)
        chosen = (f"  taxonomy prior weight per fold {' '.join(f'{w:g}' for w in weights)}"
                  f" ({n_folds - len(weights)} fold(s) without)" if weights else "")
        print(f"   {_pad(label, 30)} {_mean_std(accs):>15s} "
              f"{_mean_std([f for _, f in scores]):>15s}  {' '.join(f'{a:.3f}' for a in accs)}"
              + took + chosen)
    if cold is not None:
        acc, f1 = _scores(gold, cold)
        print(f"   cold start on all {len(gold)} texts: accuracy {acc:.3f}, macro-F1 {f1:.3f}")


def _held_out_line(name: str, report: dict, extra: str = "") -> str:
    m = report["held_out"]["level1"]
    return (f"   {name:28s} acc {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
            f"top-3 {m['top3_accuracy']:.3f}{extra}")


def bench_beijing(seed: int) -> None:
    path = need_shared("messages", "beijing_messages_train.csv")

    data = load_labelled(path, ["text"], ["type"])
    data = _only(data, lambda label: label[0] in BEIJING_MAP)
    _, test_rows = stratified_split(data.labels, 0.2, seed)  # the split train() holds out
    gold = [BEIJING_MAP[data.labels[i][0]] for i in test_rows]
    print(f"\n== (b) Beijing messages, type: {len(data.texts)} rows, held out {len(test_rows)} "
          f"(stratified 20 %, seed {seed}); labels mapped 建言→意见建议, 咨询→咨询, "
          "投诉/求助←投诉|求助|举报")
    started = time.perf_counter()
    rule = [_bucket(request_type(data.texts[i]).type) for i in test_rows]
    rule_ms = (time.perf_counter() - started) / len(test_rows) * 1000
    acc, f1 = _scores(gold, rule)
    print(f"   {'rule-based request_type':28s} acc {acc:.3f}  macro-F1 {f1:.3f}  "
          f"({rule_ms:.2f} ms/text)")
    result = train(data, "tfidf", seed=seed, progress=quiet)
    # check: the trained model's held-out rows are the ones the rules were scored on
    assert result.report["split"]["test"] == len(test_rows)
    t = result.report["timing"]
    print(_held_out_line("trained TF-IDF + SVM", result.report,
                         f"  (fit {t['fit_s']} s on {result.report['split']['train']} rows)"))
    top = Counter(gold).most_common(1)[0]
    print(f"   {'majority class':28s} acc {top[1] / len(gold):.3f}  ({top[0]})")
    for pair in result.report["held_out"]["level1"]["most_confused"][:3]:
        print(f"     confused: {pair['gold']} → {pair['predicted']}: {pair['count']}")

    data = load_labelled(path, ["text"], ["domain"])
    result = train(data, "tfidf", seed=seed, progress=quiet)
    split = result.report["split"]
    print(f"\n== (b) Beijing messages, domain: {len(data.texts)} rows "
          f"({data.skipped_unlabelled} without a domain skipped), "
          f"{result.report['classes']} classes, held out {split['test']}")
    t = result.report["timing"]
    print(_held_out_line("trained TF-IDF + SVM", result.report,
                         f"  (fit {t['fit_s']} s on {split['train']} rows)"))
    _, test_rows = stratified_split(data.labels, 0.2, seed)
    test_gold = [data.labels[i][0] for i in test_rows]
    top = Counter(test_gold).most_common(1)[0]
    print(f"   {'majority class':28s} acc {top[1] / len(test_gold):.3f}  ({top[0]})")


def _only(data: LabelledData, keep) -> LabelledData:  # type: ignore[no-untyped-def]
    rows = [i for i, label in enumerate(data.labels) if keep(label)]
    data.texts = [data.texts[i] for i in rows]
    data.labels = [data.labels[i] for i in rows]
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="tfidf,e5,ensemble,auto",
                        help="trained methods in the Teddy CV")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cold-start", action="store_true")
    parser.add_argument("--skip-teddy", action="store_true")
    parser.add_argument("--skip-beijing", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.skip_teddy:
        bench_teddy(args.methods.split(","), args.folds, args.seed, not args.no_cold_start)
    if not args.skip_beijing:
        bench_beijing(args.seed)


if __name__ == "__main__":
    main()
