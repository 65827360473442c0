"""Triage of a call: is it an emergency for 110 / 119 / 120 / 122, and is it a matter the 12345
hotline does not accept (诉讼, 仲裁, 行政复议, 信访, 纪检监察)?

Rule-based and explainable: every flag comes with the caller's exact words that raised it and a
sentence for the operator. Only the caller's words count; the operator's never do.

Emergencies are tuned for recall — a missed emergency is the worst error the product can make —
so a trigger word fires unless its own clause (or sentence) shows it is not happening now:

- negated ("没有人受伤", "不是着火") or asked ("有没有人受伤");
- hypothetical or feared ("万一炸了怎么办", "存在火灾隐患", "会着火", "怕起火");
- habitual, i.e. a standing complaint ("这个路口经常出车祸");
- a question about rules or money rather than an event ("交通事故怎么认定责任");
- past ("上个月着过火", "去年被车撞了") or resolved later in the same turn ("着火了，已经灭了").

Words that say the event is happening now ("正在", "现在", "快来", "着火了") override the softer
of these (fear, consultation). What was set aside is listed in ``Triage.emergency_notes`` so the
operator still sees it, and a later mention of an ongoing danger ("已经灭了，但是还在冒烟")
fires again. Suicide risk and domestic violence fire even when feared or repeated ("我怕他想不开",
"他经常打我").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from classifier._text import (
    CLAUSE_BREAK,
    Span,
    caller_texts,
    clauses_before,
    dedupe,
    is_a_not_a_question,
    negation_before,
    span_of,
)

logger = logging.getLogger(__name__)

__all__ = ["EMERGENCY_LINES", "KINDS", "OUT_OF_SCOPE_KINDS", "Hit", "Triage", "triage"]

EMERGENCY_LINES = ("110", "119", "120", "122")
OUT_OF_SCOPE_KINDS = ("诉讼", "仲裁", "行政复议", "信访", "纪检监察")  # order of precedence

# What the rules made of one trigger word.
ACTIVE = "active"
NEGATED = "negated"
QUESTION = "question"
HYPOTHETICAL = "hypothetical"
HABITUAL = "habitual"
CONSULTATION = "consultation"
PAST = "past"
RESOLVED = "resolved"

_STATUS_ZH = {
    NEGATED: "被否定",
    QUESTION: "为询问",
    HYPOTHETICAL: "为假设或担心",
    HABITUAL: "为经常性问题",
    CONSULTATION: "为咨询规定",
    PAST: "为已过去的事",
    RESOLVED: "已处置",
}

# No trigger may span a clause break.
_GAP = "[^,。!?;:、]"


def _alt(*parts: str) -> str:
    """A non-capturing alternation of regex fragments."""
    return "(?:" + "|".join(parts) + ")"


def _re(*parts: str) -> re.Pattern[str]:
    return re.compile(_alt(*parts))


# --------------------------------------------------------------------------------------------
# Emergency rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    line: str
    what: str  # for the operator: "来电反映{what}，请立即转接{line}"
    advice: str = ""


# In order of precedence: the first kind found decides the line to transfer to, the others go to
# ``also_notify``. A traffic accident stays with 122 even when someone is trapped in the car;
# fire, gas and explosions come first because the scene itself is dangerous.
KINDS: dict[str, _Kind] = {
    "fire": _Kind("119", "正在发生火情"),
    "gas": _Kind("119", "燃气泄漏（闻到燃气味）",
                 "提醒来电人不要开关电器、不要动明火，打开门窗并立即撤离"),
    "explosion": _Kind("119", "发生爆炸"),
    "traffic": _Kind("122", "发生交通事故"),
    "trapped": _Kind("119", "有人被困"),
    "water": _Kind("119", "有人落水"),
    "weapon": _Kind("110", "有人持械或扬言伤人"),
    "violence": _Kind("110", "正在发生暴力或打斗"),
    "robbery": _Kind("110", "正在发生抢劫或入室盗窃"),
    "crime": _Kind("110", "有人遭绑架、拘禁或性侵害"),
    "domestic": _Kind("110", "正在发生家庭暴力"),
    "missing": _Kind("110", "有人走失或失踪（含儿童）"),
    "death": _Kind("110", "发现有人死亡"),
    "suicide": _Kind("120", "有人有轻生风险", "稳住来电人情绪，不要挂断"),
    "injury": _Kind("120", "有人受伤"),
    "illness": _Kind("120", "有人突发急病或失去意识"),
    "poisoning": _Kind("120", "有人中毒"),
    # A cry for help with nothing more specific: 110, only when no other kind is found.
    "distress": _Kind("110", "来电人呼救"),
}
_RANK = {kind: k for k, kind in enumerate(KINDS)}
_INJURY_KINDS = frozenset({"injury", "illness", "poisoning", "suicide"})
_GENERIC_KINDS = frozenset({"distress"})


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    needs: re.Pattern[str] | None = None  # the sentence must also say this (context) …
    blocked: re.Pattern[str] | None = None  # … and must not say this
    hypothetical_ok: bool = False  # fear still counts ("我怕他想不开")
    habitual_ok: bool = False  # a repeated event still counts ("他经常打我")
    injury: bool = False  # the words themselves say someone is hurt (→ 120 as well)


_PERSON = _alt("人", "老人", "孩子", "小孩", "小朋友", "学生", "阿姨", "大爷", "大妈", "大姐",
               "老太太", "老爷子", "老头", "工人", "他", "她", "我")
_FAMILY = _alt("孩子", "小孩", "儿子", "女儿", "闺女", "娃", "宝宝", "老人", "老太太", "老爷子",
               "老伴", "我妈", "我爸", "母亲", "父亲", "奶奶", "爷爷", "外婆", "外公", "姥姥",
               "姥爷")
_GAS = _alt("煤气", "燃气", "天然气", "液化气", "液化石油气", "瓦斯", "沼气")
_VEHICLE = _alt("车", "汽车", "货车", "卡车", "轿车", "电动车", "摩托车?", "三轮车?", "公交",
                "出租车", "渣土车", "面包车")
_DETECTOR = _re("报警器", "探测器", "检测仪", "检测器")
_ANIMAL = _alt("鸟", "猫", "狗", "犬", "宠物", "动物", "鸽子", "兔子")
# An animal hurt or run over ('流浪狗被车撞伤了', '受伤的鸟') is for animal rescue, not 120/122;
# a person bitten by one ('被狗咬伤') still counts.
_ANIMAL_HURT = _re(_ANIMAL + "儿?" + _GAP + "{0,6}"
                   + _alt("受伤", "受了伤", "流血", "被车撞", "被" + _GAP + "{0,3}撞", "撞伤",
                          "翅膀", "腿断"),
                   "受伤的?" + _GAP + "{0,2}" + _ANIMAL)
# Heard of, not happening here: '新闻上说有地方燃气爆炸'.
_HEARSAY = _re("新闻", "报道", "电视上", "网上看到", "听说")

_EMERGENCY_RULES: tuple[_Rule, ...] = (
    # 119: fire, gas, explosion, people trapped, people in the water -------------------------
    _Rule("fire", _re("(?:着|起|失)(?:过|了)?大?火", "烧起来", "烧着了", "着起来了", "火苗",
                      "火光", "火舌", "(?<![用使动])明火(?!做饭|作业|烧烤)", "火势", "大火", "火灾",
                      "火警(?!电话|号码)", "冒火", "窜火", "蹿火", "自燃", "火海",
                      _alt("房子", "屋", "楼", "车", "店", "厂", "仓库", "家") + _GAP + "{0,3}"
                      + _alt("烧了", "被烧", "烧没了")),
          blocked=_re(_DETECTOR.pattern, _HEARSAY.pattern)),
    _Rule("fire", _re("冒(?:黑|浓|白|青)?烟", "浓烟", "烟很大", "好多烟", "全是烟", "烟雾",
                      "(?:烧焦|焦糊)的?(?:味|气味)"),
          needs=_re("楼", "房", "屋", "窗", "家", "厨房", "车", "电梯", "配电", "电线", "电表",
                    "插座", "仓库", "店", "商场", "山", "林", "火", "烧", "着", "灭"),
          blocked=_re("烟囱", "油烟", "排烟", "抽烟", "吸烟", "香烟", "烟花", "烧烤", "秸秆",
                      "焚烧", "烧垃圾", "排放", "污染", "扰民", "雾霾", "粉尘", "尾气", "锅炉",
                      "工厂", "厂里", "排气", "烟道")),
    # A smell that keeps coming back is still a leak, hence habitual_ok.
    _Rule("gas", _re(_GAS + "的?" + _alt("味", "气味", "泄漏", "泄露", "外泄", "漏了", "在漏",
                                        "漏出", "漏气", "跑气")),
          blocked=_DETECTOR, habitual_ok=True),
    _Rule("gas", _re("(?:闻到|有一?股)" + _GAP + "{0,8}"
                     + _alt("煤气", "燃气", "天然气", "液化气")),
          blocked=_DETECTOR, habitual_ok=True),
    _Rule("gas", _re("(?:好)?像是?" + _GAS), needs=_re("味", "闻"), blocked=_DETECTOR),
    _Rule("gas", _re("漏气", "跑气", "嘶嘶", "臭鸡蛋味"),
          needs=_re(_GAS, "气罐", "钢瓶", "气瓶", "灶", "燃气表", "气表", "阀门"),
          blocked=_re("轮胎", "车胎", "气球", "空调", "报警器", "探测器")),
    _Rule("explosion", _re("爆炸", "爆燃", "闪爆", "炸了", "炸开了", "炸裂", "炸响", "炸伤",
                           _alt("气罐", "钢瓶", "锅炉", "高压锅", "充电宝", "电瓶", "电池")
                           + _GAP + "{0,2}爆了"),
          blocked=_re("炸鸡", "油炸", "炸串", "炸酱", "鞭炮", "烟花", "爆竹", "放炮", "爆炸性",
                      "炸毛", "气炸", "肺都炸", _HEARSAY.pattern)),
    _Rule("trapped", _re("被困", "困在", "困住", "被埋", "埋在(?:下面|里面|底下)",
                         "压在(?:下面|里面|底下)", "被压住", "被压在", "关在电梯", "卡在电梯",
                         "电梯" + _GAP + "{0,4}(?:困人|关人|困住)",
                         "电梯" + _GAP + "{0,4}(?:关|困|卡)(?:了|住了)?(?:一?个|几个|两个|三个)?人",
                         "(?:锁|关|困)在车里", "锁车里",
                         "电梯" + _GAP + "{0,6}(?:掉下|坠落|下坠|停在半空|卡住了|卡在半)",
                         "(?:卡|困|夹)在(?:驾驶室|车里|车内|车底)",
                         "有人" + _GAP + "{0,4}(?:没出来|没跑出来)"),
          blocked=_re("资金", "经济", "生活困", "困难")),
    _Rule("trapped", _re("出不来", "跑不出来", "逃不出来"),
          needs=_re("火", "烟", "电梯", "楼", "屋", "房", "门", "水", "塌", "困", "车里", "井")),
    _Rule("water", _re("落水", "溺水", "掉水里", "淹死", "快淹", "被(?:水|洪水|大水)冲走",
                       "掉(?:进|到|入)了?" + _alt("河", "江", "湖", "海", "水库", "池塘", "水塘",
                                                  "鱼塘", "水池", "水里", "水中"),
                       "掉" + _alt("河", "江", "湖", "海", "水库", "池塘", "水塘", "鱼塘", "水池")
                       + "里"),
          injury=True),
    # 122: traffic accidents (with injuries: 120 as well) --------------------------------------
    # (a scrape, 剐蹭, is a dispute for the hotline, not an emergency by itself)
    _Rule("traffic", _re("车祸", "交通事故", "撞车", "追尾", "相撞", "翻车", "侧翻", "肇事", "逃逸",
                         "车撞", "车被" + _GAP + "{0,4}撞", _VEHICLE + _GAP + "{0,2}翻了",
                         _VEHICLE + _GAP + "{0,4}"
                         + _alt("翻到", "翻进", "翻下", "冲进", "冲下", "掉进", "掉下", "掉到"),
                         "撞(?:上|到)了?" + _GAP + "{0,4}"
                         + _alt("车", "树", "护栏", "墙", "电线杆", "栏杆")),
          blocked=_ANIMAL_HURT),
    _Rule("traffic", _re("被" + _GAP + "{0,3}撞(?:了|坏|翻|飞|倒|伤|到)"),
          needs=_re("车", "路口", "马路", "公路", "骑", "开"), blocked=_ANIMAL_HURT),
    _Rule("traffic", _re("被" + _GAP + "{0,4}" + _VEHICLE + _GAP + "{0,3}"
                         + _alt("撞", "碾", "轧", "压", "刮倒", "带倒"),
                         "撞(?:了|倒|伤|死|飞|到)(?:一个|个)?" + _PERSON, "撞(?:倒|伤|死|飞)",
                         "刮倒", _VEHICLE + "把" + _GAP + "{0,8}" + _alt("撞", "轧", "碾", "压")),
          blocked=_ANIMAL_HURT, injury=True),
    # 110: violence, weapons, robbery, missing people, abuse ----------------------------------
    _Rule("violence", _re("打架", "斗殴", "殴打", "群殴", "互殴", "围殴", "打群架", "打起来",
                          "动手打", "打成一团", "厮打", "扭打", "拳打脚踢", "大打出手", "械斗",
                          "砍人", "捅人", "行凶", "(?<!拨)打人(?!才|民|力|员)", "打伤",
                          "被打(?!扰|折|卡|电话|针|疫苗|款|钱|包|印|开|通|车|表|分|造|工|听|烂|碎|坏|扫|湿|翻|蜡)",
                          "被[^,。!?;:、打]{1,5}打(?:了|伤|得|成|倒|晕|死)", "打砸", "砸东西",
                          "砸店", "砸车", "砸门", "撒酒疯", "发酒疯", "耍酒疯", "闹事"),
          blocked=_re("隔间", "隔断", "打通", "打隔")),  # '房子被人打成小隔间' is building work
    _Rule("weapon", _re("(?:拿|持|提|举|拎|挥|握|掏|亮|抽)(?:着|出|起)?来?(?:一把)?"
                        + _alt("刀", "菜刀", "砍刀", "水果刀", "匕首", "棍", "棒", "铁棍", "钢管",
                               "斧头", "锤子", "枪", "凶器", "砖头", "酒瓶"),
                        "开枪", "枪声", "有枪", "杀人", "砍死", "捅死", "弄死",
                        "杀了(?:我|你|他|她|全家)", "打死(?!也|都)", "要杀(?!价|鸡|猪|鱼)",
                        "(?:威胁|恐吓)" + _alt("我", "我们", "他", "她", "老板", "店主", "我家",
                                             "家人", "孩子", "人(?!身)"),
                        _alt("(?<!其)他", "她", "他们", "对方", "那人", "男的", "女的", "有人")
                        + _GAP + "{0,6}(?:威胁|恐吓)",
                        "扬言要?(?:杀|砍|弄死|打|报复|炸|放火|烧)"),
          blocked=_re("停水", "停电", "断水", "断电", "起诉", "曝光", "投诉", "举报", "罚款",
                      "扣工资", "开除", "辞退", "拉黑", "仲裁", "工资", "社保", "合同")),
    _Rule("domestic", _re("家暴", "家庭暴力", "虐待", "打孩子",
                          _alt("老公", "丈夫", "男人", "老婆", "妻子", "爸爸", "父亲", "继父",
                               "后爸", "妈妈", "继母", "后妈", "儿子", "婆婆", "公公", "男朋友",
                               "男友", "前夫")
                          + _GAP + "{0,4}"
                          + _alt("打我(?!电话|手机)", "打孩子", "打她", "打他", "动手", "打我妈",
                                 "打我们", "打人")),
          blocked=_re("犬", "狗", "猫", "动物", "宠物"), hypothetical_ok=True, habitual_ok=True),
    _Rule("robbery", _re("抢劫", "打劫", "(?<![跟和同像是])抢钱", "抢包", "抢手机", "被抢",
                         "飞车抢", "入室", "撬(?:开|坏|我家|人家|邻居家|别人家)?(?:门|锁|窗)",
                         "有小偷", "进了小偷", "小偷(?:在|正在|进|还在)", "进贼", "有贼",
                         "正在偷", "有人(?:在|正在)?偷(?:东西|车|钱|手机|包)")),
    _Rule("missing", _re("走失", "走丢", "被拐", "拐走", "拐卖", "被人抱走", "被抱走",
                         "找不到" + _FAMILY,
                         _FAMILY + _GAP + "{0,6}"
                         + _alt("丢了", "不见了", "没回来", "没到家", "没回家", "找不到了", "失踪",
                                "联系不上"),
                         "失踪了?的(?:孩子|人|老人)"),
          blocked=_re("狗", "猫", "宠物", "鸟", "行李", "快递", "钱包", "手机", "钥匙")),
    _Rule("crime", _re("绑架", "劫持", "绑走", "非法拘禁", "限制人身自由",
                       "被(?:关|锁|控制)(?:起来|住|在(?:屋|房间|里))", "关着不让", "性侵", "强奸",
                       "被" + _GAP + "{0,3}(?:关|锁)在" + _GAP + "{0,8}(?:出不去|出不来|不让)",
                       "猥亵", "非礼", "跟踪我", "尾随我",
                       "传销" + _GAP + "{0,6}(?:控制|出不来|不让)")),
    _Rule("death", _re("(?<![吵烦热累气笑急冷饿困忙臭])死人了", "有人死了", "人死了", "尸体",
                       "死者", "命案",
                       _PERSON + _GAP + "{0,12}(?:已经|好像|可能|好像已经)死了")),
    _Rule("death", _re("(?:好像|可能|估计)?已经死了", "好像死了"), needs=_re(_PERSON),
          blocked=_re(_ANIMAL, "树", "花", "草", "鱼", "手机", "电脑", "机器", "电池", "账号")),
    # 120: injuries, sudden illness, poisoning, suicide risk (110 as well) -------------------
    _Rule("injury", _re("受伤(?!害)", "受了伤", "负伤", "伤者", "伤员", "伤得", "(?<!严)重伤(?!害)",
                        "伤亡", "死伤", "砍伤", "刺伤", "捅伤", "撞伤", "烧伤", "烫伤", "摔伤",
                        "砸伤", "咬伤", "压伤", "割伤", "头破血流", "骨折",
                        _alt("腿", "胳膊", "手臂", "手", "脚", "骨头", "脖子", "腰") + _GAP
                        + "{0,3}(?:断了|折了)",
                        "流血", "出血", "大出血", "都是血", "全是血", "满身是血", "满脸是血",
                        "一身血", "一地血", "一滩血", "血流", "流了好多血", "吐血", "咯血",
                        "血止不住", "触电", "被电(?:到|击|了)", "电击伤",
                        "摔倒", "跌倒", "摔了一跤", "坠楼", "坠落",
                        _PERSON + _GAP + "{0,3}(?:从" + _GAP + "{0,6})?"
                        + "(?:摔|掉|跌|坠)了?(?:下来|下去)",
                        "掉(?:进|到|入|下)" + _GAP + "{0,4}"
                        + _alt("井", "下水道", "窨井", "坑", "沟")),
          blocked=_re("流血流汗", "流汗流血", "血汗", "献血", "验血", "抽血", "血压", "血糖",
                      "血脂", "血型", "出血点", "心灵", "气得吐血", _ANIMAL_HURT.pattern)),
    _Rule("illness", _re("昏迷", "晕倒", "晕过去", "昏倒", "昏过去", "晕厥", "休克", "不省人事",
                         "没有?了?意识", "叫不醒", "喊不醒", "没有?了?呼吸", "没气了", "没有心跳",
                         "心跳停", "心脏骤停", "抽搐", "抽风", "口吐白沫", "倒地不起",
                         _PERSON + _GAP + "{0,4}倒在地上",
                         "突发" + _alt("心脏病", "脑溢血", "脑梗", "心梗", "疾病", "急病", "晕厥",
                                      "癫痫", "抽搐"),
                         _alt("心脏病", "心梗", "心肌梗塞?", "脑梗", "脑溢血", "中风", "哮喘",
                              "癫痫", "羊癫疯") + _GAP + "{0,3}(?:发作|犯了|犯病)",
                         "犯病了", "呼吸困难", "喘不上气", "喘不过气", "透不过气", "快不行了",
                         "人不行了", "要不行了", "羊水破了", "难产", "惊厥", "抽筋", "倒地",
                         "噎住", "噎着了", "卡住了?喉咙", "被(?:开水|热水|热油|油)烫",
                         "半边身子" + _GAP + "{0,3}(?:动不了|不能动|没知觉|没有知觉)",
                         "口眼歪斜", "突然说不出话"),
          blocked=_re("压力", "压得", "腿抽筋", "脚抽筋", "小腿")),
    _Rule("illness", _re(_alt("人", "他", "她", "老人", "孩子", "小孩", "老太太", "老爷子", "大爷",
                              "阿姨") + _GAP + "{0,6}"
                         + _alt("一动不动", "躺着不动", "没有?反应",
                                "(?:躺|倒)在(?:地上|路上|路边|马路上|马路中间)"))),
    _Rule("illness", _re("要生了", "快生了", "生孩子了"),
          blocked=_re("下个?月", "下周", "下礼拜", "明年", "过几天", "预产期", "几个月", "怀孕",
                      "准备", "打算", "计划", "津贴", "补贴", "报销", "登记", "产假")),
    _Rule("poisoning", _re("上吐下泻", "又吐又拉"),
          needs=_re("好多", "很多", "好几个", "几个", "多名", "一群", "集体", "都", "全家",
                    "站不起来", "昏")),
    _Rule("poisoning", _re("中毒", "服毒", "误服", "误吞", "误食", "误吃", "误喝",
                           "(?:吃|喝|吞)了?(?:一|整|半)(?:瓶|盒|板|把)" + _GAP + "{0,2}药",
                           "(?:喝|吃|服|吞)了?" + _GAP + "{0,3}"
                           + _alt("农药", "老鼠药", "鼠药", "安眠药", "敌敌畏", "百草枯", "毒药"))),
    _Rule("suicide", _re("自杀", "(?<!减)轻生", "寻死", "想不开", "不想活", "活着没意思",
                         "一了百了", "了结自己", "结束自己的?生命", "跳楼", "跳河", "跳江",
                         "跳湖", "跳海", "跳桥", "割腕", "上吊", "寻短见", "要跳下去",
                         "(?:站|坐|爬)在" + _GAP + "{0,6}"
                         + _alt("楼顶", "天台", "顶楼", "窗台", "桥上", "栏杆外")),
          blocked=_re("跳楼价", "跳楼甩卖", "跳楼大甩卖"), hypothetical_ok=True, habitual_ok=True),
    _Rule("distress", _re("救命", "快报警", "帮我报警", "我要报警", "帮忙报警", "赶紧报警"),
          blocked=_re("救命(?:的|钱|药|医疗|稻草|恩)")),
)

# Clause markers ------------------------------------------------------------------------------

_PAST = _re(
    "上个?月", "上周", "上礼拜", "上个?星期", "上次", "上回", "去年", "前年", "前几年", "前些年",
    "前几天", "前些天", "前段时间", "前阵子", "前一阵", "之前", "以前", "曾经", "那次", "那天",
    "昨天", "昨晚", "昨日", "前天", "前晚", "早些年", "当年", "那年", "小时候", "以往", "年初",
    "上半年", "前不久", "不久前", "当时", "(?<!未)曾",
    "[\\d一二两三四五六七八九十几半]+(?:天|年|个月|个多月|周|个星期|星期|礼拜|个礼拜)(?:前|以前|之前)",
    "(?:19|20)\\d{2}年", "\\d{1,2}月(?:份|\\d{1,2}[日号])", "[一二三四五六七八九十]+月份",
)
_PAST_TAIL = _re("^了?(?:之后|以后|过)")  # "被撞了之后…", "摔倒过"
_PAST_SUFFIX = _re("(?<![经路通不难])过$")  # "出过车祸", "发生过" (not 经过, 路过)
_PAST_IN_MATCH = _re("(?<!不)过(?!去|来|气)")  # "着过火" (not "昏过去", "喘不过气")
# A time said after the event: "孩子被打了，上个星期的事".
_PAST_AFTER = _re("^(?:是|都是|那是|这是)?" + _PAST.pattern + _GAP + "{0,4}(?:的事|发生的|那次)")
_PRESENT = _re("现在", "正在", "此刻", "目前", "刚才", "刚刚", "马上", "还在", "仍在", "仍然",
               "一直在", "今天", "今晚", "今早", "这会", "眼下", "此时", "就在", "快来", "快点",
               "赶快", "赶紧", "救命")
_AGAIN = _re("又", "再次", "再一次")  # "上个月着过火，现在又冒烟了": the past no longer carries
_ACUTE = _re("正在", "现在", "快来", "快点", "救命", "赶紧", "赶快", "马上", "还在", "一直在")
_CONDITIONAL = _re("万一", "如果", "要是", "假如", "假设", "一旦", "一但", "倘若", "若是", "如有",
                   "如遇", "若有", "若遇", "如发生", "如家", "比如", "例如", "譬如", "不然", "否则",
                   "真要", "等到?出事", "出了事", "差点", "差一点", "险些")
_WOULD = _re("会$")  # "会着火"
# Fear is read in the word's own clause only: "我很担心，我妈晕倒在卫生间" is an emergency.
_FEAR = _re("(?<!可)怕", "担心", "生怕", "恐怕", "会不会")
# Risk talk also carries over from earlier clauses of the sentence ("存在隐患，一旦…").
_RISK = _re("容易", "可能会", "有可能", "随时", "迟早", "早晚", "以免", "以防", "防止", "预防",
            "避免", "隐患", "风险", "危险性", "有" + _GAP + "{0,4}危险", "的危险", "安全问题",
            "难免", "演练", "演习", "宣传", "培训", "模拟", "谁负责", "谁担责", "极易",
            "易(?:引发|发生|造成)", "引发", "导致", "减少", "防范", "预警", "不堪设想")
# Said right after the word, these make it a topic rather than an event ("火灾时", "车祸高发").
_GENERIC_AFTER = _re("^(?:时|的时候|时候|事件|案例|隐患|风险|后果|发生率|高发|多发|的?概率"
                     "|的风险|的危险|率)")
# "消防栓都是坏的，着火了怎么办": in a complaint, "what if", not a fire.
_RHETORICAL = _re("^了?(?:怎么办|谁负责|谁来负责|谁管|咋办)")
_COMPLAINT_FRAME = _re("投诉", "举报", "建议", "隐患", "消防栓", "灭火器", "消防设施", "物业",
                       "不管", "没人管")
_HABITUAL = _re("经常", "常常", "时常", "总是", "老是", "天天", "每天", "每晚", "每次",
                "(?<!一)动不动", "三天两头", "频繁", "屡次", "多次", "好几次", "常年", "长期",
                "一直以来", "时不时", "有时候", "有时", "偶尔", "频发", "时有", "屡屡",
                "很多起", "多起", "几起", "[两几\\d]次", "不是第一次", "又一次")
_CONSULT = _re(
    "怎么样?" + _alt("交", "缴", "办", "办理", "申请", "投诉", "举报", "报修", "处理", "收费",
                   "认定", "赔偿", "赔", "索赔", "理赔", "报销", "鉴定", "算", "查", "预防", "防范",
                   "维权", "解决", "规定", "界定"),
    "如何", "咋(?:交|办理|申请|投诉)", "费用", "收费", "多少钱", "规定", "标准", "政策", "法规",
    "条例", "罚款", "处罚", "归谁管", "哪个部门", "什么部门", "哪个单位", "流程", "手续",
    "需要什么", "要什么材料", "材料", "合法", "违法吗", "能不能投诉", "可以投诉", "报警器",
    "灭火器", "消防栓", "消防通道", "消防设施", "检查", "安检", "检测", "整改", "保险", "理赔",
    "赔偿", "认定", "责任书", "定损", "热线", "号码", "医保", "报销", "能报", "补贴", "补助",
    "待遇",
)
# The caller frames the whole sentence as a question about rules ("我想咨询一下…").
_CONSULT_FRAME = _re("咨询", "想问", "请问", "问一下", "问问", "了解一下")

# Resolutions are read after the trigger, in the same turn ("着火了，已经灭了").
_TO_HOSPITAL = _re("(?:已经|早就)" + _GAP + "{0,4}(?:送|去|到|在|住)" + _GAP + "{0,3}医院",
                   "送(?:到|进)?医院了", "住院了", "出院了", "没大碍", "抢救过来", "医药费",
                   "看(?:了|过)医生", "医生说", "诊断(?:为|是|结果)", "输液", "挂水", "缝了")
_STOPPED = _re("(?:已经|早就)" + _GAP + "{0,3}(?:被抓|抓走|散了|拉开了|劝开了|停了|走了)",
               "被(?:警察|民警|派出所)?抓(?:走|住)了")
_RESOLUTION: dict[str, re.Pattern[str]] = {
    "fire": _re("(?:已经|早就|已)" + _GAP + "{0,3}(?:灭|扑灭|熄灭)(?!火|了?吗|了?没)",
                "(?<![没未不难])(?:灭了|扑灭了|熄灭了|灭掉了)(?!吗|没)"),
    "gas": _re("修好了", "不漏了", "没味了", "没有味道了", "处理好了"),
    "explosion": _re("(?:已经|早就)" + _GAP + "{0,4}(?:处理|清理)"),
    "trapped": _re("救出来了", "已经出来了", "都出来了", "脱险", "获救", "放出来了"),
    "water": _re("救上来了", "捞上来了", "救起来了", "获救"),
    "traffic": _re("(?:已经|早就)" + _GAP + "{0,4}(?:处理完|处理好|撤|拖走|私了)"),
    "violence": _STOPPED,
    "weapon": _STOPPED,
    "domestic": _STOPPED,
    "missing": _re("找到了", "已经找到", "(?:已经|都)回(?:来|家)了"),
    "injury": _TO_HOSPITAL,
    "illness": _TO_HOSPITAL,
    "poisoning": _TO_HOSPITAL,
    "suicide": _re("劝下来了", "救下来了", "已经送医", "被救"),
}
_RESOLVED_ANY = _re("没事了", "已经解决了", "处理完了", "已经处理了")


@dataclass
class Hit:
    """One trigger word in a caller turn, and what the rules made of it."""

    kind: str  # fire, gas, traffic, injury, … (KINDS) or an out-of-scope kind (诉讼 …)
    line: str  # "119" / "120" / … for emergencies, the out-of-scope kind otherwise
    text: str  # the caller's exact words that matched
    turn: int  # index of the turn in the call
    start: int  # offsets in the (NFKC-normalised) turn text
    end: int
    status: str = ACTIVE  # active, negated, question, hypothetical, habitual, consultation, …
    cue: str = ""  # the word that set the status ("没有", "上个月", "万一" …)
    injury: bool = False

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


def _first(pattern: re.Pattern[str], texts: Iterable[str]) -> re.Match[str] | None:
    return next((m for t in texts if (m := pattern.search(t))), None)


def _status(rule: _Rule, text: str, start: int, end: int, span: Span) -> tuple[str, str]:
    """Why a trigger word does not (or does: ACTIVE) say an emergency is happening now."""
    clause = text[span.clause[0]:span.clause[1]]
    sentence = text[span.sentence[0]:span.sentence[1]]
    prefix = text[span.clause[0]:start]
    after = text[end:]
    earlier = clauses_before(text, span)
    acute_words = bool(_ACUTE.search(clause))
    acute = acute_words or after[:1] in ("了", "啦")

    if is_a_not_a_question(prefix):
        return QUESTION, "有没有"
    if neg := negation_before(prefix):
        return NEGATED, neg
    if not rule.hypothetical_ok:
        if m := _first(_CONDITIONAL, [clause, *earlier]):
            return HYPOTHETICAL, m.group()
        if _WOULD.search(prefix):
            return HYPOTHETICAL, "会"
        worry = _FEAR.search(clause) or _first(_RISK, [clause, *earlier])
        if worry and not acute:
            return HYPOTHETICAL, worry.group()
        if m := _GENERIC_AFTER.search(after):
            return HYPOTHETICAL, m.group()
        if (m := _RHETORICAL.search(after)) and _COMPLAINT_FRAME.search(text):
            return HYPOTHETICAL, m.group()
    if not rule.habitual_ok and (m := _first(_HABITUAL, [clause, *earlier])):
        return HABITUAL, m.group()
    if not acute_words and (m := _CONSULT.search(clause)) and (
            not acute or _CONSULT_FRAME.search(sentence)):
        return CONSULTATION, m.group()
    if _PAST_IN_MATCH.search(text[start:end]) or _PAST_SUFFIX.search(prefix):
        return PAST, "过"
    if m := _PAST_TAIL.search(after):
        return PAST, m.group()
    if not _PRESENT.search(clause):
        if m := _PAST.search(clause):
            return PAST, m.group()
        if not _AGAIN.search(clause):  # a time said earlier in the sentence carries over
            for c in earlier:
                if _PRESENT.search(c) or _AGAIN.search(c):
                    break
                if m := _PAST.search(c):
                    return PAST, m.group()
    later = CLAUSE_BREAK.split(text[span.clause[1]:span.sentence[1]])
    if m := _first(_PAST_AFTER, later):
        return PAST, m.group()
    resolution = _RESOLUTION.get(rule.kind)
    if resolution is not None and (m := resolution.search(after)):
        return RESOLVED, m.group()
    if m := _RESOLVED_ANY.search(after):
        return RESOLVED, m.group()
    return ACTIVE, ""


def _emergency_hits(texts: Iterable[tuple[int, str]]) -> list[Hit]:
    hits: list[Hit] = []
    for k, text in texts:
        for rule in _EMERGENCY_RULES:
            for m in rule.pattern.finditer(text):
                span = span_of(text, m.start(), m.end())
                sentence = text[span.sentence[0]:span.sentence[1]]
                if rule.blocked and rule.blocked.search(sentence):
                    continue
                if rule.needs and not rule.needs.search(sentence.replace(m.group(), "", 1)):
                    continue
                status, cue = _status(rule, text, m.start(), m.end(), span)
                hits.append(Hit(rule.kind, KINDS[rule.kind].line, m.group(), k, m.start(),
                                m.end(), status, cue, rule.injury or rule.kind in _INJURY_KINDS))
    hits.sort(key=lambda h: (h.turn, h.start))
    return hits


# --------------------------------------------------------------------------------------------
# Out-of-scope rules
# --------------------------------------------------------------------------------------------

_OFFICIAL = _alt("官员", "干部", "村干部", "书记", "支书", "村支书", "村主任", "村长", "镇长",
                 "乡长", "县长", "区长", "市长", "局长", "处长", "科长", "所长", "站长",
                 "(?<![班物业])主任", "领导", "公务员", "民警", "警察", "城管", "执法人员",
                 "公职人员")
_OOS_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("诉讼", _re("起诉(?!求)", "诉讼(?!法)", "打官司", "告到法院", "去法院告", "到法院告",
                "(?:提起|已经|要|想|准备|我)上诉", "上诉(?:到|至|期)", "再审",
                "一审(?=判|法院|开庭|结果|败诉|胜诉)", "二审", "开庭", "立案庭", "传票",
                "(?<!离婚)判决(?!书)", "判决书" + _GAP + "{0,10}(?:不执行|不履行|生效)", "裁定书",
                "(?:申请|法院)强制执行", "申请执行", "执行局", "执行法官", "法院执行", "执行款",
                "执行案", "执行不到位", "执行难", "检察院", "公诉", "取保候审", "批捕", "逮捕",
                "刑事案件", "刑事拘留", "看守所",
                "法院" + _GAP + "{0,6}(?:判|立案|受理|审|执行|调解|开庭|告)")),
    ("仲裁", _re("仲裁")),
    ("行政复议", _re("复议", "不服" + _GAP + "{0,12}"
                    + _alt("行政处罚", "处罚决定", "行政决定", "罚款决定", "决定书"))),
    ("信访", _re("上访", "复查复核", "信访件", "信访事项",
                "(?:已经|去过?|到|找过?|向|在)" + _GAP + "{0,6}信访",
                "信访(?:局|办|部门|渠道)?" + _GAP + "{0,6}"
                + _alt("受理", "答复", "回复", "交办", "转办", "处理", "意见书", "告知书", "复查",
                       "复核"))),
    ("纪检监察", _re("贪污", "受贿", "行贿", "索贿", "腐败", "贪腐", "纪委", "(?<!总)监委(?!派)",
                    "纪检", "监察委", "违纪", "权钱交易", "以权谋私", "滥用职权", "中饱私囊",
                    "侵吞(?:公款|集体|国有|扶贫|补助|补贴|资金)", "挪用公款", "公款吃喝",
                    "公车私用", "吃空饷", "八项规定", "作风问题", "吃拿卡要", "索要好处", "收受",
                    "利益输送",
                    _OFFICIAL + _GAP + "{0,10}"
                    + _alt("贪", "收钱", "收礼", "收红包", "收好处", "拿好处", "吃回扣", "拿回扣",
                           "索要", "好处费", "私分", "侵占", "挪用", "优亲厚友"))),
)
# "再不处理我就去起诉": a threat to go to court does not put the matter there, and neither does
# talking about courts as one option among others ("即便起诉也…", "或者起诉").
_OOS_CONDITIONAL = _re("如果", "要是", "万一", "假如", "若", "实在不行", "再不", "不然", "否则",
                       "大不了", "逼我", "逼得", "的话", "建议", "容易", "以免", "防止", "避免",
                       "即便", "即使", "尽管", "无法", "没法", "不能", "或者", "成本", "代价",
                       "耗费")
_LABOUR = _re("工资", "劳动", "人事", "辞退", "开除", "加班", "工伤", "社保", "用人单位", "员工",
              "打工", "上班", "离职", "经济补偿")

_OOS_REASON = {
    "诉讼": ("来电事项已进入或拟进入司法程序（起诉、审判、执行或刑事案件办理），"
           "不属于12345受理范围，12345也不能干预办案，请告知来电人向人民法院反映"
           "或拨打12368诉讼服务热线（案件在检察环节的可拨打12309检察服务热线）"),
    "仲裁": ("来电事项已申请或拟申请仲裁，不属于12345受理范围，12345也不能干预仲裁，"
           "请告知来电人向{to}提出"),
    "行政复议": ("来电人对行政机关的决定不服、申请或拟申请行政复议，"
             "请告知来电人向行政复议机关（司法局）提出"),
    "信访": "来电事项已进入信访渠道，12345不重复受理，请告知来电人向受理的信访部门查询办理情况",
    "纪检监察": ("来电反映公职人员涉嫌贪污受贿、违纪违法，属纪检监察机关受理范围，"
             "请告知来电人向纪委监委反映或拨打12388"),
}
_OOS_DIRECT = {
    "诉讼": "人民法院/12368",
    "仲裁": "劳动人事争议仲裁委员会",
    "行政复议": "行政复议机关（司法局）",
    "信访": "信访部门",
    "纪检监察": "纪委监委/12388",
}
# A commercial contract's arbitration goes to the arbitration commission the parties chose.
_COMMERCIAL_ARBITRATION = "仲裁委员会（当事人约定或已申请的仲裁机构）"


def _oos_hits(texts: Iterable[tuple[int, str]]) -> list[Hit]:
    hits: list[Hit] = []
    for k, text in texts:
        for kind, pattern in _OOS_RULES:
            for m in pattern.finditer(text):
                span = span_of(text, m.start(), m.end())
                clause = text[span.clause[0]:span.clause[1]]
                status, cue = ACTIVE, ""
                if neg := negation_before(text[span.clause[0]:m.start()]):
                    status, cue = NEGATED, neg
                elif cond := _first(_OOS_CONDITIONAL, [clause, *clauses_before(text, span)]):
                    status, cue = HYPOTHETICAL, cond.group()
                hits.append(Hit(kind, kind, m.group(), k, m.start(), m.end(), status, cue))
    hits.sort(key=lambda h: (h.turn, h.start))
    return hits


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass
class Triage:
    """What the operator must know at once about a call.

    ``emergency`` is the line to transfer to (119 / 122 / 110 / 120) or None, ``also_notify``
    the other lines the situation needs (a traffic accident with injuries: 122, and 120 in
    ``also_notify``; a suicide risk: 120, and 110). ``out_of_scope`` is one of 诉讼 / 仲裁 /
    行政复议 / 信访 / 纪检监察 or None, with ``direct_to`` saying where the caller should go.
    """

    emergency: str | None = None
    emergency_triggers: list[str] = field(default_factory=list)
    emergency_reason: str = ""
    also_notify: list[str] = field(default_factory=list)
    emergency_kinds: list[str] = field(default_factory=list)
    emergency_notes: list[str] = field(default_factory=list)  # mentions set aside, and why
    out_of_scope: str | None = None
    out_of_scope_reason: str = ""
    direct_to: str = ""
    out_of_scope_triggers: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the per-word ``hits`` left out)."""
        out = asdict(self)
        out.pop("hits")
        return out


