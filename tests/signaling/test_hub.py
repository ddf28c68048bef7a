"""Refusals at the socket.io edge: every bad token, role and message gets a named error.

Guards: connect without/with expired/forged/alg=none tokens, reviewer and supervisor
tokens on /call, a customer reaching for another customer's call, an agent acting on a
call that is not theirs, malformed and unknown messages, floods and oversized frames;
after any of these the server still serves the same socket.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from callcenter.identity import Role
from client.participant import ClientError
from node.events import NAMESPACE
from signaling.auth import TokenAuthority
from tests.conftest import Server, connect_call
from tests.conftest import connect_refusal as _refusal
from tests.support import token_claims, unsigned_token


async def test_socket_without_token_is_refused(server: Server) -> None:
    assert (await _refusal(server, None))["code"] == "token_missing"
    assert (await _refusal(server, {"token": ""}))["code"] == "token_missing"


async def test_socket_with_expired_token_is_refused(server: Server) -> None:
    token = server.authority.issue(Role.AGENT, "rahim", ttl_s=60, now=time.time() - 600)
    data = await _refusal(server, {"token": token})
    assert data["code"] == "token_expired"
    assert "expired" in data["message"]


async def test_socket_with_forged_token_is_refused(server: Server) -> None:
    forged = TokenAuthority("not-the-servers-secret-0123456789abcdef").issue(
        Role.AGENT, "eve", ttl_s=60
    )
    assert (await _refusal(server, {"token": forged}))["code"] == "token_invalid"


async def test_socket_with_alg_none_token_is_refused(server: Server) -> None:
    token = unsigned_token(token_claims())
    assert (await _refusal(server, {"token": token}))["code"] == "token_invalid"


async def test_a_reviewer_cannot_open_the_call_socket(server: Server) -> None:
    data = await _refusal(server, {"token": server.token(Role.REVIEWER, "someone")})
    assert data["code"] == "forbidden"
    assert "reviewer cannot join live calls" in data["message"]


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
async def test_a_supervisor_watches_a_live_call_but_cannot_take_part(
    server: Server, role: Role
) -> None:
    pair = await connect_call(server, join=False)
    watcher = server.client(server.token(role, "Sumi"))
    state = await watcher.connect()
    assert [c["call_id"] for c in state["calls"]] == [pair.call_id]
    for event, payload in (
        ("join_call", {"call_id": pair.call_id}),
        ("hang_up", {"call_id": pair.call_id}),
        ("accept_call", {"call_id": pair.call_id}),
        ("pause_recording", {"call_id": pair.call_id}),
    ):
        with pytest.raises(ClientError) as refused:
            await watcher.request(event, payload)
        assert refused.value.code == "forbidden", event
    view = await watcher.request("watch_call", {"call_id": pair.call_id})
    assert view["call"]["call_id"] == pair.call_id and "transcript" in view
    audit = [r for r in server.switchboard.audit.read() if r["action"] == "watch"]
    assert [(r["actor"], r["call_id"], r["role"]) for r in audit] == [
        ("sumi", pair.call_id, role.value)
    ]
    # An agent cannot watch calls, not even their own.
    with pytest.raises(ClientError) as refused:
        await pair.agent.request("watch_call", {"call_id": pair.call_id})
    assert refused.value.code == "forbidden"


async def test_every_watch_has_an_end_on_the_audit_log(server: Server) -> None:
    """Unwatching, closing the page and the call ending each close the watch's record."""
    pair = await connect_call(server, join=False)
    sumi, laila, arif = (
        server.client(server.token(role, name))
        for role, name in (
            (Role.SUPERVISOR, "Sumi"),
            (Role.SUPERVISOR, "Laila"),
            (Role.ADMIN, "Arif"),
        )
    )
    for watcher in (sumi, laila, arif):
        await watcher.connect()
        await watcher.request("watch_call", {"call_id": pair.call_id})
    await sumi.request("unwatch_call", {"call_id": pair.call_id})
    await laila.close()
    await pair.agent.hang_up()

    async def ended() -> dict[str, str]:
        records = [r for r in server.switchboard.audit.read() if r["action"] == "watch_ended"]
        return {r["actor"]: r["details"]["reason"] for r in records}

    for _ in range(50):
        if len(await ended()) == 3:
            break
        await asyncio.sleep(0.1)
    assert await ended() == {"sumi": "stopped", "laila": "page_closed", "arif": "call_ended"}
    for record in server.switchboard.audit.read():
        if record["action"] == "watch_ended":
            assert record["call_id"] == pair.call_id and record["details"]["duration_s"] >= 0


async def test_customer_token_for_an_unknown_call_is_refused(server: Server) -> None:
    token = server.token(Role.CUSTOMER, "karim", call_id="c_doesnotexist")
    assert (await _refusal(server, {"token": token}))["code"] == "not_found"


async def test_customer_cannot_touch_another_customers_call(server: Server) -> None:
    _, karim_token = await server.customer_call("Karim")
    salma_call, _ = await server.customer_call("Salma")
    karim = server.client(karim_token)
    await karim.connect()
    for event in ("join_call", "hang_up", "start_screen_share"):
        with pytest.raises(ClientError) as refused:
            await karim.request(event, {"call_id": salma_call})
        assert refused.value.code == "not_found", event
    assert server.switchboard.calls[salma_call].state.value == "created"


