"""Three-level category prediction, cold start: no labelled history needed.

Each level-3 class is represented by prototype texts — its path ("一级 / 二级 / 三级") with its
description, and the titles and question forms of its published answers — encoded with e5 as
queries (symmetric similarity). A text's score for a class is its best prototype cosine; a
level-2 or level-1 class scores as its best child. Scores become probabilities by a softmax
with ``temperature`` (cosines of e5 sit close together, so the temperature is small).

Trained models (``copilot classifier train``, from a hotline's labelled history) are the next
step; this classifier is what a hotline gets on the day it imports its taxonomy.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from knowledge_base.db import Database
from knowledge_base.models import AnswerStatus, AnswerTemplate, Category

logger = logging.getLogger(__name__)

MAX_ANSWER_PROTOTYPES = 12


class Encoder(Protocol):  # the part of retrieval.encoder.Encoder used here
    def queries(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class CategoryScore:
    code: str | None  # None: a trained label that is not a taxonomy path of the knowledge base
    path: list[str]
    score: float

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "path": self.path, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Prediction:
    """Top classes at every level, best first; ``category`` is the best class of the deepest
    level predicted (level 3, or level 1 for a model trained on level-1 labels only)."""

    level1: list[CategoryScore]
    level2: list[CategoryScore]
    level3: list[CategoryScore]

    @property
    def deepest(self) -> list[CategoryScore]:
        return self.level3 or self.level2 or self.level1

    @property
    def category(self) -> CategoryScore | None:
        return self.deepest[0] if self.deepest else None


class CategoryClassifier:
    def __init__(self, codes: list[str], paths: list[list[str]], proto_class: np.ndarray,
                 vectors: np.ndarray, encoder: Encoder, temperature: float = 0.02) -> None:
        self.codes, self.paths = codes, paths
        self.proto_class, self.vectors = proto_class, vectors
        self.encoder, self.temperature = encoder, temperature
        self._levels = [_Level.of(codes, paths, depth) for depth in (1, 2, 3)]

    @classmethod
    def build(cls, db: Database, encoder: Encoder, temperature: float = 0.02,
              cache: Path | None = None) -> CategoryClassifier:
        """Prototypes from the taxonomy and the published answers of each leaf class. With
        ``cache`` (a .npz file) the prototype vectors are kept on disk, so a restart or a
        knowledge change encodes only texts it has not seen."""
        with db.session() as session:
            nodes = list(session.scalars(select(Category).options(selectinload(Category.parent))
                                         .order_by(Category.code)))
            parents = {n.parent_id for n in nodes}
            leaves = [n for n in nodes if n.id not in parents]
            answers: dict[int, list[str]] = {}
            query = select(AnswerTemplate).where(
                AnswerTemplate.status == AnswerStatus.published,
                AnswerTemplate.category_id.is_not(None))
            for t in session.scalars(query):
                texts = answers.setdefault(t.category_id, [])  # type: ignore[arg-type]
                if len(texts) < MAX_ANSWER_PROTOTYPES:
                    texts += [t.title, *(t.questions or [])[:2]]
            codes, paths, texts, owners = [], [], [], []
            for i, leaf in enumerate(leaves):
                path = leaf.path()
                codes.append(leaf.code)
                paths.append(path)
                head = " / ".join(path)
                protos = [f"{head}：{leaf.description}" if leaf.description else head]
                protos += answers.get(leaf.id, [])[:MAX_ANSWER_PROTOTYPES]
                texts += protos
                owners += [i] * len(protos)
        vectors = (_encode(encoder, texts, cache) if texts
                   else np.zeros((0, 384), dtype=np.float32))
        logger.info("category classifier: %d classes, %d prototypes", len(codes), len(texts))
        return cls(codes, paths, np.array(owners, dtype=np.int64), vectors, encoder, temperature)

    def predict(self, text: str, k: int = 3) -> Prediction:
        if not text.strip():
            raise ValueError("the text to classify is empty")
        if not self.codes:
            return Prediction([], [], [])
        qvec = self.encoder.queries([text])[0]
        proto_scores = self.vectors @ qvec
        leaf = np.full(len(self.codes), -1.0, dtype=np.float32)
        np.maximum.at(leaf, self.proto_class, proto_scores)
        levels: list[list[CategoryScore]] = []
        for level in self._levels:
            if not level.keys:
                levels.append([])
                continue
            best = np.full(len(level.keys), -np.inf, dtype=np.float32)
            np.maximum.at(best, level.group, leaf[level.rows])
            logits = best.astype(np.float64) / self.temperature
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
            order = np.argsort(-probs)[:k]
            levels.append([CategoryScore(level.keys[i], level.paths[i], float(probs[i]))
                           for i in order])
        return Prediction(*levels)


@dataclass(frozen=True)
class _Level:
    """The classes of one depth (code prefixes, in first-seen order) and, for each leaf deep
    enough, the class it belongs to: a class scores as its best leaf."""

    keys: list[str]
    paths: list[list[str]]
    rows: np.ndarray  # leaves at least this deep
    group: np.ndarray  # their class, an index into keys

    @classmethod
    def of(cls, codes: list[str], paths: list[list[str]], depth: int) -> _Level:
        index: dict[str, int] = {}
        names: list[list[str]] = []
        rows: list[int] = []
        group: list[int] = []
        for row, (code, path) in enumerate(zip(codes, paths, strict=True)):
            if len(path) < depth:
                continue
            key = ".".join(code.split(".")[:depth])
            if key not in index:
                index[key] = len(index)
                names.append(path[:depth])
            rows.append(row)
            group.append(index[key])
        return cls(list(index), names, np.array(rows, dtype=np.int64),
                   np.array(group, dtype=np.int64))


def _encode(encoder: Encoder, texts: list[str], cache: Path | None) -> np.ndarray:
    """Query vectors of ``texts``, reusing and updating the cache file (written atomically;
    a damaged one is ignored and rewritten)."""
    if cache is None:
        return encoder.queries(texts)
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as data:
                known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            logger.warning("%s is damaged: encoding the category prototypes again", cache)
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    if todo:
        known.update(zip(todo, encoder.queries(todo), strict=True))
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")
        keep = list(dict.fromkeys(texts))
        np.savez(tmp, texts=np.array(keep), vectors=np.stack([known[t] for t in keep]))
        os.replace(tmp, cache)
    return np.stack([known[t] for t in texts]).astype(np.float32)
