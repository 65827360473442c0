"""Pure pieces of the duplicate check (统一信息判重): place keys, request-text similarity and the
rule that says whether two requests are the same incident. Works on plain dicts, no database.

Two requests are the same incident when they are at the same place and say a similar thing:

- **place**: the same address (district + street address; full/half width, Chinese numerals and
  号楼 / 幢 / 座 → 栋 variants folded; one address may be a more precise form of the other, but
  a different building or house number is a different place; a crossing matches in either
  order), or the same merchant (legal and business-type suffixes stripped, one name may contain
  the other: 金吉鸟健身房 = 金吉鸟健身天河北店). A different district, city or address rules a pair
  out; so do two different merchants. A side with no address or merchant may name the other's
  in its text. Failing that, the same district counts as a weak place.
- **text**: Dice overlap of the content characters, after place names, function characters,
  the hotline's boilerplate (市民反映…要求处理) and numbers are removed. Measured on the pairs, this
  generalised better than word overlap or a topic lexicon, and as well as e5 cosine.

Thresholds (:class:`Thresholds`) are calibrated on ``bench/data/duplicate_pairs.jsonl`` by
``bench/duplicates_bench.py``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from copilot.form.merchant import STRONG_SUFFIXES
from copilot.form.numbers import arabic
from copilot.form.text import halfwidth

# ---------------------------------------------------------------- places

_PUNCT = re.compile(r"[\s·•.,，。、:：;；!！?？'\"“”‘’()（）\[\]【】<>《》\-－—_/\\|#%&*+=~`@$^]")
_REGION_SUFFIX = ("特别行政区", "自治州", "自治县", "新区", "地区", "市", "区", "县", "旗", "盟")
_VAGUE_TAIL = re.compile(r"(?:附近|门口|旁边|对面|周边|一带|楼下|楼上|里面|外面|这边|那边|处)+$")
_VARIANTS = (("号楼", "栋"), ("幢", "栋"), ("座", "栋"), ("号房", "室"), ("房间", "室"),
             ("交叉口", "口"), ("交汇处", "口"), ("交口", "口"))
_NUMBERED = re.compile(r"([甲乙丙丁]?\d+[a-z]?|[a-z])(号院|号|栋|单元|层|楼|室|弄|组)")
_ROAD = re.compile(r"[^|]{1,8}?(?:大道|大街|路|街|巷|胡同|(?<![隧通街车行步航渠管轨知])道)")
_JOIN = re.compile(r"^(?:与|和|及|跟|、)")


def fold(text: str, numbers: bool = True) -> str:
    """Half-width, lower case, no spaces or punctuation; Chinese numerals as Arabic digits
    unless ``numbers`` is False (names: 百家湖, 万达)."""
    text = halfwidth(text)
    return _PUNCT.sub("", arabic(text) if numbers else text).lower()


def region_key(name: str | None) -> str | None:
    """'天河区' and '天河' give the same key; '浦东新区' → '浦东'."""
    if not name:
        return None
    key = fold(name)
    for suffix in _REGION_SUFFIX:
        if key.endswith(suffix) and len(key) - len(suffix) >= 2:
            return key[: -len(suffix)]
    return key or None


@dataclass(frozen=True)
class Address:
    """A folded street address: the root (road / community without numbers), its numbered
    parts as (kind, value) pairs, and the road names it mentions (for crossings)."""

    key: str
    root: str
    numbers: tuple[tuple[str, str], ...]
    roads: frozenset[str]

    @property
    def crossing(self) -> bool:
        return len(self.roads) >= 2


@functools.lru_cache(maxsize=4096)
def parse_address(text: str | None) -> Address | None:
    if not text:
        return None
    key = fold(text)
    for old, new in _VARIANTS:
        key = key.replace(old, new)
    key = _VAGUE_TAIL.sub("", key)
    if not key:
        return None
    numbers = tuple((m.group(2), m.group(1)) for m in _NUMBERED.finditer(key))
    root = _NUMBERED.sub(" ", key).split(" ")[0]
    root = _VAGUE_TAIL.sub("", re.sub(r"(?:小区|社区)$", "", root)) or root
    roads = frozenset(
        road for m in _ROAD.finditer(re.sub(r"街道(?:办事处|办)?", "街|", key))
        if len(road := _JOIN.sub("", m.group(0)) if m.start() else m.group(0)) >= 2)
    return Address(key, root, numbers, roads)


def address_key(text: str | None) -> str | None:
    """The folded address stored on a ticket (for search and the SQL pre-filter)."""
    parsed = parse_address(text)
    return parsed.key[:200] if parsed else None


SAME, NEAR, DIFFERENT = "same", "near", "different"


def _same_road(x: str, y: str) -> bool:
    """Equal, or equal but for one leading character ('和平路' read as '和' + '平路')."""
    short, long_ = sorted((x, y), key=len)
    return short == long_ or (len(short) >= 2 and len(long_) - len(short) == 1
                              and long_.endswith(short))


def _shares_road(a: frozenset[str], b: frozenset[str]) -> bool:
    return any(_same_road(x, y) for x in a for y in b)


def _same_roads(a: frozenset[str], b: frozenset[str]) -> bool:
    return len(a) == len(b) and all(any(_same_road(x, y) for y in b) for x in a)


def compare_addresses(a: Address | None, b: Address | None) -> str | None:
    """SAME (same site and a shared number agrees, or the same crossing), NEAR (same road or
    community, no number to compare), DIFFERENT, or None when one side has no address."""
    if a is None or b is None:
        return None
    if a.crossing and b.crossing:
        return SAME if _same_roads(a.roads, b.roads) else DIFFERENT
    short, long_ = sorted((a.root, b.root), key=len)
    contained = len(short) >= 2 and short in long_
    if not contained and not _shares_road(a.roads, b.roads):
        return DIFFERENT
    kinds_a, kinds_b = dict(a.numbers), dict(b.numbers)
    shared = kinds_a.keys() & kinds_b.keys()
    if any(kinds_a[k] != kinds_b[k] for k in shared):
        return DIFFERENT
    return SAME if shared and contained else NEAR


def mentions_address(text: str, address: Address | None) -> bool:
    """Whether folded ``text`` names the address's community / site (3+ characters)."""
    if address is None:
        return False
    return (len(address.root) >= 3 and address.root in text) or any(
        len(road) >= 3 and road in text for road in address.roads)