async def test_customer_cannot_use_agent_verbs(server: Server) -> None:
    _, token = await server.customer_call("Karim")
    karim = server.client(token)
    await karim.connect()
    with pytest.raises(ClientError) as refused:
        await karim.request("accept_call", {})
    assert refused.value.code == "forbidden"
    with pytest.raises(ClientError) as refused:
        await karim.request("set_availability", {"status": "available"})
    assert refused.value.code == "forbidden"


async def test_agent_cannot_act_on_another_agents_call(server: Server) -> None:
    call_id, token = await server.customer_call("Karim")
    customer = server.client(token)
    rahim = server.client(server.token(Role.AGENT, "Rahim"))
    nusrat = server.client(server.token(Role.AGENT, "Nusrat"))
    for client in (customer, rahim, nusrat):
        await client.connect()
    await customer.request_call()
    await rahim.set_availability("available")
    await rahim.accept_call(call_id)
    for event in ("hang_up", "join_call"):
        with pytest.raises(ClientError) as refused:
            await nusrat.request(event, {"call_id": call_id})
        assert refused.value.code == "forbidden"
    with pytest.raises(ClientError) as refused:
        await nusrat.request("accept_call", {"call_id": call_id})
    assert refused.value.code == "call_state"
    assert server.switchboard.calls[call_id].state.value == "active"


@pytest.mark.parametrize(
    ("event", "payload", "code", "field"),
    [
        pytest.param(
            "request_call", {"media": "hologram"}, "invalid_message", "media", id="bad-enum"
        ),
        pytest.param(
            "request_call", {"media": "audio", "x": 1}, "invalid_message", "x", id="extra-field"
        ),
        pytest.param("request_call", ["audio"], "invalid_message", "$", id="not-an-object"),
        pytest.param("join_call", {}, "invalid_message", "call_id", id="missing-field"),
        pytest.param(
            "join_call", {"call_id": "../../etc"}, "invalid_message", "call_id", id="bad-id"
        ),
        pytest.param(
            "send_answer",
            {
                "call_id": "c_0123456789",
                "peer_id": "abcdefabcdef",
                "offer_id": "1",
                "description": {"type": "answer", "sdp": "v=0......."},
            },
            "invalid_message",
            "offer_id",
            id="string-for-int",
        ),
        pytest.param(
            "send_answer",
            {
                "call_id": "c_0123456789",
                "peer_id": "abcdefabcdef",
                "offer_id": 1,
                "description": {"type": "offer", "sdp": "v=0......."},
            },
            "invalid_message",
            "description.type",
            id="offer-instead-of-answer",
        ),
        pytest.param("dance", {}, "invalid_message", "event", id="unknown-event"),
    ],
)
async def test_malformed_messages_get_an_error_naming_the_field(
    server: Server, event: str, payload: Any, code: str, field: str
) -> None:
    _, token = await server.customer_call("Karim")
    karim = server.client(token)
    await karim.connect()
    ack = await karim.sio.call(event, payload, namespace=NAMESPACE, timeout=5)
    assert ack["ok"] is False
    assert (ack["error"]["code"], ack["error"].get("field")) == (code, field)
    # The socket still works.
    assert (await karim.request("get_state"))["call"]["state"] == "created"


async def test_garbage_sdp_is_refused_and_the_call_goes_on(server: Server) -> None:
    from tests.conftest import connect_call

    pair = await connect_call(server, join=False)
    ack = await pair.customer.join_call()
    with pytest.raises(ClientError) as refused:
        await pair.customer.request(
            "send_answer",
            {
                "call_id": pair.call_id,
                "peer_id": ack["peer_id"],
                "offer_id": 1,
                "description": {"type": "answer", "sdp": "v=0\r\nthis is not sdp"},
            },
        )
    assert refused.value.code == "media_error"
    with pytest.raises(ClientError) as refused:
        await pair.customer.request(
            "add_ice_candidate",
            {
                "call_id": pair.call_id,
                "peer_id": ack["peer_id"],
                "candidate": {"candidate": "candidate:garbage", "sdpMid": "0"},
            },
        )
    assert refused.value.code == "media_error"
    with pytest.raises(ClientError) as refused:
        await pair.customer.request(
            "send_answer",
            {
                "call_id": pair.call_id,
                "peer_id": "000000000000",
                "offer_id": 1,
                "description": {"type": "answer", "sdp": "v=0\r\nxxxxxxxx"},
            },
        )
    assert refused.value.code == "media_error"
    assert "replaced" in refused.value.message
    assert server.switchboard.calls[pair.call_id].state.value == "active"


async def test_a_flood_of_messages_is_rate_limited(server: Server) -> None:
    _, token = await server.customer_call("Karim")
    karim = server.client(token)
    await karim.connect()
    acks = await asyncio.gather(
        *(karim.sio.call("get_state", {}, namespace=NAMESPACE, timeout=10) for _ in range(150))
    )
    codes = [a["error"]["code"] for a in acks if not a["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    await asyncio.sleep(1.0)
    assert (await karim.request("get_state"))["role"] == "customer"


async def test_oversized_frame_closes_the_socket(server: Server) -> None:
    _, token = await server.customer_call("Karim")
    karim = server.client(token)
    await karim.connect()
    await karim.sio.emit(
        "request_call", {"media": "audio", "pad": "x" * 400_000}, namespace=NAMESPACE
    )
    for _ in range(50):
        if not karim.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not karim.sio.connected
