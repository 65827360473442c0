"""Every sentence the citizen chatbot may say that is not a knowledge-base answer.

No generative model writes to citizens: a reply is either an answer template's text, quoted as
published, or one of the fixed phrases below (some with slots for values the citizen gave, a
ticket number or a date). Changing a sentence here is a content change: have it reviewed like an
answer template. ``tests/copilot/test_chat.py`` checks every reply against this module.
"""

from __future__ import annotations

import re
from typing import Final

GREETING: Final = ("您好，我是12345热线智能客服。请用一句话说明您要咨询或反映的问题，"
                   "我会从政府部门发布的标准答复中为您查找。遇到紧急情况请直接拨打110、119、120或122。")
THANKS: Final = "不客气。如还有其他问题，请随时提问。"

CLARIFY: Final = "您的问题可能涉及以下几个方面，请选择最接近的一项（点击选项或回复序号）："
NONE_OF_THESE: Final = "以上都不是"

NO_ANSWER: Final = ("抱歉，知识库中暂时没有与您的问题相符的标准答复，为避免误导，我不作猜测。"
                    "如需人工处理，我可以帮您登记诉求，由相关部门跟进并联系您。是否需要登记？")
OFFER_YES: Final = "登记诉求"
OFFER_NO: Final = "不用了"
DECLINED: Final = "好的。如有其他问题，请随时提问；也可以拨打12345热线转人工服务。"

ASK_NAME: Final = "好的，我来帮您登记。请问您的姓名？（登记过程中回复“取消”可随时退出）"
ASK_PHONE: Final = "请留下您的联系电话（手机号码或带区号的固定电话），方便承办部门联系您。"
ASK_ADDRESS: Final = "请问事发地址或您的联系地址在哪里？请写到区、街道（路）和门牌号。"
ASK_CONTENT: Final = "请简要描述您要反映的问题（时间、地点、具体情况）。"
ASK_CONTENT_OR_REUSE: Final = ("请简要描述您要反映的问题（时间、地点、具体情况）；"
                               "如果就是您刚才的问题，请点击“沿用刚才的问题”。")
REUSE_QUESTION: Final = "沿用刚才的问题"
RETRY_NAME: Final = "没有识别到姓名，请直接回复您的姓名，例如“张三”。"
PHONE_INVALID: Final = ("这个号码格式不对，请重新输入11位手机号码，"
                        "或带区号的固定电话（例如020-12345678）。")
RETRY_ADDRESS: Final = "没有识别到地址，请写到区、街道（路）和门牌号。"
RETRY_CONTENT: Final = "请用一两句话描述您要反映的问题。"

CONFIRM: Final = ("请核对您的登记信息：\n姓名：{name}\n电话：{phone}\n地址：{address}\n"
                  "诉求：{content}\n信息无误请回复“确认”；需要修改请回复“修改”；不登记请回复“取消”。")
CONFIRM_YES: Final = "确认"
CONFIRM_EDIT: Final = "修改"
CANCEL: Final = "取消"
ASK_WHICH_FIELD: Final = "请问要修改哪一项？"
FIELD_LABELS: Final = {"name": "姓名", "phone": "电话", "address": "地址", "content": "诉求"}
CANCELLED: Final = "已取消登记，您填写的信息不会提交。如有其他问题，请随时提问。"
TICKET_FILED: Final = ("已为您登记诉求，工单编号：{number}。承办部门将在{due}前办理并与您联系，"
                       "您可凭工单编号拨打12345查询办理进度。")
TICKET_FAILED: Final = "抱歉，登记暂时没有成功，请稍后再试，或直接拨打12345热线转人工服务。"

NO_UNIT_PHONE: Final = "如需进一步咨询，请拨打12345热线。"

EMERGENCY_HEAD: Final = "这可能是紧急情况，请不要在这里等待答复。"
EMERGENCY: Final = {
    "119": "请立即拨打119！发生火灾、燃气泄漏、爆炸，或有人被困、落水时，"
           "请先撤离到安全地带再拨打119。",
    "120": "请立即拨打120！有人受伤、突发疾病或有生命危险时，请拨打120急救电话。",
    "110": "请立即拨打110！正在发生违法犯罪或人身安全受到威胁时，"
           "请先确保自身安全，再拨打110报警。",
    "122": "请立即拨打122！发生交通事故时，请开启危险报警闪光灯、设置警示标志，并拨打122报警。",
}
EMERGENCY_ALSO: Final = {
    "119": "如有火情或人员被困，请同时拨打119。",
    "120": "如有人受伤，请同时拨打120。",
    "110": "如人身安全受到威胁，请同时拨打110。",
    "122": "如涉及交通事故，请同时拨打122。",
}

OUT_OF_SCOPE: Final = {
    "诉讼": "您反映的事项已进入或准备进入司法程序，不属于12345热线受理范围，"
            "请向人民法院反映，或拨打12368诉讼服务热线。",
    "仲裁": "您反映的事项属于仲裁程序，12345热线不能受理或干预。"
            "劳动人事争议请向劳动人事争议仲裁委员会申请，其他合同纠纷请向约定的仲裁委员会申请。",
    "行政复议": "对行政机关的决定不服，可以依法向行政复议机关（司法行政部门）申请行政复议，"
                "或向人民法院提起行政诉讼；12345热线不受理此类事项。",
    "信访": "已进入信访程序的事项，12345热线不重复受理，请向受理您信访事项的信访部门查询办理情况。",
    "纪检监察": "反映公职人员违纪违法问题，请向纪委监委反映，或拨打12388举报电话。",
}

# Errors of the HTTP API (the ``detail`` of 413 / 422 / 429).
EMPTY_MESSAGE: Final = "请输入您的问题。"
TOO_LONG: Final = "消息太长了（{n}字），请控制在{limit}字以内，说清主要问题即可。"
TOO_FAST: Final = "您发送得太快了，请{seconds}秒后再试。"
BAD_CONVERSATION: Final = "会话编号格式不对，请刷新页面后重新开始。"


def fill(template: str, **values: object) -> str:
    """A phrase with its slots filled."""
    return template.format(**values)


def _all_templates() -> list[str]:
    out: list[str] = []
    for name, value in globals().items():
        if not name.isupper():
            continue
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            out.extend(v for v in value.values() if isinstance(v, str))
    return out


def is_fixed_reply(text: str) -> bool:
    """Whether ``text`` is built only from the phrases above (slots filled with anything):
    the check the tests run on every reply that is not a knowledge-base answer."""
    templates = _all_templates()
    pieces = "|".join(
        re.sub(r"\\\{\w+\\\}", ".+?", re.escape(t)) for t in sorted(templates, key=len,
                                                                      reverse=True))
    return re.fullmatch(f"(?:{pieces})+", text, flags=re.S) is not None
