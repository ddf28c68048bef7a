"""The shop hears of a call made across two nodes in the order it happened.

Karim calls through node A (A makes call.queued); Rahim, signed in on node B, takes it
(B makes call.answered); the call's end and its recording are made where its media is.
The shop's backend is down throughout the call, and node B retries far sooner than node
A once it is back: without the order the nodes share in Redis, B's call.answered would
reach the shop before A's call.queued. Real nodes, real Redis, real aiortc peers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import NodeFactory, Server, api_request, connect_call
from tests.support import ToneTrack
from tests.webhooks.receiver import Receiver

SECRET = "whsec-kotha-test-0123456789"
SEQ_TYPES = ("call.queued", "call.answered", "call.ended", "recording.ready")


async def a_split_call(a: Server, b: Server) -> str:
    """Karim calls through node A; Rahim takes it on node B; Karim hangs up a second later."""
    pair = await connect_call(
        a,
        agent_node=b,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
    )
    await asyncio.sleep(1.0)
    await pair.customer.hang_up()
    for node in (a, b):
        await node.switchboard.recordings.settle()
        await node.switchboard.contacts.settle()
    return pair.call_id


async def test_a_call_made_on_two_nodes_reaches_the_shop_in_order(
    add_node: NodeFactory,
) -> None:
    shop = Receiver(SECRET)
    await shop.start()
    await shop.stop()  # down: its port refuses until the call is over
    hooks = [{"name": "shop", "url": shop.url, "secret": SECRET}]
    a = await add_node("node-a", webhooks=hooks, webhook_retry_base_s=1.5, webhook_retry_cap_s=1.5)
    b = await add_node("node-b", webhooks=hooks, webhook_retry_base_s=0.05, webhook_retry_cap_s=0.1)
    call_id = await a_split_call(a, b)

    await shop.start()  # back: B's next try comes within a tenth of a second, A's in 1.5 s
    try:
        events = await shop.wait_for(4, timeout=20)
    finally:
        await shop.stop()
    assert shop.rejected == []
    assert [(e.type, e.seq) for e in events] == [
        ("call.queued", 1),
        ("call.answered", 2),
        ("call.ended", 3),
        ("recording.ready", 4),
    ]
    assert {e.call_id for e in events} == {call_id}
    # Each node published the moments it made: both outboxes had a share.
    delivered = {}
    for node in (a, b):
        dispatcher = node.switchboard.webhooks.dispatcher
        assert dispatcher is not None
        delivered[node.switchboard.node_id] = dispatcher.status()[0].delivered
    assert delivered["node-a"] >= 1 and delivered["node-b"] >= 1, delivered
    assert sum(delivered.values()) == 4


async def test_an_admin_on_one_node_sees_every_nodes_webhooks_and_sends_them_again(
    add_node: NodeFactory,
) -> None:
    """The shop refuses everything; each node gives up the events it made (500 attempts a
    millisecond apart). Asked on node A, the admin sees both nodes' rows and every given-up
    event; "send again" on node A reaches the event node B keeps."""
    shop = Receiver(SECRET, failing_types=set(SEQ_TYPES))
    await shop.start()
    shared = {
        "webhooks": [{"name": "shop", "url": shop.url, "secret": SECRET}],
        "webhook_retry_base_s": 0.001,
        "webhook_retry_cap_s": 0.002,
    }
    a = await add_node("node-a", **shared)
    b = await add_node("node-b", **shared)
    admin = a.token(Role.ADMIN, "Admin")
    try:
        call_id = await a_split_call(a, b)

        async def view() -> dict[str, Any]:
            status, body, _ = await api_request(a, "GET", "/api/webhooks", admin)
            assert status == 200, body
            return body

        deadline = time.monotonic() + 30
        seen = await view()
        while sum(e["failed_count"] for e in seen["endpoints"]) < 4:
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.2)
            seen = await view()
        assert seen["unreachable"] == []
        rows = {row["node"]: row for row in seen["endpoints"]}
        assert set(rows) == {"node-a", "node-b"} and all(r["name"] == "shop" for r in rows.values())
        given_up = {f["type"]: (node, f) for node, r in rows.items() for f in r["failed"]}
        assert given_up["call.queued"][0] == "node-a" and given_up["call.answered"][0] == "node-b"
        assert {f["call_id"] for _, f in given_up.values()} == {call_id}

        shop.failing_types.clear()  # fixed; the admin, on node A, sends B's event again
        answered = given_up["call.answered"][1]["event_id"]
        status, body, _ = await api_request(
            a, "POST", "/api/webhooks/shop/retry", admin, json={"event_id": answered}
        )
        assert (status, body) == (200, {"endpoint": "shop", "retried": 1})
        [got] = await shop.wait_for(1)
        assert got.id == answered
        # ... and then everything left, wherever it is.
        status, body, _ = await api_request(a, "POST", "/api/webhooks/shop/retry", admin)
        assert (status, body) == (200, {"endpoint": "shop", "retried": 3})
        await shop.wait_for(4)
        status, body, _ = await api_request(
            a, "POST", "/api/webhooks/shop/retry", admin, json={"event_id": answered}
        )
        assert status == 404 and "no given-up event" in body["error"]["message"], body
    finally:
        await shop.stop()
