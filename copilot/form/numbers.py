"""Chinese numerals: unit readings (三千六, 两万四, 一百零五) and digit-by-digit readings.

Spoken phone numbers, ID numbers and plates are read one digit at a time, often with 幺 for 1,
两 for 2, 洞 for 0 and pauses written as commas or spaces; amounts and house numbers use units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.form.text import halfwidth

DIGIT_VALUES: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0, "洞": 0,
    "一": 1, "幺": 1, "壹": 1,
    "二": 2, "两": 2, "贰": 2,
    "三": 3, "叁": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}
DIGIT_VALUES.update({str(d): d for d in range(10)})
SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}

DIGIT_CLASS = "0-9０-９零〇○洞一幺二两三四五六七八九"
NUMERAL_CLASS = DIGIT_CLASS + "十百千万亿点.．"
# pauses between digit groups when a number is read out
_SEPARATORS = r"[\s,，、\-－—–·.]{0,2}"
_RUN_RE = re.compile(
    f"[{DIGIT_CLASS}](?:{_SEPARATORS}[{DIGIT_CLASS}])*(?:{_SEPARATORS}[XxＸｘ叉])?"
)
_GROUP_RE = re.compile(f"[{DIGIT_CLASS}]+|[XxＸｘ叉]")


def digit_of(ch: str) -> int | None:
    """The value of one digit character (Arabic, full-width or Chinese), else None."""
    return DIGIT_VALUES.get(halfwidth(ch))


def spoken_digits(text: str) -> str:
    """Read digit by digit, dropping pauses: '一三六，二七一三' -> '1362713'; X/叉 -> 'X'."""
    out = []
    for ch in halfwidth(text):
        if ch in "Xx叉":
            out.append("X")
            continue
        value = DIGIT_VALUES.get(ch)
        if value is not None:
            out.append(str(value))
    return "".join(out)


@dataclass(frozen=True)
class DigitGroup:
    """One pause-free group of digits inside a run: '4018' in '139，4018，6527'."""

    digits: str
    start: int
    end: int


@dataclass(frozen=True)
class DigitRun:
    """Digits read one by one, possibly paused: the groups and their span in the text."""

    groups: tuple[DigitGroup, ...]
    start: int
    end: int

    @property
    def digits(self) -> str:
        return "".join(g.digits for g in self.groups)


def digit_runs(text: str) -> list[DigitRun]:
    """All digit-by-digit runs in text (Chinese or Arabic digits, pauses allowed)."""
    runs = []
    for m in _RUN_RE.finditer(text):
        groups = tuple(
            DigitGroup(spoken_digits(g.group(0)), m.start() + g.start(), m.start() + g.end())
            for g in _GROUP_RE.finditer(m.group(0))
        )
        runs.append(DigitRun(groups, m.start(), m.end()))
    return runs


def parse_number(text: str) -> float | None:
    """Value of a numeral: '3500', '3.5万', '三千五百', '三千六' (3600), '两万四' (24000),
    '2万4千', '一百零五', '十五', '五二二' (digit by digit: 522). None when it is not a number."""
    s = halfwidth(text).strip()
    if not s:
        return None
    total = 0.0
    section = 0.0
    pending: float | None = None
    pending_chinese_digits = 0  # how many Chinese digits in a row made up `pending`
    last_unit = 0
    zero_since_unit = False
    i = 0
    while i < len(s):
        ch = s[i]
        if ch.isdigit() and ch.isascii():
            j = i
            while j < len(s) and ((s[j].isdigit() and s[j].isascii()) or s[j] == "."):
                j += 1
            try:
                pending = float(s[i:j])
            except ValueError:
                return None
            pending_chinese_digits = 0
            i = j
            continue
        if ch in ("点", "．") and pending is not None:
            j = i + 1
            frac = ""
            while j < len(s) and digit_of(s[j]) is not None:
                frac += str(digit_of(s[j]))
                j += 1
            if not frac:
                return None
            pending = float(f"{int(pending)}.{frac}")
            pending_chinese_digits = 0
            i = j
            continue
        value = DIGIT_VALUES.get(ch)
        if value is not None:
            if value == 0 and ch in "零〇○洞" and pending is None:
                zero_since_unit = True
                i += 1
                continue
            if pending is not None and pending_chinese_digits:
                pending = pending * 10 + value  # read digit by digit: 五二二
            else:
                pending = float(value)
            pending_chinese_digits += 1
            i += 1
            continue
        if ch in SMALL_UNITS:
            unit = SMALL_UNITS[ch]
            section += (1.0 if pending is None else pending) * unit
            pending, pending_chinese_digits = None, 0
            last_unit, zero_since_unit = unit, False
            i += 1
            continue
        if ch in BIG_UNITS:
            unit = BIG_UNITS[ch]
            section += pending or 0.0
            if section == 0:
                section = 1.0
            total += section * unit
            section, pending, pending_chinese_digits = 0.0, None, 0
            last_unit, zero_since_unit = unit, False
            i += 1
            continue
        return None
    if pending is not None:
        if last_unit >= 100 and not zero_since_unit and pending < 10:
            pending *= last_unit / 10  # colloquial: 三千六 = 3600, 两万四 = 24000
        section += pending
    result = total + section
    return result


def parse_int(text: str) -> int | None:
    """parse_number for whole numbers only."""
    value = parse_number(text)
    if value is None or value != int(value):
        return None
    return int(value)


_NUMERAL_RE = re.compile(f"[{NUMERAL_CLASS}]+")


def arabic(text: str) -> str:
    """Rewrite every numeral in text with Arabic digits.

    '五二二号' -> '522号', '十二栋' -> '12栋'."""

    def repl(m: re.Match[str]) -> str:
        value = parse_number(m.group(0))
        if value is None:
            return m.group(0)
        return str(int(value)) if value == int(value) else str(value)

    return _NUMERAL_RE.sub(repl, halfwidth(text))
