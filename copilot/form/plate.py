"""Vehicle plates: province character + issuing-office letter + 5 (6 for new-energy) characters,
said with pauses ('琼A，T，3582'), with dots ('粤A·D12345'), with Chinese digits or with the
radio alphabet (幺 1, 两 2, 拐 7, 勾 9, 洞 0)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from copilot.form.numbers import DIGIT_VALUES
from copilot.form.text import halfwidth

logger = logging.getLogger(__name__)

PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_RADIO = {"拐": "7", "勾": "9", "洞": "0"}
# letters spoken the Chinese way, accepted only inside a plate
_SPOKEN_LETTERS = {"诶": "A", "欸": "A", "哔": "B", "比": "B", "西": "C", "迪": "D", "伊": "E"}
_SEP = r"[\s,，、·•.\-－—]*"
_CHAR = (
    "(?:字母|英文|大写)?[A-Za-zＡ-Ｚａ-ｚ0-9０-９零〇一幺二两三四五六七八九拐勾洞"
    + "".join(_SPOKEN_LETTERS)
    + "]"
)
_PLATE_RE = re.compile(
    f"(?P<prov>[{PROVINCE_CHARS}]){_SEP}(?P<office>(?:字母|英文|大写)?[A-Za-zＡ-Ｚａ-ｚ])"
    f"(?P<rest>(?:{_SEP}{_CHAR}){{5,6}})(?P<suffix>{_SEP}[学警挂港澳])?"
)
_PLATE_SHAPE = re.compile(r"^[A-Z][A-HJ-NP-Z0-9]{5,6}$")


@dataclass(frozen=True)
class PlateMention:
    value: str
    start: int
    end: int
    confidence: float


def _plate_char(ch: str) -> str | None:
    ch = halfwidth(ch)
    if ch.isascii() and ch.isalnum():
        return ch.upper()
    if ch in _RADIO:
        return _RADIO[ch]
    if ch in _SPOKEN_LETTERS:
        return _SPOKEN_LETTERS[ch]
    value = DIGIT_VALUES.get(ch)
    return None if value is None else str(value)


def normalize_plate(text: str) -> str | None:
    """'琼A，T，3582' -> '琼AT3582'; None when the text is not a plate."""
    m = _PLATE_RE.search(text)
    if not m:
        return None
    return _build(m)


def _build(m: re.Match[str]) -> str | None:
    chars = [m.group("prov")]
    body = ""
    for ch in re.sub(r"字母|英文|大写", "", m.group("office") + m.group("rest")):
        mapped = _plate_char(ch)
        if mapped is not None:
            body += mapped
    if not _PLATE_SHAPE.match(body):
        return None
    if len(body) == 7 and not (body[1] in "DF" or body[-1] in "DF"):
        # 6 characters after the office letter is the new-energy format (D/F first or last)
        body = body[:6]
    chars.append(body)
    if m.group("suffix"):
        chars.append(m.group("suffix")[-1])
    return "".join(chars)


def extract_plates(text: str) -> list[PlateMention]:
    """Plates said in text, normalised without separators: '粤A·D12345' -> '粤AD12345'."""
    out: list[PlateMention] = []
    for m in _PLATE_RE.finditer(text):
        value = _build(m)
        if value is None:
            continue
        digits = sum(ch.isdigit() for ch in value)
        if digits < 2:
            continue
        spoken = any(ch in _SPOKEN_LETTERS for ch in m.group(0))
        out.append(PlateMention(value, m.start(), m.end(), 0.7 if spoken else 0.9))
    return out
