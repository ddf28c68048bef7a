"""The customer's rating of a call, on the customer page in headless Chromium (a phone).

A guest calls support by voice from the page; Rahim (a socket.io client) answers and
hangs up. Run in Bengali (a browser that prefers Bengali) and in English.

Guards:
- after the agent hangs up, "How was your call?" shows in the page's language, with five
  stars named for screen readers ("4 Good", Bengali digits in Bengali), a comment box
  with its counter, Send and "No thanks";
- a reload of the ended page before answering asks again (the question, and how the call
  ended, are kept); switching the page's language switches the form's;
- a send that cannot reach the server is said in words, and "Try again" sends it;
- the customer picks 4, writes a comment and sends: the page thanks them, and the
  server's contact record has CSAT 4 with the comment;
- a reload after rating does not ask again (the call is remembered in sessionStorage);
- "No thanks" (after the customer hung up themself) closes it, rates nothing, and a reload
  does not ask again;
- a call rated meanwhile (another tab) is said to be rated already (409), and not asked again;
- a customer who gives up waiting (cancels before an agent answers) is not asked.
Screenshots of the form and the thanks at 414x860, in both languages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, Route, expect

from callcenter.identity import Role
from tests.conftest import Server, ServerFactory, api_request

from .conftest import BrowserFactory, Microphones, PageLog, poll_state

pytestmark = pytest.mark.e2e

PHONE = {"width": 414, "height": 860}
WAIT_S = 20.0
# The page writes numbers in Bengali digits in Bengali (written here by code point: ruff
# rightly finds several of them confusable with Latin letters and digits).
BENGALI_DIGITS = str.maketrans({str(d): chr(0x09E6 + d) for d in range(10)})


def bengali(text: str) -> str:
    return text.translate(BENGALI_DIGITS)


@dataclass(frozen=True)
class Words:
    """What the page says in one language."""

    locale: str
    language: str  # the language switch's button for this language
    heading: str
    agent_ended: str
    star_four: str
    chosen: str
    comment: str
    count: str
    send: str
    retry: str
    skip: str
    failed: str
    thanks: str


BENGALI = Words(
    locale="bn-BD",
    language="বাংলা",
    heading="আপনার কলটি কেমন ছিল?",
    agent_ended="এজেন্ট কল শেষ করেছেন।",
    star_four=bengali("4 ভালো"),
    chosen=bengali("আপনি দিয়েছেন 5-এর মধ্যে 4: ভালো"),
    comment="এজেন্ট খুব ভালোভাবে সাহায্য করেছেন",
    count=bengali("34/500 অক্ষর"),
    send="পাঠান",
    retry="আবার পাঠান",
    skip="দরকার নেই",
    failed="আপনার মতামত পাঠানো যায়নি। সার্ভারে পৌঁছানো যাচ্ছে না; ইন্টারনেট সংযোগ দেখুন। আবার পাঠাতে “আবার পাঠান” চাপুন।",
    thanks="ধন্যবাদ! আপনার মতামত আমাদের সেবা আরও ভালো করতে সাহায্য করবে।",
)
ENGLISH = Words(
    locale="en-US",
    language="English",
    heading="How was your call?",
    agent_ended="The agent ended the call.",
    star_four="4 Good",
    chosen="You chose 4 of 5: Good",
    comment="Rahim found my parcel quickly",
    count="29/500 characters",
    send="Send",
    retry="Try again",
    skip="No thanks",
    failed="Your rating was not sent. Cannot reach the server; check your internet connection. "
    "Press “Try again” to send it again.",
    thanks="Thank you! Your rating helps us serve you better.",
)


async def rating_of(page: Page, log: PageLog, what: str, check: Any) -> dict[str, Any]:
    state = await poll_state(page, log, what, lambda s: check(s.get("rating") or {}), WAIT_S)
    rating: dict[str, Any] = state["rating"]
    return rating


async def customer_waits(page: Page, server: Server) -> str:
    """The guest calls support by voice from the page; the call's id."""
    await page.goto(f"{server.url}/support")
    await page.locator("#call-support").click()
    await page.locator("#choose-voice").click()
    await expect(page.locator("#waiting")).to_be_visible(timeout=WAIT_S * 1000)
    return next(iter(server.switchboard.calls))


