"""Character error rate, with both sides normalised the same way: Simplified characters, single
Chinese digits as Arabic digits, no punctuation or spaces, lower case."""

from __future__ import annotations

import re

from asr.normalize import to_simplified

_DIGITS = dict(zip("零〇一二两三四五六七八九幺", "0012234567891", strict=True))


def normalize_for_cer(text: str) -> str:
    text = "".join(_DIGITS.get(ch, ch) for ch in to_simplified(text))
    return re.sub(r"[^\w]|_", "", text).lower()


def edit_distance(ref: str, hyp: str) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def cer(ref: str, hyp: str) -> float:
    ref, hyp = normalize_for_cer(ref), normalize_for_cer(hyp)
    return edit_distance(ref, hyp) / max(1, len(ref))