# Business-type and legal-form words stripped from the end of a merchant name, longest first.
_MERCHANT_TAILS = tuple(sorted(set(STRONG_SUFFIXES) | {
    "科技", "实业", "商贸", "贸易", "电子", "化工", "医美", "医疗美容", "网咖", "网吧", "夜市",
    "驿站", "培训", "教育", "分店", "门店", "总店", "烤吧", "有限责任", "连锁", "房"},
    key=len, reverse=True))


@functools.lru_cache(maxsize=4096)
def merchant_key(name: str | None) -> str | None:
    """The core of a merchant name: '启航教育科技有限公司' → '启航', '金吉鸟健身房' → '金吉鸟'."""
    if not name:
        return None
    key = fold(name, numbers=False)
    changed = True
    while changed:
        changed = False
        for tail in _MERCHANT_TAILS:
            t = tail.lower()
            if key.endswith(t) and len(key) - len(t) >= 2:
                key, changed = key[: -len(t)], True
                break
    return key[:100] or None


def same_merchant(a: str | None, b: str | None) -> bool | None:
    """True when one core contains the other; None when either side has no merchant."""
    ka, kb = merchant_key(a), merchant_key(b)
    if not ka or not kb:
        return None
    short, long_ = sorted((ka, kb), key=len)
    return short in long_


# ---------------------------------------------------------------- request text

# Characters that say nothing about the incident: function words and the hotline's boilerplate
# (市民反映…要求相关部门尽快处理). Digits are dropped too: amounts and times vary between callers.
_STOP_CHARS = frozenset(
    "的了是在我你他她它们这那个就也还都很太又再才只要会能想说有没不吗呢吧啊呀嘛哦么一些把被让给"
    "对到从往去来请您但而或等已经过着得地里上下中后前市民反映要求希望处理相关部门尽快帮忙"
    "一二三四五六七八九十百千万两几多次天年月日号点"
)


def _strip_places(text: str, places: tuple[str, ...]) -> str:
    for place in sorted({p for p in places if p and len(p) >= 2}, key=len, reverse=True):
        text = text.replace(place, "|")
    return text


@functools.lru_cache(maxsize=20000)
def text_features(content: str, places: tuple[str, ...] = ()) -> frozenset[str]:
    """The content characters of ``content``: folded, the given place names (folded) removed,
    without function characters, digits and ASCII."""
    text = _strip_places(fold(content), places)
    return frozenset(c for c in text if c not in _STOP_CHARS and not c.isascii())


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def text_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """0..1: Dice overlap of two :func:`text_features` sets."""
    return round(_dice(a, b), 4)


