"""Small text helpers shared by the form extractors (width folding, clauses, jieba)."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

CJK = "\u4e00-\u9fff"
CLAUSE_PUNCT = "，,。.！!？?；;、：:…\n\r\t"
_CLAUSE_RE = re.compile(f"[^{re.escape(CLAUSE_PUNCT)}]+")
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20


def halfwidth(text: str) -> str:
    """Fold full-width ASCII (digits, letters, punctuation) to half-width; same length."""
    return text.translate(_FULLWIDTH)


@dataclass(frozen=True)
class Clause:
    """A stretch of text between punctuation marks, with its offset in the utterance."""

    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def clauses(text: str) -> list[Clause]:
    """Split on Chinese/ASCII punctuation; keeps offsets, drops empty and blank pieces."""
    out: list[Clause] = []
    for m in _CLAUSE_RE.finditer(text):
        piece = m.group(0)
        stripped = piece.strip()
        if not stripped:
            continue
        out.append(Clause(stripped, m.start() + piece.index(stripped)))
    return out


@functools.lru_cache(maxsize=1)
def _tokenizers() -> tuple[object, object]:
    """A private jieba tokenizer (the global one is left alone for the rest of the app)."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    return tokenizer, jieba.posseg.POSTokenizer(tokenizer)


def word_bounds(text: str) -> set[int]:
    """Offsets where jieba puts a word boundary (0 and len(text) included)."""
    tokenizer, _ = _tokenizers()
    bounds = {0}
    pos = 0
    for word in tokenizer.cut(text, HMM=True):  # type: ignore[attr-defined]
        pos += len(word)
        bounds.add(pos)
    return bounds


def word_freq(word: str) -> int:
    """jieba's dictionary count for a word (0 when it is not a dictionary word)."""
    tokenizer, _ = _tokenizers()
    tokenizer.check_initialized()  # type: ignore[attr-defined]
    return int(tokenizer.FREQ.get(word, 0))  # type: ignore[attr-defined]


def pos_tags(text: str) -> list[tuple[str, str]]:
    """jieba part-of-speech tags as (word, flag) pairs."""
    _, pos_tokenizer = _tokenizers()
    return [(p.word, p.flag) for p in pos_tokenizer.cut(text)]  # type: ignore[attr-defined]

