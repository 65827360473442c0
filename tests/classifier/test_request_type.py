"""Request type from cue phrases: 咨询 / 求助 / 投诉 / 举报 / 意见建议."""

from __future__ import annotations

import json

import pytest

from classifier.request_type import PRIORS, REQUEST_TYPES, request_type
from classifier.triage import triage

CASES = [
    # 咨询
    ("你好，我想问一下居住证怎么办理，需要什么材料？", "咨询"),
    ("请问社保卡丢了去哪里补办？", "咨询"),
    ("我想咨询一下公积金提取的流程", "咨询"),
    ("孩子上小学要准备什么，什么时候报名？", "咨询"),
    ("老年证在哪里办，要带什么？", "咨询"),
    ("我想了解一下失业金能领多久", "咨询"),
    ("我们村有无拆迁计划？何时公布？", "咨询"),
    # 求助
    ("我家停水两天了，帮帮忙吧", "求助"),
    ("老板欠我两个月工资不给，我该怎么办", "求助"),
    ("我爸的养老金这个月咋还没到账呢", "求助"),
    ("我们小区物业撤走了，现在没人管，希望你们帮忙协调一下", "求助"),
    ("楼道着火了！快来人", "求助"),  # an emergency is a help request
    ("麻烦你们帮我催一下，维修的人一直联系不上", "求助"),
    # 投诉
    ("我要投诉楼下的饭店，油烟直排，熏得我们没法开窗", "投诉"),
    ("出租车司机不打表，一口价一百五", "投诉"),
    ("健身房跑路了，押金也不退", "投诉"),
    ("物业太不负责任了，报修了五次都没人来", "投诉"),
    ("楼上装修噪音太大，中午也在打电钻", "投诉"),
    ("办事窗口的工作人员态度很差，推诿扯皮", "投诉"),
    # 举报
    ("我要举报有人在河边偷排污水", "举报"),
    ("那个茶楼里面在聚众赌博", "举报"),
    ("村里有人占用耕地盖厂房，是违法的", "举报"),
    ("小区里有人私搭乱建，把绿地都占了", "举报"),
    ("这家店卖假冒的名牌，还没有营业执照，无照经营", "举报"),
    # 意见建议
    ("我想提个建议，学校门口能不能修个过街天桥", "意见建议"),
    ("希望能在我们小区增设电动车充电桩", "意见建议"),
    ("建议公交车晚上延长运营时间", "意见建议"),
    ("这个路口红绿灯时间太短，能不能调整一下", "意见建议"),
    ("希望政府加强对共享单车的管理", "意见建议"),
    # more, in the way callers open a call
    ("你好，我们小区门口的路灯坏了一个多月了，能不能派人来修一下", "求助"),  # repair, not a plan
    ("我们家从昨天开始就没水了，物业也说不清楚什么原因", "求助"),
    ("我妈八十多了，一个人在家，想申请居家养老服务，不知道找谁", "求助"),
    ("家里下水道堵了，污水都冒出来了，物业不管", "求助"),
    ("喂，我想反映一下，楼下烧烤店每天晚上吵到两三点", "投诉"),
    ("我在网上买了个冰箱，商家一直不发货，也不给退款", "投诉"),
    ("我的电动车上牌一直办不下来，跑了三趟了", "投诉"),
    ("有人在小区里卖假烟", "举报"),
    ("我们村有个厂晚上偷偷往河里排废水", "举报"),
    ("我建议地铁站出口多设几个共享单车停放点", "意见建议"),
    ("希望在我们小区附近增加一个公交站", "意见建议"),
    ("请问办护照需要带什么材料", "咨询"),
    ("你好，我想问问灵活就业人员社保一个月交多少", "咨询"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_request_type(text: str, expected: str) -> None:
    result = request_type(text)
    assert result.type == expected, (result.scores, result.evidence)
    assert result.cues, "the winning type must be explained by the caller's words"
    assert 0 < result.score <= 1


@pytest.mark.parametrize(("text", "not_expected"), [
    ("我不是要投诉，就是想问一下停车费怎么交", "投诉"),
    ("我也不想举报谁，就是问问政策", "举报"),
    ("没有建议，就是想问问怎么办理", "意见建议"),
])
def test_negated_cues_do_not_count(text: str, not_expected: str) -> None:
    result = request_type(text)
    assert result.type != not_expected
    assert not_expected not in result.evidence
    assert result.type == "咨询"


def test_agent_words_do_not_count() -> None:
    turns = [{"speaker": "agent", "text": "您是要投诉还是举报？有什么建议也可以说。"},
             {"speaker": "caller", "text": "我想问一下居住证怎么办理。"}]
    result = request_type(turns)
    assert result.type == "咨询"
    assert set(result.evidence) == {"咨询"}


def test_first_turn_weighs_more_than_a_passing_question() -> None:
    turns = [{"speaker": "caller", "text": "我要投诉小区垃圾站，三天没人清运了，臭得要命。"},
             {"speaker": "agent", "text": "好的，我们转环卫部门。"},
             {"speaker": "caller", "text": "顺便问一下，以后是不是固定时间来收？"}]
    assert request_type(turns).type == "投诉"


def test_help_asking_us_to_ask_is_not_a_question() -> None:
    result = request_type("我想请你们帮忙问一下，我的补贴能不能先发下来")
    assert result.type == "求助"


def test_no_cue_falls_back_to_the_prior() -> None:
    result = request_type("喂，你好。")
    assert result.type == max(PRIORS, key=PRIORS.get)
    assert result.cues == []
    assert result.scores == {t: PRIORS[t] for t in REQUEST_TYPES}


def test_scores_cover_every_type_and_winner_is_the_max() -> None:
    result = request_type("我要举报，有人在小区里违建")
    assert set(result.scores) == set(REQUEST_TYPES)
    assert result.scores[result.type] == max(result.scores.values())
    assert result.score == pytest.approx(result.scores["举报"] / sum(result.scores.values()),
                                         abs=1e-3)


def test_deterministic() -> None:
    text = "我想反映一下，小区门口乱停车，希望能增设停车位，请问归哪个部门管？"
    results = {json.dumps(request_type(text).as_dict(), ensure_ascii=False) for _ in range(5)}
    assert len(results) == 1


def test_a_precomputed_triage_is_used() -> None:
    turns = [{"speaker": "caller", "text": "我想问一下社保怎么交"}]
    forced = triage("楼道着火了")  # deliberately a different call's triage
    assert request_type(turns, triage_result=forced).type == "求助"
    assert request_type(turns).type == "咨询"


def test_as_dict_is_json_ready() -> None:
    data = request_type("我要投诉").as_dict()
    json.dumps(data, ensure_ascii=False)
    assert data["type"] == "投诉" and "投诉" in data["cues"]
