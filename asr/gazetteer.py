"""Correcting names in recognised text against a gazetteer, by how they sound.

Whisper base writes a name it does not know with other characters of the same or a close sound
('南岗区' → '南港区', '动力源健身' → '动力人健身', '玉鸟路' → '月鸟路'). Putting the names in the
prompt mends some and breaks other words (bench/hotword_bench.py); here a final's text is
compared syllable by syllable (pinyin without tones, with the usual confusions of initials and
finals counted as half a difference) with the hotline's known names — districts, roads,
merchants, units — and a stretch that sounds like one of them, shares its last character (or,
for a division, the sound of its 区 / 县 / 市: '九龙迫去' is 九龙坡区) and at least one other, is
replaced by it. A stretch that is itself a known name, or overlaps one,
is left alone (徐汇区 is not 'corrected' to 徐水区), a stretch must start a word, and the
shorter the name the closer the sound must be: three characters must sound the same.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import jieba
from pypinyin import lazy_pinyin

_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
# a division's last character, which Whisper writes by its sound as often as not (去 for 区)
_DIVISION_SUFFIXES = "区县市"
# initials and finals that callers and Whisper confuse: zh/z, ch/c, sh/s, n/l, f/h, and
# -ng/-n
_FUZZY = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("f", "h"))
_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"), ("ong", "on"))


def _pinyin(text: str) -> list[str]:
    """One toneless syllable per character (other characters stand for themselves)."""
    return lazy_pinyin(text, errors=lambda s: list(s))


def _coarse(syllable: str) -> str:
    for a, b in _FUZZY:
        if syllable.startswith(a):
            syllable = b + syllable[len(a):]
            break
    for a, b in _FINALS:
        if syllable.endswith(a):
            return syllable[: -len(a)] + b
    return syllable


def _one_edit(a: str, b: str) -> bool:
    """Whether two syllables differ by one letter (yue/yu, lv/li)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def syllable_cost(a: str, b: str) -> float:
    """0 for the same syllable, 0.5 for a usual confusion or one letter apart, else 1."""
    if a == b:
        return 0.0
    ca, cb = _coarse(a), _coarse(b)
    if ca == cb or _one_edit(a, b) or _one_edit(ca, cb):
        return 0.5
    return 1.0


def allowance(length: int) -> float:
    """How much a stretch of ``length`` syllables may differ from a name: nothing for 3 (a
    homophone only), half a syllable for 4–5, one for 6–9, two from 10 on (two-character names
    are never corrected). Measured on the 40 annotated calls' reference text
    (bench/hotword_bench.py): a syllable for 4–5 changed right names such as 五一大道."""
    if length < 3:
        return -1.0
    if length == 3:
        return 0.0
    if length <= 5:
        return 0.5
    return 1.0 if length <= 9 else 2.0


@dataclass(frozen=True)
class Fix:
    start: int
    end: int
    heard: str
    name: str
    cost: float


class Gazetteer:
    """Known names, indexed by their last character and length."""

    def __init__(self, names: Iterable[str]) -> None:
        # last character -> length -> [(name, its syllables)]; and for divisions the same by
        # the sound of the last character
        self._by_end: dict[str, dict[int, list[tuple[str, list[str]]]]] = defaultdict(
            lambda: defaultdict(list))
        self._by_sound: dict[str, dict[int, list[tuple[str, list[str]]]]] = defaultdict(
            lambda: defaultdict(list))
        self._names: set[str] = set()
        for name in dict.fromkeys(n.strip() for n in names):
            if 3 <= len(name) <= 16 and _CJK.match(name):
                entry = (name, _pinyin(name))
                self._by_end[name[-1]][len(name)].append(entry)
                # ... unless the place name is an everyday word: '到平安去' is not 平安区
                if name[-1] in _DIVISION_SUFFIXES and (jieba.get_FREQ(name[:-1]) or 0) < 150:
                    self._by_sound[entry[1][-1]][len(name)].append(entry)
                self._names.add(name)

    @property
    def size(self) -> int:
        return len(self._names)

    def known(self, text: str) -> list[tuple[int, int]]:
        """The spans of ``text`` that are known names as they stand."""
        return [(end - length, end) for end, last in enumerate(text, start=1)
                for length in self._by_end.get(last, {})
                if end >= length and text[end - length:end] in self._names]

    def _candidates(self, char: str, sound: str
                    ) -> list[tuple[int, list[tuple[str, list[str]]]]]:
        """(length, names) that may end at a character: those ending in it, and divisions
        whose last character sounds like it."""
        out = dict(self._by_end.get(char, {}))
        for length, entries in self._by_sound.get(sound, {}).items():
            extra = [e for e in entries if e[0][-1] != char]
            if extra:
                out[length] = out.get(length, []) + extra
        return list(out.items())

    def fixes(self, text: str) -> list[Fix]:
        """The stretches of ``text`` that sound like a known name but are written otherwise;
        the best (cheapest, then longest) where they overlap."""
        syllables = _pinyin(text)
        right = self.known(text)
        found: list[Fix] = []
        for end, last in enumerate(text, start=1):
            for length, entries in self._candidates(last, syllables[end - 1]):
                start = end - length
                if start < 0:
                    continue
                heard = text[start:end]
                if not _CJK.match(heard) or any(start < b and a < end for a, b in right):
                    continue
                budget = allowance(length)
                for name, sounds in entries:
                    if name == heard or not any(a == b for a, b in zip(name[:-1], heard[:-1],
                                                                        strict=True)):
                        continue
                    cost = 0.0
                    for a, b in zip(sounds, syllables[start:end], strict=True):
                        cost += syllable_cost(a, b)
                        if cost > budget:
                            break
                    if cost <= budget:
                        found.append(Fix(start, end, heard, name, cost))
        if found:  # a name starts a word: not '个新小区' in '几个新小区', '烧发电厂' in '焚烧…'
            starts = {start for _, start, _ in jieba.tokenize(text)}
            found = [f for f in found if f.start in starts]
        found.sort(key=lambda f: (f.cost, -(f.end - f.start), f.start))
        chosen: list[Fix] = []
        for fix in found:
            if all(fix.end <= c.start or c.end <= fix.start for c in chosen):
                chosen.append(fix)
        return sorted(chosen, key=lambda f: f.start)

    def correct(self, text: str) -> tuple[str, list[Fix]]:
        """``text`` with every stretch that sounds like a known name written as that name."""
        fixes = self.fixes(text)
        out, last = [], 0
        for fix in fixes:
            out += [text[last:fix.start], fix.name]
            last = fix.end
        return "".join(out) + text[last:], fixes
