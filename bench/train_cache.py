"""An on-disk cache of e5 embeddings for repeated benchmark runs (not part of the product)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from classifier.text_features import Embed

CACHE_DIR = Path("/tmp/hotline-train-cache")
logger = logging.getLogger(__name__)


def cached_embedder(embed: Embed, folder: Path = CACHE_DIR) -> Embed:
    """``embed``, remembering each whole list of texts in ``folder`` (keyed by its sha256)."""

    def cached(texts: list[str]) -> np.ndarray:
        digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:24]
        path = folder / f"e5-{digest}.npy"
        if path.exists():
            return np.load(path)
        vectors = embed(texts)
        if len(texts) > 50:  # one-off small calls (a single prediction) are not worth a file
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(path)
            logger.info("cached %d embeddings in %s", len(texts), path)
        return vectors

    return cached
