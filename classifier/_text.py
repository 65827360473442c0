"""Text helpers shared by the rule-based classifiers: caller turns, normalisation, clause spans,
negation scope."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CALLER = "caller"
AGENT = "agent"
# Other names a transcript may give the caller's side.
CALLER_ALIASES = frozenset({CALLER, "citizen", "customer", "user", "来电人", "市民", "群众"})

# A clause ends at a comma, a full stop, a question or exclamation mark, a semicolon, a colon,
# an enumeration comma or a line break (after NFKC the full-width marks are ASCII).
CLAUSE_BREAK = re.compile(r"[,。!?;:、\n\r\t…~]|(?<!\d)\.(?!\d)|\s{1,}")
# A sentence ends at a full stop, a question or exclamation mark, a semicolon or a line break.
SENTENCE_BREAK = re.compile(r"[。!?;\n\r…]|(?<!\d)\.(?!\d)")

# Negation words that deny what follows ("没有人受伤", "不是着火", "未发现", "无人员伤亡").
# ("别"/"不要" are left out: "别打了", "你不要跳" tell someone to stop what is happening.)
_NEGATION = re.compile(r"并没有|并没|并未|没有|没|无|未|不是|并非|不会|不用|不像|不想|不")
# Words that contain a negation character but do not negate what follows.
_NOT_NEGATION = re.compile(
    r"没想到|没过多久|没多久|没一会|没几分钟|没办法|没法|没人管|没人理|没完|无论|无缘无故|未来"
    r"|别人|别的|别家|不停|不断|不少|不得了|不行|不好|不住|不知道|不清楚|不到|不了|不敢|不能"
    r"|不管|不光|不仅|不但|不久|不一会|不小心|不对劲|不对|不舒服|不得|无法|不然|要不|不一定"
    r"|是不是|会不会|能不能|要不要|可不可以|行不行|好不好|对不对|有没有"
)
# What may stand between a negation and the word it denies: a subject or a verb of perception
# ("没有[人]受伤", "没[看到有人]受伤", "未[造成人员]伤亡"), never another verb ("没给钱还打人"
# does not deny 打人).
_NEGATION_FILLER = re.compile(
    r"(?:人员|有人|什么人|任何人|任何|什么|谁|人|有|看到|看见|见到|发现|听到|听见|闻到|感觉到"
    r"|发生|造成|出现|导致|引起|明显|真的|真|再|被|在|的|都|也|一个人|一个)*"
)


def normalize(text: str) -> str:
    """NFKC (full-width digits and punctuation to ASCII), lower case, trimmed."""
    return unicodedata.normalize("NFKC", text).lower().strip()


def _turn_parts(turn: Any) -> tuple[str, str]:
    if isinstance(turn, str):
        return CALLER, turn
    if isinstance(turn, Mapping):
        speaker, text = turn.get("speaker"), turn.get("text")
    else:  # an object with .speaker / .text (a transcript event, a dataclass)
        speaker, text = getattr(turn, "speaker", None), getattr(turn, "text", None)
    if text is None:
        raise ValueError(f"a turn needs a 'text' (and a 'speaker': caller|agent); got {turn!r}")
    return str(speaker or CALLER).strip().lower(), str(text)


def caller_texts(turns: Iterable[Any] | str) -> list[tuple[int, str]]:
    """(turn index, normalised text) for each caller turn; a plain string is one caller turn.

    Turns are ``{"speaker": "caller"|"agent", "text": ...}`` (or objects with those attributes).
    A turn with no speaker counts as the caller's; any speaker other than the caller (the agent,
    an IVR prompt) is left out, so the operator's own words never trigger anything.
    """
    if isinstance(turns, str):
        return [(0, normalize(turns))]
    out = []
    for k, turn in enumerate(turns):
        speaker, text = _turn_parts(turn)
        if speaker in CALLER_ALIASES and text.strip():
            out.append((k, normalize(text)))
    return out


@dataclass(frozen=True)
class Span:
    """Where a match sits in its turn: its clause and its sentence (start, end offsets)."""

    clause: tuple[int, int]
    sentence: tuple[int, int]


def _bounds(pattern: re.Pattern[str], text: str, start: int, end: int) -> tuple[int, int]:
    left = 0
    for m in pattern.finditer(text, 0, start):
        left = m.end()
    nxt = pattern.search(text, end)
    return left, (nxt.start() if nxt else len(text))


def span_of(text: str, start: int, end: int) -> Span:
    return Span(_bounds(CLAUSE_BREAK, text, start, end), _bounds(SENTENCE_BREAK, text, start, end))


def clauses_before(text: str, span: Span) -> list[str]:
    """The clauses of the same sentence that come before the match's clause, nearest first."""
    head = text[span.sentence[0]:span.clause[0]]
    return [c for c in reversed(CLAUSE_BREAK.split(head)) if c]


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: "_" * len(m.group()), text)


def negation_before(prefix: str) -> str | None:
    """The negation word that denies what follows ``prefix`` (the clause text before a match),
    or None. "没有人受伤" → "没有"; "没想到着火了" → None; "不停地冒烟" → None;
    "不给钱还打人" → None (the negation belongs to another verb)."""
    masked = _mask(prefix, _NOT_NEGATION)
    last = None
    for m in _NEGATION.finditer(masked):
        last = m
    if last is None or not _NEGATION_FILLER.fullmatch(masked[last.end():]):
        return None
    return last.group()


def is_a_not_a_question(prefix: str) -> bool:
    """"有没有人受伤", "有无人员伤亡": the caller asks rather than states. ("是不是着火了" is
    left a statement: a caller unsure whether it is a fire is still reporting one.)"""
    return bool(re.search(r"有没有?[^,。!?]{0,4}$|有无[^,。!?]{0,4}$", prefix))


def dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
