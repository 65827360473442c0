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


def test_split_passages_cuts_at_sentence_ends_and_keeps_everything() -> None:
    from retrieval.index import split_passages

    answer = "第一句话。" * 30 + "长" * 450 + "。结尾。"
    passages = split_passages("标题", answer, max_chars=200)
    assert passages[0].startswith("标题\n第一句话。")
    assert all(len(p) <= 200 + len("标题\n") for p in passages)
    assert "".join(passages).replace("标题\n", "") == answer
    assert split_passages("公积金怎么取", "公积金怎么取？答复。") == ["公积金怎么取？答复。"]


def test_linear_fusion_scales_both_sides() -> None:
    from retrieval.fusion import FusionOptions, fuse, linear_fusion

    dense = {1: 0.90, 2: 0.85, 3: 0.80}
    lexical = {3: 10.0, 2: 5.0}
    fused = linear_fusion(dense, lexical, alpha=0.7)
    assert fused[1] == pytest.approx(0.7)
    assert fused[2] == pytest.approx(0.7 * 0.5 + 0.3 * 0.5)
    assert fused[3] == pytest.approx(0.3)
    assert linear_fusion({}, lexical, 0.7) == {}
    rrf = fuse(dense, lexical, FusionOptions(method="rrf", alpha=0.5, rrf_k=0))
    assert rrf[3] == pytest.approx(0.5 / 3 + 0.5 / 1)
    assert set(rrf) == set(dense)
