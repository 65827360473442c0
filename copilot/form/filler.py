"""Fill the work order turn by turn as a call goes on, following the caller's corrections.

Only the caller's words fill the caller's fields. The operator's words are used to read the
caller's better: a read-back that matches raises the confidence, an honorific ('沈女士') gives
the gender for a surname, a question ('您的姓名？', '店名是？', '地址是？') tells what the next
answer is, and a read-back that holds everything the caller said about the place and adds only
detail ('…396号莲花五村垃圾站', '…702室', a city for the district) completes it. With
agent_fallback=True (the default) a number or name the operator reads back fills a field the
caller's words left empty, at low confidence.

Corrections: a later statement replaces an earlier one; '不对 / 说错了 / 说反了 / 不是A是B'
replace what they name; a partial restatement ('尾号是78', '最后是三六，五九三六') edits the end of
the phone number; the incident time keeps the first time said unless it is corrected.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from copilot.form import address as addr
from copilot.form import regions as reg
from copilot.form.fields import FIELD_NAMES, FieldValue, WorkOrderForm
from copilot.form.idcard import extract_ids
from copilot.form.location import Mention, resolve_location
from copilot.form.merchant import extract_merchants, is_merchant_prompt
from copilot.form.money import AmountMention, extract_amounts, format_yuan
from copilot.form.name import extract_honorifics, extract_names, is_name_prompt, with_title
from copilot.form.numbers import spoken_digits
from copilot.form.phone import apply_edit, extract_phone_edits, extract_phones
from copilot.form.plate import extract_plates
from copilot.form.when import extract_times, resolve

logger = logging.getLogger(__name__)

CALLER = "caller"
AGENT = "agent"

_CUE = re.compile(
    "不对|说错了|说反了|搞错了|弄错了|错了|哦不|噢不|呃不|啊不|更正一下|应该是|我再说一遍"
)
_NOT_A_BUT_B = re.compile(
    "不是(?P<a>[^，,。？！?!、；;]{1,12}?)[，,]?(?:而)?是(?P<b>[^，,。？！?!、；;]{1,16})"
)
_MONEY_TALK = re.compile("钱|费|款|价|押金|工资|金额|多少|块|元|欠|退|赔|交了|付了|收了|收取|充")
_LOCATION_PROMPT = re.compile("地址|在哪|哪里|哪儿|位置|地点|什么地方|哪个|哪条|具体")
_DAY_FIX = re.compile("(?P<d>[0-9零〇一二两三四五六七八九十]{1,3})[号日]")
_OBJECTION = re.compile("^[^，,。？！?!]{0,4}(?:不对|不是|错了|说错|听错|记错)")
_CONFIRM_BONUS = 0.05


@dataclass
class _Candidate:
    """An amount the caller said, with the turn it came from."""

    mention: AmountMention
    utterance: int
    text: str
    corrected: bool
    weak: bool = False  # said without talk of money: counts only if the operator reads it back


@dataclass
class _State:
    name_surname_only: bool = False
    genders: dict[str, str] = field(default_factory=dict)
    agent_names: list[str] = field(default_factory=list)
    street: list[addr.Component] = field(default_factory=list)
    street_source: tuple[int, int, int, str] | None = None  # utterance, start, end, text
    street_confidence: float = 0.0
    regions: list[Mention] = field(default_factory=list)
    amounts: list[_Candidate] = field(default_factory=list)
    agent_amounts: set[float] = field(default_factory=set)
    readback_pending: dict[str, FieldValue] = field(default_factory=dict)
    last_agent: str = ""
    last_caller: str = ""
    agent_topics: set[str] = field(default_factory=set)


class FormFiller:
    """Incremental work-order filler: feed it every turn with `update`, read `form`."""

    def __init__(
        self,
        call_time: dt.datetime | None = None,
        merchant_gazetteer: Iterable[str] = (),
        agent_fallback: bool = True,
    ) -> None:
        self.call_time = call_time
        self.merchant_gazetteer = tuple(merchant_gazetteer)
        self.agent_fallback = agent_fallback
        self._form = WorkOrderForm()
        self._st = _State()

    @property
    def form(self) -> WorkOrderForm:
        """The form as it stands (a copy: changing it does not change the filler)."""
        return self._form.copy()

    def update(self, utterance_index: int, speaker: str, text: str) -> list[str]:
        """Take one turn; returns the names of the fields whose value changed."""
        before = self._form.as_dict()
        text = text or ""
        if speaker == CALLER:
            self._caller(utterance_index, text)
            self._st.last_caller = text
        else:
            self._agent(utterance_index, text)
            self._st.last_agent = text
        self._derive()
        after = self._form.as_dict()
        changed = [name for name in FIELD_NAMES if before[name] != after[name]]
        if changed:
            logger.debug("turn %d (%s) changed %s", utterance_index, speaker, changed)
        return changed

    # ---- caller -------------------------------------------------------------------------

    def _caller(self, i: int, text: str) -> None:
        st = self._st
        cue = _CUE.search(text)
        if st.readback_pending:
            if _OBJECTION.match(text):
                # the caller rejects the operator's version: back to what the caller said
                for name, original in st.readback_pending.items():
                    self._set(name, original)
            st.readback_pending = {}
        self._not_a_but_b(i, text)

        # phone: a full number replaces, a partial restatement edits the end
        for p in extract_phones(text):
            self._set("phone", FieldValue(p.value, i, (p.start, p.end), p.confidence, text))
        if self._form.phone is not None:
            for e in extract_phone_edits(text):
                old = self._form.phone
                new = apply_edit(old.value, e)
                if new != old.value:
                    self._set("phone", FieldValue(new, i, (e.start, e.end), 0.85, text))

        for idm in extract_ids(text):
            self._set("id_number", FieldValue(idm.value, i, (idm.start, idm.end), idm.confidence,
                                              text))
        for pl in extract_plates(text):
            self._set("plate", FieldValue(pl.value, i, (pl.start, pl.end), pl.confidence, text))

        self._caller_name(i, text)
        self._caller_merchant(i, text, cue is not None)
        self._caller_time(i, text, cue)
        street_spans = self._caller_street(i, text)
        if cue is not None and "incident_time" in st.agent_topics and not street_spans:
            self._time_day_fix(i, text, cue.end())

        money_talk = bool(_MONEY_TALK.search(st.last_agent) or _MONEY_TALK.search(st.last_caller))
        strong = {(a.start, a.end) for a in extract_amounts(text, money_talk=money_talk)}
        for a in extract_amounts(text, money_talk=True):
            if any(s <= a.start < e for s, e in street_spans):
                continue
            corrected = cue is not None and a.start > cue.start()
            weak = (a.start, a.end) not in strong
            st.amounts.append(_Candidate(a, i, text, corrected and not weak, weak))
        for r in reg.find_regions(text):
            st.regions.append(Mention(r, CALLER, i, text))

    def _caller_name(self, i: int, text: str) -> None:
        st = self._st
        current = self._form.caller_name
        for n in extract_names(text, prompted=is_name_prompt(st.last_agent)):
            if n.surname_only:
                if current is not None and not st.name_surname_only and \
                        current.value.startswith(n.value):
                    continue  # the full name is already known
                value = n.value
                for h in extract_honorifics(text):  # '姓钱，钱先生' -- said by the caller
                    if h.surname == n.value and not h.given:
                        st.genders.setdefault(h.surname, h.gender)
                if n.value in st.genders:
                    value = with_title(n.value, st.genders[n.value])
                self._set("caller_name", FieldValue(value, i, (n.start, n.end), n.confidence, text))
                st.name_surname_only = True
            else:
                conf = n.confidence + (0.1 if n.value in st.agent_names else 0.0)
                self._set("caller_name", FieldValue(n.value, i, (n.start, n.end),
                                                    min(conf, 0.99), text))
                st.name_surname_only = False
            current = self._form.caller_name

    def _caller_merchant(self, i: int, text: str, corrected: bool) -> None:
        prompted = is_merchant_prompt(self._st.last_agent)
        for m in extract_merchants(text, prompted=prompted, gazetteer=self.merchant_gazetteer):
            fv = FieldValue(m.value, i, (m.start, m.end), m.confidence, text)
            cur = self._form.merchant
            if cur is None or corrected or cur.value in m.value or \
                    m.confidence > cur.confidence + 0.1:
                self._set("merchant", fv)

    def _caller_time(self, i: int, text: str, cue: re.Match[str] | None) -> None:
        corrected = False
        for t in extract_times(text, self.call_time):
            cur = self._form.incident_time
            # the first time said after a correction cue replaces; later ones are other times
            after_cue = cue is not None and t.start >= cue.end() and not corrected
            corrected = corrected or after_cue
            if cur is None or after_cue:
                self._set("incident_time", FieldValue(t.text, i, (t.start, t.end), t.confidence,
                                                      text, t.iso))

    def _time_day_fix(self, i: int, text: str, after: int) -> None:
        """'不对，是23号' after the operator read a date back: change the day."""
        cur = self._form.incident_time
        m = _DAY_FIX.search(text, after)
        if cur is None or m is None:
            return
        day = m.group(0)
        if re.search("[0-9零〇一二两三四五六七八九十]{1,3}[号日]", cur.value):
            value = re.sub("[0-9零〇一二两三四五六七八九十]{1,3}[号日]", day, cur.value, count=1)
        else:
            value = day
        iso = resolve(value, self.call_time) if self.call_time else None
        self._set("incident_time", FieldValue(value, i, (m.start(), m.end()), 0.8, text, iso))

    def _caller_street(self, i: int, text: str) -> list[tuple[int, int]]:
        st = self._st
        regions = reg.find_regions(text)
        prompted = bool(_LOCATION_PROMPT.search(st.last_agent)) or "street_address" in \
            st.agent_topics
        context = st.street if (prompted or st.street) else []
        statement = addr.parse_statement(text, regions, context=context, prompted=prompted)
        if statement is None:
            return []
        if not statement.has_root and not (prompted or statement.corrected):
            return []
        if not statement.has_root and not any(c.kind in addr.NUMBERED for c in
                                              statement.components):
            return []  # '停在门口' later in the call adds nothing to the address
        st.street = addr.merge(st.street, statement)
        st.street_source = (i, statement.start, statement.end, text)
        st.street_confidence = 0.85 if statement.has_root else 0.75
        return [(c.start, c.end) for c in statement.components]

    def _not_a_but_b(self, i: int, text: str) -> None:
        """'不是志强，是志刚' / '不是A区是B区': replace A with B where A is in a field."""
        for m in _NOT_A_BUT_B.finditer(text):
            a, b = m.group("a").strip(), m.group("b").strip()
            for name in ("caller_name", "merchant", "plate"):
                cur = getattr(self._form, name)
                if cur is not None and a and a in cur.value and b not in cur.value:
                    self._set(name, FieldValue(cur.value.replace(a, b, 1), i,
                                               (m.start("b"), m.end("b")), 0.8, text))
            cur = self._form.phone
            da, db = spoken_digits(a), spoken_digits(b)
            if cur is not None and da and db and len(da) == len(db) and da in cur.value:
                self._set("phone", FieldValue(cur.value.replace(da, db, 1), i,
                                              (m.start("b"), m.end("b")), 0.8, text))
            for k, comp in enumerate(self._st.street):
                if a and a in comp.text:
                    fixed = addr.Component(comp.kind, comp.text.replace(a, b, 1), comp.start,
                                           comp.end)
                    self._st.street[k] = fixed

    # ---- agent --------------------------------------------------------------------------

    def _agent(self, i: int, text: str) -> None:
        st = self._st
        topics: set[str] = set()
        for h in extract_honorifics(text):
            st.genders[h.surname] = h.gender
            if h.given:
                st.agent_names.append(h.surname + h.given)
        self._confirm_name(i, text)

        for p in extract_phones(text):
            topics.add("phone")
            self._confirm_or_fill("phone", p.value, i, (p.start, p.end), text, 0.5)
        for idm in extract_ids(text):
            topics.add("id_number")
            self._confirm_or_fill("id_number", idm.value, i, (idm.start, idm.end), text, 0.5)
        for pl in extract_plates(text):
            topics.add("plate")
            self._confirm_or_fill("plate", pl.value, i, (pl.start, pl.end), text, 0.5)
        for mm in extract_merchants(text, gazetteer=self.merchant_gazetteer):
            # confirm only: the operator's own words name bodies and services too freely
            cur = self._form.merchant
            if cur is not None and mm.value == cur.value:
                self._set("merchant", cur.with_confidence(cur.confidence + _CONFIRM_BONUS))
        times = extract_times(text, self.call_time)
        if times:
            topics.add("incident_time")
            cur = self._form.incident_time
            if cur is not None and any(t.text == cur.value for t in times):
                self._set("incident_time", cur.with_confidence(cur.confidence + _CONFIRM_BONUS))
        for a in extract_amounts(text):
            if a.explicit:
                st.agent_amounts.add(a.yuan)

        regions = reg.find_regions(text)
        for r in regions:
            st.regions.append(Mention(r, AGENT, i, text))
        readback = addr.parse_statement(text, regions, partial=True)
        if readback is not None:
            topics.add("street_address")
            said = addr.without(st.street, self._merchant_names())
            back = addr.without(list(readback.components), self._merchant_names())
            if said and back and addr.covers(back, said):
                if addr.render(back) != addr.render(said):
                    logger.debug("operator read-back completes the address: %s", addr.render(back))
                st.street = back
                st.street_source = (i, back[0].start, back[-1].end, text)
                st.street_confidence = min(0.95, max(st.street_confidence, 0.8) + _CONFIRM_BONUS)
        st.agent_topics = topics

    def _confirm_name(self, i: int, text: str) -> None:
        st = self._st
        cur = self._form.caller_name
        honorifics = extract_honorifics(text)
        if cur is None:
            if self.agent_fallback and honorifics:
                h = honorifics[0]
                value = h.surname + h.given if h.given else with_title(h.surname, h.gender)
                self._set("caller_name", FieldValue(value, i, (h.start, h.end), 0.4, text))
                st.name_surname_only = not h.given
            return
        for h in honorifics:
            if st.name_surname_only and cur.value.startswith(h.surname) and not h.given:
                self._set("caller_name", FieldValue(with_title(h.surname, h.gender), cur.utterance,
                                                    cur.span, max(cur.confidence, 0.85),
                                                    cur.source_text))
            elif cur.value.startswith(h.surname):
                full = h.surname + h.given
                if not h.given or full == cur.value:
                    self._set("caller_name", cur.with_confidence(cur.confidence + _CONFIRM_BONUS))
            cur = self._form.caller_name
            if cur is None:
                return

    def _confirm_or_fill(
        self, name: str, value: str, i: int, span: tuple[int, int], text: str, conf: float
    ) -> None:
        cur: FieldValue | None = getattr(self._form, name)
        if cur is None:
            if self.agent_fallback:
                self._set(name, FieldValue(value, i, span, conf, text))
        elif cur.value == value:
            self._set(name, cur.with_confidence(cur.confidence + _CONFIRM_BONUS))
        elif self.agent_fallback and _near(cur.value, value):
            # the operator read back a slightly different number: it stands unless the
            # caller's next words reject it (then the caller's version comes back)
            self._st.readback_pending.setdefault(name, cur)
            self._set(name, FieldValue(value, i, span, 0.6, text))

    # ---- derived fields -----------------------------------------------------------------

    def _merchant_names(self) -> list[str]:
        return [self._form.merchant.value] if self._form.merchant is not None else []

    def _derive(self) -> None:
        self._derive_street()
        self._derive_regions()
        self._derive_amount()

    def _derive_street(self) -> None:
        st = self._st
        comps = addr.without(st.street, self._merchant_names())
        if not comps or st.street_source is None:
            self._form.street_address = None
            return
        i, start, end, text = st.street_source
        self._form.street_address = FieldValue(addr.render(comps), i, (start, end),
                                               st.street_confidence, text)

    def _derive_amount(self) -> None:
        st = self._st
        usable = [c for c in st.amounts if not c.weak or c.mention.yuan in st.agent_amounts]
        if not usable:
            self._form.amount = None
            return

        def score(c: _Candidate) -> tuple[int, int, float, int]:
            confirmed = int(c.mention.yuan in st.agent_amounts)
            return (int(c.corrected), confirmed, c.mention.confidence, c.utterance)

        best = max(usable, key=score)
        conf = best.mention.confidence + (0.08 if best.mention.yuan in st.agent_amounts else 0.0)
        self._form.amount = FieldValue(format_yuan(best.mention.yuan), best.utterance,
                                       (best.mention.start, best.mention.end), round(conf, 3),
                                       best.text)

    def _derive_regions(self) -> None:
        st = self._st
        street_u = st.street_source[0] if st.street_source else None
        found = resolve_location(st.regions, street_u)
        for name, r in found.items():
            setattr(self._form, name, None if r is None else FieldValue(
                r.region.name, r.utterance, (r.mention.start, r.mention.end), r.confidence,
                r.text, r.region.adcode))

    # ---- helpers ------------------------------------------------------------------------

    def _set(self, name: str, value: FieldValue) -> None:
        setattr(self._form, name, value)


def _near(a: str, b: str) -> bool:
    """Same length and at most two characters differ (a misheard or swapped digit)."""
    if len(a) != len(b) or a == b:
        return False
    return sum(x != y for x, y in zip(a, b, strict=True)) <= 2


def extract_call(
    turns: list[dict],
    call_time: dt.datetime | None = None,
    merchant_gazetteer: Iterable[str] = (),
    agent_fallback: bool = True,
) -> WorkOrderForm:
    """Fill a form from a whole call: turns as [{'speaker': 'agent'|'caller', 'text': ...}]."""
    filler = FormFiller(call_time, merchant_gazetteer, agent_fallback)
    for k, turn in enumerate(turns):
        filler.update(k, str(turn.get("speaker", "")), str(turn.get("text", "")))
    return filler.form


def extract_text(
    text: str,
    speaker: str = CALLER,
    call_time: dt.datetime | None = None,
    merchant_gazetteer: Iterable[str] = (),
    agent_fallback: bool = True,
) -> WorkOrderForm:
    """Fill a form from a single message (a chat message, an SMS, one turn)."""
    filler = FormFiller(call_time, merchant_gazetteer, agent_fallback)
    filler.update(0, speaker, text)
    return filler.form
