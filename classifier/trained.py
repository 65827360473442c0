"""The category model trained from a hotline's labelled history, and where it is kept.

The model predicts the deepest labelled level (a *leaf* is the full label path, e.g.
``("城乡建设", "市政管理", "路灯")``) and rolls the leaf probabilities up to every upper level,
so a level's scores are proper probabilities (calibrated by one temperature per level) and
never contradict each other. The top result is decoded top-down: the first class of level
*k* is always a child of the first class of level *k − 1*; the other entries follow by score.

It lives in ``COPILOT_HOME/models/classifier`` (the dispatch model, trained the same way with
the handling unit as a one-level label, in ``models/dispatch``): a link to a folder holding
``model.joblib`` (the scikit-learn objects), ``manifest.json``, ``report.json`` and the
confusion matrices. Saving writes a new folder and then switches the link in one rename, so a
crash mid-save leaves the old model in place. The pickle is only ever read from that folder,
which this program wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy import sparse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from classifier.categories import CategoryScore, Prediction
from classifier.finetune import FineTunedHead
from classifier.taxonomy_prior import TaxonomyPrior
from classifier.text_features import (
    Embed,
    apply_temperature,
    e5_embedder,
    e5_features,
    softmax,
)
from knowledge_base.db import Database
from knowledge_base.models import Category

logger = logging.getLogger(__name__)

METHODS = ("tfidf", "e5", "ensemble")
MODEL_FILE = "model.joblib"
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class TrainedModel:
    """Leaf classes with one or two linear heads; ``weight`` is the TF-IDF share of the
    ensemble average (1 = TF-IDF only, 0 = e5 only)."""

    method: str
    classes: list[tuple[str, ...]]
    vectorizer: Any = None  # TfidfVectorizer
    tfidf_head: LinearHead | None = None  # linear SVM on TF-IDF
    e5_head: LinearHead | None = None  # logistic regression on e5 vectors
    weight: float = 1.0
    temperatures: list[float] = field(default_factory=list)  # one per level, 1 = none
    # The e5 head reads the text's vector beside its lead's (text_features.e5_features); models
    # saved before that read the text's vector alone (the class default, for their pickles).
    e5_lead: bool = False
    # The e5 encoder fine-tuned on the labelled texts (method finetune), blended with the heads
    # above: ``finetune_weight`` of the average.
    finetuned: FineTunedHead | None = None
    finetune_weight: float = 0.0
    # The taxonomy's prototypes (classifier.taxonomy_prior), averaged with the heads above at
    # its own weight, before the fine-tuned blend.
    prior: TaxonomyPrior | None = None

    @property
    def levels(self) -> int:
        return len(self.classes[0]) if self.classes else 0

    @property
    def reads_vectors(self) -> bool:
        """Whether e5 vectors are read: the e5 head or the taxonomy prior has a share."""
        return (self.e5_head is not None and self.weight < 1.0) or self.uses_prior

    @property
    def uses_prior(self) -> bool:
        return self.prior is not None and self.prior.weight > 0

    @property
    def needs_encoder(self) -> bool:
        return self.reads_vectors or self.finetuned is not None

    def raw_proba(self, texts: list[str], embed: Embed | None = None,
                  vectors: np.ndarray | None = None, encoder: Any = None) -> np.ndarray:
        """Uncalibrated leaf probabilities (rows: texts, columns: ``classes``). The e5 head reads
        ``vectors``, else ``embed``'s, else ``encoder``'s (retrieval.encoder.Encoder, which the
        fine-tuned head needs)."""
        if embed is None and encoder is not None:
            embed = e5_embedder(encoder)
        base = self._frozen_proba(texts, embed, vectors)
        if self.finetuned is None or self.finetune_weight <= 0:
            return base
        if encoder is None:
            raise ValueError("the fine-tuned model needs the e5 encoder")
        tuned = self.finetuned.predict_proba(texts, encoder)
        return (1.0 - self.finetune_weight) * base + self.finetune_weight * tuned

    def _frozen_proba(self, texts: list[str], embed: Embed | None,
                      vectors: np.ndarray | None) -> np.ndarray:
        parts: list[tuple[float, np.ndarray]] = []
        if self.tfidf_head is not None and self.weight > 0:
            features: sparse.spmatrix = self.vectorizer.transform(texts)
            parts.append((self.weight, self.tfidf_head.predict_proba(features)))
        if self.reads_vectors and vectors is None:
            if embed is None:
                raise ValueError(f"the {self.method} model needs the e5 encoder")
            vectors = e5_features(texts, embed) if self.e5_lead else embed(texts)
        if self.e5_head is not None and self.weight < 1.0:
            parts.append((1.0 - self.weight, self.e5_head.predict_proba(vectors)))
        total = sum(w for w, _ in parts)
        base: np.ndarray = sum(w * p for w, p in parts) / total  # type: ignore[assignment]
        if self.uses_prior:  # the text's own vector comes first in e5_features
            return self.prior.blend(base, vectors)  # type: ignore[union-attr,arg-type]
        return base

    def level_proba(self, leaf: np.ndarray, depth: int,
                    calibrated: bool = True) -> tuple[list[tuple[str, ...]], np.ndarray]:
        """Classes of level ``depth`` (label path prefixes) and their probabilities."""
        if calibrated and self.temperatures:
            leaf = apply_temperature(leaf, self.temperatures[depth - 1])
        if depth == self.levels:
            return self.classes, leaf
        prefixes = sorted({c[:depth] for c in self.classes})
        index = {p: i for i, p in enumerate(prefixes)}
        owner = np.array([index[c[:depth]] for c in self.classes])
        rolled = np.zeros((leaf.shape[0], len(prefixes)), dtype=np.float64)
        np.add.at(rolled.T, owner, leaf.T)
        return prefixes, rolled

    def predict(self, text: str, embed: Embed | None = None, k: int = 3,
                codes: dict[tuple[str, ...], str] | None = None,
                encoder: Any = None) -> Prediction:
        """Top ``k`` classes at every level (up to 3 levels), with knowledge base codes where the
        label path is a taxonomy path of the knowledge base."""
        if not text.strip():
            raise ValueError("the text to classify is empty")
        leaf = self.raw_proba([text], embed, encoder=encoder)
        codes = codes or {}
        levels: list[list[CategoryScore]] = []
        parent: tuple[str, ...] = ()
        for depth in range(1, min(self.levels, 3) + 1):
            classes, probs = self.level_proba(leaf, depth)
            order = [int(i) for i in np.argsort(-probs[0], kind="stable")]
            first = next((i for i in order if classes[i][:depth - 1] == parent), order[0])
            chosen = [first, *[i for i in order if i != first][:k - 1]]
            parent = classes[first]
            levels.append([CategoryScore(codes.get(classes[i]), list(classes[i]),
                                         float(probs[0, i])) for i in chosen])
        levels += [[] for _ in range(3 - len(levels))]
        return Prediction(*levels)


class LinearHead:
    """A fitted scikit-learn classifier whose scores become probabilities over all ``n``
    classes (a class it never saw gets 0): ``predict_proba`` where the estimator has it,
    else softmax(decision × ``scale``) (a linear SVM; ``scale`` is fitted on held-out rows)."""

    def __init__(self, estimator: Any, n: int, scale: float = 1.0) -> None:
        self.estimator, self.n, self.scale = estimator, n, scale

    def predict_proba(self, x: Any) -> np.ndarray:
        known = self.estimator.classes_
        if hasattr(self.estimator, "predict_proba"):
            probs = self.estimator.predict_proba(x)
            if probs.shape[1] == self.n:
                return probs
            full = np.zeros((probs.shape[0], self.n), dtype=np.float64)
            full[:, known] = probs
            return full
        scores = self.estimator.decision_function(x)
        if scores.ndim == 1:  # two classes: one margin
            scores = np.column_stack([-scores, scores]) / 2
        full = np.full((scores.shape[0], self.n), -np.inf)
        full[:, known] = scores * self.scale
        return softmax(full)


def taxonomy_codes(db: Database) -> dict[tuple[str, ...], str]:
    """Every category path of the knowledge base (at every level) → its code."""
    with db.session() as session:
        nodes = session.scalars(select(Category).options(selectinload(Category.parent)))
        return {tuple(n.path()): n.code for n in nodes}


# ------------------------------------------------------------------ storage


KINDS = ("classifier", "dispatch")  # the category model; the handling-unit model


def model_dir(home: Path, kind: str = "classifier") -> Path:
    """Where the model of ``kind`` lives: ``COPILOT_HOME/models/<kind>`` (a link)."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
    return home / "models" / kind


