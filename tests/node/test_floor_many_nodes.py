"""The supervisors' floor with two nodes: every call, with the figures of the node that has it.

Karim calls through node A; Rahim, signed in on node B, takes the call, and its media opens on
node B (50 places against A's 5). Sumi, a supervisor, watches the floor from node A, which
measures nothing of the call. Real aiortc peers, real tones.

Guards:
- Sumi's floor on A shows the call with B's live figures: each party's MOS and rating, the
  transcript's state as B has it; the row names node B as the call's node, and the floor
  lists both nodes with their capacity (5 and 50), load and loop lag;
- a row made on any node from the owner's figures (through msgpack, as the bus carries them)
  is the owner's own row, with that node's own view of the call (a party's dropped
  connection, who listens); figures in another shape are not used;
- Redis goes away for a few seconds: B cannot send its figures, so A's row shows the call
  without them once they are older than the freshness window (never B's stale figures as
  if live), while B's own floor goes on with its figures and says so in one log line at most;
  when Redis is back, A shows B's figures again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgpack
import pytest

from callcenter.identity import Role
from callcenter.values import MonitorValue
from client.participant import KothaClient
from media.monitor import MonitorMode
from media.source import SourceKind
from node.events import ServerEvent
from node.floor import FIGURES_FRESH_S
from node.floor_view import CallFacts, call_row, figures_from_wire, figures_of
from signaling.local_redis import LocalRedis, start_redis
from tests.conftest import NodeFactory, Server, connect_call
from tests.support import ToneTrack

from .test_floor_view import NOW, _call, _poor_line

pytestmark = pytest.mark.own_redis

CUSTOMER_HZ, AGENT_HZ = 440.0, 660.0
# The figures appear after a few seconds of media; two cores are shared with other tests.
MEASURED_S = 25.0

Floor = dict[str, Any]


@dataclass
class CallOnB:
    a: Server
    b: Server
    call_id: str
    karim: KothaClient
    rahim: KothaClient


async def call_on_b(add_node: NodeFactory, **settings: Any) -> CallOnB:
    """Nodes A (5 places) and B (50) on one Redis; Karim calls through A, Rahim takes the
    call on B, both join: its media is on B, the node with the most free places."""
    a = await add_node("node-a", max_calls=5, **settings)
    b = await add_node("node-b", max_calls=50, **settings)
    await a.switchboard.heartbeat.beat()
    await b.switchboard.heartbeat.beat()
    pair = await connect_call(
        a,
        agent_node=b,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(AGENT_HZ)},
    )
    assert b.switchboard.room_of(pair.call_id) is not None, "the call's media is not on node B"
    assert a.switchboard.room_of(pair.call_id) is None, "node A has the call's media too"
    return CallOnB(a, b, pair.call_id, pair.customer, pair.agent)


def row_of(floor: Floor, call_id: str) -> dict[str, Any] | None:
    return next((row for row in floor["calls"] if row["call_id"] == call_id), None)


def measured(floor: Floor, call_id: str) -> bool:
    """The call's row rates both parties' lines with a MOS."""
    row = row_of(floor, call_id)
    return row is not None and all(
        p["mos"] and p["rating"] != "unknown" for p in row["participants"]
    )


def unmeasured(floor: Floor, call_id: str) -> bool:
    row = row_of(floor, call_id)
    return row is not None and all(
        p["mos"] is None and p["rating"] == "unknown" for p in row["participants"]
    )


async def latest_floor(
    client: KothaClient, what: str, check: Callable[[Floor], bool], timeout: float
) -> Floor:
    """The latest ``floor_updated`` the client has, once ``check`` holds for it."""
    deadline = time.monotonic() + timeout
    while True:
        floors = client.events(ServerEvent.FLOOR_UPDATED)
        if floors and check(floors[-1]):
            return floors[-1]
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        await asyncio.sleep(0.2)


def test_a_row_made_from_the_owner_s_figures_is_the_owner_s_row_on_this_node_s_view() -> None:
    call = _call("c_1", "Karim")
    mood = {
        "now": -0.4, "label": "negative", "trend": -0.3, "direction": "falling", "scored": 30,
        "history": [0.1, -0.2, -0.4] * 10, "alerts": ["falling"],
    }  # fmt: skip
    owners = call_row(CallFacts(call, _poor_line(call), mood, "active"), NOW)
    carried = msgpack.unpackb(msgpack.packb(figures_of(owners)), raw=False)
    figures = figures_from_wire(carried)
    assert figures is not None

    assert call_row(CallFacts(call, measured=figures), NOW) == owners
    assert owners["attention"]["level"] == "high" and owners["node"] is None
    # This node's view is newer: the agent's connection dropped and Sumi listens in.
    sumi = MonitorValue("p_sumi", "sumi", "Sumi", MonitorMode.LISTEN, "sid-1", None, NOW, NOW)
    newer = replace(
        call,
        agent=replace(call.agent, connected=False) if call.agent else None,
        monitors=(sumi,),
        media_node="node-b",
    )
    here = call_row(CallFacts(newer, measured=figures), NOW)
    assert here["node"] == "node-b"
    assert [m["name"] for m in here["monitors"]] == ["Sumi"]
    assert [a["kind"] for a in here["alerts"]] == ["disconnected", "high_loss", "falling"]
    assert here["participants"][0]["mos"] == 2.1 and here["sentiment"] == owners["sentiment"]
    assert here["attention"]["score"] > owners["attention"]["score"]
    # Figures in another shape (a node of another version) are not used.
    for odd in ({**carried, "alerts": "none"}, {**carried, "participants": []}, [carried]):
        assert figures_from_wire(odd) is None


async def test_a_supervisor_on_node_a_sees_the_call_node_b_carries_with_b_s_figures(
    add_node: NodeFactory,
) -> None:
    split = await call_on_b(add_node)
    sumi = split.a.client(split.a.token(Role.SUPERVISOR, "Sumi"))
    await sumi.connect()
    floor = await latest_floor(
        sumi, "B's figures on A's floor", lambda f: measured(f, split.call_id), MEASURED_S
    )

    row = row_of(floor, split.call_id)
    assert row is not None
    assert row["node"] == "node-b"
    assert [(p["role"], p["rating"]) for p in row["participants"]] == [
        ("customer", "good"),
        ("agent", "good"),
    ]
    assert all(4.0 < p["mos"] < 4.6 for p in row["participants"])
    # Node A measures nothing of the call: these are B's figures, as B's own floor has them.
    assert split.a.switchboard.quality.quality(split.call_id) is None
    own = row_of(split.b.switchboard.floor.view(), split.call_id)
    assert own is not None and own["transcription"] == row["transcription"]
    assert row["alerts"] == [] and row["attention"]["level"] == "none"
    # The nodes, each with its load.
    nodes = {node["node_id"]: node for node in floor["nodes"]}
    assert sorted(nodes) == ["node-a", "node-b"]
    assert (nodes["node-a"]["capacity"], nodes["node-b"]["capacity"]) == (5, 50)
    for node in nodes.values():
        assert set(node) == {
            "node_id",
            "calls",
            "capacity",
            "headroom",
            "loop_lag_ms",
            "draining",
        }
        assert 0.0 <= node["headroom"] <= 1.0 and node["loop_lag_ms"] >= 0
        assert node["draining"] is False
    assert nodes["node-a"]["calls"] == 0 and nodes["node-a"]["headroom"] == 1.0
    # The call's row in A's get_state is the same floor, with B's figures.
    state = await sumi.request("get_state")
    again = row_of(state["floor"], split.call_id)
    assert (
        again is not None and again["node"] == "node-b" and measured(state["floor"], split.call_id)
    )


async def test_figures_that_stop_coming_are_not_shown_as_live_and_come_back_with_redis(
    add_node: NodeFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    redis: LocalRedis = start_redis(tmp_path / "redis", keep=True)
    split: CallOnB | None = None
    try:
        split = await call_on_b(add_node, redis_url=redis.url)
        sumi = split.a.client(split.a.token(Role.SUPERVISOR, "Sumi"))
        await sumi.connect()
        await latest_floor(
            sumi, "B's figures on A's floor", lambda f: measured(f, split.call_id), MEASURED_S
        )

        redis.stop()
        stopped = time.monotonic()
        floor = await latest_floor(
            sumi,
            "A's floor without B's stale figures",
            lambda f: unmeasured(f, split.call_id),
            FIGURES_FRESH_S + 5,
        )
        waited = time.monotonic() - stopped
        assert waited > FIGURES_FRESH_S - 1.5, f"B's figures went after only {waited:.1f} s"
        row = row_of(floor, split.call_id)
        assert row is not None and row["node"] == "node-b", "the call is still B's, unmeasured"
        # B goes on measuring the call, though it cannot send its figures.
        assert measured(split.b.switchboard.floor.view(), split.call_id)

        redis = redis.restart()
        outage_s = time.monotonic() - stopped
        await latest_floor(
            sumi, "B's figures on A's floor again", lambda f: measured(f, split.call_id), 15
        )
        # The sends that failed were told in one line per 10 s at most, no traceback.
        told = [r for r in caplog.records if "floor's figures" in r.getMessage()]
        assert len(told) <= 1 + int(outage_s // 10), [r.getMessage()[:160] for r in told]
        assert not [r for r in caplog.records if r.exc_info], "a traceback in the log"
    finally:
        if split is not None:
            await split.b.stop()
            await split.a.stop()
        redis.stop()
