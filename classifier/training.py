"""Training the category model from a hotline's labelled history, with a held-out report.

Input: a CSV (UTF-8 or GB18030) or .xlsx table; ``text_columns`` are joined with "。";
``label_columns`` are one column (level 1) or up to three columns, level 1 first (a path in one
column such as "投诉/求助" is *not* split: real label names contain "/"). Rows with an empty
text or label are skipped and counted; a malformed row (more fields than the header) stops
the training with its line number.

Procedure (every step seeded by ``seed``):

1. stratified split of the labelled rows: ``test_size`` held out for the report (a class with
   a single example stays in training);
2. the training part is cut into ``CALIBRATION_FOLDS`` stratified folds; the heads fitted on
   the other folds predict each fold, and these out-of-fold predictions of every training row
   choose the method (``auto``), the TF-IDF variant, the ensemble weight, the SVM's scale and
   the temperatures;
3. the heads are refitted on the whole training part and scored on the held-out part: that is
   the report (accuracy, macro-F1, top-3, ECE before and after temperature scaling, confusion);
4. the model that is saved is refitted once more on *all* labelled rows, with the method,
   weight and temperatures chosen in step 2.

Method ``finetune`` does all of ``auto`` and, in steps 3 and 4, also fine-tunes the e5 encoder
on the same rows (classifier/finetune.py) and blends it in; the report gives the held-out
accuracy of the frozen heads alone beside the blend's.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from classifier.categories import CategoryClassifier
from classifier.finetune import FINETUNE_EPOCHS, FINETUNE_WEIGHT, fine_tune
from classifier.taxonomy_prior import TaxonomyPrior
from classifier.text_features import (
    Embed,
    apply_temperature,
    e5_embedder,
    e5_features,
    expected_calibration_error,
    fit_temperature,
    text_vectorizer,
)
from classifier.trained import METHODS, LinearHead, TrainedModel
from knowledge_base.tables import TableError, canonical, read_table

logger = logging.getLogger(__name__)

MAX_LEVELS = 3
# Out-of-fold predictions of the whole training part choose the method and the ensemble weight:
# on the Teddy messages a single 20 % slice (about 70 rows) chose them noisily.
CALIBRATION_FOLDS = 5
# The method that adds the fine-tuned e5 encoder to what ``auto`` chooses (classifier/finetune.py):
# asked for by name, never chosen by ``auto`` (it trains for minutes to hours on a CPU).
FINETUNE = "finetune"
ENSEMBLE_WEIGHTS = tuple(round(w, 1) for w in np.arange(0.1, 1.0, 0.1))
# Regularisation (inverse strength) of the heads. A linear SVM on TF-IDF matched logistic
# regression's accuracy on Beijing at a twentieth of the time (bench/train_bench.py). e5 vectors
# lie close together (cosines ~0.8): standardised, their logistic regression matched the
# accuracy of C = 100 on the raw vectors on the Teddy messages (0.83 against 0.77 for C = 10;
# bench/categories_cv_bench.py) and fits about four times faster; it weights the classes by the
# inverse of their frequency, so a small class is not drowned by the big ones.
SVM_C = 1.0
E5_C = 0.1
E5_CLASS_WEIGHT = "balanced"
# The TF-IDF variants the out-of-fold predictions choose between: features
# (text_features.text_vectorizer) → the SVM's class weights. On the Teddy messages "rich"
# (characters, words and the lead, balanced classes) gained 3.5 points over "chars"; on
# Beijing's request type and domain "chars" (unweighted) kept 1–1.5 points more.
TFIDF_CLASS_WEIGHTS: dict[str, str | None] = {"chars": None, "rich": "balanced"}


class TrainingError(ValueError):
    """Input the training cannot use; the message says what is wrong and what to do."""


@dataclass
class LabelledData:
    texts: list[str]
    labels: list[tuple[str, ...]]  # label path, one name per level
    text_columns: list[str]
    label_columns: list[str]
    source: str
    sha256: str
    rows_read: int
    skipped_unlabelled: int = 0
    skipped_empty_text: int = 0
    sampled_from: int | None = None

    def summary(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": self.sha256, "rows_read": self.rows_read,
                "rows_used": len(self.texts), "skipped_unlabelled": self.skipped_unlabelled,
                "skipped_empty_text": self.skipped_empty_text, "sampled_from": self.sampled_from}


def split_columns(spec: str) -> list[str]:
    return [c.strip() for c in spec.split(",") if c.strip()]


def load_labelled(path: Path, text_columns: Sequence[str], label_columns: Sequence[str],
                  max_rows: int | None = None, seed: int = 0) -> LabelledData:
    """Read the labelled rows of a table (see the module docstring for the rules)."""
    if not path.is_file():
        raise TrainingError(f"{path} does not exist or is not a file")
    if not text_columns:
        raise TrainingError("--text names no column: give one or more, e.g. --text title,text")
    if not 1 <= len(label_columns) <= MAX_LEVELS:
        raise TrainingError(f"--label names {len(label_columns)} columns: give 1 to {MAX_LEVELS}"
                            " (level 1 first, e.g. --label level1,level2,level3)")
    data = path.read_bytes()
    try:
        table = read_table(data, path.name)
    except TableError as e:
        raise TrainingError(f"{path}: {e}") from e
    wanted = {c: canonical(c) for c in [*text_columns, *label_columns]}
    missing = [c for c, key in wanted.items() if key not in table.columns]
    if missing:
        have = ", ".join(table.headers.get(c, c) for c in table.columns)
        raise TrainingError(f"{path} has no column {', '.join(repr(m) for m in missing)}; "
                            f"its columns are: {have}")
    if table.problems:
        shown = "; ".join(f"line {line}: {why}" for line, why in table.problems[:5])
        more = f" (and {len(table.problems) - 5} more)" if len(table.problems) > 5 else ""
        raise TrainingError(f"{path} has {len(table.problems)} malformed row(s): {shown}{more}. "
                            "Fix them (quote cells that contain commas) and train again")
    texts, labels, unlabelled, empty = [], [], 0, 0
    for _line, row in table.rows:
        label = tuple(row[wanted[c]].strip() for c in label_columns)
        text = "。".join(v for v in (row[wanted[c]].strip() for c in text_columns) if v)
        if not all(label):
            unlabelled += 1
        elif not text:
            empty += 1
        else:
            texts.append(text)
            labels.append(label)
    result = LabelledData(texts, labels, list(text_columns), list(label_columns), str(path),
                          hashlib.sha256(data).hexdigest(), len(table.rows), unlabelled, empty)
    if max_rows is not None and len(texts) > max_rows:
        keep = sorted(random.Random(seed).sample(range(len(texts)), max_rows))
        result.sampled_from = len(texts)
        result.texts = [texts[i] for i in keep]
        result.labels = [labels[i] for i in keep]
    n_classes = len(set(result.labels))
    if n_classes < 2:
        found = f"only {result.labels[0]}" if result.labels else "no labelled row"
        raise TrainingError(f"{path}: the labels in {', '.join(label_columns)} have {found}; "
                            "training needs at least 2 classes with labelled rows")
    return result


def stratified_split(labels: Sequence[Any], share: float, seed: int
                     ) -> tuple[list[int], list[int]]:
    """(kept, held out) indices: ``share`` of every class with ≥ 2 examples is held out (at
    least one, and at least one kept)."""
    by_class: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    rng = random.Random(seed)
    kept, held = [], []
    for label in sorted(by_class, key=str):
        members = by_class[label]
        rng.shuffle(members)
        n_held = 0 if len(members) < 2 else min(len(members) - 1,
                                                 max(1, round(len(members) * share)))
        held += members[:n_held]
        kept += members[n_held:]
    return sorted(kept), sorted(held)


def stratified_folds(labels: Sequence[Any], k: int, seed: int) -> list[list[int]]:
    """``k`` folds of indices (fewer when there are fewer rows), every class dealt round the
    folds in a seeded random order."""
    by_class: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(max(1, min(k, len(labels))))]
    dealt = 0
    for label in sorted(by_class, key=str):
        members = by_class[label]
        rng.shuffle(members)
        for i in members:
            folds[dealt % len(folds)].append(i)
            dealt += 1
    return [sorted(f) for f in folds if f]


# ------------------------------------------------------------------ fitting


@dataclass
class Features:
    """What the heads read, for all rows: the texts and (when a method needs it) e5 vectors."""

    texts: list[str]
    vectors: np.ndarray | None = None


def fit_heads(features: Features, labels: Sequence[tuple[str, ...]], rows: Sequence[int],
              classes: list[tuple[str, ...]], tfidf: str | None, e5: bool,
              svm_scale: float = 1.0) -> TrainedModel:
    """Fit the TF-IDF head (``tfidf``: its variant, a key of ``TFIDF_CLASS_WEIGHTS``) and/or
    the e5 head on ``rows``; probabilities are expanded to ``classes`` (a class absent from
    ``rows`` gets 0)."""
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[labels[i]] for i in rows])
    model = TrainedModel(method="ensemble" if tfidf and e5 else "tfidf" if tfidf else "e5",
                         classes=classes, weight=1.0 if tfidf else 0.0, e5_lead=True)
    if tfidf:
        model.vectorizer = text_vectorizer(tfidf)
        x = model.vectorizer.fit_transform([features.texts[i] for i in rows])
        svm = LinearSVC(C=SVM_C, class_weight=TFIDF_CLASS_WEIGHTS[tfidf]).fit(x, y)
        model.tfidf_head = LinearHead(svm, len(classes), svm_scale)
    if e5:
        assert features.vectors is not None
        head = make_pipeline(StandardScaler(), LogisticRegression(
            C=E5_C, class_weight=E5_CLASS_WEIGHT, max_iter=2000)).fit(features.vectors[rows], y)
        model.e5_head = LinearHead(head, len(classes))
    return model


def _proba(model: TrainedModel, features: Features, rows: Sequence[int],
           encoder: Any = None) -> np.ndarray:
    vectors = features.vectors[list(rows)] if model.reads_vectors else None  # type: ignore[index]
    return model.raw_proba([features.texts[i] for i in rows], vectors=vectors, encoder=encoder)


def _attach_finetuned(model: TrainedModel, data: LabelledData, rows: Sequence[int],
                      index: dict[tuple[str, ...], int], encoder: Any, seed: int, epochs: int,
                      progress: Callable[[str], None]) -> None:
    progress(f"fine-tuning the e5 encoder on {len(rows)} rows (about 0.2 s a text per epoch "
             "on two idle cores)")
    model.finetuned = fine_tune([data.texts[i] for i in rows],
                                [index[data.labels[i]] for i in rows], len(model.classes),
                                encoder, seed, epochs, progress=progress)
    model.finetune_weight = FINETUNE_WEIGHT


def _without_calibration(model: TrainedModel) -> TrainedModel:
    """The same heads with the SVM scale and the level temperatures at 1."""
    svm = model.tfidf_head
    head = LinearHead(svm.estimator, svm.n) if svm is not None else None
    return replace(model, tfidf_head=head, temperatures=[])


def _log_loss(probs: np.ndarray, gold: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(gold)), gold], 1e-12, 1)).mean())


# ------------------------------------------------------------------ evaluation


def level_metrics(model: TrainedModel, leaf: np.ndarray, uncalibrated: np.ndarray,
                  gold: Sequence[tuple[str, ...]], depth: int, top_pairs: int = 10
                  ) -> tuple[dict[str, Any], list[list[Any]]]:
    """Scores of level ``depth`` on held-out rows (``leaf``: the model's leaf probabilities
    before the level temperatures; ``uncalibrated``: also before the SVM's scale), and its
    confusion matrix as CSV rows."""
    classes, raw = model.level_proba(leaf, depth, calibrated=False)
    _, cal = model.level_proba(leaf, depth, calibrated=True)
    _, before = model.level_proba(uncalibrated, depth, calibrated=False)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[g[:depth]] for g in gold])
    pred = raw.argmax(axis=1)
    top3 = np.argsort(-raw, axis=1)[:, :3]
    names = [" / ".join(c) for c in classes]
    pairs = Counter((int(a), int(b)) for a, b in zip(y, pred, strict=True) if a != b)
    present = sorted(set(y.tolist()) | set(pred.tolist()))
    metrics = {
        "classes": len(classes),
        "accuracy": round(float((pred == y).mean()), 4),
        "macro_f1": round(float(f1_score(y, pred, labels=present, average="macro",
                                         zero_division=0)), 4),
        "top3_accuracy": round(float((top3 == y[:, None]).any(axis=1).mean()), 4),
        "ece_before": round(expected_calibration_error(before.max(axis=1),
                                                       before.argmax(axis=1) == y), 4),
        "ece_after": round(expected_calibration_error(cal.max(axis=1), cal.argmax(axis=1) == y),
                           4),
        "most_confused": [{"gold": names[a], "predicted": names[b], "count": n}
                          for (a, b), n in pairs.most_common(top_pairs)],
    }
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(matrix, (y, pred), 1)
    rows: list[list[Any]] = [["gold \\ predicted", *names]]
    rows += [[names[i], *matrix[i].tolist()] for i in range(len(classes)) if matrix[i].any()]
    return metrics, rows


# ------------------------------------------------------------------ training


@dataclass
class TrainingResult:
    model: TrainedModel
    report: dict[str, Any]
    confusion: dict[int, list[list[Any]]] = field(default_factory=dict)  # level → CSV rows


def train(data: LabelledData, method: str = "auto", test_size: float = 0.2, seed: int = 0,
          embed: Embed | None = None,
          progress: Callable[[str], None] = logger.info, encoder: Any = None,
          finetune_report: bool = True, finetune_epochs: int = FINETUNE_EPOCHS,
          taxonomy: CategoryClassifier | None = None) -> TrainingResult:
    """Held-out report, then the final model on all rows (see the module docstring).

    e5 vectors come from ``embed``, else from ``encoder`` (retrieval.encoder.Encoder).
    ``finetune``: the heads ``auto`` chooses, blended with the e5 encoder fine-tuned on the
    rows (it needs ``encoder``); ``finetune_report=False`` reports the frozen
    heads alone and fine-tunes once, for the saved model (benchmarks that score it elsewhere).
    ``taxonomy``: the cold-start classifier of the knowledge base; when every label path is a
    taxonomy path, its prototypes become a prior (:mod:`classifier.taxonomy_prior`) whose
    weight is chosen out of fold, kept by the models when that weight is above 0.
    """
    if method not in (*METHODS, "auto", FINETUNE):
        raise TrainingError(f"unknown method {method!r}: use auto, {', '.join(METHODS)} or "
                            f"{FINETUNE}")
    if not 0 < test_size < 1:
        raise TrainingError("--test-size must be between 0 and 1, e.g. 0.2")
    if method == FINETUNE and encoder is None:
        raise TrainingError(f"method {FINETUNE} needs the e5 encoder")
    if finetune_epochs < 1:
        raise TrainingError("--epochs must be at least 1")
    tune = method == FINETUNE
    if tune:
        method = "auto"
    if embed is None and encoder is not None:
        embed = e5_embedder(encoder)
    started = time.perf_counter()
    timing: dict[str, float] = {}
    use_e5 = method in ("e5", "ensemble", "auto")
    features = Features(data.texts)
    classes = sorted(set(data.labels))
    prior = TaxonomyPrior.of(taxonomy, classes) if taxonomy is not None and embed else None
    if use_e5 or prior is not None:
        if embed is None:
            raise TrainingError(f"method {method} needs the e5 encoder")
        progress(f"encoding {len(data.texts)} texts and their leads with e5 (10–15 texts a "
                 "second on two idle cores)")
        t = time.perf_counter()
        features.vectors = e5_features(data.texts, embed)
        timing["encode_s"] = round(time.perf_counter() - t, 1)
    index = {c: i for i, c in enumerate(classes)}
    levels = len(classes[0])
    train_rows, test_rows = stratified_split(data.labels, test_size, seed)
    if not test_rows:
        raise TrainingError("no class has 2 labelled rows, so nothing can be held out for the "
                            "report: label more rows")
    folds = [[train_rows[i] for i in fold] for fold in stratified_folds(
        [data.labels[i] for i in train_rows], CALIBRATION_FOLDS, seed + 1)]

    # step 2: choose on the out-of-fold predictions of the training part
    progress(f"choosing on out-of-fold predictions of {len(train_rows)} rows "
             f"({len(folds)} folds)")
    t = time.perf_counter()
    calib_rows, tfidf_ps, e5_p = _out_of_fold(features, data.labels, folds, classes,
                                              tfidf=method != "e5", e5=use_e5)
    gold_calib = np.array([index[data.labels[i]] for i in calib_rows])
    svm_scales = {}
    for variant, probs in tfidf_ps.items():  # the SVM margins become probabilities first
        svm_scales[variant] = 1.0 / fit_temperature(probs, gold_calib)
        tfidf_ps[variant] = apply_temperature(probs, 1.0 / svm_scales[variant])
    candidates = _candidates(tfidf_ps, e5_p, gold_calib, method)
    chosen = max(candidates, key=lambda c: (c["accuracy"], -c["log_loss"]))
    variant = chosen["tfidf_features"]
    svm_scale = svm_scales.get(variant, 1.0)
    calib_leaf = _mix(chosen["weight"], tfidf_ps.get(variant), e5_p)
    prior_report: dict[str, Any] | None = None
    if taxonomy is not None and prior is None:
        prior_report = {"weight": 0.0, "unused": "no e5 encoder" if not embed else
                        "some label paths are not taxonomy paths"}
    if prior is not None:
        query = features.vectors[calib_rows]  # type: ignore[index]
        prior_report = prior.choose(calib_leaf, query, gold_calib)
        calib_leaf = prior.blend(calib_leaf, query)
        if prior.weight <= 0:
            prior = None
    probe = TrainedModel(chosen["method"], classes)
    temperatures = [_level_temperature(probe, calib_leaf, [data.labels[i] for i in calib_rows], d)
                    for d in range(1, levels + 1)]
    timing["choose_s"] = round(time.perf_counter() - t, 1)

    # step 3: refit on the training part, report on the held-out part
    progress(f"method {chosen['method']}: refitting on {len(train_rows)} rows, "
             f"testing on {len(test_rows)}")
    t = time.perf_counter()
    evaluated = fit_heads(features, data.labels, train_rows, classes, tfidf=variant,
                          e5=chosen["weight"] < 1, svm_scale=svm_scale)
    evaluated.method, evaluated.weight = chosen["method"], chosen["weight"]
    evaluated.temperatures, evaluated.prior = temperatures, prior
    timing["fit_s"] = round(time.perf_counter() - t, 1)
    tuning: dict[str, Any] | None = None
    if tune and finetune_report:
        t = time.perf_counter()
        frozen = _proba(evaluated, features, test_rows)
        _attach_finetuned(evaluated, data, train_rows, index, encoder, seed, finetune_epochs,
                          progress)
        timing["finetune_s"] = round(time.perf_counter() - t, 1)
        gold = np.array([index[data.labels[i]] for i in test_rows])
        tuning = {"weight": FINETUNE_WEIGHT, "held_out_accuracy_frozen_heads": round(float(
            (frozen.argmax(axis=1) == gold).mean()), 4)}
    t = time.perf_counter()
    test_leaf = _proba(evaluated, features, test_rows, encoder)
    timing["predict_ms_per_text"] = round((time.perf_counter() - t) / len(test_rows) * 1000, 3)
    uncalibrated = _proba(_without_calibration(evaluated), features, test_rows, encoder)
    gold_test = [data.labels[i] for i in test_rows]
    per_level, confusion = {}, {}
    for depth in range(1, levels + 1):
        per_level[f"level{depth}"], confusion[depth] = level_metrics(
            evaluated, test_leaf, uncalibrated, gold_test, depth)

    # step 4: the final model on everything
    progress(f"refitting on all {len(data.texts)} rows for the saved model")
    t = time.perf_counter()
    final = fit_heads(features, data.labels, list(range(len(data.texts))), classes,
                      tfidf=variant, e5=chosen["weight"] < 1, svm_scale=svm_scale)
    final.method, final.weight, final.temperatures = (chosen["method"], chosen["weight"],
                                                      temperatures)
    final.prior = prior
    if tune:
        _attach_finetuned(final, data, list(range(len(data.texts))), index, encoder, seed,
                          finetune_epochs, progress)
    timing["final_fit_s"] = round(time.perf_counter() - t, 1)
    timing["total_s"] = round(time.perf_counter() - started, 1)
    counts = Counter(data.labels)
    report = {
        "method": chosen["method"],
        "requested_method": FINETUNE if tune else method,
        "finetuned": tuning if tune else None,
        "ensemble_weight_tfidf": chosen["weight"] if chosen["method"] == "ensemble" else None,
        "tfidf_features": variant,
        "taxonomy_prior": prior_report,
        "levels": levels,
        "label_columns": data.label_columns,
        "text_columns": data.text_columns,
        "data": data.summary(),
        "split": {"seed": seed, "test_size": test_size, "train": len(train_rows),
                  "test": len(test_rows), "calibration_folds": len(folds),
                  "calibration": len(calib_rows),
                  "train_only_classes": sum(1 for n in counts.values() if n < 2)},
        "classes": len(classes),
        "temperatures": [round(x, 4) for x in temperatures],
        "svm_scale": round(svm_scale, 4) if chosen["weight"] > 0 else None,
        "selection": candidates,
        "held_out": per_level,
        "timing": timing,
        "final_model": "refitted on all labelled rows after the held-out report",
    }
    return TrainingResult(final, report, confusion)


def _out_of_fold(features: Features, labels: Sequence[tuple[str, ...]],
                 folds: list[list[int]], classes: list[tuple[str, ...]], tfidf: bool, e5: bool
                 ) -> tuple[list[int], dict[str, np.ndarray], np.ndarray | None]:
    """Rows predicted, and the probabilities of them (the SVM's at scale 1) of each TF-IDF
    variant's head and of the e5 head, fitted on the other folds. A fold is skipped when the
    rest has a single class."""
    rows: list[int] = []
    tfidf_p: dict[str, list[np.ndarray]] = {v: [] for v in TFIDF_CLASS_WEIGHTS} if tfidf else {}
    e5_p: list[np.ndarray] = []
    for fold in folds:
        held = set(fold)
        rest = [i for f in folds for i in f if i not in held]
        if len({labels[i] for i in rest}) < 2:
            continue
        rows += fold
        for variant, parts in tfidf_p.items():
            model = fit_heads(features, labels, rest, classes, variant, e5=False)
            x = model.vectorizer.transform([features.texts[i] for i in fold])
            parts.append(model.tfidf_head.predict_proba(x))  # type: ignore[union-attr]
        if e5:
            model = fit_heads(features, labels, rest, classes, None, e5=True)
            e5_p.append(model.e5_head.predict_proba(features.vectors[fold]))  # type: ignore
    if not rows:
        raise TrainingError("too few labelled rows to choose the method: label more rows of "
                            "at least 2 classes")
    return (rows, {v: np.vstack(parts) for v, parts in tfidf_p.items()},
            np.vstack(e5_p) if e5_p else None)


def _mix(weight: float, tfidf_p: np.ndarray | None, e5_p: np.ndarray | None) -> np.ndarray:
    if tfidf_p is None or weight <= 0:
        assert e5_p is not None
        return e5_p
    if e5_p is None or weight >= 1:
        return tfidf_p
    return weight * tfidf_p + (1 - weight) * e5_p


def _candidates(tfidf_ps: dict[str, np.ndarray], e5_p: np.ndarray | None, gold: np.ndarray,
                method: str) -> list[dict[str, Any]]:
    """Out-of-fold scores of each method (TF-IDF variant, ensemble weight) that ``method``
    allows: every TF-IDF variant and e5 alone, and the best weight of each ensemble."""
    options: list[tuple[str, float, str | None]] = []
    if method in ("tfidf", "auto"):
        options += [("tfidf", 1.0, v) for v in tfidf_ps]
    if e5_p is not None and method in ("e5", "auto"):
        options.append(("e5", 0.0, None))
    if e5_p is not None and method in ("ensemble", "auto"):
        options += [("ensemble", w, v) for v in tfidf_ps for w in ENSEMBLE_WEIGHTS]
    scored = []
    for name, w, variant in options:
        p = _mix(w, tfidf_ps.get(variant) if variant else None, e5_p)
        scored.append({"method": name, "weight": w, "tfidf_features": variant,
                       "accuracy": round(float((p.argmax(axis=1) == gold).mean()), 4),
                       "log_loss": round(_log_loss(p, gold), 4)})
    key = lambda c: (c["accuracy"], -c["log_loss"])  # noqa: E731
    best_ensembles = [max((c for c in scored if c["method"] == "ensemble"
                           and c["tfidf_features"] == v), key=key) for v in tfidf_ps
                      if e5_p is not None and method in ("ensemble", "auto")]
    return [c for c in scored if c["method"] != "ensemble"] + best_ensembles


def _level_temperature(model: TrainedModel, leaf: np.ndarray,
                       gold: Sequence[tuple[str, ...]], depth: int) -> float:
    """The temperature that calibrates level ``depth`` (leaf logits scaled, then rolled up)."""
    classes, _ = model.level_proba(leaf, depth, calibrated=False)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[g[:depth]] for g in gold])
    if depth == model.levels:
        _, probs = model.level_proba(leaf, depth, calibrated=False)
        return fit_temperature(probs, y)

    def nll(log_t: float) -> float:
        trial = TrainedModel(model.method, model.classes,
                             temperatures=[float(np.exp(log_t))] * model.levels)
        return _log_loss(trial.level_proba(leaf, depth)[1], y)

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))
