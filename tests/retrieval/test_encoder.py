"""The encoder's bfloat16 mode against float32, on the real e5 model."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.encoder import Encoder, native_bf16

pytestmark = pytest.mark.slow

TEXTS = [
    "你好，我要举报我们这边河道污染，有根管子一直往河里排黑水，河水都发黑发臭了。",
    "我想问一下我啥时候能退休，我是66年8月的，工人身份。",
    "半夜一点了工地还在打桩，吵得孩子睡不着",
    "小区电梯坏了一个星期了物业不修怎么办",
]


def test_bfloat16_gives_the_float32_vectors(encoder) -> None:  # type: ignore[no-untyped-def]
    plain = Encoder(encoder.model, bf16=False)
    fast = Encoder(encoder.model, bf16=True)
    for encode in ("queries", "passages"):
        a, b = getattr(plain, encode)(TEXTS), getattr(fast, encode)(TEXTS)
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape == (len(TEXTS), 384)
        np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
        assert (a * b).sum(axis=1).min() >= 0.9999


def test_loaded_encoder_uses_bfloat16_where_the_cpu_has_it(encoder) -> None:  # type: ignore[no-untyped-def]
    assert encoder.bf16 == native_bf16()


class CountingModel:
    """The real sentence-transformers model, counting the texts it encodes."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        self.model, self.texts = model, 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.model, name)

    def encode(self, texts: list[str], **kwargs):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return self.model.encode(texts, **kwargs)


def test_text_growing_past_what_the_model_reads_is_encoded_once(encoder) -> None:  # type: ignore[no-untyped-def]
    model = CountingModel(encoder.model)
    counted = Encoder(model, bf16=encoder.bf16)
    long = "".join(TEXTS) * 4  # well past the model's 256 tokens
    first = counted.queries([long])
    grown = counted.queries([long + "好的，谢谢你们。", long[:-5]])
    assert model.texts == 1  # the words added or cut lie past what the model reads
    np.testing.assert_array_equal(grown, np.stack([first[0], first[0]]))
    fresh = Encoder(encoder.model, bf16=encoder.bf16).queries([long + "好的，谢谢你们。"])
    np.testing.assert_allclose(fresh[0], first[0], atol=1e-5)  # what the model itself gives
    counted.queries([TEXTS[0], TEXTS[0] + "谢谢", TEXTS[0] + "谢谢"])  # short: each read whole
    assert model.texts == 3
