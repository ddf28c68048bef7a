"""The audit page's "Shop webhooks" panel, in headless Chromium, against a real receiver.

Guards:
- a receiver that answers 500: the admin's page, left open, sees (by its own polling) the
  endpoint failing in words ("Failing", nothing delivered yet, the receiver's answer), its
  counts, and the events it gave up, each with its type, call, attempts and error in words;
  a line at the top of the page says the webhooks need a look;
- once the receiver takes events: "Send again" on one event the page still lists but that
  was sent again meanwhile (by the API) says so in words and the list catches up; "Send
  again" on another puts it back (the page says 1 was put back), the receiver gets that very
  event (by id, signed), and the page no longer lists it; "Send all again" sends the rest,
  the endpoint shows delivering and nothing given up;
- two nodes of one call centre (real Redis): asked on node A, the page shows a card per node
  ("on node node-b"), and "Send all again" on node B's card puts back B's events only;
- with no endpoint configured the panel says so and how to configure one ([[webhooks]]);
  with the server out of reach it says so, and what it does next, in words;
- at 1366x800 and 390x844 nothing scrolls sideways and a given-up event is a card on the
  phone; screenshots of each state go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, Route, expect

from callcenter.identity import Role
from tests.conftest import NodeFactory, Server, ServerFactory, api_request
from tests.webhooks.receiver import Receiver
from webhooks import EventType

from .conftest import PageLog, poll_state

pytestmark = pytest.mark.e2e

SECRET = "whsec-kotha-panel-0123456789"
LAPTOP = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
# The panel reads the endpoints every 10 s; the waits allow two rounds on a busy machine.
WAIT_S = 25.0


@pytest.fixture
async def shop() -> AsyncIterator[Receiver]:
    """The shop's backend, refusing every event (500) until a test lets it take them."""
    receiver = Receiver(SECRET, failing_types={t.value for t in EventType})
    await receiver.start()
    yield receiver
    await receiver.stop()


async def start_with_webhooks(start_server: ServerFactory, shop: Receiver) -> Server:
    # Retries a millisecond or two apart, so the 500 attempts before an event is given
    # up take a second or so, not a day.
    return await start_server(
        webhooks=[{"name": "shop", "url": shop.url, "secret": SECRET}],
        webhook_retry_base_s=0.001,
        webhook_retry_cap_s=0.002,
    )


async def abandoned_call(server: Server, name: str) -> str:
    """A customer who waits and gives up: call.queued and call.abandoned."""
    call_id, token = await server.customer_call(name)
    customer = server.client(token)
    await customer.connect()
    await customer.request_call()
    await asyncio.sleep(0.2)
    await customer.hang_up()
    return call_id


async def open_audit(browser: Browser, server: Server, name: str) -> tuple[Page, PageLog]:
    context = await browser.new_context(locale="en-US", timezone_id="Asia/Dhaka", viewport=LAPTOP)
    page = await context.new_page()
    log = PageLog(name, page)
    await page.goto(f"{server.url}/audit#token={server.token(Role.ADMIN, 'Ada')}")
    return page, log


