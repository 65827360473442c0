"""Caller names: self-introductions (我叫 / 我姓 / 我是 …), bare answers to the operator's
'您的姓名？', and the operator's honorific ('陈女士', '王大爷') for the gender of a surname."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from copilot.form.text import CJK, clauses, pos_tags

logger = logging.getLogger(__name__)

COMPOUND_SURNAMES = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 夏侯 令狐 宇文 司徒 申屠 轩辕 端木 "
    "独孤 南宫 西门 百里 呼延 澹台 公冶 宗政 濮阳 太史 仲孙 钟离 闻人 万俟 赫连 拓跋"
).split()
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎"
    "贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧"
    "耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍"
    "华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏"
    "宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈"
    "匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖"
    "练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘"
    "亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信"
    "展阴昝智幸奉植衡富尧闭由"
)
_NOT_GIVEN = set("的了是在我你他她它们这那个就也还和与跟把被让给对很太又再才要能想说有没不"
                 "吗呢吧啊呀嘛哦"
                 "喂么什怎哪谁些每各从往去来叫找买卖问请您俺咱但而或等已经过着得啥咋电话号码身份证住家")
_SURNAME_RE = "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{''.join(sorted(SURNAMES))}])"
_END = r"(?=电话|手机|号码|联系|身份证|今年|住在|住|家住|[，,。.！!？?；;、\s]|$)"
_INTRO = re.compile(
    rf"(?:我叫|俺叫|我的名字叫|我的名字是|名字叫|名字是|我是|俺是|本人)(?P<name>{_SURNAME_RE}[{CJK}]{{1,2}}?){_END}"
)
_SURNAME_ONLY = re.compile(rf"(?:免贵姓|我姓|俺姓|本人姓|^姓)(?P<surname>{_SURNAME_RE})(?![{CJK}])")
_NAME_PROMPT = re.compile("姓名|名字|称呼|贵姓|怎么叫|叫什么")
_HONORIFIC = re.compile(
    rf"(?P<surname>{_SURNAME_RE})(?P<given>[{CJK}]{{0,2}}?)(?P<title>先生|女士|小姐|阿姨|大爷|大妈|大姐|大哥|叔叔|大叔|伯伯|奶奶|爷爷|老师傅)"
)
_MALE = {"先生", "大爷", "大哥", "叔叔", "大叔", "伯伯", "爷爷", "老师傅"}
_FEMALE = {"女士", "小姐", "阿姨", "大妈", "大姐", "奶奶"}
# words that start with a surname character but are everyday words, not names
_COMMON = {"高兴", "方便", "明白", "安全", "温度", "文明", "平安", "和平", "金额", "江边", "向前",
           "路过", "都是", "都有", "关门", "关于", "水平", "常常", "时候", "上面", "车子", "马上",
           "白天", "黄色", "东西", "左右", "周末", "周边", "周围", "孔子", "强调", "强烈", "毛病"}


@dataclass(frozen=True)
class NameMention:
    value: str  # a full name, or just the surname when only that was said
    start: int
    end: int
    surname_only: bool
    confidence: float


@dataclass(frozen=True)
class Honorific:
    surname: str
    gender: str  # "male" | "female"
    start: int
    end: int
    given: str = ""  # '熊志刚先生' -> '志刚'


def _given_ok(name: str) -> bool:
    surname = next((c for c in COMPOUND_SURNAMES if name.startswith(c)), name[0])
    given = name[len(surname):]
    return 1 <= len(given) <= 2 and not any(ch in _NOT_GIVEN for ch in given)


def looks_like_name(text: str) -> bool:
    """A surname from the list followed by one or two plausible given-name characters."""
    if not 2 <= len(text) <= 4 or not re.fullmatch(f"{_SURNAME_RE}[{CJK}]+", text):
        return False
    return text not in _COMMON and _given_ok(text)


def _is_person(text: str) -> bool:
    """jieba tags the whole thing as a person name (nr*) or splits it as surname + given."""
    tags = pos_tags(text)
    if len(tags) == 1:
        return tags[0][1].startswith("nr")
    return tags[0][1].startswith("nr") and all(not f.startswith(("v", "p", "u", "c", "d"))
                                               for _, f in tags[1:])


def extract_names(text: str, prompted: bool = False) -> list[NameMention]:
    """Names the caller gives for themself. prompted: the operator just asked for the name."""
    out: list[NameMention] = []
    for m in _INTRO.finditer(text):
        name = m.group("name")
        titled = _HONORIFIC.fullmatch(name)
        if titled and not titled.group("given"):  # '我是王阿姨' -> 王女士
            gender = "male" if titled.group("title") in _MALE else "female"
            out.append(NameMention(with_title(titled.group("surname"), gender), m.start("name"),
                                   m.end("name"), False, 0.85))
        elif looks_like_name(name):
            out.append(NameMention(name, m.start("name"), m.end("name"), False, 0.9))
    for m in _SURNAME_ONLY.finditer(text):
        out.append(NameMention(m.group("surname"), m.start("surname"), m.end("surname"), True,
                               0.8))
    if out:
        return sorted(out, key=lambda n: n.start)
    cls = clauses(text)
    for i, cl in enumerate(cls[:3]):
        word = re.sub("^(?:我是|我叫|俺是|俺叫|是|叫|嗯|我|呃)", "", cl.text)
        word = re.sub("(?:啊|呀|吧|嘛|的)$", "", word)
        start = cl.start + cl.text.index(word) if word else cl.start
        if prompted and word in SURNAMES | set(COMPOUND_SURNAMES) and i == 0:
            # '陈，陈建华' / '许，许志强': the surname first, then the full name
            nxt = cls[1].text if len(cls) > 1 else ""
            if nxt.startswith(word) and looks_like_name(nxt):
                out.append(NameMention(nxt, cls[1].start, cls[1].end, False, 0.85))
            else:
                out.append(NameMention(word, start, start + len(word), True, 0.6))
            break
        if not looks_like_name(word):
            continue
        follows_phone = bool(re.search("电话|手机|[0-9一二三四五六七八九幺零]{3}", text[cl.end:]))
        if prompted and (len(word) >= 3 or _is_person(word)):
            out.append(NameMention(word, start, start + len(word), False, 0.85))
        elif i == 0 and follows_phone and _is_person(word):
            out.append(NameMention(word, start, start + len(word), False, 0.7))
        break
    return out


def is_name_prompt(text: str) -> bool:
    """The operator asks for the caller's name."""
    return bool(_NAME_PROMPT.search(text))


def extract_honorifics(text: str) -> list[Honorific]:
    """'陈女士' / '黄先生' / '顾阿姨' in the operator's words: surname and gender."""
    out = []
    for m in _HONORIFIC.finditer(text):
        gender = "male" if m.group("title") in _MALE else "female"
        given = m.group("given")
        if given and not _given_ok(m.group("surname") + given):
            continue
        out.append(Honorific(m.group("surname"), gender, m.start(), m.end(), given))
    return out


def with_title(surname: str, gender: str) -> str:
    """'沈' + female -> '沈女士'."""
    return surname + ("先生" if gender == "male" else "女士")
