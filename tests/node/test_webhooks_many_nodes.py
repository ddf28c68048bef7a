"""The shop hears of a call made across two nodes in the order it happened.

Karim calls through node A (A makes call.queued); Rahim, signed in on node B, takes it
(B makes call.answered); the call's end and its recording are made where its media is.
The shop's backend is down throughout the call, and node B retries far sooner than node
A once it is back: without the order the nodes share in Redis, B's call.answered would
reach the shop before A's call.queued. Real nodes, real Redis, real aiortc peers.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import ServerFactory
from tests.redis_server import RedisServer
from tests.support import ToneTrack
from tests.webhooks.receiver import Receiver

SECRET = "whsec-kotha-test-0123456789"


async def test_a_call_made_on_two_nodes_reaches_the_shop_in_order(
    start_server: ServerFactory, redis_server: RedisServer, tmp_path: Path
) -> None:
    shop = Receiver(SECRET)
    await shop.start()
    await shop.stop()  # down: its port refuses until the call is over
    hooks = [{"name": "shop", "url": shop.url, "secret": SECRET}]
    shared = {
        "redis_url": redis_server.url,
        "redis_prefix": f"test:{secrets.token_hex(4)}:",
        "webhooks": hooks,
    }
    a = await start_server(
        node_id="node-a",
        data_dir=tmp_path / "a",
        webhook_retry_base_s=1.5,
        webhook_retry_cap_s=1.5,
        **shared,
    )
    b = await start_server(
        node_id="node-b",
        data_dir=tmp_path / "b",
        webhook_retry_base_s=0.05,
        webhook_retry_cap_s=0.1,
        **shared,
    )
    call_id, token = await a.customer_call("Karim")
    karim = a.client(token, sources={SourceKind.MICROPHONE: ToneTrack(440)})
    rahim = b.client(b.token(Role.AGENT, "Rahim"), sources={SourceKind.MICROPHONE: ToneTrack(660)})
    await karim.connect()
    await rahim.connect()
    await karim.request_call(media="audio")
    await rahim.set_availability("available")
    await rahim.accept_call(call_id)
    await asyncio.gather(karim.join_call(call_id), rahim.join_call(call_id))
    await asyncio.sleep(1.0)
    await karim.hang_up()
    for node in (a, b):
        await node.switchboard.recordings.settle()
        await node.switchboard.contacts.settle()

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
