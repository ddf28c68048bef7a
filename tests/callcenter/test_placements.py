"""Calls a node placed count in the chosen node's load until that node's beat counts them.

Pure rules (``callcenter.placements``): two nodes of one place each, as in
tests/node/test_many_nodes.py, where real nodes place real calls.
"""

from __future__ import annotations

from dataclasses import replace

from callcenter.nodes import NODE_TTL_S, NodeValue, choose_node
from callcenter.placements import Placements

NOW = 1_000.0


def _node(node_id: str, heard_at: float, calls: int = 0) -> NodeValue:
    return NodeValue(node_id, f"http://{node_id}:8080", calls, 1, NOW - 60, heard_at)


def _choose(placements: Placements, nodes: list[NodeValue], now: float) -> str | None:
    chosen = choose_node(placements.loads(nodes, now), now)
    return chosen.node_id if chosen is not None else None


def test_a_second_call_placed_before_any_beat_goes_to_the_other_node() -> None:
    nodes = [_node("a", NOW - 1), _node("b", NOW - 1)]
    placements = Placements()
    first = _choose(placements, nodes, NOW)
    assert first == "a"
    placements.add("call-1", "a", NOW)
    assert _choose(placements, nodes, NOW + 0.1) == "b"
    placements.add("call-2", "b", NOW + 0.1)
    assert _choose(placements, nodes, NOW + 0.2) is None, "both nodes are full"


def test_a_beat_between_placing_and_opening_does_not_free_the_node() -> None:
    placements = Placements()
    placements.add("call-1", "a", NOW)
    # Both nodes beat after the placing, before the call's media opened: they count no call.
    nodes = [_node("a", NOW + 0.5), _node("b", NOW + 0.5)]
    assert _choose(placements, nodes, NOW + 0.6) == "b"
    placements.opened("call-1", NOW + 1.0)
    assert _choose(placements, nodes, NOW + 1.1) == "b", "A's last beat came before the opening"


def test_a_beat_after_the_opening_counts_the_call_itself() -> None:
    placements = Placements()
    placements.add("call-1", "a", NOW)
    placements.opened("call-1", NOW + 0.2)
    counted = [_node("a", NOW + 0.5, calls=1), _node("b", NOW + 0.5)]
    assert [n.calls for n in placements.loads(counted, NOW + 0.6)] == [1, 0], "not twice"
    # A's call ended and its beat says so: A has room again.
    ended = [replace(counted[0], calls=0, heard_at=NOW + 3), counted[1]]
    assert [n.calls for n in placements.loads(ended, NOW + 3.1)] == [0, 0]


def test_a_placement_whose_media_never_opens_stops_counting_after_the_node_ttl() -> None:
    placements = Placements()
    placements.add("call-1", "a", NOW)
    nodes = [_node("a", NOW + 1), _node("b", NOW + 1, calls=1)]
    assert _choose(placements, nodes, NOW + 2) is None
    assert _choose(placements, nodes, NOW + NODE_TTL_S + 0.1) == "a"
