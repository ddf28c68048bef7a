"""The call centre's state lives in the registry the node is given: Redis, when configured.

An operator who sets ``redis_url`` finds the agents there, under the configured prefix,
as msgpack records (what other nodes read); the node's own view follows what it wrote.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
from redis.asyncio import Redis

from callcenter import agents
from callcenter.identity import Role
from callcenter.lifecycle import run
from callcenter.memory_registry import MemoryRegistry
from callcenter.redis_registry import RedisRegistry
from callcenter.registry import Draft
from callcenter.states import AgentState
from client.participant import ClientError
from media.source import SourceKind
from node.events import ServerEvent
from signaling.keys import CONFIG
from tests.conftest import Server, ServerFactory, connect_call, connect_refusal
from tests.redis_server import RedisServer, start_redis
from tests.support import Ear, ToneTrack

CUSTOMER_HZ = 440.0


async def test_an_agents_state_is_kept_in_the_configured_redis(
    start_server: ServerFactory, redis_server: RedisServer
) -> None:
    prefix = f"kotha-test-{secrets.token_hex(4)}:"
    server = await start_server(redis_url=redis_server.url, redis_prefix=prefix)
    assert isinstance(server.switchboard.registry, RedisRegistry)
    rahim = server.client(server.token(Role.AGENT, "Rahim"))
    await rahim.connect()

    await rahim.set_availability("available")

    redis = Redis.from_url(redis_server.url)
    try:
        record = msgpack.unpackb(await redis.get(f"{prefix}agent:rahim"))
        assert (record["name"], record["state"]) == ("Rahim", "available")
        assert await redis.smembers(f"{prefix}agents") == {b"rahim"}

        await rahim.set_availability("away")
        record = msgpack.unpackb(await redis.get(f"{prefix}agent:rahim"))
        assert record["state"] == "away"
    finally:
        await redis.aclose()
    # What the agent's console is told is what Redis holds.
    told = rahim.events(ServerEvent.AGENT_UPDATED)[-1]["agent"]
    assert told["state"] == "away" and told["connected"] is True


async def test_a_calls_record_is_kept_in_the_configured_redis_from_request_to_hang_up(
    start_server: ServerFactory, redis_server: RedisServer
) -> None:
    """What another node reads of a call is Redis's record: queued with its customer, taken
    with its agent and the node that holds its media, ended with why and by whom."""
    prefix = f"kotha-test-{secrets.token_hex(4)}:"
    server = await start_server(redis_url=redis_server.url, redis_prefix=prefix)
    call_id, token = await server.customer_call("Karim")
    karim = server.client(token)
    await karim.connect()
    await karim.request_call(media="audio", language="bn")
    redis = Redis.from_url(redis_server.url)

    async def stored() -> dict[str, Any]:
        record: dict[str, Any] = msgpack.unpackb(await redis.get(f"{prefix}call:{call_id}"))
        return record

    try:
        record = await stored()
        assert (record["state"], record["customer"]["name"]) == ("queued", "Karim")
        assert await redis.zrange(f"{prefix}queue", 0, -1) == [call_id.encode()]

        rahim = server.client(server.token(Role.AGENT, "Rahim"))
        await rahim.connect()
        await rahim.set_availability("available")
        await rahim.accept_call()
        record = await stored()
        assert (record["state"], record["agent"]["name"]) == ("active", "Rahim")
        assert record["media_node"] == server.switchboard.node_id
        assert await redis.zrange(f"{prefix}queue", 0, -1) == []

        await karim.hang_up()
        record = await stored()
        assert (record["state"], record["end_reason"]) == ("ended", "hung_up")
        assert record["ended_by"] == record["customer"]["participant_id"]
        assert call_id.encode() not in await redis.smembers(f"{prefix}calls")
        assert await redis.ttl(f"{prefix}call:{call_id}") > 0, "an ended call expires"
    finally:
        await redis.aclose()


async def test_a_run_with_redis_keeps_every_servers_state_there(
    server: Server, shared_registry: str | None
) -> None:
    """``pytest --redis`` (as .ci/run does) runs every server on Redis; plain runs in memory."""
    registry = server.switchboard.registry
    if shared_registry is None:
        assert isinstance(registry, MemoryRegistry)
        return
    assert isinstance(registry, RedisRegistry)
    agent = server.client(server.token(Role.AGENT, "Nadia"))
    await agent.connect()
    redis = Redis.from_url(shared_registry)
    try:
        prefix = server.app[CONFIG].redis_prefix
        assert await redis.exists(f"{prefix}agent:nadia") == 1
    finally:
        await redis.aclose()


async def test_an_agent_left_on_a_call_by_a_stopped_node_can_work_again(
    start_server: ServerFactory, redis_server: RedisServer
) -> None:
    """Redis outlives a node: a node killed mid-call leaves its agent 'on a call' there.

    Signing in again on a node that has no such call, the agent is Away (not stuck with
    "you are already on a call"), and can go Available and take the next call.
    """
    prefix = f"kotha-test-{secrets.token_hex(4)}:"
    left_behind = RedisRegistry.from_url(redis_server.url, prefix=prefix)
    try:
        await run(left_behind, agents.sign_in("rahim", "Rahim", time.time()))
        await run(left_behind, agents.set_availability("rahim", True, time.time()))

        def on_a_dead_call(draft: Draft) -> None:
            agent = draft.agent("rahim")
            assert agent is not None
            draft.put_agent(agent.moved_to(AgentState.ON_CALL, time.time(), "c_gone"))

        await left_behind.change(on_a_dead_call, agents=["rahim"])
    finally:
        await left_behind.close()

    server = await start_server(redis_url=redis_server.url, redis_prefix=prefix)
    rahim = server.client(server.token(Role.AGENT, "Rahim"))
    state = await rahim.connect()
    assert state["agent"]["state"] == "away" and state["agent"]["call_id"] is None

    await rahim.set_availability("available")
    call_id, token = await server.customer_call("Karim")
    karim = server.client(token)
    await karim.connect()
    await karim.request_call(media="audio", language="bn")
    taken = await rahim.accept_call()
    assert taken["call"]["call_id"] == call_id


async def test_while_redis_is_down_a_call_goes_on_and_what_needs_it_is_refused_in_words(
    start_server: ServerFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stops mid-call: the customer and agent keep talking; a sign-in and a change of
    availability are refused with "busy, try again", and the operators' log says it in
    words, not in tracebacks, and not once per refusal."""
    (tmp_path / "redis").mkdir()
    redis = start_redis(tmp_path / "redis")
    try:
        server = await start_server(redis_url=redis.url, redis_prefix="kotha:")
        agent_hears = Ear()
        pair = await connect_call(
            server,
            customer_sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)},
            agent_options={"on_track": agent_hears},
        )
        await agent_hears.wait_for(CUSTOMER_HZ)
        redis.stop()

        with caplog.at_level(logging.WARNING):
            with pytest.raises(ClientError) as busy:
                await pair.agent.set_availability("away")
            assert busy.value.code == "busy"
            assert "try again" in busy.value.message
            for _ in range(3):
                refused = await connect_refusal(
                    server, {"token": server.token(Role.AGENT, "Nadia")}
                )
                assert refused["code"] == "busy"

            # The customer's voice still reaches the agent.
            await agent_hears.wait_for(CUSTOMER_HZ, after=time.perf_counter())

        warnings = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "check that Redis" in warnings[0].getMessage()
        assert not any(r.exc_info for r in caplog.records)
    finally:
        redis.stop()
