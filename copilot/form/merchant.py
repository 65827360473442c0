"""Merchants (商家 / 企业) the call is about: '在X办了卡', '投诉X', '叫X', 'X店 / X公司 / X健身房 /
X超市 / X餐厅 …', the answer to '店名是？', and names from an optional gazetteer.

Public schools, hospitals and government bodies are not merchants; a bare category ('手机店',
'装修公司') is not a name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from copilot.form.text import CJK, clauses

logger = logging.getLogger(__name__)

# suffixes that make a business name on their own, longest first when matching
STRONG_SUFFIXES = (
    "有限责任公司", "股份有限公司", "有限公司", "分公司", "公司", "集团", "置业", "地产", "物业",
    "超市", "商场", "商行", "便利店", "专卖店", "旗舰店", "4S店", "农资店", "药店", "药房", "店",
    "餐厅", "饭店", "酒店", "酒楼", "饭馆", "菜馆", "面馆", "火锅", "大排档", "烧烤", "茶楼",
    "茶馆",
    "咖啡馆", "奶茶", "健身房", "健身会所", "健身中心", "健身", "瑜伽馆", "游泳馆", "会所", "公寓",
    "宾馆", "旅馆", "客栈", "民宿", "网吧", "KTV", "足浴", "洗浴中心", "美容院", "理发店", "美发",
    "培训学校", "培训中心", "培训机构", "教育", "驾校", "中介", "诊所", "口腔", "装饰", "装修",
    "家政", "快递", "物流", "电器厂", "家具厂", "工厂", "厂", "车行", "汽修", "修理厂", "加油站",
    "影城", "影院", "俱乐部", "工作室", "门诊部", "银行", "营业厅", "售楼部", "售楼处",
)
# category words that are not a name by themselves ('手机店', '装修公司', '火锅店')
GENERIC = {
    "手机", "火锅", "川菜", "湘菜", "装修", "家电", "小家电", "服装", "衣服", "水果", "小吃",
    "早餐", "烧烤", "理发", "美发", "洗车", "汽修", "五金", "建材", "家具", "小卖", "便利", "饭",
    "面", "菜",
    "网", "长租", "短租", "健身", "房产", "培训", "教育", "物业", "快递", "外卖", "电器", "农资",
    "种子", "奶茶", "咖啡", "宠物", "母婴", "眼镜", "电动车", "汽车", "药", "蛋糕", "面包", "花",
    "生鲜", "海鲜", "超市", "商场", "酒", "茶", "烟酒", "鞋", "装饰", "中介", "租房", "开发",
    "垃圾焚烧发电", "发电", "垃圾", "污水处理", "化工", "钢", "砖", "水泥", "搅拌", "商业",
    "地方", "一些", "这些", "那些", "什么",
}
_STOP = (
    "的了是在我你他她它们这那个几就都也还与跟把被让给对很太又再才只要会能想说有没不"
    "吗呢吧啊呀嘛哦喂么什怎哪谁些每各从到往去来叫找买卖看问住请您俺咱但而或等已经过着得啥咋一"
    "无者"
)
_PLACE_WORDS = ("旁边", "隔壁", "对面", "楼下", "楼上", "门口", "附近", "本地", "外地", "小区",
                "村里",
                "镇上", "街上", "路边", "网上", "线上", "当地", "这边", "那边")
_NAME_CH = f"[^{_STOP}\\s\\W]"
_SUFFIX_RE = "|".join(re.escape(s) for s in sorted(STRONG_SUFFIXES, key=len, reverse=True))
_CANDIDATE = re.compile(f"(?P<name>{_NAME_CH}{{2,16}}(?:{_SUFFIX_RE}))")
_ANY = "[^，,。.！!？?；;、：:\\s的]"
_CALLED = re.compile(f"(?:叫做|叫|名叫|名字叫|店名叫|店名是|名字是)(?P<name>{_ANY}{{2,16}})")
_TYPE_BEFORE_CALLED = re.compile(
    f"(?:有个|有一个|有家|有一家|开了个|开了一个|开了家|开了一家|一个|一家|个|家)"
    f"(?P<type>[{CJK}]{{0,4}}?(?:{_SUFFIX_RE}))[，,]?(?:叫做|叫|名叫)(?P<name>{_ANY}{{2,12}})"
)
_MEASURE = "一这那有哪我俺每几某两"
_LEAD_VERBS = re.compile("^(?:投诉|举报|反映|曝光|起诉|就是|那个|这个|对方是|是)+")
_STRONG_CUE = re.compile("投诉|举报|反映|对方是|是一家|"
                         "在(?=[^，,。]{2,16}(?:买|办|消费|充|交|吃|住|报|签))"
                         "|曝光|起诉|维权")
_MERCHANT_PROMPT = re.compile(
    "店名|商家|公司.{0,3}(?:叫|名)|叫什么|哪家|哪个公司|哪个店|名称|单位名"
)
_NOT_MERCHANT = re.compile(
    "小学|中学|大学|学校|幼儿园|医院|卫生院|卫生服务|派出所|公安|法院|检察院|仲裁|政府|委员会|居委会|"
    "村委|街道办|管委会|局$|部门|社区|服务站|服务中心|人社|社保|税务|医保|国企|事业单位|12345"
)


@dataclass(frozen=True)
class MerchantMention:
    value: str
    start: int
    end: int
    confidence: float


def _clean(name: str) -> str:
    for word in _PLACE_WORDS:
        if name.startswith(word):
            name = name[len(word):]
    return name


def is_name(name: str) -> bool:
    """A business name, not a bare category and not a public body."""
    if len(name) < 3 or _NOT_MERCHANT.search(name):
        return False
    stem = name
    for suffix in sorted(STRONG_SUFFIXES, key=len, reverse=True):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    stem = stem.strip()
    if len(stem) < 2 or stem in GENERIC or re.fullmatch(r"\d+\D?", stem):
        return False
    return not any(stem.endswith(g) and len(stem) - len(g) < 2 for g in GENERIC)


def _add(out: list[MerchantMention], name: str, start: int, conf: float, text: str) -> None:
    if name.startswith("家") and start > 0 and text[start - 1] in _MEASURE:
        name, start = name[1:], start + 1  # 一家 / 这家 / 我家: the measure word, not the name
    lead = _LEAD_VERBS.match(name)
    if lead:
        if _STRONG_CUE.search(lead.group(0)):
            conf = max(conf, 0.85)
        name, start = name[lead.end():], start + lead.end()
    cleaned = _clean(name)
    start += len(name) - len(cleaned)
    name = cleaned
    if is_name(name):
        out.append(MerchantMention(name, start, start + len(name), conf))


def extract_merchants(
    text: str, prompted: bool = False, gazetteer: Iterable[str] = ()
) -> list[MerchantMention]:
    """Merchant names in a caller's words, in order. prompted: the operator asked for the name
    of the shop / company; gazetteer: known merchant names to look for verbatim."""
    out: list[MerchantMention] = []
    for m in _TYPE_BEFORE_CALLED.finditer(text):
        # '有个大排档叫好再来' -> 好再来大排档; '开了个川菜馆，叫味道川菜馆' keeps the name
        kind, name = m.group("type"), m.group("name")
        full = name if any(name.endswith(s) for s in STRONG_SUFFIXES) else name + kind
        if not _NOT_MERCHANT.search(full):
            out.append(MerchantMention(full, m.start("name"), m.end("name"), 0.9))
    covered = [(mm.start, mm.end) for mm in out]
    for m in _CALLED.finditer(text):
        name = m.group("name")
        cut = re.match(f"{_NAME_CH}{{2,16}}?(?:{_SUFFIX_RE})", name)
        if cut and not any(s <= m.start("name") < e for s, e in covered):
            _add(out, cut.group(0), m.start("name"), 0.9, text)
    for m in _CANDIDATE.finditer(text):
        name, start = m.group("name"), m.start("name")
        if any(s <= start < e or start <= s < start + len(name) for s, e in covered):
            continue
        around = text[max(0, start - 12):start + len(name) + 6]
        conf = 0.85 if _STRONG_CUE.search(around) else 0.7
        if name.endswith("厂") and conf < 0.8 and not name.endswith(("电器厂", "家具厂")):
            continue  # 'a plant near us' is often not the matter; want a cue
        _add(out, name, start, conf, text)
    if prompted and not out:
        first = clauses(text)[:1]
        if first:
            word = re.sub("^(?:就是|叫|是|那个|嗯)+", "", first[0].text)
            if 3 <= len(word) <= 16 and re.fullmatch(f"{_NAME_CH}+", word) and not \
                    _NOT_MERCHANT.search(word):
                out.append(MerchantMention(word, first[0].start + first[0].text.index(word),
                                           first[0].end, 0.75))
    for name in gazetteer:
        for m in re.finditer(re.escape(name), text):
            out.append(MerchantMention(name, m.start(), m.end(), 0.95))
    out.sort(key=lambda mm: (mm.start, -len(mm.value)))
    dedup: list[MerchantMention] = []
    for mm in out:
        if dedup and mm.start < dedup[-1].end:
            if mm.confidence > dedup[-1].confidence:
                dedup[-1] = mm
            continue
        dedup.append(mm)
    return dedup


def is_merchant_prompt(text: str) -> bool:
    """The operator asks which shop / company it is."""
    return bool(_MERCHANT_PROMPT.search(text))
