"""Street-level address: road + number / community / building / unit / room, assembled from the
clauses of one or more turns ('龙阳大道，锦江花园，12栋' -> 龙阳大道锦江花园12栋).

A clause is parsed left to right into typed components; it is accepted only when the parse
reaches the end of the clause (or a soft boundary such as 那个 / 的), so that ordinary talk is
not mistaken for an address. Province / city / district names are left to `regions`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from copilot.form.numbers import NUMERAL_CLASS, arabic
from copilot.form.regions import SHORT, RegionMention, find_regions

logger = logging.getLogger(__name__)

# component kinds
TOWN, VILLAGE, ROAD, COMMUNITY, POI = "town", "village", "road", "community", "poi"
NUMBER, BUILDING, UNIT, FLOOR, ROOM = "number", "building", "unit", "floor", "room"
FACILITY, POSITION, RELATIVE, JOIN = "facility", "position", "relative", "join"
ROOTS = frozenset({TOWN, VILLAGE, ROAD, COMMUNITY, POI})
NUMBERED = frozenset({NUMBER, BUILDING, UNIT, FLOOR, ROOM})

# characters that do not occur inside a place name (function words, pronouns, verbs of talk)
_STOP = (
    "的了是在我你他她它们这那个几就也还与跟把被让给对很太又再才只要能想说有没不"
    "吗呢吧啊呀嘛哦喂么什怎哪谁些每各从往去来叫找买卖问请您俺咱但而或等已经过着得啥咋"
)
_STRUCT = "号栋幢室层路街道巷弄镇乡村楼"
_NAME = f"[^{_STOP}{_STRUCT}\\s\\W]"
_NUM = f"[{NUMERAL_CLASS}0-9]"
_NUMERAL_ONLY = re.compile(f"^[{NUMERAL_CLASS}]+$")
# words that stand where a place name would ('隔壁镇', '本村', '老家村') but name no place
_NOT_PLACE = {"隔壁", "附近", "邻", "本", "外", "老家", "周边", "旁边", "对面", "下面", "上面",
              "外面",
              "整个", "全", "同", "别", "前面", "后面", "马", "小区", "大"}

_ROAD_RE = re.compile(f"{_NAME}{{1,7}}?(?:大道|大街|路|街|巷|胡同|里弄)")
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (TOWN, re.compile(f"{_NAME}{{1,5}}?(?:街道办事处|街道|镇|乡)")),
    (ROAD, _ROAD_RE),
    (VILLAGE, re.compile(f"{_NAME}{{1,6}}村")),
    (COMMUNITY, re.compile(
        f"{_NAME}{{2,8}}(?:小区|花园|新村|家园|公寓|大厦|广场|公馆|山庄|花苑|社区|大院|宿舍|国际|"
        "中心|大楼|商厦|写字楼|商城|家属院|家属楼|工业园|产业园|科技园|苑|府|庭|园|城)"
    )),
    (POI, re.compile(
        f"{_NAME}{{2,8}}(?:小学|中学|大学|学校|幼儿园|医院|卫生院|公园|农贸市场|菜市场|市场|"
        "火车站|汽车站|地铁站|车站|体育馆|图书馆|机场|码头|大桥|水库|河|湖|江|桥)"
    )),
    (BUILDING, re.compile(f"(?:{_NUM}{{1,4}}|[A-Za-z])(?:号楼|栋|幢|座)")),
    (NUMBER, re.compile(f"{_NUM}{{1,6}}(?:号院|号|弄)")),
    (UNIT, re.compile(f"{_NUM}{{1,3}}(?:单元|组|社|队)")),
    (FLOOR, re.compile(f"{_NUM}{{1,3}}(?:楼|层)")),
    (ROOM, re.compile(
        r"\d{3,5}(?:室|号房|房间)?|[零〇一二三四五六七八九幺两]{3,5}(?:室|号房|房间)?"
    )),
    (FACILITY, re.compile(
        "垃圾中转站|中转站|垃圾站|公交车站|公交站|地铁口|站台|十字路口|路口|巷口|停车场|天桥|桥"
    )),
    (RELATIVE, re.compile("[村路街桥河](?:东|西|南|北)(?:边|侧|面|头)?")),
    (POSITION, re.compile(
        "门口|东门|西门|南门|北门|大门|正门|后门|旁边|附近|对面|后面|前面|背后|楼下|里面|东侧|西侧|南侧|北侧|东边|西边|南边|北边|"
        "一带|交叉口|交汇处|拐角|下面|边上|段|口|东|西|南|北"
    )),
]
_ROAD_NEXT = re.compile("大道|大街|路|街|巷")
_JOINERS = "和与跟"
_NEEDS_CONTEXT = frozenset({FACILITY, POSITION, RELATIVE, ROOM})
_LEADING = re.compile(
    "^(?:就是|就在|是在|位于|地址是|地址在|地址|小区叫|小区是|小区名叫|村叫|村是|具体是|具体在|具体|我家在|我家|我住在|我住|住在|"
    "我们那边|我们这边|我们那|我们|俺们|俺家|咱们|那个|这个|就|在|是|嗯|呃|哦|喂|对|噢|啊)+"
)
_ZONE = re.compile(f"^{_NAME}{{1,6}}?(?:高新区|开发区|新区|园区|工业园|经开区)")
_SOFT = re.compile("(?:那个|这个|那家|那边|这边|那里|那儿|的)")
_TRAILING_OK = re.compile(
    "^(?:的|嘛|啊|呀|呢|吧|了|那家|那里|这里|那儿|这儿|那边|这边|那块地|那块|这块|那一带|"
    "那个地方|这个地方|那栋|那间|那个|这个)*$"
)
_ENTRY = re.compile("在|到|位于|住")
_CORRECTION = re.compile("不对|说错了|说反了|搞错了|错了|哦不|噢不|呃不|不是|应该是|更正")


@dataclass(frozen=True)
class Component:
    kind: str
    text: str
    start: int  # offset in the utterance
    end: int

    @property
    def is_root(self) -> bool:
        return self.kind in ROOTS

    def render(self) -> str:
        if self.kind in NUMBERED:
            text = arabic(self.text)
            if self.kind == ROOM and text.isdigit():
                text += "室"
            return text
        return self.text


@dataclass(frozen=True)
class StreetStatement:
    """Components said in one utterance, in order, with where they were said."""

    components: tuple[Component, ...]
    corrected: bool = False  # a correction cue preceded it

    @property
    def has_root(self) -> bool:
        return any(c.is_root for c in self.components)

    @property
    def start(self) -> int:
        return self.components[0].start

    @property
    def end(self) -> int:
        return self.components[-1].end


def render(components: list[Component] | tuple[Component, ...]) -> str:
    """Join components, dropping a character said twice at a seam ('宝洲巷' + '巷口')."""
    out = ""
    for comp in components:
        text = comp.render()
        if out and comp.kind in (FACILITY, POSITION, RELATIVE) and out[-1] == text[0]:
            text = text[1:]
        out += text
    return out


def _allowed(
    kind: str, text: str, prev: Component | None, comps: list[Component], roots_ok: bool
) -> bool:
    if kind in ROOTS:
        stem = re.sub("(?:街道办事处|街道|镇|乡|村|路|街|巷|小区|社区)$", "", text)
        return roots_ok and not _NUMERAL_ONLY.match(text[:-1] or "x") and stem not in _NOT_PLACE
    if kind in _NEEDS_CONTEXT and prev is None:
        return False
    if kind == ROOM:
        if prev is None or prev.kind not in (NUMBER, BUILDING, UNIT):
            return False
        # a bare number read in Chinese digits is a room only right after a unit
        return text.isascii() or prev.kind == UNIT
    if kind == FLOOR:
        # a floor said on its own is whose floor? (我住三楼) -- only right after a number or
        # a building named in the same clause
        return bool(comps) and comps[-1].kind in (NUMBER, BUILDING, COMMUNITY, POI)
    return True


def _parse(text: str, offset: int, context: list[Component]) -> tuple[list[Component], str]:
    """Components from the start of text; returns them and the unparsed rest."""
    comps: list[Component] = []
    pos = 0
    while pos < len(text):
        skip = _SOFT.match(text, pos)
        best: tuple[str, re.Match[str]] | None = None
        # after 那个 / 的 only a minor part may follow (136号那个公交站旁边), not a new name
        starts = [(pos, True)] + ([(skip.end(), False)] if skip else [])
        for start, roots_ok in starts:
            prev = comps[-1] if comps else (context[-1] if context else None)
            found = [(k, m) for k, p in _PATTERNS if (m := p.match(text, start))]
            found = [(k, m) for k, m in found if _allowed(k, m.group(0), prev, comps, roots_ok)]
            roots = [(k, m) for k, m in found if k in ROOTS]
            # a name that runs on into a road suffix is the road's name (黄河路, not 黄河)
            roots = [(k, m) for k, m in roots
                     if not _ROAD_NEXT.match(text, m.end())] or roots
            # 石牌街道 is the street (街道) 石牌, not the road 石牌街 followed by 道
            towns = {m.end() for k, m in roots if k == TOWN}
            roots = [(k, m) for k, m in roots if k != ROAD or m.end() + 1 not in towns]
            if roots:  # the shortest name: 东山河 | 市府大道, 五一大道 | 湘雅医院
                best = min(roots, key=lambda km: km[1].end())
            elif found:
                best = max(found, key=lambda km: km[1].end())
            if best is not None:
                break
        if best is None:
            break
        kind, m = best
        comps.append(Component(kind, m.group(0), offset + m.start(), offset + m.end()))
        pos = m.end()
        if kind == ROAD and pos < len(text) and text[pos] in _JOINERS:
            # a crossing: 长江路和黄河路路口
            other = _ROAD_RE.match(text, pos + 1)
            if other is not None and _allowed(ROAD, other.group(0), comps[-1], comps, True):
                comps.append(Component(JOIN, text[pos], offset + pos, offset + pos + 1))
                comps.append(Component(ROAD, other.group(0), offset + other.start(),
                                       offset + other.end()))
                pos = other.end()
    return comps, text[pos:]


def _strip_leading(text: str, offset: int, regions: list[RegionMention]) -> tuple[str, int]:
    """Drop fillers, region names and development-zone names from the start of a clause."""
    while True:
        before = len(text)
        m = _LEADING.match(text)
        if m and m.end() > 0:
            text, offset = text[m.end():], offset + m.end()
        for r in regions:
            if r.start == offset:
                text, offset = text[r.end - r.start:], r.end
        m = _ZONE.match(text)
        if m:
            text, offset = text[m.end():], offset + m.end()
        if len(text) == before or not text:
            return text, offset


def parse_clause(
    clause: str, offset: int, regions: list[RegionMention], context: list[Component],
    partial: bool = False,
) -> list[Component]:
    """Address components of one clause, [] when the clause is not (only) an address.

    Tries the clause start, then the text after each region name and after 在/到/位于/住.
    With partial=True (an operator's read-back) the parse may stop anywhere."""
    starts = [0]
    starts += [r.end - offset for r in regions if offset <= r.start < offset + len(clause)]
    starts += [m.end() for m in _ENTRY.finditer(clause)]
    seen: set[int] = set()
    for s in starts:
        if s in seen or s >= len(clause):
            continue
        seen.add(s)
        text, off = _strip_leading(clause[s:], offset + s, regions)
        if not text:
            continue
        comps, rest = _parse(text, off, context)
        if not comps:
            continue
        strong = any(c.is_root for c in comps) and any(c.kind in NUMBERED for c in comps)
        if not partial and not strong and rest and not _TRAILING_OK.match(rest) and \
                not _SOFT.match(rest):
            continue  # ordinary talk that happens to start like a place name
        if not context and not any(c.is_root for c in comps):
            continue
        return comps
    return []


def parse_statement(
    text: str, regions: list[RegionMention] | None = None, context: list[Component] | None = None,
    prompted: bool = False, partial: bool = False,
) -> StreetStatement | None:
    """The address said in one utterance (clauses joined, in-utterance corrections applied).

    context: the address so far (continuations like '55号3楼' attach to it); prompted: the
    previous turn asked where; partial: accept clauses that run on (an operator's read-back)."""
    from copilot.form.text import clauses

    if regions is None:
        regions = find_regions(text)
    # a district said without 区 / 县 is as often the start of an estate's or a river's name
    # (莲花五村, 东山河): the street parser does not cut the clause there
    regions = [r for r in regions if r.kind != SHORT]
    context = list(context or [])
    comps: list[Component] = []
    corrected = pending_fix = False
    for cl in clauses(text):
        if _CORRECTION.search(cl.text) and not parse_clause(cl.text, cl.start, regions, [], True):
            pending_fix = True
            continue
        base = comps or context
        found = parse_clause(cl.text, cl.start, regions, base, partial)
        if not found:
            continue
        if not comps and not any(c.is_root for c in found) and not (prompted or context):
            continue
        if pending_fix and comps:
            kinds = [c.kind for c in comps]
            first = found[0]
            if first.kind in kinds:
                idx = len(kinds) - 1 - kinds[::-1].index(first.kind)
                comps = comps[:idx]
            corrected = True
        pending_fix = False
        comps.extend(found)
        if partial:
            break
    if not comps:
        return None
    return StreetStatement(tuple(comps), corrected)


def merge(current: list[Component], new: StreetStatement) -> list[Component]:
    """Fold a new statement into the address so far: a statement naming a road / community /
    village replaces it; a continuation ('55号3楼', '3单元') is appended, overlapping parts
    said again are not doubled, and a same-kind part replaces the old one."""
    comps = list(new.components)
    if new.has_root or not current:
        return comps
    texts = [c.render() for c in current]
    # overlap: the new statement restates the tail of the current one
    for k in range(min(len(current), len(comps)), 0, -1):
        if texts[-k:] == [c.render() for c in comps[:k]]:
            return current + comps[k:]
    kinds = [c.kind for c in current]
    if comps[0].kind in kinds:
        idx = kinds.index(comps[0].kind)
        return current[:idx] + comps
    return current + comps


def covers(readback: list[Component] | tuple[Component, ...], said: list[Component]) -> bool:
    """True when an operator's read-back holds every named and numbered part the caller said
    and adds only minor parts (a number, room, facility or position)."""
    said_keys = {c.render() for c in said if c.is_root or c.kind in NUMBERED}
    back_keys = {c.render() for c in readback}
    if not said_keys or not said_keys <= back_keys:
        return False
    extra = [c for c in readback if c.render() not in {s.render() for s in said}]
    return all(not c.is_root for c in extra)


def without(components: list[Component], names: list[str]) -> list[Component]:
    """Drop components that are a merchant's name rather than part of the address."""
    return [c for c in components if c.text not in names]


def relocate(components: list[Component], delta: int) -> list[Component]:
    return [replace(c, start=c.start + delta, end=c.end + delta) for c in components]
