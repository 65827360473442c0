"""Dense retrieval: normalised e5 vectors in a FAISS inner-product index."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class DenseIndex:
    """Exact inner-product search (cosine on normalised vectors) over ``vectors`` rows.

    Exact search is fast enough here (20,000 answers × a few rows each is a few milliseconds
    on two cores) and keeps recall exact; an IVF/HNSW index would be the step for a province.
    """

    def __init__(self, vectors: np.ndarray) -> None:
        import faiss

        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(self.vectors.shape[1])
        if len(self.vectors):
            self.index.add(self.vectors)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int, allowed_rows: np.ndarray | None = None
               ) -> list[tuple[int, float]]:
        """Top ``k`` (row, cosine) pairs for one query vector; ``allowed_rows`` is a bool mask."""
        import faiss

        if self.size == 0 or k <= 0:
            return []
        k = min(k, self.size)
        params = None
        if allowed_rows is not None and not allowed_rows.all():
            if not allowed_rows.any():
                return []
            bitmap = np.packbits(allowed_rows.astype(np.uint8), bitorder="little")
            params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(len(allowed_rows),
                                                                        faiss.swig_ptr(bitmap)))
            scores, rows = self.index.search(query.reshape(1, -1).astype(np.float32), k,
                                             params=params)
        else:
            scores, rows = self.index.search(query.reshape(1, -1).astype(np.float32), k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def save(self, path: Path) -> None:
        np.save(path, self.vectors)

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        return cls(np.load(path))
