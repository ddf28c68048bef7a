"""The registry's contract, on both registries: what one node or many may rely on.

Each test runs on the memory registry and on Redis (a real redis-server; for Redis each
handle is its own client, as separate nodes are, so concurrent changes really interleave).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from callcenter import lifecycle
from callcenter.lifecycle import Refused, run
from callcenter.registry import CallRegistry, Draft, StaleWriteError
from callcenter.states import AgentState, CallState, EndReason
from callcenter.values import AgentValue, CallValue, MonitorValue, ParticipantValue, QueueEntry
from media.monitor import MonitorMode

from .conftest import RETENTION_S, Handles


def new_call(call_id: str, name: str = "Karim", at: float | None = None) -> CallValue:
    now = time.time() if at is None else at
    customer = ParticipantValue(f"p_{call_id}", "customer", name.lower(), name)
    return CallValue(call_id, customer, language="bn", media="audio", created_at=now)


async def create(registry: CallRegistry, call: CallValue) -> CallValue:
    def put(draft: Draft) -> CallValue:
        return draft.put_call(call)

    return await registry.change(put, calls=[call.call_id])


async def sign_in(registry: CallRegistry, subject: str, state: AgentState) -> AgentValue:
    def put(draft: Draft) -> AgentValue:
        agent = draft.agent(subject) or AgentValue(subject, subject.title())
        return draft.put_agent(agent.moved_to(state, time.time()))

    return await registry.change(put, agents=[subject])


async def waiting_call(registry: CallRegistry, call_id: str) -> CallValue:
    await create(registry, new_call(call_id))
    return await run(registry, lifecycle.request(call_id, time.time()))


async def test_a_call_reads_back_as_it_was_written(registry: CallRegistry) -> None:
    now = time.time()
    monitor = MonitorValue(
        "p_sup", "sumi", "Sumi", MonitorMode.WHISPER, "sid1", "10.0.0.9", now, now
    )
    written = replace(
        new_call("c_1", "করিম", at=now),
        metadata={"order": "A-17"},
        tags=("refund",),
        declined_by=frozenset({"rahim"}),
        monitors=(monitor,),
        former_agents=(ParticipantValue("p_old", "agent", "rina", "Rina", connected=False),),
        media_node="node-a",
        end_reason=None,
    )
    stored = await create(registry, written)
    assert stored.version == 1
    assert await registry.call("c_1") == stored
    assert [c.call_id for c in await registry.calls()] == ["c_1"]
    assert await registry.call("c_nobody") is None


async def test_two_agents_accepting_one_call_at_once_only_one_takes_it(
    registries: Handles,
) -> None:
    node_a, node_b = await registries(2)
    await waiting_call(node_a, "c_1")
    for subject in ("rahim", "rina"):
        await sign_in(node_a, subject, AgentState.AVAILABLE)

    outcomes = await asyncio.gather(
        run(node_a, lifecycle.accept("c_1", "rahim", "p_rahim", "node-a", time.time())),
        run(node_b, lifecycle.accept("c_1", "rina", "p_rina", "node-b", time.time())),
        return_exceptions=True,
    )
    taken = [o for o in outcomes if isinstance(o, CallValue)]
    refused = [o for o in outcomes if isinstance(o, Refused)]
    assert len(taken) == 1 and len(refused) == 1, outcomes
    assert refused[0].code == "call_taken"
    call = await node_b.call("c_1")
    assert call is not None and call.state is CallState.ACTIVE
    assert call.agent is not None and call.agent == taken[0].agent
    winner = call.agent.subject
    loser = "rina" if winner == "rahim" else "rahim"
    assert call.media_node == ("node-a" if winner == "rahim" else "node-b")
    assert (await node_a.agent(winner)) == replace(
        await node_b.agent(winner),
        version=(await node_a.agent(winner)).version,  # type: ignore[union-attr]
    )
    assert (await node_b.agent(winner)).state is AgentState.ON_CALL  # type: ignore[union-attr]
    assert (await node_b.agent(loser)).state is AgentState.AVAILABLE  # type: ignore[union-attr]
    assert await node_a.queue() == []


async def test_an_agent_offered_two_calls_at_once_rings_for_one(registries: Handles) -> None:
    node_a, node_b = await registries(2)
    for call_id in ("c_1", "c_2"):
        await waiting_call(node_a, call_id)
    await sign_in(node_a, "rahim", AgentState.AVAILABLE)

    outcomes = await asyncio.gather(
        run(node_a, lifecycle.offer("c_1", "rahim", time.time())),
        run(node_b, lifecycle.offer("c_2", "rahim", time.time())),
        return_exceptions=True,
    )
    offered = [o for o in outcomes if isinstance(o, CallValue)]
    assert len(offered) == 1, outcomes
    assert [o.code for o in outcomes if isinstance(o, Refused)] == ["agent_busy"]
    agent = await node_b.agent("rahim")
    assert agent is not None and agent.state is AgentState.RINGING
    assert agent.call_id == offered[0].call_id
    other = "c_2" if offered[0].call_id == "c_1" else "c_1"
    still = await node_b.call(other)
    assert still is not None and still.state is CallState.QUEUED and still.offered_to is None


async def test_the_queue_keeps_arrival_order_under_concurrent_requests(
    registries: Handles,
) -> None:
    handles = await registries(4)
    start = time.time()
    calls = [new_call(f"c_{n:02d}", at=start + n) for n in range(20)]
    for call in calls:
        await create(handles[0], call)
    # Each asks at once from some node; the queue orders them by when they asked.
    await asyncio.gather(
        *(
            run(handles[n % 4], lifecycle.request(call.call_id, start + 100 + n))
            for n, call in enumerate(reversed(calls))
        )
    )
    queue = await handles[1].queue()
    assert [e.call_id for e in queue] == [c.call_id for c in reversed(calls)]

    # A call whose agent's connection was lost goes back ahead of every first-time caller.
    await sign_in(handles[0], "rahim", AgentState.AVAILABLE)
    await run(handles[0], lifecycle.accept("c_05", "rahim", "p_r", "node-a", start + 200))
    await run(handles[2], lifecycle.request("c_05", start + 300))
    queue = await handles[3].queue()
    assert queue[0].call_id == "c_05" and len(queue) == 20
    back = await handles[3].call("c_05")
    assert back is not None and back.state is CallState.QUEUED and back.agent is None
    assert back.requeued_at == start + 300 and back.answered_at == start + 200
    assert back.queued_at == start + 114  # its first place in line, kept (it asked 15th)
    assert queue[0] == QueueEntry(QueueEntry.score_of(start + 114, requeued=True), "c_05")


async def test_a_value_written_from_a_stale_read_is_refused(registries: Handles) -> None:
    node_a, node_b = await registries(2)
    stored = await create(node_a, new_call("c_1"))
    # Node B writes first, from the same read...
    await node_b.save(replace(stored, tags=("refund",)))
    # ...so node A's write, from the version it read, is refused and changes nothing.
    with pytest.raises(StaleWriteError):
        await node_a.save(replace(stored, tags=("complaint",)))
    current = await node_a.call("c_1")
    assert current is not None and current.tags == ("refund",) and current.version == 2


async def test_a_refused_change_writes_nothing(registry: CallRegistry) -> None:
    await waiting_call(registry, "c_1")
    await sign_in(registry, "rahim", AgentState.AWAY)
    before = (await registry.call("c_1"), await registry.agent("rahim"), await registry.queue())
    with pytest.raises(Refused) as refused:
        await run(registry, lifecycle.accept("c_1", "rahim", "p_r", "node-a", time.time()))
    assert refused.value.code == "agent_busy" and "away" in str(refused.value)
    after = (await registry.call("c_1"), await registry.agent("rahim"), await registry.queue())
    assert after == before


async def test_a_call_ending_while_a_participant_joins_loses_neither(
    registries: Handles,
) -> None:
    for attempt in range(10):
        node_a, node_b = await registries(2)
        call_id = f"c_{attempt}"
        await waiting_call(node_a, call_id)
        await sign_in(node_a, "rahim", AgentState.AVAILABLE)
        await run(node_a, lifecycle.accept(call_id, "rahim", "p_r", "node-a", time.time()))
        joined, ended = await asyncio.gather(
            run(node_b, lifecycle.join(call_id, "p_r")),
            run(
                node_a,
                lifecycle.end(call_id, EndReason.HUNG_UP, "p_" + call_id, time.time(), "rahim"),
            ),
            return_exceptions=True,
        )
        assert isinstance(ended, CallValue), ended
        final = await node_a.call(call_id)
        assert final is not None and final.state is CallState.ENDED
        assert final.end_reason is EndReason.HUNG_UP
        assert final.agent is not None
        if isinstance(joined, CallValue):  # joined first: the end kept the join
            assert final.agent.media_joins == 1 and final.version == joined.version + 1
        else:  # ended first: the join was refused, in words
            assert isinstance(joined, Refused) and joined.code == "call_state", joined
            assert final.agent.media_joins == 0
        agent = await node_b.agent("rahim")
        assert agent is not None and agent.state is AgentState.AVAILABLE
        assert agent.call_id is None


async def test_an_ended_call_is_kept_for_its_retention_then_let_go(
    registry: CallRegistry,
) -> None:
    await waiting_call(registry, "c_1")
    await run(registry, lifecycle.end("c_1", EndReason.CANCELLED, "p_c_1", time.time()))
    ended = await registry.call("c_1")
    assert ended is not None and ended.state is CallState.ENDED
    assert await registry.calls() == [] and await registry.queue() == []
    await asyncio.sleep(RETENTION_S + 0.3)
    assert await registry.call("c_1") is None


async def test_a_burst_of_a_hundred_requests_all_wait_in_line(registries: Handles) -> None:
    """A festival sale: a hundred customers press "call" in the same moment, through four
    nodes. Every request changes the one queue; none is refused for contention (each
    retries after a short random wait instead of all at once again)."""
    handles = await registries(4)
    start = time.time()
    calls = [new_call(f"c_{n:03d}", at=start) for n in range(100)]
    for call in calls:
        await create(handles[0], call)
    await asyncio.gather(
        *(
            run(handles[n % 4], lifecycle.request(call.call_id, start + 10 + n / 1000))
            for n, call in enumerate(calls)
        )
    )
    queue = await handles[2].queue()
    assert [e.call_id for e in queue] == [c.call_id for c in calls]
