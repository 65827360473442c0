"""Login, first-password change, logout and the administrators' page in real headless Chromium
against a real server: a stranger is sent to the login page and back to where they were going,
a new account made on the admin page must change its first password, switching an account off
ends its session at once, and the audit log shows what happened."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import TEST_PASSWORD
from tests.web_ui.conftest import LiveServer, open_page

pytestmark = pytest.mark.slow


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def log_in(page: Any, username: str, password: str) -> None:
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#login-btn").click()


def test_a_stranger_is_sent_to_login_and_back_to_the_console(browser: Any,
                                                              live_server: LiveServer) -> None:
    live_server.sign_in("op-wang", ("operator",))  # the account exists
    with open_page(browser, live_server, "login-to-console", user=None) as page:
        page.goto("/console")
        expect(page).to_have_url(f"{live_server.url}/login?next=/console")
        log_in(page, "op-wang", "not-the-password")
        expect(page.get_by_test_id("login-msg")).to_have_text("用户名或密码错误")
        log_in(page, "op-wang", TEST_PASSWORD)
        expect(page).to_have_url(f"{live_server.url}/console")
        expect(page.get_by_test_id("signed-in")).to_contain_text("话务员")
        page.get_by_test_id("logout").click()
        expect(page).to_have_url(f"{live_server.url}/login")
        page.goto("/km")  # after logout the session is gone
        expect(page).to_have_url(f"{live_server.url}/login?next=/km")
        assert page.console_errors == []


def test_an_account_made_by_the_admin_changes_its_first_password_and_can_be_switched_off(
        browser: Any, live_server: LiveServer) -> None:
    with open_page(browser, live_server, "admin-page", user=("boss", ("admin",))) as admin:
        admin.goto("/admin")
        expect(admin.locator("body[data-ready='1']")).to_have_count(1)
        admin.locator("#nu-username").fill("op-li")
        admin.locator("#nu-name").fill("李话务")
        admin.get_by_test_id("nu-role-operator").check()
        admin.locator("#nu-password").fill("first-pass-9")
        admin.locator("#new-user button[type=submit]").click()
        expect(admin.get_by_test_id("status")).to_contain_text("已新建账号 op-li")
        row = admin.locator("[data-testid=user-row][data-username=op-li]")
        expect(row).to_contain_text("待改初始密码")

        with open_page(browser, live_server, "first-password", user=None) as page:
            page.goto("/login?next=/console")
            log_in(page, "op-li", "first-pass-9")
            expect(page.get_by_test_id("change-form")).to_be_visible()
            page.locator("#new-password").fill("my-own-pass-2026")
            page.locator("#new-password2").fill("my-own-pass-2026")
            page.get_by_test_id("change-form").locator("button").click()
            expect(page).to_have_url(f"{live_server.url}/console")
            expect(page.get_by_test_id("signed-in")).to_contain_text("李话务")

            admin.reload()
            row.get_by_role("button", name="停用").click()
            expect(admin.get_by_test_id("status")).to_contain_text("op-li 已停用")
            page.reload()  # the session ended with the account
            expect(page).to_have_url(f"{live_server.url}/login?next=/console")
            assert page.console_errors == []

        admin.locator("#a-actor").fill("op-li")
        admin.locator("#audit-filters button").click()
        audit = admin.get_by_test_id("audit")
        expect(audit).to_contain_text("修改密码")
        expect(audit).to_contain_text("登录")
        assert admin.console_errors == []