def manifest_path(home: Path, kind: str = "classifier") -> Path:
    return model_dir(home, kind) / MANIFEST


def read_manifest(home: Path, kind: str = "classifier") -> dict[str, Any] | None:
    path = manifest_path(home, kind)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def save_model(home: Path, model: TrainedModel, manifest: dict[str, Any],
               files: dict[str, str | bytes], kind: str = "classifier") -> Path:
    """Write the model, its manifest and ``files`` (name → content) to a new folder, then switch
    ``models/<kind>`` to it atomically and delete the previous folder."""
    link = model_dir(home, kind)
    parent = home / "models"
    parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = parent / f"{kind}-{stamp}-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    try:
        joblib.dump(model, target / MODEL_FILE, compress=3)
        for name, content in files.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with (target / name).open(mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
                f.write(content)
        manifest = {**manifest, "format": FORMAT_VERSION, "folder": target.name}
        (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                       encoding="utf-8")
        old = link.resolve() if link.is_symlink() else None
        if link.exists() and not link.is_symlink():
            shutil.rmtree(link)  # a folder left by hand: replaced
        tmp_link = parent / f".{kind}-link-{uuid.uuid4().hex[:6]}"
        tmp_link.symlink_to(target.name)
        os.replace(tmp_link, link)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    if old is not None and old != target.resolve() and old.parent == parent.resolve():
        shutil.rmtree(old, ignore_errors=True)
    logger.info("saved the %s model in %s", kind, target)
    return target


def load_model(home: Path, kind: str = "classifier"
               ) -> tuple[TrainedModel, dict[str, Any]] | None:
    """The saved model and its manifest, or None when there is none (cold start)."""
    manifest = read_manifest(home, kind)
    if manifest is None:
        return None
    model = joblib.load(model_dir(home, kind) / MODEL_FILE)
    if not isinstance(model, TrainedModel):
        raise ValueError(f"{model_dir(home, kind)} does not hold a trained {kind} model")
    return model, manifest


def remove_model(home: Path, kind: str = "classifier") -> bool:
    """Delete the saved model (back to the cold start); False when there was none."""
    link = model_dir(home, kind)
    if link.is_symlink():
        target = link.resolve()
        link.unlink()
        if target.parent == (home / "models").resolve():
            shutil.rmtree(target, ignore_errors=True)
        return True
    if link.is_dir():
        shutil.rmtree(link)
        return True
    return False


class SavedModel:
    """The model of ``kind`` saved in ``home``, loaded on first use and reloaded when it is
    saved again (keyed by the manifest's folder and time); None when there is none or it
    cannot be loaded (logged: a broken model must not stop a call)."""

    def __init__(self, home: Path, kind: str = "classifier") -> None:
        self.home, self.kind = home, kind
        self._model: TrainedModel | None = None
        self._key: tuple[str, int] | None = None
        self._lock = threading.Lock()

    def get(self) -> TrainedModel | None:
        path = manifest_path(self.home, self.kind)
        try:
            key = (str(path.resolve()), path.stat().st_mtime_ns)
        except FileNotFoundError:
            self._model = self._key = None
            return None
        with self._lock:
            if key != self._key:
                self._key = key
                try:
                    loaded = load_model(self.home, self.kind)
                    self._model = loaded[0] if loaded else None
                except Exception:
                    logger.exception("cannot load the trained %s model in %s: not used (train "
                                     "again or `copilot %s remove`)", self.kind, path.parent,
                                     self.kind)
                    self._model = None
            return self._model
