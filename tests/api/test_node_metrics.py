"""``GET /metrics`` with two nodes: each node's load, labelled by node, on either node's scrape.

Nodes A (5 places) and B (50) share one Redis. An admin scrapes node A.

Guards:
- A's scrape has, for both nodes, the calls each carries, its capacity, its headroom (0..1),
  its event loop's lag in seconds and whether it drains (0/1);
- A's own node-bus counters are there (sent, received, lost, repeats, retries, timeouts),
  and count what crossed: a call made on A is news B hears;
- node B drains (SIGTERM's first step): A's next reading says so, with no headroom;
- one node alone lists itself, and its bus counters exist from the first scrape.
"""

from __future__ import annotations

from tests.conftest import NodeFactory, Server

from .test_metrics import Scrape, scrape, scrape_until

BUS_COUNTERS = ("sent", "received", "lost", "repeats", "retries", "timeouts")
NODE_GAUGES = (
    "kotha_node_calls",
    "kotha_node_capacity_calls",
    "kotha_node_headroom_ratio",
    "kotha_node_loop_lag_seconds",
    "kotha_node_draining",
)


async def test_an_admin_sees_every_node_s_load_and_this_node_s_bus(
    add_node: NodeFactory,
) -> None:
    a = await add_node("node-a", max_calls=5)
    b = await add_node("node-b", max_calls=50)
    await b.switchboard.heartbeat.beat()
    await a.switchboard.heartbeat.beat()
    await a.customer_call("Karim")  # news of the new call, from A to B

    result = await scrape_until(
        a, lambda s: s.value("kotha_node_bus_sent_total", node="node-a") >= 1
    )
    for name in NODE_GAUGES:
        assert {s.labels["node"] for s in result.families[name].samples} == {"node-a", "node-b"}
    assert result.value("kotha_node_capacity_calls", node="node-a") == 5
    assert result.value("kotha_node_capacity_calls", node="node-b") == 50
    for node in ("node-a", "node-b"):
        assert result.value("kotha_node_calls", node=node) == 0
        assert result.value("kotha_node_headroom_ratio", node=node) == 1.0
        assert result.value("kotha_node_draining", node=node) == 0
        assert 0 <= result.value("kotha_node_loop_lag_seconds", node=node) < 1
    for counter in BUS_COUNTERS:
        assert result.families[f"kotha_node_bus_{counter}"].type == "counter"
        assert result.value(f"kotha_node_bus_{counter}_total", node="node-a") >= 0
    assert result.value("kotha_node_bus_lost_total", node="node-a") == 0
    heard = await scrape_until(
        b, lambda s: s.value("kotha_node_bus_received_total", node="node-b") >= 1
    )
    assert heard.value("kotha_node_bus_timeouts_total", node="node-b") == 0

    # Node B starts to stop: out of node selection, and A's scrape says so.
    await b.switchboard.drain()
    await a.switchboard.heartbeat.beat()
    after = await scrape(a)
    assert after.value("kotha_node_draining", node="node-b") == 1
    assert after.value("kotha_node_headroom_ratio", node="node-b") == 0
    assert after.value("kotha_node_draining", node="node-a") == 0


async def test_one_node_lists_itself_and_its_bus_counters(server: Server) -> None:
    await server.switchboard.heartbeat.beat()
    result: Scrape = await scrape(server)
    node = server.switchboard.node_id
    assert {s.labels["node"] for s in result.families["kotha_node_calls"].samples} == {node}
    assert result.value("kotha_node_capacity_calls", node=node) == 200
    assert result.value("kotha_node_headroom_ratio", node=node) == 1.0
    for counter in BUS_COUNTERS:
        assert result.value(f"kotha_node_bus_{counter}_total", node=node) >= 0
