"""The nodes of one call centre: each publishes what it carries, the rest choose by it.

Every node publishes a :class:`NodeValue` every :data:`HEARTBEAT_S` with a time to live of
:data:`NODE_TTL_S`: a node not heard from for that long (killed, partitioned, its Redis
connection lost) drops out of the directory by itself, and out of node selection with it.
A node that drains says so at once, and withdraws when it stops. New calls go to the node
with the most headroom, counted in free places (:func:`choose_node`); a node at its
capacity takes none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# How often a node says it is alive, and how long the directory believes it.
HEARTBEAT_S = 2.0
NODE_TTL_S = 5.0

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NodeValue:
    """One node as the others see it: where it is, what it carries, when it last said so."""

    node_id: str
    url: str
    """Where its pages and API are served (``public_url``, else ``http://host:port``)."""
    calls: int
    """Calls whose media this node carries."""
    capacity: int
    """The most calls it takes (``max_calls``); at capacity it takes no new call."""
    started_at: float
    heard_at: float
    """When it last published (wall clock)."""
    loop_lag_ms: float = 0.0
    """Its event loop's worst lag over the last beat: how busy its one core is."""
    draining: bool = False
    """Shutting down: it takes no new call."""
    present: tuple[str, ...] = ()
    """Who has a socket open on it: call parties by participant id, agents as
    ``agent:<subject>`` (a node that dies takes their connections with it)."""

    @property
    def headroom(self) -> float:
        """The share of its capacity still free (0 when full or draining)."""
        if self.draining or self.capacity <= 0:
            return 0.0
        return max(0.0, (self.capacity - self.calls) / self.capacity)

    @property
    def free_places(self) -> int:
        """How many more calls it may take (0 when full or draining): a node with a bigger
        capacity takes more of the new calls."""
        if self.draining:
            return 0
        return max(0, self.capacity - self.calls)

    @property
    def open_for_calls(self) -> bool:
        return not self.draining and self.calls < self.capacity

    def to_record(self) -> Record:
        return {
            "node_id": self.node_id,
            "url": self.url,
            "calls": self.calls,
            "capacity": self.capacity,
            "started_at": self.started_at,
            "heard_at": self.heard_at,
            "loop_lag_ms": self.loop_lag_ms,
            "draining": self.draining,
            "present": list(self.present),
        }

    @classmethod
    def from_record(cls, record: Record) -> NodeValue:
        return cls(
            node_id=record["node_id"],
            url=record["url"],
            calls=record["calls"],
            capacity=record["capacity"],
            started_at=record["started_at"],
            heard_at=record["heard_at"],
            loop_lag_ms=record.get("loop_lag_ms", 0.0),
            draining=record.get("draining", False),
            present=tuple(record.get("present") or ()),
        )


def live_nodes(nodes: Iterable[NodeValue], now: float) -> list[NodeValue]:
    """The nodes heard from within :data:`NODE_TTL_S`, by id."""
    return sorted((n for n in nodes if now - n.heard_at < NODE_TTL_S), key=lambda n: n.node_id)


def choose_node(nodes: Iterable[NodeValue], now: float) -> NodeValue | None:
    """The live node with the most headroom for a new call (None: every node is full,
    draining or silent). Ties go to the least busy loop, then to the id, so that every
    node choosing from the same directory chooses the same."""
    open_nodes = [n for n in live_nodes(nodes, now) if n.open_for_calls]
    if not open_nodes:
        return None
    return min(open_nodes, key=lambda n: (-n.free_places, n.loop_lag_ms, n.node_id))