async def panel(
    page: Page, log: PageLog, what: str, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The panel's state (window.kotha.state().webhooks), once read, when ``check`` holds."""
    state = await poll_state(
        page,
        log,
        what,
        lambda s: "webhooks" in s and s["webhooks"]["loaded"] and check(s["webhooks"]),
        WAIT_S,
        every=0.1,
    )
    webhooks: dict[str, Any] = state["webhooks"]
    return webhooks


async def given_up_ids(server: Server) -> list[str]:
    status, body, _ = await api_request(
        server, "GET", "/api/webhooks", server.token(Role.ADMIN, "Ada")
    )
    assert status == 200, body
    return [f["event_id"] for f in body["endpoints"][0]["failed"]]


async def no_sideways_scroll(page: Page, width: int) -> None:
    scrolled = await page.evaluate("document.documentElement.scrollWidth")
    assert scrolled <= width, f"the page scrolls sideways at {width} px: {scrolled} px wide"


async def screenshots(page: Page, artifacts: Path, name: str) -> None:
    """The whole page at laptop and phone size (the panel scrolled into view first)."""
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        await no_sideways_scroll(page, viewport["width"])
        await page.locator("#webhooks").scroll_into_view_if_needed()
        await page.screenshot(path=artifacts / f"webhooks-{name}-{size}.png", full_page=True)
    await page.set_viewport_size(LAPTOP)


async def check_failing_card(page: Page, card: Locator, url: str, call_id: str) -> None:
    """The endpoint failing, in words, with its counts and its two given-up events."""
    await expect(card.locator(".wh-name")).to_have_text("shop")
    await expect(card.locator(".wh-state")).to_have_text("Failing")
    await expect(card.locator(".wh-url")).to_have_text(url)
    await expect(card.locator(".wh-node")).to_be_hidden()  # one node: no node named
    await expect(card.locator(".wh-headline")).to_have_text("Nothing delivered yet.")
    await expect(card.locator(".wh-error")).to_contain_text(
        "The receiver answered 500 (Internal Server Error)."
    )
    await expect(card.locator(".wh-next")).to_have_text("Nothing is waiting to be sent.")
    await expect(card.locator(".wh-advice")).to_contain_text("answers 2xx")
    for key, value in {"waiting": "0", "delivered": "0", "given_up": "2", "dropped": "0"}.items():
        await expect(card.locator(f'.wh-count[data-count="{key}"] .wh-num')).to_have_text(value)
    await expect(card.locator(".wh-failed-title")).to_have_text("Given up (2)")
    rows = card.locator(".wh-rows > tr")
    await expect(rows).to_have_count(2)
    queued = rows.filter(has_text="Call queued")
    await expect(queued.locator(".wh-call-id")).to_have_text(call_id)
    await expect(queued.locator(".wh-seq")).to_have_text("seq 1")
    await expect(queued.locator(".wh-attempts")).to_have_text("500 attempts")
    await expect(queued.locator(".wh-reason")).to_have_text(
        "The receiver answered 500 (Internal Server Error)."
    )
    await expect(page.locator("#wh-attention")).to_contain_text(
        "Shop webhooks need a look: “shop” is failing; 2 events given up."
    )
    await expect(page.locator("#error")).to_be_hidden()
    assert "{" not in await card.inner_text(), "the panel must speak in words"


async def send_again_what_was_sent_meanwhile(
    page: Page, log: PageLog, server: Server, card: Locator, *, event_id: str, shop: Receiver
) -> None:
    """The event is sent again through the API while the page still lists it (its reads are
    held until then): "Send again" on it says so in words, and the list catches up."""
    released = asyncio.Event()

    async def hold_reads(route: Route) -> None:
        if route.request.method == "GET":
            await released.wait()
        await route.continue_()

    await page.route("**/api/webhooks", hold_reads)
    status, body, _ = await api_request(
        server,
        "POST",
        "/api/webhooks/shop/retry",
        server.token(Role.ADMIN, "Ada"),
        json={"event_id": event_id},
    )
    assert (status, body) == (200, {"endpoint": "shop", "retried": 1}), body
    await shop.wait_for(1)
    rows = card.locator(".wh-rows > tr")
    await rows.filter(has_text="Call abandoned").get_by_role("button").click()
    await expect(card.locator(".wh-notice")).to_contain_text("no such given-up event now")
    released.set()  # from here on the reads go through
    stale = await panel(
        page,
        log,
        "the stale event explained",
        lambda w: (w["endpoints"][0]["notice"] or {}).get("kind") == "failed",
    )
    assert "no such given-up event now" in stale["endpoints"][0]["notice"]["text"], stale
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Call queued")


async def test_an_admin_sees_a_failing_endpoint_and_sends_its_given_up_events_again(
    start_server: ServerFactory, shop: Receiver, browser: Browser, artifacts: Path
) -> None:
    server = await start_with_webhooks(start_server, shop)
    page, log = await open_audit(browser, server, "audit")
    first = await panel(page, log, "the endpoint", lambda w: True)
    assert [e["name"] for e in first["endpoints"]] == ["shop"], first

    jamal = await abandoned_call(server, "Jamal")
    await server.switchboard.contacts.settle()

    # The page, left open, sees both events given up by its own polling.
    seen = await panel(
        page, log, "two given-up events", lambda w: len(w["endpoints"][0]["failed"]) == 2
    )
    endpoint = seen["endpoints"][0]
    assert endpoint["state"] == "failing" and endpoint["delivered"] == 0, endpoint
    assert {(f["type"], f["call_id"]) for f in endpoint["failed"]} == {
        ("call.queued", jamal),
        ("call.abandoned", jamal),
    }
    assert seen["fetches"] >= 2, "the panel found them without being asked"
    queued_id, abandoned_id = (
        next(f["event_id"] for f in endpoint["failed"] if f["type"] == kind)
        for kind in ("call.queued", "call.abandoned")
    )
    card = page.locator(".wh-endpoint")
    await check_failing_card(page, card, shop.url, jamal)
    await screenshots(page, artifacts, "failing")

    # The shop is back; someone sent the abandoned event again meanwhile.
    shop.failing_types.clear()
    await send_again_what_was_sent_meanwhile(
        page, log, server, card, event_id=abandoned_id, shop=shop
    )

    # "Send again" on the queued event: put back, delivered, no longer given up.
    await card.get_by_role("button", name="Send again").click()
    delivered = await panel(
        page,
        log,
        "the event delivered",
        lambda w: (
            w["endpoints"][0]["failed_count"] == 0
            and w["endpoints"][0]["delivered"] == 2
            and w["endpoints"][0]["state"] == "delivering"
        ),
    )
    assert [(r.id, r.type) for r in shop.deduplicated()] == [
        (abandoned_id, "call.abandoned"),
        (queued_id, "call.queued"),
    ], shop.deduplicated()
    assert shop.rejected == []  # every delivery signed with the secret
    await expect(card.locator(".wh-notice")).to_have_text(
        f"Put 1 event back in the queue (Call queued, call {jamal}). It was delivered."
    )
    assert delivered["endpoints"][0]["notice"]["kind"] == "done", delivered
    await expect(card.locator(".wh-state")).to_have_text("Delivering")
    await expect(card.locator(".wh-headline")).to_contain_text("Last delivered")
    await expect(card.locator(".wh-error")).to_be_hidden()
    await expect(card.locator(".wh-failed")).to_be_hidden()
    await expect(card.locator('.wh-count[data-count="delivered"] .wh-num')).to_have_text("2")
    await expect(page.locator("#wh-attention")).to_be_hidden()
    await screenshots(page, artifacts, "delivered")


async def test_send_all_again_puts_every_given_up_event_back(
    start_server: ServerFactory, shop: Receiver, browser: Browser, artifacts: Path
) -> None:
    server = await start_with_webhooks(start_server, shop)
    calls = [await abandoned_call(server, name) for name in ("Jamal", "Rina")]
    await server.switchboard.contacts.settle()
    deadline = time.monotonic() + WAIT_S
    while len(await given_up_ids(server)) < 4:
        assert time.monotonic() < deadline, "the four events were not given up"
        await asyncio.sleep(0.1)

    page, log = await open_audit(browser, server, "audit")
    await panel(page, log, "four given-up events", lambda w: w["endpoints"][0]["failed_count"] == 4)
    card = page.locator(".wh-endpoint")
    await expect(card.locator(".wh-rows > tr")).to_have_count(4)
    # On a phone each given-up event is a card with its button across it.
    await page.set_viewport_size(PHONE)
    await expect(card.locator(".wh-table thead")).to_be_hidden()
    row = await card.locator(".wh-rows > tr").first.bounding_box()
    button = await card.locator(".wh-rows > tr").first.get_by_role("button").bounding_box()
    assert row and button and row["width"] <= PHONE["width"] and button["height"] >= 44, (
        row,
        button,
    )
    await no_sideways_scroll(page, PHONE["width"])

    shop.failing_types.clear()
    await card.get_by_role("button", name="Send all again").click()
    done = await panel(
        page,
        log,
        "all delivered",
        lambda w: w["endpoints"][0]["delivered"] == 4 and w["endpoints"][0]["failed_count"] == 0,
    )
    assert done["endpoints"][0]["notice"]["kind"] == "done", done
    await expect(card.locator(".wh-notice")).to_have_text(
        "Put 4 given-up events back in the queue. They were delivered."
    )
    await shop.wait_for(4)
    assert {r.call_id for r in shop.deduplicated()} == set(calls)
    await expect(card.locator(".wh-failed")).to_be_hidden()
    await page.set_viewport_size(LAPTOP)
    await page.screenshot(path=artifacts / "webhooks-all-sent-laptop.png", full_page=True)


@pytest.fixture
async def two_nodes(add_node: NodeFactory, shop: Receiver) -> tuple[Server, Server]:
    """Nodes A and B of one call centre (a real Redis), both telling the shop."""
    shared = {
        "webhooks": [{"name": "shop", "url": shop.url, "secret": SECRET}],
        "webhook_retry_base_s": 0.001,
        "webhook_retry_cap_s": 0.002,
    }
    a = await add_node("node-a", **shared)
    b = await add_node("node-b", **shared)
    return a, b


@pytest.mark.own_redis
async def test_with_two_nodes_each_keeps_its_card_and_send_all_again_stays_on_that_node(
    two_nodes: tuple[Server, Server], shop: Receiver, browser: Browser, artifacts: Path
) -> None:
    """Each node keeps and sends the events it made: asked on node A, the page shows a card
    per node, and "Send all again" on node B's card puts back B's events only."""
    a, b = two_nodes
    on_a, on_b = await abandoned_call(a, "Jamal"), await abandoned_call(b, "Rina")
    for node in (a, b):
        await node.switchboard.contacts.settle()

    page, log = await open_audit(browser, a, "audit on node A")
    seen = await panel(
        page,
        log,
        "both nodes' given-up events",
        lambda w: (
            [(e["node"], e["failed_count"]) for e in w["endpoints"]]
            == [("node-a", 2), ("node-b", 2)]
        ),
    )
    assert seen["unreachable"] == [], seen
    assert {f["call_id"] for f in seen["endpoints"][1]["failed"]} == {on_b}, seen
    cards = page.locator(".wh-endpoint")
    await expect(cards).to_have_count(2)
    for i, node in enumerate(("node-a", "node-b")):
        await expect(cards.nth(i).locator(".wh-name")).to_have_text("shop")
        await expect(cards.nth(i).locator(".wh-node")).to_have_text(f"on node {node}")
    await expect(page.locator("#wh-attention")).to_contain_text(
        "“shop” on node-a and “shop” on node-b are failing; 4 events given up."
    )

    shop.failing_types.clear()
    await cards.nth(1).get_by_role("button", name="Send all again").click()
    done = await panel(
        page,
        log,
        "node B's events delivered",
        lambda w: w["endpoints"][1]["delivered"] == 2 and w["endpoints"][1]["failed_count"] == 0,
    )
    await expect(cards.nth(1).locator(".wh-notice")).to_have_text(
        "Put 2 given-up events back in the queue. They were delivered."
    )
    assert done["endpoints"][0]["failed_count"] == 2, "node A's events were left as they were"
    assert {(r.call_id, r.type) for r in shop.deduplicated()} == {
        (on_b, "call.queued"),
        (on_b, "call.abandoned"),
    }
    await expect(cards.nth(1).locator(".wh-state")).to_have_text("Delivering")
    await expect(cards.nth(0).locator(".wh-rows > tr")).to_have_count(2)
    await expect(page.locator("#wh-attention")).to_contain_text(
        "“shop” on node-a is failing; 2 events given up."
    )
    await screenshots(page, artifacts, "two-nodes")
    assert on_a not in {r.call_id for r in shop.deduplicated()}


async def test_with_no_endpoint_the_panel_says_how_to_configure_one(
    server: Server, browser: Browser, artifacts: Path
) -> None:
    page, log = await open_audit(browser, server, "audit")
    state = await panel(page, log, "the panel read", lambda w: True)
    assert state["endpoints"] == [] and state["none"] and state["attention"] is None, state
    none = page.locator("#webhooks .wh-none")
    await expect(none).to_contain_text("No webhook endpoints are configured")
    await expect(none).to_contain_text("[[webhooks]]")
    await expect(page.locator("#wh-attention")).to_be_hidden()
    await screenshots(page, artifacts, "none")

    # The server out of reach: the panel says so in words and what it does next.
    await page.route("**/api/webhooks", lambda route: route.abort("connectionrefused"))
    check = page.get_by_role("button", name="Check now")
    await check.click()
    status = page.locator("#webhooks .wh-status")
    await expect(status).to_contain_text(
        "Could not check the webhooks: the server could not be reached. Check the connection. "
        "The panel tries again every 10 s. What is shown is from"
    )
    await page.unroute("**/api/webhooks")
    await check.click()
    await expect(status).to_have_text(re.compile(r"^Checked at \d\d:\d\d:\d\d\.$"))
