"""Features and probability tools for the trained category model (classifier/training.py).

- TF-IDF of character 1–3-grams (no segmentation needed, robust to the typos of transcripts),
  alone (``chars``) or beside jieba words and the *lead* (the first sentence: a message's title,
  the opening words of a call) as a block of its own, so what a text is about outweighs its
  details (``rich``); training chooses between them by measurement,
- frozen e5 sentence embeddings (``query:`` prefix, L2-normalised) of the text and of its lead,
- temperature scaling of class probabilities and the Expected Calibration Error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from retrieval.lexical import jieba_module

# e5 reads at most 256 tokens (retrieval/encoder.py); about 400 Chinese characters fill them.
E5_MAX_CHARS = 400
# What the character n-gram side reads of one text.
TFIDF_MAX_CHARS = 2000
# The lead: up to the first sentence end (kept), at most this many characters.
LEAD_MAX_CHARS = 60
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")


class QueryEncoder(Protocol):  # the part of retrieval.encoder.Encoder used here
    def queries(self, texts: list[str]) -> np.ndarray: ...


Embed = Callable[[list[str]], np.ndarray]


def tfidf_vectorizer(max_features: int = 200_000) -> TfidfVectorizer:
    """Character 1–3-grams within word boundaries, sublinear term frequency."""
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True,
                           max_features=max_features, dtype=np.float32,
                           preprocessor=_preprocess)


def text_vectorizer(features: str = "rich", max_features: int = 200_000
                    ) -> TfidfVectorizer | FeatureUnion:
    """The TF-IDF features of the trained model: ``chars``, character n-grams of the text;
    ``rich``, those beside its jieba words and the character n-grams of its lead."""
    if features == "chars":
        return tfidf_vectorizer(max_features)
    if features != "rich":
        raise ValueError(f"unknown TF-IDF features {features!r}: use chars or rich")
    return FeatureUnion([
        ("chars", tfidf_vectorizer(max_features)),
        ("words", TfidfVectorizer(analyzer=words, min_df=2, sublinear_tf=True,
                                  max_features=max_features, dtype=np.float32)),
        ("lead", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2,
                                 sublinear_tf=True, max_features=max_features,
                                 dtype=np.float32, preprocessor=_lead_preprocess)),
    ])


def _preprocess(text: str) -> str:  # module level: the vectorizer is pickled with the model
    return text[:TFIDF_MAX_CHARS].lower()


def _lead_preprocess(text: str) -> str:
    return lead(text).lower()


def lead(text: str) -> str:
    """The first sentence of ``text`` with its end mark (a message's title when the title
    comes first; a short question is its own lead), at most ``LEAD_MAX_CHARS`` characters."""
    text = text.strip()
    end = _SENTENCE_END.search(text, 1)
    return text[: min(end.end() if end else len(text), LEAD_MAX_CHARS)]


def words(text: str) -> list[str]:
    """The jieba words of ``text`` (lower-cased, punctuation and spaces dropped)."""
    return [w for w in jieba_module().lcut(text[:TFIDF_MAX_CHARS].lower()) if _WORD.search(w)]


def e5_embedder(encoder: QueryEncoder) -> Embed:
    """Texts → e5 query vectors (texts cut to what the encoder reads)."""

    def embed(texts: list[str]) -> np.ndarray:
        return encoder.queries([t[:E5_MAX_CHARS] for t in texts])

    return embed


def e5_features(texts: list[str], embed: Embed) -> np.ndarray:
    """What the e5 head reads: the vector of each text beside the vector of its lead (a short
    text is its own lead, and the encoder's cache answers it once)."""
    return np.hstack([embed(texts), embed([lead(t) for t in texts])])


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities as softmax(log p / T); T > 1 softens, T < 1 sharpens."""
    if temperature == 1.0:
        return probs
    return softmax(np.log(np.clip(probs, 1e-12, 1.0)) / temperature)


def fit_temperature(probs: np.ndarray, gold: Sequence[int]) -> float:
    """The temperature that minimises the negative log-likelihood of ``gold`` (in 0.05..20)."""
    gold_idx = np.asarray(gold, dtype=np.int64)
    if len(gold_idx) == 0:
        return 1.0
    logp = np.log(np.clip(probs, 1e-12, 1.0))

    def nll(log_t: float) -> float:
        scaled = softmax(logp / np.exp(log_t))
        return float(-np.log(np.clip(scaled[np.arange(len(gold_idx)), gold_idx], 1e-12, 1)).mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool],
                               bins: int = 15) -> float:
    """ECE of the top-1 score: the bin-weighted gap between confidence and accuracy."""
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    if len(conf) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(conf[mask].mean() - right[mask].mean())
    return float(ece)
