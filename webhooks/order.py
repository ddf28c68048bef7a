"""A call's events in order at each receiver, when different servers publish them.

One server keeps a call's events in one outbox and sends its head only, so
they leave in order. With many nodes a call's moments are made where they
happen (queued on the customer's node, answered on the agent's), each node
stores its own in its own outbox, and a node whose receiver came back first
would send ``call.answered`` before another node's ``call.queued``.

So each event names the events of its call that go before it
(:attr:`~webhooks.event.WebhookEvent.follows`, with fixed ``seq`` numbers), and
the nodes share, per endpoint and call, the highest ``seq`` *settled* there
(delivered, or given up and listed for the admin): an event whose nearest
predecessor the endpoint wants is held until that is settled. A predecessor
that never comes (its node died with its disk, or was down longer than
``hold_s``) holds it no longer than ``hold_s``: then it goes, and the
receiver's own ordering by ``seq`` is the last word.

:class:`DeliveryOrder` is what a delivery needs of the shared store;
:mod:`webhooks.redis_order` keeps it in Redis. With one server there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .errors import WebhookError

__all__ = ["DEFAULT_HOLD_S", "DeliveryOrder", "Hold", "OrderUnavailableError"]

# An event waits at most an hour for an earlier one of its call held by another node.
DEFAULT_HOLD_S = 3600.0
# How often a held event looks again: from a quarter second, doubling, to five seconds.
FIRST_LOOK_S = 0.25
LAST_LOOK_S = 5.0


class OrderUnavailableError(WebhookError, ConnectionError):
    """The shared order could not be read or written (its store is unreachable)."""


class DeliveryOrder(Protocol):
    """The highest ``seq`` of each call settled at each endpoint, shared by the servers."""

    async def settled(self, endpoint: str, call_id: str) -> int:
        """The highest settled ``seq`` (0: none). Raises :class:`OrderUnavailableError`."""
        ...

    async def settle(self, endpoint: str, call_id: str, seq: int) -> None:
        """``seq`` is delivered or given up (a lower one never lowers the mark)."""
        ...


@dataclass(frozen=True, slots=True)
class Hold:
    """How long a held event waits: ``hold_s`` at most, looking again and again."""

    hold_s: float = DEFAULT_HOLD_S

    def __post_init__(self) -> None:
        if self.hold_s < 0:
            raise ValueError("Hold: hold_s must not be negative")

    def next_look_s(self, looks: int) -> float:
        """The wait after the ``looks``-th look found the predecessor unsettled (1 first)."""
        return min(LAST_LOOK_S, FIRST_LOOK_S * 2 ** min(max(looks - 1, 0), 8))
