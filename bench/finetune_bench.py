"""Choosing the fine-tuning settings of ``classifier train --method finetune`` by measurement.

On the Teddy labelled messages (457, level 1, 7 classes), the same 5 stratified folds as
bench/categories_cv_bench.py: on each fold's training rows, ``classifier.training.train``
(``auto``, the frozen heads, with the Teddy taxonomy as their prior as ``copilot classifier
train`` does, and without it) and ``classifier.finetune.fine_tune`` (the product's code, for
``--epochs``); on its test rows, the accuracy of the frozen heads, of the fine-tuned encoder
alone and of their blend at several weights of the fine-tuned side (the product uses
``FINETUNE_WEIGHT``). The fine-tuned probabilities of each fold are cached in
/tmp/hotline-train-cache (keyed by the fold's texts, the epochs and the seed). The weights
are all scored on the same folds: the best of them is an optimistic figure, the product's
weight is the honest one.

About 0.2 s a training row per epoch on two idle cores: 10 epochs take about 11 minutes a fold.

    .venv/bin/python bench/finetune_bench.py [--epochs 10] [--folds 0,1,2,3,4]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared
from bench.train_cache import CACHE_DIR, cached_embedder
from classifier.categories import CategoryClassifier
from classifier.finetune import FINETUNE_EPOCHS, FINETUNE_WEIGHT, fine_tune
from classifier.text_features import e5_embedder, lead
from classifier.training import load_labelled, train
from copilot.context import AppContext
from copilot.settings import Settings
from knowledge_base.importer import import_table
from retrieval.encoder import load_encoder

WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=FINETUNE_EPOCHS)
    parser.add_argument("--folds", default="0,1,2,3,4", help="which of the 5 folds to run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = Settings()
    encoder = load_encoder(str(settings.e5_dir), settings.torch_threads,
                           settings.encoder_batch_size)
    data = load_labelled(need_shared("messages", "teddy2020_labeled_train.csv"),
                         ["title", "text"], ["level1"])
    taxonomy = teddy_taxonomy(encoder)
    everything = list(dict.fromkeys([*data.texts, *(lead(t) for t in data.texts)]))
    by_text = dict(zip(everything, cached_embedder(e5_embedder(encoder))(everything),
                       strict=True))

    def lookup(texts: list[str]) -> np.ndarray:
        return np.stack([by_text[t] for t in texts])

    classes = sorted(set(data.labels))
    y = np.array([classes.index(label) for label in data.labels])
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=args.seed)
                 .split(data.texts, y))
    print(f"Teddy level 1, {len(y)} rows; fine-tuning {args.epochs} epochs; product weight "
          f"{FINETUNE_WEIGHT}")
    rows: dict[str, list[float]] = {}
    for k in (int(f) for f in args.folds.split(",")):
        train_idx, test_idx = folds[k]
        fold = replace(data, texts=[data.texts[i] for i in train_idx],
                       labels=[data.labels[i] for i in train_idx])
        test_texts = [data.texts[i] for i in test_idx]
        frozen, no_prior = (
            _in_order(m.raw_proba(test_texts, embed=lookup), m.classes, classes)
            for m in (train(fold, "auto", seed=args.seed, embed=lookup, progress=lambda _m: None,
                            taxonomy=prior).model for prior in (taxonomy, None)))
        started = time.perf_counter()
        key = hashlib.sha256("\x1e".join([*fold.texts, *test_texts]).encode()).hexdigest()[:16]
        cache = CACHE_DIR / f"finetuned-{key}-e{args.epochs}-s{args.seed}.npy"
        if cache.exists():
            tuned = np.load(cache)
        else:
            head = fine_tune(fold.texts, [classes.index(label) for label in fold.labels],
                             len(classes), encoder, args.seed, args.epochs,
                             progress=lambda _m: None)
            tuned = head.predict_proba(test_texts, encoder)
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            np.save(cache, tuned)
        took = time.perf_counter() - started
        gold = y[test_idx]
        w = FINETUNE_WEIGHT
        scores = {"frozen heads (auto)": frozen, "frozen heads, no prior": no_prior,
                  "fine-tuned alone": tuned,
                  f"no prior, blend at {w}": (1 - w) * no_prior + w * tuned}
        scores.update({f"blend, fine-tuned at {w}": (1 - w) * frozen + w * tuned
                       for w in WEIGHTS})
        line = []
        for name, probs in scores.items():
            acc = float((probs.argmax(axis=1) == gold).mean())
            rows.setdefault(name, []).append(acc)
            line.append(f"{acc:.3f}")
        print(f"fold {k}: " + " ".join(line) + f"  (fine-tuning {took:.0f} s)", flush=True)
    print(f"{'':28s} mean accuracy over {len(next(iter(rows.values())))} fold(s)")
    for name, accs in rows.items():
        product = name == f"blend, fine-tuned at {FINETUNE_WEIGHT}"
        mark = "  <- the product (prior and weight)" if product else ""
        print(f"  {name:28s} {np.mean(accs):.3f}  ({' '.join(f'{a:.3f}' for a in accs)}){mark}")


def teddy_taxonomy(encoder: object) -> CategoryClassifier:
    """The cold-start classifier of the Teddy taxonomy (the training's prior)."""
    path = need_shared("taxonomy", "teddy2020_label_system_3level.csv")
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext(Settings(home=Path(tmp), load_demo=False))
        with ctx.db.session() as session:
            import_table(session, "taxonomy", path.read_bytes(), path.name)
        model = CategoryClassifier.build(ctx.db, encoder,  # type: ignore[arg-type]
                                         cache=CACHE_DIR / "teddy-taxonomy-prototypes.npz")
        ctx.close()
    return model


def _in_order(probs: np.ndarray, have: list[tuple[str, ...]],
              want: list[tuple[str, ...]]) -> np.ndarray:
    out = np.zeros((probs.shape[0], len(want)))
    out[:, [want.index(c) for c in have]] = probs
    return out


if __name__ == "__main__":
    main()
