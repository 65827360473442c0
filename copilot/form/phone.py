"""Phone numbers: 11-digit mobiles (1[3-9]…) and landlines with an area code, read digit by
digit; plus partial corrections such as '尾号是78', '后四位是5936' or '中间四位不对，是二二三五'
(a mobile is said in groups of 3-4-4: the middle group is digits 4 to 7)."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

from copilot.form.idcard import is_valid_id
from copilot.form.numbers import DIGIT_CLASS, DigitRun, digit_runs

logger = logging.getLogger(__name__)

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_CONTEXT = re.compile(r"电话|手机|号码|联系|打给|打我|回电|座机|固话")
_AREA_CODE_CUE = re.compile(r"区号(?:是|为)?\s*$")
_N = f"[{DIGIT_CLASS}]"
_EDIT = re.compile(
    rf"(?P<tail>尾号|尾数|末尾|最后(?:{_N}位)?|后(?:{_N})位|后面(?:{_N}位)?)"
    rf"|(?P<head>前(?:{_N})位|开头)"
    rf"|(?P<middle>中间(?:{_N}位|那几位|几位)?)"
)
# between the cue and the digits: '是', '应该是', '不对，是', '错了，应该是'
_EDIT_GAP = re.compile(r"(?:(?:不对|错了|说错了|有误)[，,。\s]*)?(?:应该)?(?:是|为)?\s*")


@dataclass(frozen=True)
class PhoneMention:
    value: str
    start: int
    end: int
    kind: str  # "mobile" | "landline"
    confidence: float


@dataclass(frozen=True)
class PhoneEdit:
    """A partial restatement: replace the end (or start) of the number with these digits."""

    digits: str
    where: str  # "tail" | "head" | "middle"
    start: int
    end: int


@functools.lru_cache(maxsize=256)
def _landline(digits: str) -> str | None:
    """'057188776655' -> '0571-88776655' when it is a valid Chinese fixed-line number."""
    if not digits.startswith("0") or not 10 <= len(digits) <= 12:
        return None
    try:
        import phonenumbers
    except ImportError:  # pragma: no cover - optional dependency
        area = 3 if digits[1] in "12" else 4
        return f"{digits[:area]}-{digits[area:]}" if 7 <= len(digits) - area <= 8 else None
    try:
        num = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    if phonenumbers.number_type(num) not in (
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None
    area = phonenumbers.length_of_geographical_area_code(num) + 1  # with the trunk 0
    if area <= 1:
        return None
    return f"{digits[:area]}-{digits[area:]}"


def _confidence(text: str, start: int) -> float:
    return 0.95 if _CONTEXT.search(text[max(0, start - 12):start]) else 0.85


def _from_run(text: str, run: DigitRun) -> list[PhoneMention]:
    """Numbers inside one run; pauses decide where a number may start and end."""
    out: list[PhoneMention] = []
    groups = run.groups
    i = 0
    while i < len(groups):
        found = False
        for j in range(len(groups) - 1, i - 1, -1):
            digits = "".join(g.digits for g in groups[i:j + 1])
            start, end = groups[i].start, groups[j].end
            if _MOBILE.match(digits):
                out.append(PhoneMention(digits, start, end, "mobile", _confidence(text, start)))
            elif (line := _landline(digits)) is not None:
                out.append(PhoneMention(line, start, end, "landline", _confidence(text, start)))
            else:
                continue
            i, found = j + 1, True
            break
        if not found:
            i += 1
    return out


def extract_phones(text: str) -> list[PhoneMention]:
    """Mobile and landline numbers said in text, in order."""
    out: list[PhoneMention] = []
    runs = digit_runs(text)
    for k, run in enumerate(runs):
        if len(run.digits) == 18 and is_valid_id(run.digits):
            continue
        if "X" in run.digits:
            continue
        mentions = _from_run(text, run)
        if not mentions and k > 0 and 7 <= len(run.digits) <= 8:
            prev = runs[k - 1]
            between = text[prev.end:run.start]
            cue = _AREA_CODE_CUE.search(text[max(0, prev.start - 4):prev.start])
            if cue and len(between) <= 8 and (line := _landline(prev.digits + run.digits)):
                mentions = [PhoneMention(line, prev.start, run.end, "landline", 0.9)]
        if not mentions and 7 <= len(run.digits) <= 8 and _CONTEXT.search(
            text[max(0, run.start - 8):run.start]
        ) and not run.digits.startswith("0"):
            mentions = [PhoneMention(run.digits, run.start, run.end, "landline", 0.5)]
        out.extend(mentions)
    return out


def _edit_digits(run: DigitRun) -> str:
    """'三六，五九三六' says the end twice ('36', then '5936'): keep the longer restatement."""
    groups = [g.digits for g in run.groups]
    best = groups[0]
    for g in groups[1:]:
        best = g if g.endswith(best) else best + g
    return best


def extract_phone_edits(text: str) -> list[PhoneEdit]:
    """Partial corrections ('尾号是78', '最后是三六，五九三六', '前三位是139',
    '中间四位不对，是二二三五')."""
    out: list[PhoneEdit] = []
    runs = digit_runs(text)
    for m in _EDIT.finditer(text):
        after = m.end()
        for run in runs:
            gap = text[after:run.start]
            if run.start >= after and len(gap) <= 8 and _EDIT_GAP.fullmatch(gap):
                digits = _edit_digits(run) if m.group("tail") else run.digits
                where = "tail" if m.group("tail") else "middle" if m.group("middle") else "head"
                if (1 <= len(digits) < 11 and "X" not in digits
                        and (where != "middle" or len(digits) == 4)):
                    out.append(PhoneEdit(digits, where, m.start(), run.end))
                break
    return out


def apply_edit(value: str, edit: PhoneEdit) -> str:
    """Apply a partial correction to a number, keeping a landline's dash where it was."""
    plain = value.replace("-", "")
    if len(edit.digits) >= len(plain):
        return value
    if edit.where == "middle":
        if not _MOBILE.match(plain):
            return value  # only a mobile's 3-4-4 groups have a middle
        new = plain[:3] + edit.digits + plain[7:]
    elif edit.where == "tail":
        new = plain[: len(plain) - len(edit.digits)] + edit.digits
    else:
        new = edit.digits + plain[len(edit.digits):]
    if "-" in value:
        cut = value.index("-")
        return f"{new[:cut]}-{new[cut:]}"
    return new
