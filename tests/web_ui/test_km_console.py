"""The knowledge managers' console in real headless Chromium against a real server over a copy
of the demo knowledge base: an author drafts an answer in the page and submits it, the author
may not approve it, a second person approves it, and the citizen chatbot then answers a
paraphrase with it at once; the gap report turns unanswered chatbot questions into a draft.
Screenshots of each test's final state are kept in tests/artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web_ui.conftest import LiveServer, sign_in_page

pytestmark = pytest.mark.slow

ANSWER = ("男性青年年满18至22周岁、具有高中以上文化程度的可以报名应征，"
          "普通高校毕业生可放宽至24周岁，研究生可放宽至26周岁。"
          "报名请登录全国征兵网填写信息，之后参加所在区征兵办组织的体检和政治考核，"
          "合格后由征兵办通知入伍。")
QUESTIONS = "征兵报名有什么条件\n参军入伍对年龄和学历有什么要求\n大学生怎么报名当兵"
PARAPHRASE = "想去当兵，报名有年龄和学历限制吗"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


# 张三 writes and reviews (so only the four-eyes rule stops him approving his own text).
PEOPLE = {"张三": ("knowledge_manager", "reviewer"), "李四": ("reviewer",),
          "王五": ("knowledge_manager",)}


def open_km(page: Any, server: LiveServer, who: str) -> None:
    sign_in_page(page, server, who, PEOPLE[who])
    page.goto("/km")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    expect(page.get_by_test_id("signed-in")).to_contain_text(who)


def chat(page: Any, server: LiveServer, message: str) -> dict[str, Any]:
    r = page.request.post(f"{server.url}/api/v1/chat", data={"message": message})
    assert r.ok, r.text()
    return r.json()["reply"]  # type: ignore[no-any-return]


def test_a_draft_reviewed_and_published_is_found_by_the_chatbot(page: Any,
                                                                 live_server: LiveServer) -> None:
    assert chat(page, live_server, PARAPHRASE)["kind"] != "answer"  # not in the demo base

    open_km(page, live_server, "张三")
    page.get_by_test_id("new-answer").click()
    page.get_by_test_id("e-title").fill("征兵报名条件和流程")
    page.get_by_test_id("e-questions").fill(QUESTIONS)
    page.get_by_test_id("e-answer").fill(ANSWER)
    page.get_by_test_id("e-unit").select_option("广州市退役军人事务局")
    page.get_by_test_id("e-source").fill("《征兵工作条例》")
    page.get_by_test_id("e-request-type").select_option("咨询")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("editor-msg")).to_contain_text("已新建")
    badges = page.get_by_test_id("editor-badges")
    expect(badges.locator("[data-tag=draft]")).to_have_count(1)
    public_id = page.locator("#editor-heading").text_content().split(" · ")[0]

    page.get_by_test_id("submit-review").click()
    expect(badges.locator("[data-tag=in_review]")).to_have_count(1)
    # the author may not approve the version under review
    expect(page.get_by_test_id("approve")).to_be_disabled()
    expect(page.get_by_test_id("review-hint")).to_contain_text("须由其他人审核")
    template_id = page.locator("#answer-list li.selected").get_attribute("data-id")
    refused = page.request.post(f"{live_server.url}/api/v1/km/answers/{template_id}/approve",
                                data={})  # as 张三, by the page's own session
    assert refused.status == 403 and "审核人不能是作者" in refused.json()["detail"]

    open_km(page, live_server, "李四")
    page.locator(f"#answer-list li[data-id='{template_id}']").click()
    expect(page.get_by_test_id("approve")).to_be_enabled()
    page.get_by_test_id("approve").click()
    expect(badges.locator("[data-tag=published]")).to_have_count(1)
    expect(page.get_by_test_id("status")).to_contain_text("已审核通过并发布")
    selected = page.locator("#answer-list li.selected")
    expect(selected.locator("[data-tag=published]")).to_have_count(1)

    # three versions kept; the diff between the last two shows the status change
    rows = page.get_by_test_id("versions").locator("tbody tr")
    expect(rows).to_have_count(3)
    rows.first.click()
    expect(page.get_by_test_id("diff")).to_contain_text("状态")
    expect(page.get_by_test_id("diff").locator("ins")).to_contain_text("已发布")

    reply = chat(page, live_server, PARAPHRASE)
    assert reply["kind"] == "answer", reply
    assert reply["citation"]["id"] == public_id and reply["text"] == ANSWER
    assert page.console_errors == []


def test_the_gap_report_drafts_an_answer_from_unanswered_questions(
        page: Any, live_server: LiveServer) -> None:
    asked = ["无人机在市区飞行需要报备吗"] * 2 + ["航拍无人机要去哪里登记"]
    for message in asked:
        assert chat(page, live_server, message)["kind"] == "no_answer"

    open_km(page, live_server, "王五")
    page.get_by_role("tab", name="知识缺口").click()
    group = page.get_by_test_id("gap-list").locator("[data-testid=gap-group]").first
    expect(group).to_contain_text("无人机在市区飞行需要报备吗")
    expect(group.locator(".count")).not_to_have_text("1次提问")
    group.get_by_test_id("draft-from-gap").click()

    expect(page.locator("#tab-answers")).to_be_visible()
    expect(page.get_by_test_id("editor-badges").locator("[data-tag=draft]")).to_have_count(1)
    assert "无人机在市区飞行需要报备吗" in page.get_by_test_id("e-questions").input_value()
    expect(page.get_by_test_id("e-answer")).to_have_value(
        "【待撰写】请根据上面的问法撰写答复口径，写好后再提交审核。")
    page.get_by_test_id("e-answer").fill("在广州市区飞行无人机须遵守禁飞区规定，并通过综合监管平台报备飞行计划。")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("editor-msg")).to_contain_text("已保存为第 2 版")

    page.get_by_role("tab", name="知识缺口").click()
    expect(group).to_contain_text("已起草")
    assert page.console_errors == []
