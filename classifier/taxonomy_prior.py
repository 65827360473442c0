"""The taxonomy as a prior of a trained category model.

A hotline's labelled history is often small (the Teddy sample: 457 messages), while its
taxonomy names every class and the knowledge base ties answers to them. The cold-start
classifier (:mod:`classifier.categories`) reads exactly that, so a trained model keeps a copy of
its prototypes for the trained classes and averages their probabilities with its heads': a
class's prior score is its best prototype cosine with the text's e5 vector (a label path
owns the prototypes of every leaf below it), turned into probabilities by a softmax.

The share of the prior and its temperature are chosen on the out-of-fold predictions the
training already makes (``weight`` 0 when the prior does not help there), so the held-out
report stays honest. The prototypes are copied into the model: a later change of the
taxonomy does not change a trained model; train again to take it in.

Measured on the Teddy messages, level 1, 5-fold (``bench/categories_cv_bench.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.categories import CategoryClassifier
from classifier.text_features import apply_temperature, fit_temperature, softmax

PRIOR_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
COSINE_TEMPERATURE = 0.02  # e5 cosines sit close together (as in the cold start)


@dataclass
class TaxonomyPrior:
    vectors: np.ndarray  # prototype e5 query vectors, one row each (float32)
    owner: np.ndarray  # the class (index into the model's classes) of each prototype, sorted
    n_classes: int
    temperature: float = 1.0  # calibration of the prior's own softmax
    weight: float = 0.0  # its share of the model's average, chosen in training

    @classmethod
    def of(cls, cold: CategoryClassifier, classes: list[tuple[str, ...]]) -> TaxonomyPrior | None:
        """The prototypes of ``classes`` (label paths, names per level) in the cold-start
        model; None when a class has no taxonomy path, since the prior could not score it."""
        vectors, owner = [], []
        for index, label in enumerate(classes):
            leaves = {i for i, path in enumerate(cold.paths)
                      if tuple(p.strip() for p in path[:len(label)]) == label}
            rows = np.flatnonzero(np.isin(cold.proto_class, list(leaves)))
            if not len(rows):
                return None
            vectors.append(cold.vectors[rows])
            owner += [index] * len(rows)
        return cls(np.vstack(vectors).astype(np.float32), np.array(owner, dtype=np.int64),
                   len(classes))

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def proba(self, query: np.ndarray) -> np.ndarray:
        """Probabilities of the classes for texts' e5 query vectors (rows)."""
        sims = query[:, : self.dim] @ self.vectors.T
        # the prototypes are grouped by class, in class order (see ``of``)
        starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        best = np.maximum.reduceat(sims, starts, axis=1).astype(np.float64)
        return apply_temperature(softmax(best / COSINE_TEMPERATURE), self.temperature)

    def blend(self, base: np.ndarray, query: np.ndarray) -> np.ndarray:
        """``base`` (the heads' probabilities) averaged with the prior at ``weight``."""
        if self.weight <= 0:
            return base
        return (1.0 - self.weight) * base + self.weight * self.proba(query)

    def choose(self, leaf: np.ndarray, query: np.ndarray, gold: np.ndarray) -> dict[str, Any]:
        """Fit the temperature and the weight on out-of-fold probabilities ``leaf`` of the
        rows whose vectors are ``query`` (gold: class indices); returns what was chosen."""
        self.temperature = 1.0
        raw = self.proba(query)
        self.temperature = fit_temperature(raw, gold)
        prior = apply_temperature(raw, self.temperature)

        def score(w: float) -> tuple[float, float]:
            p = (1.0 - w) * leaf + w * prior
            picked = np.clip(p[np.arange(len(gold)), gold], 1e-12, None)
            return float((p.argmax(axis=1) == gold).mean()), float(np.log(picked).mean())

        scores = {w: score(w) for w in PRIOR_WEIGHTS}
        self.weight = max(PRIOR_WEIGHTS, key=lambda w: scores[w])
        return {"weight": self.weight, "temperature": round(self.temperature, 4),
                "prototypes": len(self.owner),
                "accuracy_alone": round(float((prior.argmax(axis=1) == gold).mean()), 4),
                "accuracy_without": round(scores[0.0][0], 4),
                "accuracy_with": round(scores[self.weight][0], 4)}
