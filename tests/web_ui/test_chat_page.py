"""The citizen chat page in headless Chromium at a phone's size (375×667): the greeting, a cited
answer, an emergency with call buttons, and the ticket offer's quick replies; nothing wider
than the screen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from copilot.chat import phrases
from tests.web_ui.conftest import LiveServer, open_page

pytestmark = pytest.mark.slow

PHONE = {"width": 375, "height": 667}


@pytest.fixture
def phone_page(browser: Any, live_server: LiveServer,
               request: pytest.FixtureRequest) -> Iterator[Any]:
    with open_page(browser, live_server, request.node.name, timeout_ms=60_000, full_page=True,
                   user=None,
                   viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2) as p:
        yield p


def send(page: Any, text: str) -> Any:
    """Type a message, send it, and return the bot's reply bubble."""
    before = page.locator(".row:not(.me) .bubble[data-kind]").count()
    page.fill("#message", text)
    page.click("#send")
    page.wait_for_function(
        "n => document.querySelectorAll('.row:not(.me) .bubble[data-kind]').length > n",
        arg=before)
    return page.locator(".row:not(.me) .bubble[data-kind]").nth(before)


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a 375px screen"


def test_chat_on_a_phone(phone_page: Any) -> None:
    page = phone_page
    page.goto("/chat")
    greeting = page.locator(".bubble[data-kind=info]").first
    greeting.wait_for()
    assert greeting.locator(".text").text_content() == phrases.GREETING
    assert page.locator(".sos a[href='tel:119']").is_visible()

    answer = send(page, "笔试面试都过了，教师资格证下一步要怎么申请认定")
    assert answer.get_attribute("data-kind") == "answer"
    assert answer.locator(".citation .c-id").text_content().startswith("kb-06-025")
    assert answer.locator(".citation .c-unit").text_content()
    no_sideways_scroll(page)

    fire = send(page, "我家厨房着火了")
    assert fire.get_attribute("data-kind") == "emergency"
    assert fire.locator(".calls a[href='tel:119']").is_visible()

    offer = send(page, "今年征兵报名的年龄和学历要求是多少")
    assert offer.get_attribute("data-kind") == "no_answer"
    offer.get_by_role("button", name=phrases.OFFER_YES).click()
    page.wait_for_function("document.querySelectorAll('.bubble[data-kind=ask_field]').length")
    asked = page.locator(".bubble[data-kind=ask_field]").last
    assert asked.locator(".text").text_content() == phrases.ASK_NAME
    assert offer.get_by_role("button", name=phrases.OFFER_YES).is_disabled()
    no_sideways_scroll(page)
    assert page.console_errors == []


def test_user_text_is_not_markup(phone_page: Any) -> None:
    page = phone_page
    page.goto("/chat")
    page.locator(".bubble[data-kind=info]").first.wait_for()
    send(page, "<img src=x onerror=alert(1)>小区电梯老是坏")
    mine = page.locator(".row.me .text").last
    assert mine.text_content() == "<img src=x onerror=alert(1)>小区电梯老是坏"
    assert page.locator(".log img").count() == 0
