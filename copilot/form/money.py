"""Amounts of money: '三千五百元', '3500块', '两千块钱', '押金四千五', '2万4千元' -> '3500元'.

A number with no currency word counts only when it has a 百/千/万 unit and the talk is about
money; rates ('每亩每年八百块', '一个月五千'), ranges ('七八十块'), bounds ('没到十二万', '八百多')
and vague amounts ('好几万') are left out: a work order wants the amount in dispute. A number
said with a hedge ('大概两万块', '一千五左右') is the caller's best figure: it is taken, at lower
confidence.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from copilot.form.numbers import NUMERAL_CLASS, parse_number
from copilot.form.text import CJK

logger = logging.getLogger(__name__)

_NUM = f"[{NUMERAL_CLASS}0-9]"
_AMOUNT = re.compile(
    f"(?P<num>{_NUM}+(?:\\.\\d+)?)(?P<unit>块钱|元钱|块|元|圆|万元|千元|百元)?"
    f"(?P<jiao>(?<=[块元])[一二三四五六七八九两1-9](?:毛|角)?(?![{NUMERAL_CLASS}0-9]))?"
)
_CURRENCY_AFTER = re.compile("^(?:人民币|RMB)")
_MONEY_CONTEXT = re.compile(
    "钱|费|款|价|押金|工资|薪|金额|多少|交了|交的|付|充|花了|退|欠|卡|买|赔|罚|收了|收取|贷|借|"
    "块|元|转账|报销|补贴|津贴|奖金|房租|租金|定金|订金|学费|保证金|损失|花费|开销|成本|值|"
    "修要|要花|得花|骗"
)
# a unit right after the number that makes it something other than money
_OTHER_UNIT = re.compile(
    "^(?:多|来|余|几)?(?:个|亩|人|户|节|年|月|天|日|号|次|岁|米|公里|里|斤|公斤|吨|平|平方|平米|层|楼|栋|"
    "幢|单元|室|条|张|台|辆|家|间|套|件|位|名|分钟|小时|点|度|倍|成|%|％|页|本|所|座|把|瓶|袋|箱|包|"
    "份|元/|块/|周|课|期|届|级|班|路|号线|万人|千人|百人)"
)
_VAGUE_BEFORE = re.compile(
    "(?:几|好几|左右|将近|接近|没到|不到|超过|不超过|以上|以下|上下|每|"
    "一个月|每个月|一年|每年|一天|每天|一亩|每亩|一个人|每人|一节|每节|一小时|每小时|一次|"
    "每次|人均|月薪|年薪|日薪)$"
)
_VAGUE_AFTER = re.compile("^(?:多|来|余|几|以上|以下|出头)")
# the caller's best figure, not an exact one
_HEDGE_BEFORE = re.compile("(?:大概|大约|约|差不多|估计|大致)(?:是|有|要|在)?$")
_HEDGE_AFTER = re.compile("^(?:块钱|元钱|块|元)?(?:左右|上下)")
HEDGED_CONFIDENCE = 0.6
_RANGE = re.compile(f"^[{NUMERAL_CLASS}]*(?:一二|二三|三四|四五|五六|六七|七八|八九)")


@dataclass(frozen=True)
class AmountMention:
    yuan: float
    start: int
    end: int
    confidence: float
    explicit: bool  # said with 元 / 块

    @property
    def value(self) -> str:
        return format_yuan(self.yuan)


def format_yuan(yuan: float) -> str:
    """3600.0 -> '3600元'; 35.5 -> '35.5元'."""
    text = str(int(yuan)) if yuan == int(yuan) else f"{yuan:.2f}".rstrip("0").rstrip(".")
    return text + "元"


def extract_amounts(text: str, money_talk: bool = False) -> list[AmountMention]:
    """Amounts in text. money_talk: the surrounding turns are about money (钱/费/多少…), which
    lets a bare '三千六' count."""
    out: list[AmountMention] = []
    context = money_talk or bool(_MONEY_CONTEXT.search(text))
    for m in _AMOUNT.finditer(text):
        num, unit = m.group("num"), m.group("unit") or ""
        end = m.end()
        if not unit and num.endswith("一") and len(num) > 1 and re.match(f"[{CJK}]", text[end:]):
            num, end = num[:-1], end - 1  # 四千五一直不退: 一直 is a word, not a digit
        if not re.search(f"[{NUMERAL_CLASS}0-9]", num) or num in ("点", "."):
            continue
        after = text[end:]
        before = text[max(0, m.start() - 6):m.start()]
        if not unit and _OTHER_UNIT.match(after):
            continue
        if _VAGUE_AFTER.match(after) or _VAGUE_BEFORE.search(before) or _RANGE.match(num):
            continue
        if unit and _VAGUE_AFTER.match(text[m.end("num"):]):
            continue
        hedged = bool(_HEDGE_BEFORE.search(before) or _HEDGE_AFTER.match(after))
        value = parse_number(num)
        if value is None or value <= 0:
            continue
        if m.group("jiao"):
            value += (parse_number(m.group("jiao")[0]) or 0) / 10
        if unit.startswith("万"):
            value *= 10_000
        elif unit.startswith("千"):
            value *= 1_000
        elif unit.startswith("百"):
            value *= 100
        explicit = bool(unit) or bool(_CURRENCY_AFTER.match(after))
        if explicit:
            conf = 0.9
        else:
            if not re.search("[百千万]", num) or not context:
                continue  # a bare number without a unit: too often not money
            if re.fullmatch(r"\d+", num):
                continue
            conf = 0.75
        if num.isdigit() and len(num) >= 7 and not explicit:
            continue
        if hedged:
            conf = min(conf, HEDGED_CONFIDENCE)
        out.append(AmountMention(value, m.start(), end, conf, explicit))
    return out
