"""Choosing a node for a new call: the most headroom wins; full, draining and silent don't.

Pure rules on the directory's values (``callcenter.nodes``), as every node reads them.
"""

from __future__ import annotations

from dataclasses import replace

from callcenter.nodes import NODE_TTL_S, NodeValue, choose_node, live_nodes

NOW = 1_000.0


def _node(node_id: str, calls: int, capacity: int = 100, **fields: object) -> NodeValue:
    value = NodeValue(node_id, f"http://{node_id}:8080", calls, capacity, NOW - 60, NOW - 1)
    return replace(value, **fields)  # type: ignore[arg-type]


def test_a_new_call_goes_to_the_node_with_the_most_headroom() -> None:
    busy, quiet = _node("a", calls=80), _node("b", calls=10)
    assert choose_node([busy, quiet], NOW) == quiet


def test_a_bigger_node_takes_more_of_the_new_calls() -> None:
    """Headroom is counted in calls a node may still take, so two empty nodes of 20 and 200
    places fill the big one first until it has as few places left as the small one."""
    big = _node("big", calls=0, capacity=200)
    small = _node("small", calls=0, capacity=20)
    assert choose_node([small, big], NOW) == big
    assert choose_node([small, replace(big, calls=181)], NOW) == small
    assert (big.headroom, replace(big, calls=50).headroom) == (1.0, 0.75)  # the share shown


def test_a_full_or_draining_node_takes_no_call() -> None:
    full = _node("a", calls=100)
    draining = _node("b", calls=0, draining=True)
    assert choose_node([full, draining], NOW) is None
    assert full.headroom == 0.0 and draining.headroom == 0.0
    assert choose_node([full, draining, _node("c", calls=99)], NOW).node_id == "c"  # type: ignore[union-attr]


def test_a_node_not_heard_from_for_its_ttl_is_out_of_selection() -> None:
    silent = _node("a", calls=0, heard_at=NOW - NODE_TTL_S)
    alive = _node("b", calls=90, heard_at=NOW - NODE_TTL_S + 0.5)
    assert [n.node_id for n in live_nodes([silent, alive], NOW)] == ["b"]
    assert choose_node([silent, alive], NOW) == alive


def test_equal_nodes_are_chosen_alike_by_every_node() -> None:
    """The same directory gives the same answer on every node: the calmer loop, then the id."""
    a, b = _node("a", calls=10), _node("b", calls=10)
    assert choose_node([b, a], NOW) == a
    assert choose_node([replace(a, loop_lag_ms=40.0), b], NOW) == b


def test_a_node_reads_back_as_it_was_published() -> None:
    node = _node("a", calls=3, loop_lag_ms=2.5, draining=True)
    assert NodeValue.from_record(node.to_record()) == node
