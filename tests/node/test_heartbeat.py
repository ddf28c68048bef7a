"""Each node says what it carries; operators and load balancers read it.

Guards (issue 15, first step): an operator sees every node of the call centre with its calls
and capacity (``GET /api/nodes``, supervisors and admins only); two nodes on one Redis see
each other within a beat, and a node that stops leaves the list at once; a node at its
capacity (``max_calls``) takes no new call, says so in words, and ``/readyz`` says it is
full, while ``/healthz`` stays live; a draining node is out of selection at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from callcenter.identity import Role
from client.participant import ClientError
from tests.conftest import NodeFactory, Server, ServerFactory, api_request, connect_call

BEAT_WAIT_S = 6.0  # a heartbeat is every 2 s; what a test waits for one to show


async def nodes_seen(server: Server) -> dict[str, dict[str, Any]]:
    status, body, _ = await api_request(
        server, "GET", "/api/nodes", server.token(Role.SUPERVISOR, "Sumi")
    )
    assert status == 200, body
    return {node["node_id"]: node for node in body["nodes"]}


async def until(check: Any, what: str, timeout_s: float = BEAT_WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"waited {timeout_s} s for {what}"
        await asyncio.sleep(0.1)


async def test_an_operator_sees_this_node_with_its_calls_and_capacity(
    start_server: ServerFactory,
) -> None:
    server = await start_server(node_id="node-a", max_calls=50)
    [node] = (await until(lambda: nodes_seen(server), "the first beat")).values()
    assert (node["node_id"], node["calls"], node["capacity"]) == ("node-a", 0, 50)
    assert node["headroom"] == 1.0 and node["draining"] is False

    await connect_call(server, join=False)

    async def carrying() -> bool:
        return (await nodes_seen(server))["node-a"]["calls"] == 1

    await until(carrying, "the call to show on the node")
    status, body, _ = await api_request(server, "GET", "/readyz")
    assert (status, body["status"]) == (200, "ready")


async def test_only_staff_see_the_nodes(start_server: ServerFactory) -> None:
    server = await start_server()
    _, customer = await server.customer_call()
    for token in (customer, server.token(Role.AGENT, "Rahim"), None):
        status, body, _ = await api_request(server, "GET", "/api/nodes", token)
        assert status in (401, 403), body
        assert "nodes" not in body


async def test_a_full_node_takes_no_new_call_and_says_so(start_server: ServerFactory) -> None:
    server = await start_server(max_calls=1)
    await connect_call(server, join=False)
    call_id, token = await server.customer_call("Nadia")
    nadia = server.client(token)
    await nadia.connect()
    await nadia.request_call(media="audio")  # she may wait
    nusrat = server.client(server.token(Role.AGENT, "Nusrat"))
    await nusrat.connect()
    await nusrat.set_availability("available")

    try:
        await nusrat.accept_call(call_id)
    except ClientError as refused:
        assert refused.code == "busy"
        assert "as many calls as it may (1)" in str(refused)
    else:
        raise AssertionError("a full node took a second call")
    assert server.switchboard.calls[call_id].state.value == "queued"
    status, body, _ = await api_request(server, "GET", "/readyz")
    assert status == 503 and "as many calls as it may" in body["reason"]
    status, body, _ = await api_request(server, "GET", "/healthz")
    assert status == 200, "a full node is alive: its calls go on"


async def test_two_nodes_on_one_redis_see_each_other_and_a_stopped_one_leaves(
    add_node: NodeFactory,
) -> None:
    node_a = await add_node("node-a")
    node_b = await add_node("node-b")

    async def both() -> bool:
        return (
            set(await nodes_seen(node_a)) == {"node-a", "node-b"} == set(await nodes_seen(node_b))
        )

    await until(both, "each node to see the other")

    await node_b.switchboard.drain()  # a SIGTERM: out of selection at once

    async def b_draining() -> bool:
        seen = await nodes_seen(node_a)
        return "node-b" in seen and seen["node-b"]["draining"]

    await until(b_draining, "node-b to be seen draining")
    await node_b.stop()

    async def b_gone() -> bool:
        return set(await nodes_seen(node_a)) == {"node-a"}

    await until(b_gone, "node-b to leave the list")
