"""When the matter happened: explicit dates (2020年5月3号, 5月3日, 3号晚上) and relative
expressions (今天下午三点多, 昨天, 前天晚上8点, 上周三, 上个礼拜, 上个月底, 这三天, 今年五月份).

The work order keeps the expression as the caller said it (that is what the annotated calls
hold); `resolve` turns it into ISO 8601 against the call's date and time: a date
('2024-05-03'), a date and time ('2024-05-03T20:00'), a month ('2024-05'), a year ('2020') or
an interval ('2024-04-29/2024-05-05'). Future expressions (明天, 下个月) and vague past ones
(去年, 前几年) are not incident times.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from dataclasses import dataclass

from copilot.form.numbers import parse_int

logger = logging.getLogger(__name__)

_N = "[0-9零〇一二两三四五六七八九十]"
_WD = "[一二三四五六日天末]"
_TOD = "凌晨|清晨|一早|早上|早晨|上午|中午|午后|下午|傍晚|晚上|夜里|半夜|深夜|晚间"
_CLOCK = f"{_N}{{1,3}}(?:点|时)(?:半|钟|多|左右|一刻|三刻|{_N}{{1,2}}分?)?"
_TIME = f"(?:(?:{_TOD})?(?:{_CLOCK})|(?:{_TOD}))"
_DAY = ("大前天|前天|昨天|昨日|昨儿个|昨儿|今天|今日|今儿个|今儿|当天|那天|今早|今晚|昨晚|昨夜|"
        "前晚|刚才|刚刚")
_WEEK = f"(?:这|本|上上|上)(?:个)?(?:周|星期|礼拜){_WD}?"
_PART = "底|初|中旬|上旬|下旬|末"
_MONTH_REL = f"(?:这|本|上上|上)(?:个)?月(?:份)?(?:{_PART}|中)?(?:{_N}{{1,3}}[号日])?"
_YEAR_MONTH = (f"(?:今年|去年)(?:{_N}{{1,3}})月(?:份)?(?:底|初|中旬|上旬|下旬|末)?"
               f"(?:{_N}{{1,3}}[号日])?")
_ABS = (f"(?:(?:19|20)\\d{{2}}|[一二][〇零九一二三四五六七八九]{{3}})年"
        f"(?:{_N}{{1,3}}月(?:份)?(?:{_N}{{1,3}}[号日])?)?")
_DIGITS = "0-9零〇一二两三四五六七八九十"
_MONTH_DAY = f"(?<![{_DIGITS}年])(?:{_N}{{1,3}})月(?:份)?(?:{_N}{{1,3}}[号日])?"
_DAY_OF_MONTH = f"(?<![{_DIGITS}月])(?:{_N}{{1,3}})[号日](?=(?:{_TOD}|那天|当天|晚|早))"
_SPAN = (f"这(?:{_N}|几)(?:天|周|个星期|个礼拜|个月)|最近(?:{_N}|几)(?:天|周|个星期|个礼拜|个月)|"
         f"近(?:{_N}|几)(?:天|周|个月)|前几天|前两天|这几天|这段时间|这阵子|最近")
_WEEKDAY = "(?:周|星期|礼拜)[一二三四五六日天]"
_AGO = f"(?:{_N}{{1,3}}|几|半)(?:个)?(?:天|星期|礼拜|周|月)(?:前|之前|以前)"

_EXPR = re.compile(
    f"(?P<abs>{_ABS})|(?P<ym>{_YEAR_MONTH})|(?P<ago>{_AGO})|(?P<span>{_SPAN})|"
    f"(?P<week>{_WEEK})|(?P<mrel>{_MONTH_REL})|(?P<day>{_DAY})|(?P<md>{_MONTH_DAY})|(?P<dom>{_DAY_OF_MONTH})|"
    f"(?P<wd>{_WEEKDAY})|(?P<time>(?:{_TOD})(?:{_CLOCK})|{_CLOCK}(?=的时候|左右|那会))"
)
_TAIL = re.compile(f"(?:{_TIME})")
# how sure a kind of expression is to be the time of the matter
_CONFIDENCE = {"day": 0.9, "abs": 0.85, "ym": 0.85, "week": 0.85, "mrel": 0.8, "ago": 0.75,
               "span": 0.75, "md": 0.75, "dom": 0.75, "wd": 0.6, "time": 0.55}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


@dataclass(frozen=True)
class TimeMention:
    text: str
    start: int
    end: int
    confidence: float
    iso: str | None = None


def extract_times(text: str, call_time: dt.datetime | None = None) -> list[TimeMention]:
    """Incident-time expressions in text, in order (with ISO values when call_time is given)."""
    out: list[TimeMention] = []
    last_end = 0
    for m in _EXPR.finditer(text):
        if m.start() < last_end:
            continue
        kind = m.lastgroup or ""
        end = m.end()
        if kind not in ("time",):
            tail = _TAIL.match(text, end)
            if tail and kind in ("day", "dom", "wd", "week", "md", "abs", "ym", "mrel", "ago"):
                end = tail.end()
        expr = text[m.start():end]
        if kind == "md" and not _plausible_month_day(expr):
            continue
        if kind == "abs" and _is_birth_year(text, m.start(), end):
            continue
        conf = _CONFIDENCE.get(kind, 0.6)
        iso = resolve(expr, call_time) if call_time is not None else None
        out.append(TimeMention(expr, m.start(), end, conf, iso))
        last_end = end
    return out


def _plausible_month_day(expr: str) -> bool:
    m = re.match(f"({_N}{{1,3}})月(?:份)?(?:({_N}{{1,3}})[号日])?", expr)
    if not m:
        return False
    month = parse_int(m.group(1))
    day = parse_int(m.group(2)) if m.group(2) else 1
    return month is not None and 1 <= month <= 12 and day is not None and 1 <= day <= 31


def _is_birth_year(text: str, start: int, end: int) -> bool:
    after = text[end:end + 4]
    return bool(re.match("^(?:的人|出生|生的|生人|属)", after))


def _month_shift(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _clock(expr: str) -> tuple[int, int] | None:
    m = re.search(
        f"(?P<h>{_N}{{1,3}})(?:点|时)(?P<rest>半|一刻|三刻|(?P<m>{_N}{{1,2}})分?)?", expr
    )
    if not m:
        return None
    hour = parse_int(m.group("h"))
    if hour is None or hour > 24:
        return None
    minute = 0
    rest = m.group("rest") or ""
    if rest == "半":
        minute = 30
    elif rest == "一刻":
        minute = 15
    elif rest == "三刻":
        minute = 45
    elif m.group("m"):
        minute = parse_int(m.group("m")) or 0
    tod = re.search(_TOD, expr)
    tod_word = tod.group(0) if tod else ""
    afternoon = tod_word in ("下午", "傍晚", "晚上", "夜里", "深夜", "晚间", "午后")
    if (afternoon and hour < 12) or (tod_word == "中午" and hour < 3):
        hour += 12
    elif tod_word in ("半夜",) and hour == 12:
        hour = 0
    if re.search("今晚|昨晚|前晚", expr) and hour < 12:
        hour += 12
    return hour % 24, minute if minute < 60 else 0


def _with_time(day: dt.date, expr: str) -> str:
    clock = _clock(expr)
    if clock is None:
        return day.isoformat()
    return f"{day.isoformat()}T{clock[0]:02d}:{clock[1]:02d}"


def _interval(a: dt.date, b: dt.date) -> str:
    return f"{a.isoformat()}/{b.isoformat()}"


def _month_part(year: int, month: int, part: str) -> str:
    last = calendar.monthrange(year, month)[1]
    spans = {"初": (1, 10), "上旬": (1, 10), "中": (11, 20), "中旬": (11, 20), "下旬": (21, last),
             "底": (21, last), "末": (21, last)}
    if part in spans:
        a, b = spans[part]
        return _interval(dt.date(year, month, a), dt.date(year, month, b))
    return f"{year:04d}-{month:02d}"


def resolve(expr: str, call_time: dt.datetime) -> str | None:
    """ISO 8601 for an expression found by extract_times, relative to the call; None when it
    cannot be pinned down (这段时间)."""
    today = call_time.date()
    try:
        return _resolve(expr, call_time, today)
    except (ValueError, OverflowError):
        logger.debug("cannot resolve %r against %s", expr, call_time)
        return None


def _resolve(expr: str, call_time: dt.datetime, today: dt.date) -> str | None:
    offsets = {"大前天": -3, "前天": -2, "前晚": -2, "昨天": -1, "昨日": -1, "昨儿": -1,
               "昨晚": -1, "昨夜": -1, "今天": 0, "今日": 0, "今儿": 0, "今早": 0, "今晚": 0,
               "当天": 0, "那天": 0}
    if expr.startswith(("刚才", "刚刚")):
        return call_time.strftime("%Y-%m-%dT%H:%M")
    for word, delta in offsets.items():
        if expr.startswith(word):
            return _with_time(today + dt.timedelta(days=delta), expr)
    m = re.match(f"(这|本|上上|上)(?:个)?(?:周|星期|礼拜)({_WD})?", expr)
    if m:
        weeks = {"这": 0, "本": 0, "上": -1, "上上": -2}[m.group(1)]
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks)
        if m.group(2) == "末":
            return _interval(monday + dt.timedelta(days=5), monday + dt.timedelta(days=6))
        if m.group(2):
            return _with_time(monday + dt.timedelta(days=_WEEKDAYS[m.group(2)]), expr)
        return _interval(monday, monday + dt.timedelta(days=6))
    m = re.match("(?:周|星期|礼拜)([一二三四五六日天])", expr)
    if m:
        back = (today.weekday() - _WEEKDAYS[m.group(1)]) % 7
        return _with_time(today - dt.timedelta(days=back), expr)
    m = re.match(f"(这|本|上上|上)(?:个)?月(?:份)?({_PART}|中)?(?:({_N}{{1,3}})[号日])?", expr)
    if m:
        year, month = _month_shift(today.year, today.month,
                                   {"这": 0, "本": 0, "上": -1, "上上": -2}[m.group(1)])
        if m.group(3):
            return _with_time(dt.date(year, month, parse_int(m.group(3)) or 1), expr)
        return _month_part(year, month, m.group(2) or "")
    m = re.match(f"(今年|去年)({_N}{{1,3}})月(?:份)?({_PART})?(?:({_N}{{1,3}})[号日])?", expr)
    if m:
        year = today.year - (1 if m.group(1) == "去年" else 0)
        month = parse_int(m.group(2)) or 1
        if m.group(4):
            return _with_time(dt.date(year, month, parse_int(m.group(4)) or 1), expr)
        return _month_part(year, month, m.group(3) or "")
    m = re.match(f"(\\d{{4}}|[一二][〇零九一二三四五六七八九]{{3}})年(?:({_N}{{1,3}})月(?:份)?"
                 f"(?:({_N}{{1,3}})[号日])?)?", expr)
    if m:
        year = parse_int(m.group(1)) or today.year
        if not m.group(2):
            return f"{year:04d}"
        month = parse_int(m.group(2)) or 1
        if not m.group(3):
            return f"{year:04d}-{month:02d}"
        return _with_time(dt.date(year, month, parse_int(m.group(3)) or 1), expr)
    m = re.match(f"({_N}{{1,3}})月(?:份)?(?:({_N}{{1,3}})[号日])?", expr)
    if m:
        month = parse_int(m.group(1)) or 1
        year = today.year if month <= today.month else today.year - 1
        if not m.group(2):
            return f"{year:04d}-{month:02d}"
        return _with_time(dt.date(year, month, parse_int(m.group(2)) or 1), expr)
    m = re.match(f"({_N}{{1,3}})[号日]", expr)
    if m:
        day = parse_int(m.group(1)) or 1
        year, month = today.year, today.month
        if day > today.day:
            year, month = _month_shift(year, month, -1)
        return _with_time(dt.date(year, month, day), expr)
    m = re.match(f"({_N}{{1,3}}|几|半)(?:个)?(天|星期|礼拜|周|月)(?:前|之前|以前)", expr)
    if m:
        count = {"几": 3.0, "半": 0.5}.get(m.group(1)) or float(parse_int(m.group(1)) or 1)
        days = count * {"天": 1, "月": 30}.get(m.group(2), 7)
        return _with_time(today - dt.timedelta(days=round(days)), expr)
    m = re.match(f"(?:这|最近|近)({_N}|几)?(天|周|个星期|个礼拜|个月)", expr)
    if m:
        count = 3 if m.group(1) in (None, "几") else (parse_int(m.group(1)) or 3)
        unit = m.group(2)
        days = count * (7 if unit in ("周", "个星期", "个礼拜") else 30 if unit == "个月" else 1)
        return _interval(today - dt.timedelta(days=days - 1), today)
    if expr in ("前几天", "前两天"):
        return _interval(today - dt.timedelta(days=3), today - dt.timedelta(days=1))
    if expr in ("这几天",):
        return _interval(today - dt.timedelta(days=2), today)
    clock = _clock(expr)
    if clock is not None:
        return f"{today.isoformat()}T{clock[0]:02d}:{clock[1]:02d}"
    return None
