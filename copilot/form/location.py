"""Province / city / district of the matter, resolved over all the region names of a call.

The caller's words decide: the district they name (the one said with the street address when
there are several) and its city and province. Same-named districts (西湖区 in 杭州 and 南昌)
are told apart by the cities named in the call, the operator's read-back included. A district
outside the province / city the caller named is not taken when one inside is ('温州永嘉县瓯北镇':
永嘉县, not 北镇市); the official name wins over a short form, and a short form that is also an
everyday word or shared by several counties ('平安', '江北') needs its city. Where the caller
names no district, one the operator names inside the caller's city is taken, at lower
confidence; where the caller names no place at all, the operator's city ('厦门12345') is the
last resort.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from copilot.form import regions as reg

logger = logging.getLogger(__name__)

CALLER = "caller"
_STRENGTH = {reg.FULL: 2, reg.ALIAS: 2, reg.ABBR: 1, reg.SHORT: 0}


@dataclass(frozen=True)
class Mention:
    """A division named in one turn."""

    region: reg.RegionMention
    speaker: str  # "caller" | "agent"
    utterance: int
    text: str


@dataclass(frozen=True)
class Resolved:
    """A field's division and the mention it was taken from."""

    region: reg.Region
    mention: reg.RegionMention
    utterance: int
    text: str
    confidence: float


def pick(mention: reg.RegionMention, utterance: int, mentions: list[Mention]) -> reg.Region:
    """Choose among same-named divisions by the cities and provinces named in the call; the
    caller's words count twice, the same turn three times."""
    cands = mention.candidates
    if len(cands) == 1:
        return cands[0]
    scores = _scores(mention, utterance, mentions)
    return cands[max(range(len(cands)), key=lambda k: scores[k])]


def decided(mention: reg.RegionMention, utterance: int, mentions: list[Mention]) -> bool:
    """Whether the call says which of the same-named divisions is meant: one candidate, or a
    city or province named in the call that contains it. '城区' alone (in 阳泉, 晋城, 长治…) is
    not: a wrong guess would send the ticket to another province."""
    return len(mention.candidates) == 1 or max(_scores(mention, utterance, mentions)) > 0


def _scores(mention: reg.RegionMention, utterance: int, mentions: list[Mention]) -> list[int]:
    cands = mention.candidates
    scores = []
    for cand in cands:
        score = 0
        for other in mentions:
            if other.region is mention or other.region.rank == reg.DISTRICT:
                continue
            if any(o.contains(cand) for o in other.region.candidates):
                score += 3 if other.utterance == utterance else 2 if other.speaker == CALLER else 1
        scores.append(score)
    return scores


def _supported(m: Mention, mentions: list[Mention]) -> bool:
    """A district name the call can use: it says which of the same-named divisions is meant,
    and a short form that is also an everyday word ('平安', '城东') comes with its city."""
    if not decided(m.region, m.utterance, mentions):
        return False
    return not m.region.needs_context or max(_scores(m.region, m.utterance, mentions)) > 0


def _inside(m: Mention, uppers: list[Mention]) -> bool:
    return any(u.contains(c) for o in uppers for u in o.region.candidates
               for c in m.region.candidates)


def _district(mentions: list[Mention], street_utterance: int | None) -> Resolved | None:
    caller = [m for m in mentions if m.speaker == CALLER]
    upper = [m for m in caller if m.region.rank < reg.DISTRICT]
    caller_d = [m for m in caller if m.region.rank == reg.DISTRICT and _supported(m, mentions)]
    # a district outside the province / city the caller named is a street or shop name that
    # happens to be a county's name ('瓯北镇' -> 北镇市, '东方大厦' -> 东方市) unless nothing
    # better was said; a short form that contradicts the caller's city is never taken
    caller_d = [m for m in caller_d if not upper or _inside(m, upper)] or \
        [m for m in caller_d if not m.region.abbreviated]
    if caller_d:
        same = [m for m in caller_d if m.utterance == street_utterance]
        # a name that starts a phrase over one glued to a word before it ('轻纺城东区'), the
        # official name over a short form; then the latest
        m = max(same or caller_d, key=lambda m: (not m.region.glued, _STRENGTH[m.region.kind],
                                                  m.utterance, m.region.start))
        conf = 0.5 if m.region.kind == reg.SHORT else 0.9
        return Resolved(pick(m.region, m.utterance, mentions), m.region, m.utterance, m.text,
                        conf)
    uppers = [pick(m.region, m.utterance, mentions) for m in upper]
    for m in reversed([m for m in mentions if m.speaker != CALLER]):
        if m.region.rank != reg.DISTRICT or not _supported(m, mentions):
            continue
        r = pick(m.region, m.utterance, mentions)
        if all(c.contains(r) for c in uppers[-1:]):
            return Resolved(r, m.region, m.utterance, m.text, 0.7)
    return None


def resolve_location(
    mentions: list[Mention], street_utterance: int | None = None
) -> dict[str, Resolved | None]:
    """{'province': …, 'city': …, 'district': …} for the matter of the call."""
    district = _district(mentions, street_utterance)
    city: Resolved | None = None
    province: Resolved | None = None
    if district is not None:
        prov, cty = reg.ancestors(district.region)
        # a county-level city governed by the province (仙桃市) is its own city
        city = Resolved(cty or district.region, *_source(district))
        province = Resolved(prov, *_source(district)) if prov is not None else None
    else:
        uppers = [(m, 0.85) for m in mentions
                  if m.speaker == CALLER and m.region.rank < reg.DISTRICT]
        if not uppers:  # the operator's words ('厦门12345', '转海口市…') as a last resort
            uppers = [(m, 0.5) for m in mentions if m.region.rank < reg.DISTRICT]
        for m, conf in reversed(uppers):
            prov, cty = reg.ancestors(pick(m.region, m.utterance, mentions))
            if cty is not None and city is None:
                city = Resolved(cty, m.region, m.utterance, m.text, conf)
            if prov is not None and province is None:
                province = Resolved(prov, m.region, m.utterance, m.text, conf)
            if city is not None:
                break
        if city is not None and (province is None or not province.region.contains(city.region)):
            prov = reg.ancestors(city.region)[0]
            province = Resolved(prov, *_source(city)) if prov is not None else None
    return {"province": province, "city": city, "district": district}


def _source(r: Resolved) -> tuple[reg.RegionMention, int, str, float]:
    return r.mention, r.utterance, r.text, r.confidence
