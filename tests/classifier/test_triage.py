"""Triage rules: emergencies (110/119/120/122) and matters the hotline does not accept."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from classifier.triage import EMERGENCY_LINES, OUT_OF_SCOPE_KINDS, triage

# --- emergencies that must fire ------------------------------------------------------------

EMERGENCIES = [
    # 119: fire, gas, explosion, trapped, water
    ("楼道着火了，快来人啊", "119"),
    ("我家厨房起火了，火很大", "119"),
    ("对面楼在冒浓烟，好像是三楼", "119"),
    ("闻到很大的煤气味，整个楼道都是", "119"),
    ("家里天然气泄漏了，怎么办啊", "119"),
    ("液化气罐漏气了，嘶嘶响", "119"),
    ("楼下饭店刚才爆炸了，玻璃全碎了", "119"),
    ("有人被困在电梯里出不来了", "119"),
    ("电梯卡住了，我们三个人在里面", "119"),
    ("着火了，里面还有人没出来", "119"),
    ("有个小孩掉进河里了", "119"),
    ("电动车在楼道里自燃了", "119"),
    ("施工工地的脚手架塌了，有工人被压在下面", "119"),
    ("高压线掉下来了，在冒火花", "119"),
    ("我闻到有烧焦的味道，好像是楼下配电箱", "119"),
    ("山上着火了，火越烧越大", "119"),
    ("隔壁邻居家里冒烟了，敲门没人应", "119"),
    ("家里一股煤气味，我头有点晕", "119"),
    # 110: violence, weapons, robbery, missing people, abuse
    ("我老公喝醉了在打我，我躲在厕所里", "110"),
    ("楼下有一群人在打架，有人拿着棍子", "110"),
    ("有人在抢劫，就在银行门口", "110"),
    ("我孩子不见了，在商场里找了半个小时都找不到了", "110"),
    ("我家老人走失了，有老年痴呆", "110"),
    ("有个人拿刀威胁我，让我把钱交出来", "110"),
    ("邻居家一直在打孩子，孩子哭得很惨", "110"),
    ("有人在撬我家门，我一个人在家", "110"),
    ("我刚刚被抢了包，那个人骑摩托车往东跑了", "110"),
    ("有个男的跟踪我，我现在很害怕", "110"),
    ("我老公经常打我，我不敢回家", "110"),  # domestic violence fires even when habitual
    ("孩子在学校被同学打了，老师不管", "110"),
    ("发现河里有一具尸体", "110"),
    ("我家孩子放学到现在还没回来，电话也打不通", "110"),
    ("救命啊，快来人", "110"),
    # 120: injury, illness, poisoning, suicide risk
    ("我邻居老太太晕倒了，叫不醒", "120"),
    ("我爸突然抽搐，口吐白沫", "120"),
    ("有个老人摔倒了起不来，头上在流血", "120"),
    ("我朋友说他不想活了，现在在天台上", "120"),
    ("一家人吃了毒蘑菇，现在上吐下泻，好像中毒了", "120"),
    ("我怕他想不开，他刚才说要去跳河", "120"),  # fear does not soften a suicide risk
    ("有人触电了，倒在地上", "120"),
    ("我老婆羊水破了，救护车一直打不通", "120"),
    ("小孩发高烧四十度，抽筋了", "120"),
    ("我妈心脏病犯了，喘不上气", "120"),
    ("有个人站在桥上要往下跳", "120"),
    ("那边有个人躺在路上一动不动", "120"),
    ("我被狗咬了，流了好多血", "120"),
    ("家里老人在卫生间摔倒了，起不来了", "120"),
    ("我很担心，我妈晕倒在卫生间", "120"),  # worry in another clause does not soften it
    # 122: traffic accidents
    ("路口发生车祸了，有人躺在地上流血", "122"),
    ("我被一辆电动车撞倒了，腿疼得站不起来", "122"),
    ("两辆车追尾了，堵在路中间", "122"),
    ("有车撞了人就跑了，肇事逃逸", "122"),
    ("我家车停在路边被撞了，对方跑了", "122"),
    ("一辆货车侧翻了，司机卡在驾驶室里", "122"),
    ("我在马路上被车刮倒了，膝盖流血了", "122"),
    ("喂，这里出车祸了，一个电动车跟小车撞了，骑电动车的人躺在地上起不来", "122"),
    ("我刚被一辆面包车给撞了，腿流血了", "122"),
    ("高速上几辆车连环追尾了", "122"),
    ("有个老人过马路被车撞了", "122"),
    ("我们这边有辆车翻到沟里去了", "122"),
    ("撞到人了，快来", "122"),
    ("我家楼下那个店烧起来了", "119"),
    ("对面着大火了", "119"),
    ("楼道里全是烟，呛得不行", "119"),
    ("电梯里关了个人，喊了半天", "119"),
    ("孩子被锁在车里了", "119"),
    ("闻到一股很冲的味道，像是煤气", "119"),
    ("有个醉汉在我们店里闹事，还砸东西", "110"),
    ("我女儿放学一直没到家", "110"),
    ("城管在打人", "110"),
    ("他头被打破了，在流血", "110"),
    ("我爸突然倒地，叫他没反应", "120"),
    ("老人噎住了，喘不过气", "120"),
    ("孩子误吞了纽扣电池", "120"),
    ("孩子被开水烫了", "120"),
    ("我老婆要生了，救护车叫不到", "120"),
    # tricky wording that must still fire
    ("上个月着过火，现在又冒烟了", "119"),  # past, but burning again now
    ("火已经灭了，但是还在冒烟", "119"),  # resolved, then ongoing danger
    ("没想到突然就着火了", "119"),  # 没想到 is not a negation
    ("是不是着火了？我看到好多烟从窗户里出来", "119"),
    ("着火了着火了", "119"),
    ("我好害怕，楼下着火了", "119"),
    ("我想问一下，家里燃气泄漏了应该打哪个电话", "119"),  # a question, about a real leak
    ("他不给钱还打人", "110"),  # 不 negates 给钱, not 打人
    ("别打了！有人在打架", "110"),  # 别 is not a negation
    ("我下班回家的时候看到楼下着火了", "119"),  # 的时候 is a time, not a condition
    ("着火了，我们都在用灭火器灭火", "119"),  # fighting the fire is not having put it out
    ("腿上都是血，医生还没来", "120"),
    ("有人晕倒了，就在医院门口", "120"),
    ("着火了，火已经灭了吗", "119"),  # a question, not a resolution
    ("我弟弟掉湖里了，快来救人", "119"),
    ("我爸刚才半边身子不能动，嘴也歪了", "120"),
    ("我女儿误喝了洗洁精，一直在咳", "120"),
    ("宿舍好几个同学上吐下泻，有人昏过去了", "120"),
    ("我被人锁在仓库里出不去了", "110"),
    ("楼道里一个老人好像已经死了", "110"),
    ("那个男的抽出一把刀在追人", "110"),
    ("一辆面包车把小孩撞了，人躺在地上", "122"),
    ("前面电动车翻了，骑车的人在流血", "122"),
]


@pytest.mark.parametrize(("text", "line"), EMERGENCIES)
def test_emergency_fires(text: str, line: str) -> None:
    result = triage(text)
    assert result.emergency == line, (result.emergency_triggers, result.emergency_notes)
    assert result.emergency_triggers, "the words that fired must be reported"
    assert all(t in text for t in result.emergency_triggers)  # the caller's exact words
    assert f"请立即转接{line}" in result.emergency_reason


# --- mentions that must not fire ---------------------------------------------------------

NOT_EMERGENCIES = [
    "我家车的玻璃被打烂了，想问问找谁赔",  # a thing broken, not a person hurt
    "窗户被打碎了，物业也不管",
    "消防通道被占怎么投诉",
    "燃气费怎么交",
    "我想问一下燃气安全检查是免费的吗",
    "燃气泄漏报警器怎么安装",
    "上个月我们楼着过火，物业到现在也没处理",
    "不是着火，是邻居在烧烤",
    "没有人受伤，就是车被刮花了",
    "着火了，不过已经灭了",
    "万一着火了谁负责",
    "楼道里堆满杂物，存在火灾隐患",
    "电瓶车在楼道充电，怕起火",
    "这个路口经常发生车祸，能不能装个红绿灯",
    "我们小区门口那个路口，上周出了一起车祸，希望装个红绿灯",
    "交通事故责任认定书怎么拿",
    "去年我被车撞了，到现在保险公司还不赔",
    "工厂烟囱天天冒黑烟，污染太严重了",
    "我怕被报复，不方便留名",
    "这个店搞跳楼价，是不是虚假宣传",
    "他们流血流汗干了一年，老板不给钱",
    "小区电梯经常困人，物业不管",
    "我想问一下被狗咬了打疫苗能报销吗",
    "停车位被人抢了",
    "噪音吵得我头晕，晚上睡不着",
    "孩子下个月要生了，生育津贴怎么领",
    "以前这里有人打架，现在好多了",
    "没有闻到煤气味，就是燃气表走得特别快",
    "我想咨询一下，家里老人摔倒了医保能报多少",
    "有没有人受伤我不知道，反正车停在那",
    "这个井盖没盖好，万一有人掉进去怎么办",
    "饭店油烟太大，熏得我喘不过气，压力很大",
    "我的快递丢了",
    "我的狗走丢了",
    "前几天我家电瓶车被偷了，派出所说在查",
    "他打我电话骚扰我",
    "网上有人说要杀价",
    "物业威胁要给我们停水停电",
    "对行人安全构成威胁",
    "刚才有人在小区里打架，现在已经散了",
    "昨天晚上有人在烧烤店打架，吵得我们睡不着，我要投诉",
    "我要投诉这个小区物业，消防栓都是坏的，着火了怎么办",
    "听说那个化工厂以前发生过爆炸，现在还在生产，我们很担心",
    "我被骗了两万块钱",
    "我家水管爆了，水漫得到处都是",
    "隔壁装修，电钻打了一整天",
    "我的孩子被学校老师打了，上个星期的事",
    "小区里有人遛狗不牵绳，我家孩子上个月被咬伤了",
    "这里有人卖假药，吃了会中毒",
    "有人在河边钓鱼，那里有高压线，很危险",
    "楼下麻将馆天天有人吵架打牌到半夜",
    "存在很大隐患，一旦着火后果不堪设想",
    "老板欠我工资，这是我的救命钱",
    "拨打人才局电话一直打不通",
    "下个月要生了，生育津贴是公司给还是社保给",
    "准备生孩子了，想问问生育登记",
    "我们这里打砸抢的事情以前经常有",
    "燃气公司电话是多少",
    "这个小区经常有人闹事",
    "电梯关门太快了夹到人了怎么投诉",
    "着火的时候要走楼梯，不能坐电梯",
    "楼下有只受伤的猫，腿在流血，找谁救助",
    "邻居的狗被车撞伤了，司机不管",
    "我的车停在路边被人剐蹭了，想找对方赔偿",
    "电视上报道有个工厂爆炸了，我们这边的化工厂安全吗",
    "广场舞音响吵死人了，天天到十点",
    "楼上那套房被二房东打成了十几个小隔间出租",
]


@pytest.mark.parametrize("text", NOT_EMERGENCIES)
def test_no_emergency(text: str) -> None:
    result = triage(text)
    assert result.emergency is None, (result.emergency_triggers, result.hits)
    assert result.emergency_reason == ""
    assert result.also_notify == []


@pytest.mark.parametrize(("text", "status", "cue"), [
    ("上个月我们楼着过火", "past", "过"),
    ("去年这里出了车祸", "past", "去年"),
    ("不是着火，是烧烤", "negated", "不是"),
    ("没有人受伤", "negated", "没有"),
    ("万一着火了怎么办", "hypothetical", "万一"),
    ("这个路口经常发生车祸", "habitual", "经常"),
    ("交通事故责任怎么认定", "consultation", "怎么认定"),
    ("着火了，已经灭了", "resolved", "已经灭"),
    ("有没有人受伤", "question", "有没有"),
])
def test_set_aside_mentions_say_why(text: str, status: str, cue: str) -> None:
    result = triage(text)
    assert result.emergency is None
    assert [h.status for h in result.hits] == [status]
    assert result.hits[0].cue == cue
    assert len(result.emergency_notes) == 1 and "未判为紧急" in result.emergency_notes[0]


def test_traffic_accident_with_injuries_is_122_and_tells_120() -> None:
    result = triage("前面路口两辆车撞了，有个人受伤了，腿上都是血")
    assert result.emergency == "122"
    assert result.also_notify == ["120"]
    assert "请同时通知120" in result.emergency_reason
    assert {"traffic", "injury"} <= set(result.emergency_kinds)


def test_traffic_accident_without_injuries_is_122_alone() -> None:
    result = triage("两辆车追尾了，没有人受伤，堵在路口")
    assert result.emergency == "122"
    assert result.also_notify == []


def test_suicide_risk_is_120_and_tells_110() -> None:
    result = triage("我儿子站在楼顶说不想活了")
    assert result.emergency == "120"
    assert "110" in result.also_notify


def test_fight_with_bleeding_is_110_and_tells_120() -> None:
    result = triage("楼下有人打起来了，一个人被打得满脸是血")
    assert result.emergency == "110"
    assert result.also_notify == ["120"]


def test_fire_with_people_trapped_is_119() -> None:
    result = triage("三楼着火了，有人被困在里面出不来")
    assert result.emergency == "119"
    assert {"fire", "trapped"} <= set(result.emergency_kinds)


def test_gas_leak_reason_carries_safety_advice() -> None:
    result = triage("家里煤气味特别大")
    assert result.emergency == "119"
    assert "不要开关电器" in result.emergency_reason


def test_fire_reason_is_the_documented_sentence() -> None:
    assert triage("楼道着火了").emergency_reason == "来电反映正在发生火情，请立即转接119"


def test_a_cry_for_help_gives_way_to_the_specific_line() -> None:
    result = triage("救命啊，我老婆晕倒了")
    assert result.emergency == "120"
    assert "110" not in result.also_notify


# --- only the caller's words -------------------------------------------------------------


def test_agent_words_never_trigger() -> None:
    turns = [
        {"speaker": "agent",
         "text": "请问有没有人受伤？如果着火了请立即拨打119，也可以向法院起诉。"},
        {"speaker": "caller", "text": "没有，就是想问一下燃气费怎么交。"},
    ]
    result = triage(turns)
    assert result.emergency is None
    assert result.out_of_scope is None
    assert all(h.turn == 1 for h in result.hits)


def test_caller_turn_in_a_call_fires_and_reports_turn() -> None:
    turns = [
        {"speaker": "agent", "text": "您好，12345。"},
        {"speaker": "caller", "text": "喂！快来人，楼下着火了！"},
        {"speaker": "agent", "text": "请告诉我地址。"},
    ]
    result = triage(turns)
    assert result.emergency == "119"
    assert [h.turn for h in result.hits if h.active] == [1]


def test_full_width_and_half_width_text_agree() -> None:
    assert triage("楼道着火了！！").emergency == triage("楼道着火了!!").emergency == "119"


def test_turn_objects_with_attributes_are_read() -> None:
    @dataclass
    class Utterance:
        speaker: str
        text: str

    assert triage([Utterance("caller", "有人晕倒了")]).emergency == "120"
    assert triage([Utterance("agent", "有人晕倒了吗？")]).emergency is None


def test_other_names_for_the_caller_side() -> None:
    assert triage([{"speaker": "Caller", "text": "着火了"}]).emergency == "119"
    assert triage([{"speaker": "citizen", "text": "着火了"}]).emergency == "119"
    assert triage([{"text": "着火了"}]).emergency == "119"  # no speaker: the caller
    assert triage([{"speaker": "ivr", "text": "着火了请拨119"}]).emergency is None


def test_a_turn_without_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="text"):
        triage([{"speaker": "caller"}])


def test_empty_input_flags_nothing() -> None:
    assert triage([]).emergency is None
    assert triage("").out_of_scope is None


def test_as_dict_is_json_ready_and_complete() -> None:
    data = triage("三楼着火了，已经起诉了").as_dict()
    json.dumps(data, ensure_ascii=False)
    assert data["emergency"] == "119" and data["out_of_scope"] == "诉讼"
    assert "hits" not in data
    assert set(data) >= {"emergency", "emergency_triggers", "emergency_reason", "out_of_scope",
                         "out_of_scope_reason", "direct_to", "out_of_scope_triggers"}


def test_lines_and_kinds_are_the_documented_ones() -> None:
    assert set(EMERGENCY_LINES) == {"110", "119", "120", "122"}
    assert set(OUT_OF_SCOPE_KINDS) == {"诉讼", "仲裁", "纪检监察", "信访", "行政复议"}


# --- out of scope ------------------------------------------------------------------------

OUT_OF_SCOPE = [
    ("我已经向法院起诉了，法院也立案了，对方还是不还钱", "诉讼", "人民法院/12368"),
    ("法院判决下来了，对方一直不执行", "诉讼", "人民法院/12368"),
    ("我想起诉这个开发商，要准备什么材料", "诉讼", "人民法院/12368"),
    ("我儿子被刑事拘留了，现在在看守所，能不能帮忙放出来", "诉讼", "人民法院/12368"),
    ("案子已经到检察院了，能不能先放人", "诉讼", "人民法院/12368"),
    ("我已经申请了劳动仲裁，公司一直拖着", "仲裁", "劳动人事争议仲裁委员会"),
    ("劳动仲裁怎么申请", "仲裁", "劳动人事争议仲裁委员会"),
    ("我们村的村支书贪污扶贫款", "纪检监察", "纪委监委/12388"),
    ("我要举报镇长收受贿赂", "纪检监察", "纪委监委/12388"),
    ("街道办的工作人员吃拿卡要，办事要收好处费", "纪检监察", "纪委监委/12388"),
    ("城管执法人员收钱就让摆摊", "纪检监察", "纪委监委/12388"),
    ("我对区市场监管局的行政处罚决定不服，想申请行政复议", "行政复议", "行政复议机关（司法局）"),
    ("交警罚单我不服，想申请复议", "行政复议", "行政复议机关（司法局）"),
    ("这个事我已经去信访局反映过了，信访局也受理了", "信访", "信访部门"),
    ("我去年上访过，到现在没有结果", "信访", "信访部门"),
]


@pytest.mark.parametrize(("text", "kind", "direct_to"), OUT_OF_SCOPE)
def test_out_of_scope_fires(text: str, kind: str, direct_to: str) -> None:
    result = triage(text)
    assert result.out_of_scope == kind, result.hits
    assert result.direct_to == direct_to
    assert result.out_of_scope_reason
    assert all(t in text for t in result.out_of_scope_triggers) and result.out_of_scope_triggers


IN_SCOPE = [
    "老板欠我三个月工资不给，我该怎么办",  # wage arrears: 劳动监察, in scope
    "公司拖欠工资两个月了，能帮我找劳动监察吗",
    "如果再不退钱，我就去法院起诉他们",  # a threat to sue, not a case
    "我不想打官司，就想你们帮忙协调一下",
    "我没有起诉，也不想仲裁，就是想投诉",
    "你们再不管我就去上访",
    "我们村的账目从来不公开，村委会也不给看",
    "学校乱收费，班主任让交六百块",
    "物业主任收钱不办事",
    "法院门口的路灯坏了好几天了",
    "我想办离婚后的户口迁移，需要离婚判决书吗",
    "我怕被报复，不方便留名",
]


@pytest.mark.parametrize("text", IN_SCOPE)
def test_in_scope(text: str) -> None:
    result = triage(text)
    assert result.out_of_scope is None, result.hits
    assert result.direct_to == "" and result.out_of_scope_reason == ""


def test_commercial_arbitration_goes_to_the_chosen_commission() -> None:
    result = triage("装修合同约定了仲裁，我已经向仲裁委申请了，公司一直拖")
    assert result.out_of_scope == "仲裁"
    assert result.direct_to.startswith("仲裁委员会")
    assert "劳动" not in result.direct_to


def test_court_outranks_arbitration() -> None:
    result = triage("劳动仲裁裁决了公司不服，已经起诉到法院了")
    assert result.out_of_scope == "诉讼"


def test_agent_mention_of_court_is_not_out_of_scope() -> None:
    turns = [{"speaker": "caller", "text": "隔壁厂仿冒我们的专利产品，我要举报"},
             {"speaker": "agent", "text": "专利侵权也可以向法院起诉。"},
             {"speaker": "caller", "text": "好，我先找你们。"}]
    assert triage(turns).out_of_scope is None


def test_emergency_and_out_of_scope_are_independent() -> None:
    result = triage("他们拿着刀来闹事，这个案子法院已经判决了")
    assert result.emergency == "110"
    assert result.out_of_scope == "诉讼"
