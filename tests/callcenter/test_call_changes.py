"""A call's life past the first answer, on both registries: offers that end unanswered, an
agent lost mid-call, the parties' media, tags, recording, supervisors, and agents' states.

Each test runs on the memory registry and on Redis (a real redis-server).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from callcenter import agents, in_call, lifecycle
from callcenter.lifecycle import Refused, run
from callcenter.registry import CallRegistry
from callcenter.routing import next_match
from callcenter.states import AgentState, CallState, EndReason
from callcenter.values import CallValue, MonitorValue
from media.monitor import MonitorMode

from .conftest import Handles
from .test_registry_contract import new_call


async def waiting(registry: CallRegistry, call_id: str) -> CallValue:
    await run(registry, lifecycle.create(new_call(call_id)))
    return await run(registry, lifecycle.request(call_id, time.time()))


async def available(registry: CallRegistry, subject: str) -> None:
    await run(registry, agents.sign_in(subject, subject.title(), time.time()))
    await run(registry, agents.set_availability(subject, True, time.time()))


async def answered(registry: CallRegistry, call_id: str, subject: str) -> CallValue:
    await waiting(registry, call_id)
    await available(registry, subject)
    return await run(
        registry, lifecycle.accept(call_id, subject, f"p_{subject}", "node-a", time.time())
    )


async def test_a_call_made_twice_is_refused(registry: CallRegistry) -> None:
    await run(registry, lifecycle.create(new_call("c_1")))
    with pytest.raises(Refused) as refused:
        await run(registry, lifecycle.create(new_call("c_1", "Someone Else")))
    assert refused.value.code == "exists"
    stored = await registry.call("c_1")
    assert stored is not None and stored.customer.name == "Karim"


async def test_an_unanswered_offer_puts_the_call_back_and_the_agent_away(
    registry: CallRegistry,
) -> None:
    await waiting(registry, "c_1")
    await waiting(registry, "c_2")
    await available(registry, "rahim")
    await run(registry, lifecycle.offer("c_1", "rahim", time.time()))

    back = await run(registry, lifecycle.withdraw("c_1", "rahim", time.time(), AgentState.AWAY))

    assert back.state is CallState.QUEUED and back.offered_to is None
    assert [e.call_id for e in await registry.queue()] == ["c_1", "c_2"]  # its place kept
    rahim = await registry.agent("rahim")
    assert rahim is not None and rahim.state is AgentState.AWAY and rahim.call_id is None


async def test_a_declined_call_never_rings_that_agent_again(registry: CallRegistry) -> None:
    await waiting(registry, "c_1")
    await waiting(registry, "c_2")
    await available(registry, "rahim")
    await run(registry, lifecycle.offer("c_1", "rahim", time.time()))

    await run(registry, lifecycle.decline("c_1", "rahim", time.time()))

    rahim = await registry.agent("rahim")
    assert rahim is not None and rahim.state is AgentState.AVAILABLE
    queued = [await registry.call(e.call_id) for e in await registry.queue()]
    match = next_match([c for c in queued if c is not None], [rahim], {"rahim"})
    assert match is not None and match[0].call_id == "c_2"
    with pytest.raises(Refused):  # declining twice: it no longer rings for them
        await run(registry, lifecycle.decline("c_1", "rahim", time.time()))


async def test_a_call_whose_agent_is_lost_waits_first_and_the_agent_is_told(
    registry: CallRegistry,
) -> None:
    await waiting(registry, "c_early")  # waited longer, but for a first agent
    call = await answered(registry, "c_1", "rahim")
    assert call.agent is not None

    back = await run(registry, lifecycle.requeue("c_1", "rahim", time.time()))

    assert back.state is CallState.QUEUED and back.agent is None
    assert back.requeued_at is not None and back.answered_at == call.answered_at
    assert [p.subject for p in back.former_agents] == ["rahim"]
    assert [e.call_id for e in await registry.queue()] == ["c_1", "c_early"]
    rahim = await registry.agent("rahim")
    assert rahim is not None and rahim.state is AgentState.AWAY and rahim.lost_call == "c_1"
    # Saying what they do next answers the notice.
    told = await run(registry, agents.set_availability("rahim", True, time.time()))
    assert told.state is AgentState.AVAILABLE and told.lost_call is None


async def test_the_parties_presence_and_media_reach_the_stored_call(
    registry: CallRegistry,
) -> None:
    call = await answered(registry, "c_1", "rahim")
    customer = call.customer.participant_id

    await run(registry, in_call.update_party("c_1", customer, audio_enabled=False))
    await run(registry, in_call.update_party("c_1", "p_rahim", screen_sharing=True))
    await run(registry, in_call.update_party("c_1", customer, connected=False))

    stored = await registry.call("c_1")
    assert stored is not None and stored.agent is not None
    assert (stored.customer.audio_enabled, stored.customer.connected) == (False, False)
    assert stored.agent.screen_sharing is True
    with pytest.raises(Refused) as refused:
        await run(registry, in_call.update_party("c_1", "p_stranger", connected=True))
    assert refused.value.code == "forbidden"
    with pytest.raises(ValueError, match="cannot set"):
        in_call.update_party("c_1", customer, role="agent")


async def test_an_ended_call_takes_no_more_changes(registry: CallRegistry) -> None:
    call = await answered(registry, "c_1", "rahim")
    await run(registry, lifecycle.end("c_1", EndReason.HUNG_UP, None, time.time(), "rahim"))

    with pytest.raises(Refused) as refused:
        await run(
            registry, in_call.update_party("c_1", call.customer.participant_id, connected=True)
        )
    assert refused.value.code == "call_state"
    rahim = await registry.agent("rahim")
    assert rahim is not None and rahim.state is AgentState.AVAILABLE


async def test_a_restarted_node_ends_its_interrupted_calls_in_the_registry_too(
    registry: CallRegistry,
) -> None:
    """The node's journal says the call was live when it stopped; the registry (Redis
    outlives the node) still has it waiting or in progress: it ends there as interrupted,
    out of the queue. A call the registry no longer knows is put back as the journal has it;
    one it knows ended stays as it ended."""
    live = await answered(registry, "c_live", "rahim")
    queued = await waiting(registry, "c_queued")
    now = time.time()
    journal = [
        replace(c, state=CallState.ENDED, end_reason=EndReason.INTERRUPTED, ended_at=now)
        for c in (live, queued)
    ]
    for call in journal:
        restored = await run(registry, lifecycle.restore(call, now))
        assert (restored.state, restored.end_reason) == (CallState.ENDED, EndReason.INTERRUPTED)
    assert await registry.queue() == []
    assert await registry.calls() == []

    forgotten = replace(new_call("c_gone"), state=CallState.ENDED, ended_at=now, version=7)
    back = await run(registry, lifecycle.restore(forgotten, now))
    assert (back.call_id, back.version) == ("c_gone", 1)
    await run(registry, lifecycle.end("c_queued", EndReason.HUNG_UP, None, now))  # no-op
    hung_up = await answered(registry, "c_done", "sumi")
    await run(registry, lifecycle.end("c_done", EndReason.HUNG_UP, None, now, "sumi"))
    kept = await run(registry, lifecycle.restore(replace(hung_up, state=CallState.ENDED), now))
    assert kept.end_reason is EndReason.HUNG_UP


async def test_tags_gather_once_each_and_the_recording_state_is_kept(
    registry: CallRegistry,
) -> None:
    await answered(registry, "c_1", "rahim")
    await run(registry, in_call.tag("c_1", ["refund", "late"]))
    await run(registry, in_call.set_recording("c_1", "paused"))
    tagged = await run(registry, in_call.tag("c_1", ["refund"]))
    assert tagged.tags == ("late", "refund")
    assert tagged.recording_state == "paused"


async def test_a_supervisor_monitors_changes_mode_and_leaves(registry: CallRegistry) -> None:
    await answered(registry, "c_1", "rahim")
    started = time.time() - 5
    sumi = MonitorValue(
        "p_sumi", "sumi", "Sumi", MonitorMode.LISTEN, "sid1", None, started, started
    )
    await run(registry, in_call.add_monitor("c_1", sumi))
    with pytest.raises(Refused) as refused:  # one session per supervisor
        await run(registry, in_call.add_monitor("c_1", sumi))
    assert refused.value.code == "already_monitoring"

    now = time.time()
    barged = await run(
        registry, in_call.update_monitor("c_1", "p_sumi", mode=MonitorMode.BARGE, now=now)
    )
    [monitor] = barged.monitors
    assert monitor.mode is MonitorMode.BARGE
    assert (monitor.started_at, monitor.mode_since) == (started, now)

    left = await run(registry, in_call.remove_monitor("c_1", "p_sumi"))
    assert left.monitors == ()


async def test_changes_to_one_call_from_two_nodes_at_once_all_land(registries: Handles) -> None:
    node_a, node_b = await registries(2)
    call = await answered(node_a, "c_1", "rahim")
    customer = call.customer.participant_id
    now = time.time()
    supervisors = [
        MonitorValue(f"p_{n}", n, n.title(), MonitorMode.LISTEN, n, None, now, now)
        for n in ("sumi", "tania", "mina")
    ]

    await asyncio.gather(
        run(node_a, in_call.update_party("c_1", customer, video_enabled=False)),
        run(node_b, in_call.update_party("c_1", "p_rahim", media_state="connected")),
        *(
            run(node, in_call.add_monitor("c_1", monitor))
            for node, monitor in zip((node_a, node_b, node_a), supervisors, strict=True)
        ),
        run(node_b, in_call.tag("c_1", ["vip"])),
    )

    stored = await node_b.call("c_1")
    assert stored is not None and stored.agent is not None
    assert stored.customer.video_enabled is False
    assert stored.agent.media_state == "connected"
    assert sorted(m.subject for m in stored.monitors) == ["mina", "sumi", "tania"]
    assert stored.tags == ("vip",)


async def test_an_agent_on_a_call_cannot_go_away_and_one_who_leaves_is_away(
    registry: CallRegistry,
) -> None:
    await answered(registry, "c_1", "rahim")
    with pytest.raises(Refused) as refused:
        await run(registry, agents.set_availability("rahim", False, time.time()))
    assert refused.value.code == "call_state"
    again = await run(registry, agents.sign_in("rahim", "Rahim Uddin", time.time()))
    assert again.state is AgentState.ON_CALL and again.name == "Rahim Uddin"
    await run(registry, lifecycle.end("c_1", EndReason.HUNG_UP, None, time.time(), "rahim"))
    gone = await run(registry, agents.gone("rahim", time.time()))  # and never came back
    assert gone is not None and gone.state is AgentState.AWAY
