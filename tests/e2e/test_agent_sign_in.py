"""An agent whose sign-in link is wrong is told so in an agent's words.

Guards (issue 13, item 8): a bad token on the agent console read "This call link is not
valid. (… Not enough segments)": a customer's words and a library's jargon. The console
says the sign-in link is not valid and what to do; an expired one says it expired.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from callcenter.identity import Role
from tests.conftest import Server

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("token", "said"),
    [
        pytest.param("not-a-token", "This sign-in link is not valid", id="garbage"),
        pytest.param("aaaa.bbbb.cccc", "This sign-in link is not valid", id="forged"),
    ],
)
async def test_a_bad_sign_in_link_is_said_in_an_agents_words(
    server: Server, browser: Browser, token: str, said: str
) -> None:
    page = await browser.new_page()
    await page.goto(f"{server.url}/agent#token={token}")
    error = page.locator("#error")
    await expect(error).to_contain_text(said)
    await expect(error).to_contain_text("ask your supervisor")
    for wrong in ("call link", "segments", "Traceback", "jwt", "JWT"):
        await expect(error).not_to_contain_text(wrong)


async def test_an_expired_sign_in_says_it_expired(server: Server, browser: Browser) -> None:
    token = server.authority.issue(Role.AGENT, "rahim", name="Rahim", ttl_s=-10)
    page = await browser.new_page()
    await page.goto(f"{server.url}/agent#token={token}")
    await expect(page.locator("#error")).to_contain_text("Your sign-in has expired")
