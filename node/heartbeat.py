"""This node in the call centre's directory: published every 2 s, withdrawn when it stops.

Each beat publishes what the node carries (its calls, its capacity, how late its event loop
ran, whether it drains) and reads back every live node, which ``/api/nodes``, ``/metrics``
and node selection read without a round trip. The loop lag is how late the beat's own sleep
woke up: the worst over a beat says how busy this node's one core is.

A beat that cannot reach the registry is logged rarely (``node.outage``) and tried again at
the next: the node's calls keep their media, and readiness (``/readyz``) goes false once the
directory has not heard from this node for ``NODE_TTL_S``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from callcenter.nodes import HEARTBEAT_S, NODE_TTL_S, NodeValue, live_nodes
from callcenter.registry import CallRegistry, RegistryError

from .outage import RegistryOutage

logger = logging.getLogger(__name__)


class Heartbeat:
    """Publishes this node's :class:`NodeValue` and keeps the last directory it read.

    Args:
        registry: the call centre's shared state (the directory lives there too).
        node_id, url, capacity: who this node is, where it serves, the most calls it takes.
        calls: how many calls this node carries now.
        draining: whether it is shutting down.
        outage: turns a registry failure into one warning line now and then.
        on_gone: told the last values of nodes that were in the directory and are no longer.
        present: who has a socket open on this node (published with each beat).
        on_read: told after each reading of the directory.
    """

    def __init__(
        self,
        registry: CallRegistry,
        *,
        node_id: str,
        url: str,
        capacity: int,
        calls: Callable[[], int],
        draining: Callable[[], bool],
        outage: RegistryOutage,
        interval_s: float = HEARTBEAT_S,
        on_gone: Callable[[list[NodeValue]], object] | None = None,
        present: Callable[[], tuple[str, ...]] = tuple,
        on_read: Callable[[], object] | None = None,
    ) -> None:
        self._registry = registry
        self.node_id = node_id
        self._url = url
        self._capacity = capacity
        self._calls = calls
        self._draining = draining
        self._outage = outage
        self._interval_s = interval_s
        self._on_gone = on_gone
        self._present = present
        self._on_read = on_read
        self._known: dict[str, NodeValue] = {}
        self._started_at = time.time()
        self._lag_ms = 0.0
        self._nudged = asyncio.Event()
        self.published_at: float | None = None
        """When the directory last took this node's beat (wall clock); None: never yet."""
        self.nodes: list[NodeValue] = []
        """The live nodes, as the last beat read them (this one included once published)."""

    def value(self, now: float) -> NodeValue:
        return NodeValue(
            node_id=self.node_id,
            url=self._url,
            calls=self._calls(),
            capacity=self._capacity,
            started_at=self._started_at,
            heard_at=now,
            loop_lag_ms=round(self._lag_ms, 1),
            draining=self._draining(),
            present=self._present(),
        )

    @property
    def ready(self) -> bool:
        """The directory took this node's beat within its time to live."""
        if self.published_at is None:
            return False
        return time.time() - self.published_at < NODE_TTL_S

    async def beat(self) -> None:
        """Publish now and read the directory back (a drain calls it at once)."""
        now = time.time()
        try:
            await self._registry.publish_node(self.value(now), ttl_s=NODE_TTL_S)
            self.published_at = now
            await self.read()
        except RegistryError as exc:
            self._outage.refusal(exc, f"this node's heartbeat ({self.node_id})")
            self._lost_the_directory()

    async def read(self) -> None:
        """Read the directory (twice a beat: a node that stops beating is noticed within
        a second of its record expiring)."""
        self.nodes = live_nodes(await self._registry.nodes(), time.time())
        self._noticed(self.nodes)
        if self._on_read is not None:
            self._on_read()

    def _lost_the_directory(self) -> None:
        """The registry is out of reach: what it said last is no ground for calling a node
        gone once it is back (the others beat again within one beat; a node that died
        meanwhile is found by its parties, whose joins move its calls)."""
        self._known = {}

    def _noticed(self, nodes: list[NodeValue]) -> None:
        """Nodes in the last reading and not in this one are gone (killed, or cut off):
        their last values (what they carried, who was connected to them) go to ``on_gone``."""
        now = {node.node_id: node for node in nodes}
        gone = [v for k, v in self._known.items() if k not in now and k != self.node_id]
        self._known = now
        if gone and self._on_gone is not None:
            names = ", ".join(sorted(node.node_id for node in gone))
            logger.warning("node(s) %s stopped beating; their calls move", names)
            self._on_gone(gone)

    def nudge(self) -> None:
        """Beat soon (within a quarter second): this node's load just changed."""
        self._nudged.set()

    async def run(self) -> None:
        """Beat every ``interval_s`` until cancelled, measuring how late each sleep wakes."""
        loop = asyncio.get_running_loop()
        while True:
            self._nudged.clear()
            await self.beat()
            woke_late = 0.0
            deadline = loop.time() + self._interval_s
            # Short sleeps, so a busy loop shows in the lag rather than hiding in one sleep.
            read_at = loop.time() + self._interval_s / 2
            while (left := deadline - loop.time()) > 0 and not self._nudged.is_set():
                step = min(left, 0.25)
                asked = loop.time() + step
                await asyncio.sleep(step)
                woke_late = max(woke_late, loop.time() - asked)
                if loop.time() >= read_at:
                    read_at = deadline
                    try:
                        await self.read()
                    except RegistryError:  # the next beat says so
                        self._lost_the_directory()
            self._lag_ms = woke_late * 1000

    async def withdraw(self) -> None:
        """Leave the directory (a clean stop); a node that dies drops out by its TTL."""
        try:
            await self._registry.withdraw_node(self.node_id)
        except RegistryError as exc:
            logger.warning(
                "node %s could not leave the directory (%s); it drops out within %.0f s",
                self.node_id,
                str(exc).rstrip("."),
                NODE_TTL_S,
            )