@pytest.mark.parametrize("words", [BENGALI, ENGLISH], ids=["bengali", "english"])
async def test_the_customer_rates_an_answered_call_once(
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    microphones: Microphones,
    artifacts: Path,
    words: Words,
) -> None:
    server = await start_server()
    browser = await launch_browser(microphones.customer)
    context = await browser.new_context(locale=words.locale, viewport=PHONE)
    page = await context.new_page()
    log = PageLog("customer", page)
    call_id = await customer_waits(page, server)

    agent = server.client(server.token(Role.AGENT, "Rahim"))
    await agent.connect()
    await agent.set_availability("available")
    await agent.accept_call(call_id)
    await poll_state(page, log, "in the call", lambda s: s.get("phase") == "incall", WAIT_S)
    await agent.hang_up()

    form = page.locator("#rating")
    await expect(form).to_be_visible(timeout=WAIT_S * 1000)
    await expect(form.locator("h2")).to_have_text(words.heading)
    rating = await rating_of(page, log, "asked", lambda r: r.get("state") == "asking")
    assert rating["callId"] == call_id, rating
    await expect(page.get_by_role("radio")).to_have_count(5)
    await expect(page.get_by_role("button", name=words.skip)).to_be_visible()

    # A reload before answering asks again.
    await page.reload()
    await expect(form).to_be_visible(timeout=WAIT_S * 1000)
    await expect(form.locator("h2")).to_have_text(words.heading)
    await expect(page.locator("#end-reason")).to_have_text(words.agent_ended)

    # The form follows the page's language, both ways.
    other = ENGLISH if words is BENGALI else BENGALI
    await page.get_by_role("button", name=other.language, exact=True).click()
    await expect(form.locator("h2")).to_have_text(other.heading)
    await expect(page.get_by_role("radio", name=other.star_four)).to_have_count(1)
    await page.get_by_role("button", name=words.language, exact=True).click()
    await expect(form.locator("h2")).to_have_text(words.heading)

    await rate_four(page, words, artifacts)
    await send_after_a_failure(page, words, artifacts)
    contact = await server.switchboard.contacts.store.get(call_id)
    assert contact is not None
    assert (contact.csat, contact.csat_comment) == (4, words.comment), contact

    # Not asked again, also after a reload.
    await page.reload()
    await poll_state(page, log, "loaded", lambda s: s.get("phase") in ("start", "ended"), WAIT_S)
    rating = await rating_of(page, log, "not asked", lambda r: r.get("state") == "none")
    assert not rating["shown"], rating
    await expect(form).to_be_hidden()
    remembered = await page.evaluate("sessionStorage.getItem('kotha.customer.rated')")
    assert call_id in remembered, remembered


async def rate_four(page: Page, words: Words, artifacts: Path) -> None:
    """Four stars and a comment; the words, the counter; thumb-sized stars."""
    form = page.locator("#rating")
    four = page.get_by_role("radio", name=words.star_four)
    await four.check()
    await expect(page.locator("#rating-chosen")).to_have_text(words.chosen)
    await page.locator("#rating-comment").fill(words.comment)
    await expect(page.locator("#rating-count")).to_have_text(words.count)
    for star in range(1, 6):
        box = await page.locator(f'.rating-star[data-score="{star}"]').bounding_box()
        assert box and box["width"] >= 44 and box["height"] >= 44, (star, box)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"
    name = f"rating-form-{words.locale[:2]}"
    await form.scroll_into_view_if_needed()
    await page.screenshot(path=artifacts / f"{name}-phone.png", full_page=True)