def _note(hit: Hit) -> str:
    cue = f"（“{hit.cue}”）" if hit.cue else ""
    return f"“{hit.text}”{_STATUS_ZH.get(hit.status, hit.status)}{cue}，未判为紧急"


def _decide_emergency(result: Triage, hits: list[Hit]) -> None:
    active = [h for h in hits if h.active]
    result.emergency_notes = dedupe(_note(h) for h in hits if not h.active)
    if not active:
        return
    specific = sorted([h for h in active if h.kind not in _GENERIC_KINDS] or active,
                      key=lambda h: _RANK[h.kind])
    lines = dedupe(h.line for h in specific)
    if any(h.injury for h in specific) and "120" not in lines:
        lines.append("120")  # a traffic accident with injuries: 122, and 120 as well
    if any(h.kind == "suicide" for h in specific) and "110" not in lines:
        lines.append("110")
    main = KINDS[specific[0].kind]
    result.emergency = lines[0]
    result.also_notify = lines[1:]
    result.emergency_triggers = dedupe(h.text for h in active)
    result.emergency_kinds = dedupe(h.kind for h in specific)
    reason = f"来电反映{main.what}，请立即转接{result.emergency}"
    if main.advice:
        reason += f"，{main.advice}"
    for line in result.also_notify:
        other = next((h.kind for h in specific if h.line == line), None)
        if other is not None:
            reason += f"；{KINDS[other].what}，请同时通知{line}"
        elif line == "120":
            reason += "；有人受伤，请同时通知120"
        else:
            reason += f"；请同时通知{line}"
    result.emergency_reason = reason


