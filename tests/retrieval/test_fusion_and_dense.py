from __future__ import annotations

import numpy as np
import pytest

from retrieval.dense import DenseIndex
from retrieval.fusion import reciprocal_rank_fusion
from retrieval.lexical import LexicalIndex, tokenize


def test_rrf_adds_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], [1.0, 2.0], k=10)
    assert fused[1] == pytest.approx(1 / 11 + 2 / 12)
    assert fused[2] == pytest.approx(1 / 12)
    assert fused[3] == pytest.approx(1 / 13 + 2 / 11)
    assert max(fused, key=fused.__getitem__) == 3


def test_rrf_needs_one_weight_per_ranking() -> None:
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[1]], [1.0, 1.0])


@pytest.mark.parametrize("n,k", [(1, 1), (50, 10), (3000, 25)])
def test_faiss_topk_equals_numpy_brute_force(n: int, k: int) -> None:
    rng = np.random.default_rng(n)
    vectors = rng.normal(size=(n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex(vectors)
    for _ in range(5):
        q = rng.normal(size=384).astype(np.float32)
        q /= np.linalg.norm(q)
        got = index.search(q, k)
        scores = vectors @ q
        want = np.argsort(-scores)[:k]
        assert [r for r, _ in got] == want.tolist()
        assert np.allclose([s for _, s in got], scores[want], atol=1e-5)


def test_faiss_mask_equals_numpy_on_the_allowed_rows() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(500, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    allowed = rng.random(500) < 0.3
    q = vectors[3]
    got = [r for r, _ in DenseIndex(vectors).search(q, 10, allowed)]
    scores = np.where(allowed, vectors @ q, -np.inf)
    assert got == np.argsort(-scores)[:10].tolist()
    assert all(allowed[r] for r in got)
    assert DenseIndex(vectors).search(q, 10, np.zeros(500, dtype=bool)) == []


def test_tokenize_keeps_words_and_bigrams_without_stopwords() -> None:
    tokens = tokenize("请问公积金怎么提取？")
    assert "公积金" in tokens and "提取" in tokens
    assert "#公积" in tokens
    assert "怎么" not in tokens and "请问" not in tokens


def test_bm25_ranks_the_matching_document_first_and_honours_the_mask() -> None:
    docs = ["住房公积金提取需要哪些材料", "预付卡商家跑路如何退费", "夜间施工噪声扰民投诉"]
    index = LexicalIndex.build([tokenize(d) for d in docs])
    assert index.search(tokenize("健身房预付卡退费"), 3)[0][0] == 1
    mask = np.array([True, False, True])
    assert all(d != 1 for d, _ in index.search(tokenize("预付卡退费"), 3, mask))
    assert index.search(tokenize("完全无关的词语"), 3) == []
