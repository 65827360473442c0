"""Lexical retrieval: jieba words (plus character bigrams, which forgive segmentation
differences between a short query and a long answer) scored with BM25 (``bm25s``)."""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
STOPWORDS = frozenset(
    "的 了 是 在 我 你 他 她 它 们 吗 呢 吧 啊 呀 和 与 及 或 都 也 就 要 会 能 "
    "可以 怎么 怎样 如何 什么 哪里 哪些 多少 请问 一下 这个 那个 这 那 有 "
    "没有 还 又 被 把 对 给 从 到 为 以 等 之 其 该 并 而 但 如果 是否 需要 "
    "您 你好 您好 谢谢".split()
)


@functools.lru_cache(maxsize=1)
def jieba_module():  # type: ignore[no-untyped-def]
    """jieba, initialised once, quiet."""
    import logging as _logging

    import jieba

    jieba.setLogLevel(_logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Words (stop words dropped) and the character bigrams of every Chinese run."""
    jieba = jieba_module()
    tokens: list[str] = []
    for run in _KEEP.findall(text.lower()):
        for word in jieba.lcut(run, HMM=True):
            if word not in STOPWORDS and (len(word) > 1 or not word.isascii()):
                tokens.append(word)
        if len(run) > 1 and not run.isascii():
            tokens.extend("#" + run[i : i + 2] for i in range(len(run) - 1))
    return tokens


class LexicalIndex:
    """BM25 over one token list per document; ``search`` honours a 0/1 document mask."""

    def __init__(self, retriever, size: int) -> None:  # type: ignore[no-untyped-def]
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, documents: list[list[str]]) -> LexicalIndex:
        import bm25s

        if not documents:  # an empty knowledge base: nothing to index
            return cls(None, 0)
        retriever = bm25s.BM25()
        retriever.index([doc or ["#empty"] for doc in documents], show_progress=False)
        return cls(retriever, len(documents))

    def search(self, tokens: list[str], k: int, mask: np.ndarray | None = None
               ) -> list[tuple[int, float]]:
        """Up to ``k`` (document, score) pairs with a positive score, best first."""
        if not tokens or self._retriever is None:
            return []
        k = min(k, self.size)
        docs, scores = self._retriever.retrieve(
            [tokens], k=k, show_progress=False, n_threads=0,  # 0: no thread pool per query
            weight_mask=mask.astype(np.float32) if mask is not None else None,
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self._retriever is None:
            (folder / "EMPTY").touch()
        else:
            self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        import bm25s

        if (folder / "EMPTY").exists():
            return cls(None, 0)
        return cls(bm25s.BM25.load(str(folder), show_progress=False), size)
