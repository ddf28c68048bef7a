"""The calls a node placed on the nodes of the centre, until those nodes' beats count them.

A node chooses where a call's media goes by the directory's loads (:func:`choose_node`); a
node's published load counts a call only once the call's room is open there, and is only
as fresh as its last beat. Two calls taken one after another would both go to the node
that looked freest. So a placing node keeps what it placed and adds it to the directory's
loads: a placement counts until a beat of that node comes after the call's media opened
there, and at most :data:`NODE_TTL_S` when it never opens. (A beat that came between the
placing and the opening counted nothing yet: CI once sent a third call to a full node.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from .nodes import NODE_TTL_S, NodeValue


@dataclass(frozen=True, slots=True)
class Placement:
    node_id: str
    at: float
    opened_at: float | None = None
    """When the call's media opened at the node (None: not yet)."""

    def uncounted_by(self, node: NodeValue, now: float) -> bool:
        """Whether ``node``'s published load leaves this placement out."""
        return (
            self.node_id == node.node_id
            and now - self.at < NODE_TTL_S
            and (self.opened_at is None or self.opened_at >= node.heard_at)
        )


class Placements:
    """What this node placed where, by call; wall-clock times (as the directory's)."""

    def __init__(self) -> None:
        self._placed: dict[str, Placement] = {}

    def add(self, call_id: str, node_id: str, now: float) -> None:
        self._placed = {c: p for c, p in self._placed.items() if now - p.at < NODE_TTL_S}
        self._placed[call_id] = Placement(node_id, now)

    def opened(self, call_id: str, now: float) -> None:
        """The call's media is open at its node now."""
        placed = self._placed.get(call_id)
        if placed is not None:
            self._placed[call_id] = replace(placed, opened_at=now)

    def loads(self, nodes: Iterable[NodeValue], now: float) -> Iterator[NodeValue]:
        """``nodes`` with the calls placed on each that its published load leaves out."""
        for node in nodes:
            extra = sum(1 for p in self._placed.values() if p.uncounted_by(node, now))
            yield replace(node, calls=node.calls + extra) if extra else node