async def send_after_a_failure(page: Page, words: Words, artifacts: Path) -> None:
    """The server out of reach: said in words; "Try again" sends it, and thanks."""
    name = f"rating-form-{words.locale[:2]}"

    async def unreachable(route: Route) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/api/calls/*/rating", unreachable)
    await page.get_by_role("button", name=words.send).click()
    await expect(page.locator("#rating-problem")).to_have_text(words.failed)
    await page.screenshot(path=artifacts / f"{name}-failed-phone.png", full_page=True)
    await page.unroute("**/api/calls/*/rating", unreachable)
    await page.get_by_role("button", name=words.retry).click()

    await expect(page.locator("#rating-done")).to_have_text(words.thanks)
    await expect(page.locator("#rating")).to_be_hidden()
    await page.screenshot(path=artifacts / f"{name}-thanks-phone.png", full_page=True)


async def test_a_customer_who_gave_up_waiting_is_not_asked(
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    microphones: Microphones,
) -> None:
    server = await start_server()
    browser = await launch_browser(microphones.customer)
    context = await browser.new_context(locale="en-US", viewport=PHONE)
    page = await context.new_page()
    log = PageLog("customer", page)
    call_id = await customer_waits(page, server)
    await page.locator("#cancel").click()
    await expect(page.locator("#ended")).to_be_visible(timeout=WAIT_S * 1000)
    await expect(page.locator("#end-reason")).to_have_text("You cancelled the call.")
    rating = await rating_of(page, log, "the ended page", lambda r: "state" in r)
    assert rating["state"] == "none" and not rating["shown"], rating
    await expect(page.locator("#rating")).to_be_hidden()
    await expect(page.locator("#rating-done")).to_be_hidden()
    # Abandoned, as the floor counts it; nothing to rate.
    await server.switchboard.contacts.settle()
    contact = await server.switchboard.contacts.store.get(call_id)
    assert contact is not None and contact.abandoned, contact


async def test_no_thanks_is_not_asked_again(
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    microphones: Microphones,
) -> None:
    server = await start_server()
    browser = await launch_browser(microphones.customer)
    context = await browser.new_context(locale="en-US", viewport=PHONE)
    page = await context.new_page()
    log = PageLog("customer", page)
    call_id = await customer_waits(page, server)
    agent = server.client(server.token(Role.AGENT, "Rahim"))
    await agent.connect()
    await agent.set_availability("available")
    await agent.accept_call(call_id)
    await poll_state(page, log, "in the call", lambda s: s.get("phase") == "incall", WAIT_S)
    # The customer hangs up this time.
    await page.locator("#hangup").click()
    await expect(page.locator("#end-reason")).to_have_text("You hung up.", timeout=WAIT_S * 1000)
    await expect(page.locator("#rating")).to_be_visible()
    await page.get_by_role("button", name="No thanks").click()
    await expect(page.locator("#rating")).to_be_hidden()
    rating = await rating_of(page, log, "declined", lambda r: r.get("state") == "declined")
    assert rating["said"] is None, rating
    await page.reload()
    await expect(page.locator("#start")).to_be_visible(timeout=WAIT_S * 1000)
    await expect(page.locator("#rating")).to_be_hidden()
    await server.switchboard.contacts.settle()
    contact = await server.switchboard.contacts.store.get(call_id)
    assert contact is not None and contact.handled and contact.csat is None, contact


async def test_a_call_rated_already_is_said_so_and_not_asked_again(
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    microphones: Microphones,
) -> None:
    server = await start_server()
    browser = await launch_browser(microphones.customer)
    context = await browser.new_context(locale="en-US", viewport=PHONE)
    page = await context.new_page()
    log = PageLog("customer", page)
    call_id = await customer_waits(page, server)
    agent = server.client(server.token(Role.AGENT, "Rahim"))
    await agent.connect()
    await agent.set_availability("available")
    await agent.accept_call(call_id)
    await poll_state(page, log, "in the call", lambda s: s.get("phase") == "incall", WAIT_S)
    await agent.hang_up()
    await expect(page.locator("#rating")).to_be_visible(timeout=WAIT_S * 1000)
    # Rated meanwhile with the same token (another tab of the customer's).
    pending = json.loads(await page.evaluate("sessionStorage.getItem('kotha.customer.rating')"))
    status, body, _ = await api_request(
        server, "POST", f"/api/calls/{call_id}/rating", pending["token"], json={"score": 2}
    )
    assert status == 200, body
    await page.get_by_role("radio", name="5 Very good").check()
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#rating-done")).to_have_text(
        "This call has been rated already. Thank you!"
    )
    await expect(page.locator("#rating")).to_be_hidden()
    contact = await server.switchboard.contacts.store.get(call_id)
    assert contact is not None and contact.csat == 2, contact
    await page.reload()
    await expect(page.locator("#start")).to_be_visible(timeout=WAIT_S * 1000)
    await expect(page.locator("#rating")).to_be_hidden()