# ---------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Thresholds:
    """Least text similarity for a duplicate, by how strongly the place matches."""

    same_place: float = 0.15  # same address (a number agrees), same crossing, or same merchant
    near_place: float = 0.2  # same road / community with no number to compare
    district_only: float = 0.6  # same district; neither side's address or merchant conflicts


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class PairMatch:
    duplicate: bool
    score: float  # for ranking: 0.7 x text similarity + 0.3 x place strength
    text_similarity: float
    place: str  # "same", "near", "district" or "" (no place in common)
    reasons: tuple[str, ...]


NO_MATCH = PairMatch(False, 0.0, 0.0, "", ())


def places_of(record: Mapping[str, str | None]) -> tuple[str, ...]:
    """The folded place strings to remove from a record's text before comparing it."""
    out: list[str] = []
    for name in ("province", "city", "district"):
        if (value := record.get(name)) and (key := region_key(value)):
            out += [fold(value), key]
    if (parsed := parse_address(record.get("street_address"))) is not None:
        out += [parsed.key, parsed.root, *parsed.roads]
    if merchant := record.get("merchant"):
        out += [fold(merchant), fold(merchant_key(merchant) or "")]
    return tuple(out)


def features_of(record: Mapping[str, str | None]) -> frozenset[str]:
    return text_features(record.get("content") or "", places_of(record))


def _mentions_merchant(record: Mapping[str, str | None], name: str | None) -> bool:
    key = merchant_key(name)
    return bool(key and len(key) >= 3 and key in fold(record.get("content") or "", False))


def _place(new: Mapping[str, str | None], old: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """How the places of two records compare: "same", "near", "district", "" (nothing in
    common) or "conflict" (a different city, district, address or merchant), with reasons."""
    for name in ("city", "district"):
        key_new, key_old = region_key(new.get(name)), region_key(old.get(name))
        if key_new and key_old and key_new != key_old:
            return "conflict", []
    addr_new = parse_address(new.get("street_address"))
    addr_old = parse_address(old.get("street_address"))
    addr = compare_addresses(addr_new, addr_old)
    # a side without an address (or merchant) may still name the other's in its text
    if addr is None and (
            (addr_new is None and mentions_address(fold(new.get("content") or ""), addr_old))
            or (addr_old is None and mentions_address(fold(old.get("content") or ""), addr_new))):
        addr = NEAR
    merchant = same_merchant(new.get("merchant"), old.get("merchant"))
    if merchant is None and (_mentions_merchant(new, old.get("merchant"))
                             or _mentions_merchant(old, new.get("merchant"))):
        merchant = True
    if addr == DIFFERENT or (merchant is False and addr != SAME):
        return "conflict", []
    where = "".join(v for v in (old.get("district"), old.get("street_address")) if v)
    reasons = []
    if addr == SAME:
        reasons.append(f"同一地址：{where}")
    elif addr == NEAR:
        reasons.append(f"地址相近：{where}")
    if merchant:
        reasons.append(f"同一商家：{old.get('merchant')}")
    if (addr == SAME and merchant is not False) or (merchant and addr is None):
        return "same", reasons
    if addr is not None or merchant:
        return "near", reasons  # same road / community, or same merchant near that address
    district = region_key(new.get("district"))
    if district and district == region_key(old.get("district")):
        return "district", [f"同一区县：{old.get('district')}"]
    return "", []


_STRENGTH = {"same": 1.0, "near": 0.6, "district": 0.3}


def match_pair(new: Mapping[str, str | None], old: Mapping[str, str | None],
               thresholds: Thresholds = DEFAULT_THRESHOLDS) -> PairMatch:
    """Whether ``new`` (a draft: form fields + ``content``) reports the same incident as ``old``
    (an open ticket as a dict), with a ranking score and the reasons to show the operator."""
    place, reasons = _place(new, old)
    if place not in _STRENGTH:
        return NO_MATCH
    sim = text_similarity(features_of(new), features_of(old))
    need = {"same": thresholds.same_place, "near": thresholds.near_place,
            "district": thresholds.district_only}[place]
    score = round(0.7 * sim + 0.3 * _STRENGTH[place], 4)
    return PairMatch(sim >= need, score, sim, place, (*reasons, f"诉求相似度 {sim:.2f}"))
