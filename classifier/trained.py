"""The category model trained from a hotline's labelled history, and where it is kept.

The model predicts the deepest labelled level (a *leaf* is the full label path, e.g.
``("城乡建设", "市政管理", "路灯")``) and rolls the leaf probabilities up to every upper level,
so a level's scores are proper probabilities (calibrated by one temperature per level) and
never contradict each other. The top result is decoded top-down: the first class of level
*k* is always a child of the first class of level *k − 1*; the other entries follow by score.

It lives in ``COPILOT_HOME/models/classifier``: a link to a folder holding ``model.joblib`` (the
scikit-learn objects), ``manifest.json``, ``report.json`` and the confusion matrices. Saving
writes a new folder and then switches the link in one rename, so a crash mid-save leaves the old
model in place. The pickle is only ever read from that folder, which this program wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
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
from classifier.text_features import Embed, apply_temperature, e5_features, softmax
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

    @property
    def levels(self) -> int:
        return len(self.classes[0]) if self.classes else 0

    @property
    def needs_encoder(self) -> bool:
        return self.e5_head is not None and self.weight < 1.0

    def raw_proba(self, texts: list[str], embed: Embed | None = None,
                  vectors: np.ndarray | None = None) -> np.ndarray:
        """Uncalibrated leaf probabilities (rows: texts, columns: ``classes``)."""
        parts: list[tuple[float, np.ndarray]] = []
        if self.tfidf_head is not None and self.weight > 0:
            features: sparse.spmatrix = self.vectorizer.transform(texts)
            parts.append((self.weight, self.tfidf_head.predict_proba(features)))
        if self.needs_encoder:
            if vectors is None:
                if embed is None:
                    raise ValueError(f"the {self.method} model needs the e5 encoder")
                vectors = e5_features(texts, embed) if self.e5_lead else embed(texts)
            parts.append((1.0 - self.weight, self.e5_head.predict_proba(vectors)))
        total = sum(w for w, _ in parts)
        return sum(w * p for w, p in parts) / total  # type: ignore[return-value]

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
                codes: dict[tuple[str, ...], str] | None = None) -> Prediction:
        """Top ``k`` classes at every level (up to 3 levels), with knowledge base codes where the
        label path is a taxonomy path of the knowledge base."""
        if not text.strip():
            raise ValueError("the text to classify is empty")
        leaf = self.raw_proba([text], embed)
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


def model_dir(home: Path) -> Path:
    return home / "models" / "classifier"


def manifest_path(home: Path) -> Path:
    return model_dir(home) / MANIFEST


def read_manifest(home: Path) -> dict[str, Any] | None:
    path = manifest_path(home)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def save_model(home: Path, model: TrainedModel, manifest: dict[str, Any],
               files: dict[str, str | bytes]) -> Path:
    """Write the model, its manifest and ``files`` (name → content) to a new folder, then switch
    ``models/classifier`` to it atomically and delete the previous folder."""
    parent = home / "models"
    parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = parent / f"classifier-{stamp}-{uuid.uuid4().hex[:6]}"
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
        link = model_dir(home)
        old = link.resolve() if link.is_symlink() else None
        if link.exists() and not link.is_symlink():
            shutil.rmtree(link)  # a folder left by hand: replaced
        tmp_link = parent / f".classifier-link-{uuid.uuid4().hex[:6]}"
        tmp_link.symlink_to(target.name)
        os.replace(tmp_link, link)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    if old is not None and old != target.resolve() and old.parent == parent.resolve():
        shutil.rmtree(old, ignore_errors=True)
    logger.info("saved the category model in %s", target)
    return target


def load_model(home: Path) -> tuple[TrainedModel, dict[str, Any]] | None:
    """The saved model and its manifest, or None when there is none (cold start)."""
    manifest = read_manifest(home)
    if manifest is None:
        return None
    model = joblib.load(model_dir(home) / MODEL_FILE)
    if not isinstance(model, TrainedModel):
        raise ValueError(f"{model_dir(home)} does not hold a category model")
    return model, manifest


def remove_model(home: Path) -> bool:
    """Delete the saved model (back to the cold start); False when there was none."""
    link = model_dir(home)
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
