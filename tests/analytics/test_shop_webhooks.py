"""The shop's backend is told of its calls, by a real server, at a real HTTP receiver.

Guards: a call answered and hung up gives call.queued, call.answered, call.ended and
(once its recording is finished) recording.ready with the call's analytics and the
operator's categories it met, in that order
by seq, each signed with the shared secret; a customer who gives up gives call.queued and
call.abandoned; a receiver that is down while a call happens, and a server restarted
meanwhile, lose nothing: the events go out when the receiver is back, once each by id;
an admin sees the endpoint's state and its errors in words.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import Server, ServerFactory, api_request, connect_call
from tests.support import ToneTrack
from tests.webhooks.receiver import Receiver

SECRET = "whsec-kotha-test-0123456789"


def settings(shop: Receiver) -> dict[str, Any]:
    return {
        "webhooks": [{"name": "shop", "url": shop.url, "secret": SECRET}],
        "webhook_retry_base_s": 0.05,
        "webhook_retry_cap_s": 0.2,
    }


async def an_abandoned_call(server: Server) -> str:
    call_id, token = await server.customer_call("Jamal")
    customer = server.client(token)
    await customer.connect()
    await customer.request_call()
    await asyncio.sleep(0.2)
    await customer.hang_up()
    return call_id


async def test_the_shop_hears_of_each_call_in_order_and_signed(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    rules = tmp_path / "categories.toml"
    rules.write_text(
        '[[category]]\nname = "Short call"\n'
        "[[category.condition]]\nduration = { shorter_than_s = 600 }\n"
    )
    shop = Receiver(SECRET)
    await shop.start()
    try:
        server = await start_server(**settings(shop), categories_file=rules)
        pair = await connect_call(
            server,
            customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
            agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
        )
        await asyncio.sleep(1.0)
        await pair.agent.hang_up()
        abandoned = await an_abandoned_call(server)
        await server.switchboard.recordings.settle()
        await server.switchboard.contacts.settle()
        events = await shop.wait_for(6)
    finally:
        await shop.stop()
    assert shop.rejected == []  # every signature verified
    answered = [e for e in events if e.call_id == pair.call_id]
    assert [e.type for e in answered] == [
        "call.queued",
        "call.answered",
        "call.ended",
        "recording.ready",
    ]
    assert [e.seq for e in answered] == [1, 2, 3, 4]
    queued, taken, ended, ready = (e.data for e in answered)
    assert queued["customer"] == {"id": "karim", "name": "Karim"}
    assert taken["agent_name"] == "Rahim" and taken["wait_s"] >= 0
    assert ended["reason"] == "hung_up" and ended["ended_by"] == "agent"
    assert ended["handle_s"] >= 0.5
    assert (ended["hold_s"], ended["holds"]) == (0, 0)  # never put on hold
    assert ready["recording_id"] == pair.call_id
    assert ready["categories"] == ["Short call"]  # decided as the call ended
    conversation = ready["analytics"]["conversation"]
    assert set(conversation["parties"]) >= {"agent", "customer"}
    assert {"mos_average", "loss_pct", "alerts"} <= set(ready["analytics"]["quality"])
    assert [e.type for e in events if e.call_id == abandoned] == [
        "call.queued",
        "call.abandoned",
    ]
    assert len({e.id for e in events}) == len(events)


async def test_a_receiver_down_and_a_restart_lose_nothing(start_server: ServerFactory) -> None:
    shop = Receiver(SECRET)
    await shop.start()
    await shop.stop()  # the shop's backend is down: its port refuses
    server = await start_server(**settings(shop))
    abandoned = await an_abandoned_call(server)
    await server.switchboard.contacts.settle()
    admin = server.token(Role.ADMIN, "Admin")

    async def endpoint() -> dict[str, Any]:
        status, body, _ = await api_request(server, "GET", "/api/webhooks", admin)
        assert status == 200, body
        [shop_endpoint] = body["endpoints"]
        return shop_endpoint

    for _ in range(100):
        seen = await endpoint()
        if seen["last_error"]:
            break
        await asyncio.sleep(0.05)
    assert seen["pending"] == 2 and seen["delivered"] == 0, seen
    assert "could not connect" in seen["last_error"], seen  # in words, no traceback

    # The node restarts (SIGTERM) before the shop is back; the new one sends what it kept.
    prefix = server.switchboard.config.redis_prefix
    await server.stop()
    await shop.start()
    try:
        again = await start_server(**settings(shop), redis_prefix=prefix)
        events = await shop.wait_for(2)
        await asyncio.sleep(0.3)  # nothing else comes
        assert [(e.call_id, e.type) for e in shop.deduplicated()] == [
            (abandoned, "call.queued"),
            (abandoned, "call.abandoned"),
        ]
        # Each number is the moment's place in every call's story: no answer, so no 2.
        assert [e.seq for e in events] == [1, 3]
        status, body, _ = await api_request(again, "GET", "/api/webhooks", admin)
        assert body["endpoints"][0]["delivered"] == 2
        status, _, _ = await api_request(
            again, "GET", "/api/webhooks", again.token(Role.SUPERVISOR, "Nasrin")
        )
        assert status == 403
    finally:
        await shop.stop()
