"""Resident ID numbers (GB 11643-1999): 18 characters, the last a mod-11 check character."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from copilot.form.numbers import digit_runs

logger = logging.getLogger(__name__)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# first two digits: the province-level division codes in use
_PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
}
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def birth_date(id_number: str) -> dt.date | None:
    """The date of birth encoded in an 18-character ID number, None when it is not a date."""
    try:
        return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def is_valid_id(id_number: str) -> bool:
    """Shape, province code, birth date (1900..today) and check character all hold."""
    s = id_number.upper()
    if not _SHAPE.match(s) or s[:2] not in _PROVINCES:
        return False
    born = birth_date(s)
    if born is None or not dt.date(1900, 1, 1) <= born <= dt.date.today():
        return False
    return check_char(s[:17]) == s[17]


@dataclass(frozen=True)
class IdMention:
    value: str
    start: int
    end: int
    valid: bool
    confidence: float


def extract_ids(text: str, strict: bool = True) -> list[IdMention]:
    """ID numbers read in text (digits or Chinese digits, pauses allowed, X or 叉 last).

    With strict=True only numbers whose checksum and date hold are returned; otherwise the
    invalid ones come back too, with valid=False and a low confidence."""
    out: list[IdMention] = []
    for run in digit_runs(text):
        digits = run.digits
        if len(digits) != 18 or "X" in digits[:17]:
            continue
        valid = is_valid_id(digits)
        if not valid:
            logger.debug("ID-like number %s fails the GB 11643 check", digits)
            if strict:
                continue
        out.append(IdMention(digits, run.start, run.end, valid, 0.95 if valid else 0.3))
    return out
