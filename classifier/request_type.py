"""Request type of a call — 咨询 / 求助 / 投诉 / 举报 / 意见建议 — from weighted cue phrases.

Deterministic and explainable: each type's score is its prior plus the weights of the cue phrases
the caller said (each cue counted once per call, weighted higher in the caller's first turn, where
the request is usually stated). Negated cues ("不是投诉", "不想举报") do not count; the operator's
words never do. An emergency found by :func:`classifier.triage.triage` counts as a strong 求助
cue. Ties go to the earlier type in ``REQUEST_TYPES``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from classifier._text import caller_texts
from classifier.triage import Triage, triage

logger = logging.getLogger(__name__)

__all__ = ["REQUEST_TYPES", "RequestTypeResult", "request_type"]

CONSULT, HELP, COMPLAINT, REPORT, SUGGESTION = "咨询", "求助", "投诉", "举报", "意见建议"
REQUEST_TYPES = (COMPLAINT, HELP, CONSULT, REPORT, SUGGESTION)

# Before any cue: most 12345 calls are complaints, then help requests and questions.
PRIORS: dict[str, float] = {COMPLAINT: 0.6, HELP: 0.5, CONSULT: 0.4, REPORT: 0.1, SUGGESTION: 0.1}
FIRST_TURN_WEIGHT = 1.5  # the caller's first turn usually states the request
EMERGENCY_WEIGHT = 5.0  # an emergency is a 求助 call

_G = "[^,。!?;:、]"  # no cue spans a clause break


def _alt(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


@dataclass(frozen=True)
class Cue:
    type: str
    weight: float
    pattern: re.Pattern[str]


def _cue(type_: str, weight: float, *parts: str) -> Cue:
    return Cue(type_, weight, re.compile(_alt(*parts)))


_ASK_VERB = _alt("办理", "申请", "办", "领", "领取", "交", "缴", "查", "查询", "报名", "认证", "转",
                 "迁", "开", "补办", "登记", "备案", "预约", "报销", "续", "注销", "变更", "提取")
_POLICY_VERB = _alt("降低", "加强", "提高", "出台", "制定", "推广", "规范", "完善", "落实", "研究",
                    "整治", "引导", "鼓励", "支持", "扩大", "推动", "普及", "纳入", "优化", "改善",
                    "提升", "放开", "简化")
# ("修个天桥" proposes building; "来修一下" asks for a repair, a help request.)
_BUILD_VERB = _alt("(?<!来)修(?!一下|好|理|复)", "建", "增设", "增加", "加", "设置", "安装", "装",
                   "开通", "延长", "多", "改", "调整", "规划", "考虑", "恢复", "取消", "放宽",
                   "统一")

CUES: tuple[Cue, ...] = (
    # 咨询: asking how, where, when, whether. ("帮忙问一下" — asking the hotline to ask on the
    # caller's behalf — is a help request, not a question.)
    _cue(CONSULT, 1.2, "咨询", "(?<!帮)(?<!帮忙)(?<!帮我)(?:想问|问一下|问下|问问)", "打听",
         "了解一下", "想了解", "请问"),
    _cue(CONSULT, 2.0, "(?:怎么|如何|咋)样?" + _ASK_VERB,
         "(?:要|该|得|应该)(?:怎么|如何)(?:弄|操作)", "要怎么办(?!啊|呀|理)", "要什么材料",
         "需要什么", "要准备", "准备什么", "带什么", "(?:在|去|到)哪(?:里|儿)?" + _ASK_VERB,
         "哪里可以", "在哪里可以", "什么条件", "有什么条件", "条件是", "流程", "手续",
         "能不能申请", "可以申请", "符合"),
    _cue(CONSULT, 1.5, "何时", "什么时候", "啥时候", "希望了解", "想知道", "进展如何", "如何安排"),
    _cue(CONSULT, 1.0, "多久", "多长时间", "多少钱", "怎么算", "为什么", "有无", "进展", "能否"),
    _cue(CONSULT, 0.5, "标准", "政策", "规定", "是不是", "是否", "可不可以", "有没有",
         "能不能(?!帮|修|建|增|加|设|装|开通|多|改|调|考虑)", "吗$", "吗\\?", "呢\\?"),
    # 求助: asking the hotline to step in, often where nobody is there to complain to
    _cue(HELP, 2.0, "求助", "求求", "帮帮", "帮忙", "帮我", "帮一下", "救命", "不知道找谁",
         "不知道怎么办", "没办法了", "(?<!要)怎么办(?!理)", "咋办(?!理)", "咋整", "没有物业",
         "无物业", "物业" + _G + "{0,4}撤", "弃管"),
    _cue(HELP, 2.0, "派人", "来修", "修一下", "修好", "维修", "修理", "抢修"),
    _cue(HELP, 1.2, "坏了", "不亮", "漏水", "堵了", "冒出来"),
    _cue(HELP, 2.5, "咋还没", "怎么还没", "还没(?:到|收到|发|领到|下来|到账)", "没到账"),
    _cue(HELP, 1.5, "联系不上", "打不通", "没人管", "没人处理", "协调", "解决一下", "处理一下",
         "催一下", "麻烦你们", "希望" + _G + "{0,6}(?:帮|协调|解决|处理|管一管|管管)"),
    _cue(HELP, 1.2, "(?:欠|拖欠|克扣)" + _G + "{0,6}工资",
         "工资" + _G + "{0,6}(?:没给|不给|没发|不发)", "停水", "停电", "没水", "没电", "断水",
         "断电", "没信号", "信号" + _G + "{0,4}差", "困难", "没人管理", "生活费"),
    # 投诉: a grievance against a party that should have done better
    _cue(COMPLAINT, 3.0, "投诉"),
    _cue(COMPLAINT, 2.0, "乱收费", "多收", "不打表", "拒载", "宰客", "欺骗", "虚假宣传", "霸王条款",
         "不退", "退不了", "拒不退", "不给退", "跑路", "卷款", "不负责任", "不作为", "推诿",
         "敷衍", "态度" + _G + "{0,3}(?:差|恶劣|不好|蛮横)", "扰民", "噪音", "油烟", "吵得"),
    _cue(COMPLAINT, 1.2, "一直没" + _G + "{0,3}(?:处理|解决|来|修|清|办)", "没人来", "不处理",
         "不解决", "拖着", "一直拖", "质量" + _G + "{0,3}(?:差|问题|不好)", "太过分", "凭什么",
         "不合理", "要求" + _G + "{0,4}(?:退|赔|处理)", "维权", "臭", "异味", "垃圾", "拖欠",
         "押金", "欠" + _G + "{0,6}(?:钱|款|费)", "办不下来", "乱堆", "堆满", "堆到", "堆积"),
    _cue(COMPLAINT, 0.8, "反映", "反应一下", "停业", "关门"),
    # 举报: someone else breaking the law or endangering the public
    _cue(REPORT, 3.0, "举报", "检举", "揭发"),
    _cue(REPORT, 2.0, "违法", "非法", "违建", "违章建筑", "私搭乱建", "乱搭", "违规建设", "偷排",
         "直排", "乱排", "排(?:放)?(?:污水|废水|黑水|臭水)",
         "往" + _G + "{0,2}(?:河|江|湖|沟|渠|河道|水库)里?排", "倾倒", "赌博", "赌场", "涉黄",
         "卖淫", "吸毒", "传销", "诈骗", "假冒", "假烟", "假酒", "假货", "卖假", "售假",
         "仿[得造冒制]", "山寨", "冒牌", "专利", "商标", "知识产权", "侵权", "盗版", "无证",
         "无照", "黑作坊", "黑诊所", "地沟油", "假药", "占用耕地", "基本农田", "盗采", "偷税",
         "骗保", "违规存放", "违规经营", "非法经营", "涉嫌", "高利贷"),
    _cue(REPORT, 1.0, "安全隐患", "污染", "违规"),
    # 意见建议: proposing a change
    _cue(SUGGESTION, 3.0, "建议", "建言", "提个意见", "提意见", "呼吁"),
    _cue(SUGGESTION, 2.0, "(?:希望|期望|渴望|盼望)" + _G + "{0,8}(?:能|可以)?" + _BUILD_VERB,
         "(?:希望|期望|渴望|盼望)" + _G + "{0,10}" + _POLICY_VERB,
         "(?:能不能|能否|可不可以|是否可以)" + _G + "{0,6}" + _BUILD_VERB, "考虑一下"),
    _cue(SUGGESTION, 1.0, "加大" + _G + "{0,8}力度", "加快", "强化", "督促", "我认为", "我觉得",
         "个人认为", "认为应", "可通过", "可以通过", "可以考虑", "请" + _G + "{0,4}(?:考虑|研究)"),
    _cue(SUGGESTION, 0.8, "应该", "最好", "增设", "完善", "优化", "改进"),
)

# A cue right after one of these does not count ("不是投诉", "不想举报", "没有建议").
_NEGATED = re.compile(r"(?<!是)(?:不是|不想|不用|没有|没|不|并非|无)(?:要|想|是|来|打算)?$")


@dataclass
class RequestTypeResult:
    """The request type with its score (the winning type's share of all scores, 0–1), every
    type's raw score, and the caller's words that voted for the winner."""

    type: str
    score: float
    scores: dict[str, float]
    cues: list[str] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # the words for every type

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATED.search(text[max(0, start - 4):start]))


def request_type(turns: list[dict[str, Any]] | str, *,
                 triage_result: Triage | None = None) -> RequestTypeResult:
    """Classify a call (``[{"speaker": "caller"|"agent", "text": ...}]``) or one caller message
    (a plain string). Pass ``triage_result`` when triage already ran on the same turns."""
    texts = caller_texts(turns)
    scores = dict(PRIORS)
    best: dict[tuple[str, str], float] = {}  # (type, words) → the highest weight it earned
    for n, (_, text) in enumerate(texts):
        position = FIRST_TURN_WEIGHT if n == 0 else 1.0
        for cue in CUES:
            for m in cue.pattern.finditer(text):
                if _negated(text, m.start()):
                    continue
                key = (cue.type, m.group())
                best[key] = max(best.get(key, 0.0), cue.weight * position)
    evidence: dict[str, list[str]] = {t: [] for t in REQUEST_TYPES}
    for (type_, words), weight in sorted(best.items(), key=lambda kv: -kv[1]):
        scores[type_] += weight
        evidence[type_].append(words)
    emergency = (triage_result or triage(turns)).emergency if texts else None
    if emergency:
        scores[HELP] += EMERGENCY_WEIGHT
        evidence[HELP].insert(0, f"紧急情况（{emergency}）")
    winner = max(REQUEST_TYPES, key=lambda t: (scores[t], -REQUEST_TYPES.index(t)))
    total = sum(scores.values())
    scores = {t: round(scores[t], 3) for t in REQUEST_TYPES}
    logger.debug("request type %s scores=%s", winner, scores)
    return RequestTypeResult(winner, round(scores[winner] / total, 3), scores, evidence[winner],
                             {t: v for t, v in evidence.items() if v})
