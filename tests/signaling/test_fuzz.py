"""Fuzzing every message the server parses, through a real socket to a real server.

Guards: whatever a client sends as the payload of any event (random JSON, random SDP,
random ICE candidates) is answered with an ack, never an internal error, and the server
keeps serving. Inputs that once broke the server live in tests/data/fuzz_regressions.json
and are replayed on every run.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.identity import Role
from node.events import NAMESPACE, ClientEvent
from signaling.app import create_app
from signaling.auth import TokenAuthority
from signaling.keys import SWITCHBOARD
from tests.conftest import TEST_SECRET, make_config

REGRESSIONS = json.loads(
    (Path(__file__).parent.parent / "data" / "fuzz_regressions.json").read_text()
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "call_id",
        "peer_id",
        "offer_id",
        "media",
        "language",
        "status",
        "description",
        "candidate",
        "kind",
        "enabled",
        "mode",
        "x",
    ]
)
payloads = json_values | st.dictionaries(field_names, json_values, max_size=5)


@dataclass
class LiveCall:
    url: str
    call_id: str
    customer: socketio.SimpleClient
    agent: socketio.SimpleClient
    supervisor: socketio.SimpleClient
    peer_id: str


@pytest.fixture(scope="module")
def live_call(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCall]:
    """A server in its own thread (hypothesis drives it synchronously) with one active call."""
    config = make_config(
        tmp_path_factory.mktemp("fuzz"), socket_rate_per_s=10_000.0, socket_rate_burst=10_000.0
    )
    loop = asyncio.new_event_loop()
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    ready = threading.Event()
    port: list[int] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port.append(runner.addresses[0][1])
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, name="fuzz-server", daemon=True)
    thread.start()
    assert ready.wait(10)
    url = f"http://127.0.0.1:{port[0]}"
    call = asyncio.run_coroutine_threadsafe(
        app[SWITCHBOARD].customer_desk.create(
            customer_subject="karim", customer_name="Karim", language="bn", media="audio"
        ),
        loop,
    ).result(10)
    authority = TokenAuthority(TEST_SECRET)
    customer, agent, supervisor = (socketio.SimpleClient() for _ in range(3))
    customer.connect(
        url,
        namespace=NAMESPACE,
        transports=["websocket"],
        auth={"token": authority.issue(Role.CUSTOMER, "karim", call_id=call.call_id, ttl_s=600)},
    )
    agent.connect(
        url,
        namespace=NAMESPACE,
        transports=["websocket"],
        auth={"token": authority.issue(Role.AGENT, "rahim", ttl_s=600)},
    )
    supervisor.connect(
        url,
        namespace=NAMESPACE,
        transports=["websocket"],
        auth={"token": authority.issue(Role.SUPERVISOR, "sumi", ttl_s=600)},
    )
    assert customer.call("request_call", {"media": "audio"})["ok"]
    assert agent.call("set_availability", {"status": "available"})["ok"]
    assert agent.call("accept_call", {"call_id": call.call_id})["ok"]
    joined = customer.call("join_call", {"call_id": call.call_id})
    assert joined["ok"], joined
    monitoring = supervisor.call("monitor_call", {"call_id": call.call_id, "mode": "listen"})
    assert monitoring["ok"], monitoring
    yield LiveCall(url, call.call_id, customer, agent, supervisor, joined["peer_id"])
    customer.disconnect()
    agent.disconnect()
    supervisor.disconnect()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _assert_answered(ack: Any) -> None:
    assert isinstance(ack, dict), ack
    if not ack["ok"]:
        assert ack["error"]["code"] != "internal_error", ack
        assert ack["error"]["message"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    event=st.sampled_from(
        [e.value for e in ClientEvent if e is not ClientEvent.HANG_UP] + ["nonsense", ""]
    ),
    payload=payloads,
)
def test_any_payload_to_any_event_gets_an_answer(
    live_call: LiveCall, event: str, payload: Any
) -> None:
    _assert_answered(live_call.customer.call(event, payload, timeout=10))
    _assert_answered(live_call.agent.call(event, payload, timeout=10))
    _assert_answered(live_call.supervisor.call(event, payload, timeout=10))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    event=st.sampled_from(["set_monitor_mode", "monitor_call", "stop_monitoring", "send_answer"]),
    payload=st.dictionaries(field_names, json_values, max_size=4),
    mode=st.sampled_from(["listen", "whisper", "barge", "LISTEN", "", "x" * 300]),
)
def test_monitoring_messages_about_the_live_call_get_an_answer(
    live_call: LiveCall, event: str, payload: dict[str, Any], mode: str
) -> None:
    """The supervisor monitors the fuzzed call: payloads that name it reach the real session."""
    payload = {**payload, "call_id": live_call.call_id}
    payload.setdefault("mode", mode)
    ack = live_call.supervisor.call(event, payload, timeout=10)
    _assert_answered(ack)
    if event == "stop_monitoring" and ack["ok"]:
        # Keep monitoring for the next example (a stopped session starts again).
        again = live_call.supervisor.call("monitor_call", {"call_id": live_call.call_id})
        assert again["ok"], again


sdp_lines = st.lists(
    st.sampled_from(
        [
            "v=0",
            "o=- 1 1 IN IP4 0.0.0.0",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 96",
            "c=IN IP4 0.0.0.0",
            "a=mid:0",
            "a=rtpmap:96 opus/48000/2",
            "a=recvonly",
            "a=sendonly",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuv",
            "a=fingerprint:sha-256 00:11",
            "a=setup:active",
            "a=candidate:1 1 udp 1 127.0.0.1 9 typ host",
            "m=video 0 RTP/AVP 0",
        ]
    )
    | st.text(max_size=60),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=sdp_lines)
def test_any_answer_sdp_is_refused_or_applied_without_a_crash(
    live_call: LiveCall, lines: list[str]
) -> None:
    sdp = "\r\n".join(lines) + "\r\n"
    ack = live_call.customer.call(
        "send_answer",
        {
            "call_id": live_call.call_id,
            "peer_id": live_call.peer_id,
            "offer_id": 1,
            "description": {"type": "answer", "sdp": sdp.ljust(10)},
        },
        timeout=10,
    )
    _assert_answered(ack)


candidate_text = st.builds(
    lambda parts: "candidate:" + " ".join(parts),
    st.lists(
        st.sampled_from(
            [
                "1",
                "2",
                "udp",
                "tcp",
                "2122260223",
                "127.0.0.1",
                "::1",
                "999.1.1.1",
                "9",
                "65536",
                "typ",
                "host",
                "srflx",
                "raddr",
                "x",
            ]
        )
        | st.text(max_size=8),
        max_size=12,
    ),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    candidate=candidate_text,
    mid=st.none() | st.text(max_size=4),
    index=st.none() | st.integers(0, 255),
)
def test_any_ice_candidate_is_refused_or_added_without_a_crash(
    live_call: LiveCall, candidate: str, mid: str | None, index: int | None
) -> None:
    ack = live_call.customer.call(
        "add_ice_candidate",
        {
            "call_id": live_call.call_id,
            "peer_id": live_call.peer_id,
            "candidate": {"candidate": candidate, "sdpMid": mid, "sdpMLineIndex": index},
        },
        timeout=10,
    )
    _assert_answered(ack)


@pytest.mark.parametrize("case", REGRESSIONS, ids=[c["why"][:40] for c in REGRESSIONS])
def test_inputs_that_once_broke_the_server_are_refused_cleanly(
    live_call: LiveCall, case: dict[str, Any]
) -> None:
    payload = dict(case["payload"])
    payload["call_id"] = live_call.call_id
    if case.get("needs_peer"):
        payload["peer_id"] = live_call.peer_id
    ack = live_call.customer.call(case["event"], payload, timeout=10)
    assert ack["ok"] is False
    assert ack["error"]["code"] == case["code"], ack


def test_server_still_serves_after_the_fuzzing(live_call: LiveCall) -> None:
    state = live_call.customer.call("get_state", {}, timeout=10)
    assert state["ok"] and state["call"]["state"] == "active"