def _decide_out_of_scope(result: Triage, hits: list[Hit], texts: list[tuple[int, str]]) -> None:
    active = [h for h in hits if h.active]
    if not active:
        return
    kind = min(active, key=lambda h: OUT_OF_SCOPE_KINDS.index(h.kind)).kind
    direct = _OOS_DIRECT[kind]
    if kind == "仲裁" and not any(_LABOUR.search(t) for _, t in texts):
        direct = _COMMERCIAL_ARBITRATION
    result.out_of_scope = kind
    result.out_of_scope_triggers = dedupe(h.text for h in active if h.kind == kind)
    result.direct_to = direct
    result.out_of_scope_reason = _OOS_REASON[kind].format(to=direct)


def triage(turns: list[dict[str, Any]] | str) -> Triage:
    """Triage a call so far (``[{"speaker": "caller"|"agent", "text": ...}]``) or one caller
    message (a plain string). Only the caller's words are read; the result is the same whether
    it is computed once at the end or after every turn."""
    texts = caller_texts(turns)
    em_hits = _emergency_hits(texts)
    oos_hits = _oos_hits(texts)
    result = Triage(hits=em_hits + oos_hits)
    _decide_emergency(result, em_hits)
    _decide_out_of_scope(result, oos_hits, texts)
    if result.emergency or result.out_of_scope:
        logger.debug("triage: emergency=%s %s out_of_scope=%s %s", result.emergency,
                     result.emergency_triggers, result.out_of_scope, result.out_of_scope_triggers)
    return result
