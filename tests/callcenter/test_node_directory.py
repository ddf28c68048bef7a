"""The directory of nodes, on both registries: what a node publishes, every node reads.

Guards: a node's beat is read back by another handle (another node's client, on Redis); a
node that stops beating drops out by itself after its time to live (a node killed with -9
never withdraws); a node that stops cleanly is gone at once; a newer beat replaces the last.
"""

from __future__ import annotations

import asyncio
import time

from callcenter.nodes import NodeValue
from callcenter.registry import CallRegistry
from tests.callcenter.conftest import Handles

TTL_S = 0.6


def _beat(node_id: str, calls: int = 0) -> NodeValue:
    now = time.time()
    return NodeValue(node_id, f"http://{node_id}:8080", calls, 100, now - 10, now)


async def test_every_node_reads_what_each_published(registries: Handles) -> None:
    node_a, node_b = await registries(2)
    await node_a.publish_node(_beat("a", calls=3), ttl_s=TTL_S)
    await node_b.publish_node(_beat("b", calls=7), ttl_s=TTL_S)
    for handle in (node_a, node_b):
        seen = {n.node_id: n.calls for n in await handle.nodes()}
        assert seen == {"a": 3, "b": 7}


async def test_a_node_that_stops_beating_drops_out_by_itself(registries: Handles) -> None:
    node_a, node_b = await registries(2)
    await node_a.publish_node(_beat("a"), ttl_s=TTL_S)
    await asyncio.sleep(TTL_S / 2)
    await node_b.publish_node(_beat("b"), ttl_s=TTL_S)
    assert [n.node_id for n in await node_b.nodes()] == ["a", "b"]
    await asyncio.sleep(TTL_S / 2 + 0.15)  # a's beat has lived its TTL, b's has not
    assert [n.node_id for n in await node_b.nodes()] == ["b"]


async def test_a_node_that_withdraws_is_gone_at_once(registry: CallRegistry) -> None:
    await registry.publish_node(_beat("a"), ttl_s=30)
    await registry.publish_node(_beat("b"), ttl_s=30)
    await registry.withdraw_node("a")
    assert [n.node_id for n in await registry.nodes()] == ["b"]
    await registry.withdraw_node("a")  # twice is harmless


async def test_a_newer_beat_replaces_the_last(registry: CallRegistry) -> None:
    await registry.publish_node(_beat("a", calls=1), ttl_s=30)
    await registry.publish_node(_beat("a", calls=4), ttl_s=30)
    [node] = await registry.nodes()
    assert node.calls == 4
