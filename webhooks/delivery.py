"""Sending one endpoint's outbox: each call's events in order, the calls side by side.

A call's next event is sent only once the one before it was delivered or given
up, so the shop sees a call queued before it is answered, and answered before
it ended. Calls do not wait for each other: up to ``concurrency`` calls are
sent at once, and a call whose event fails waits out its backoff alone while
the others go on.

The endpoint's state is what its receiver did last: ``delivering`` (it took
the last event) or ``failing``. While failing, one request at a time goes out
(a receiver that is down gets probed, not flooded, and a server with thousands
of waiting events does not hold thousands of connections); the first 2xx puts
it back to ``delivering``. Each change is one log line (a receiver that flaps
is told of at most every five minutes), never a line per retry.

With many nodes a call's events may sit in different nodes' outboxes: given a
shared :class:`~webhooks.order.DeliveryOrder`, an event waits (``held``) until
the earlier event of its call that this endpoint wants is settled wherever it
is, at most :attr:`Hold.hold_s <webhooks.order.Hold>`, and marks itself settled
once delivered or given up (webhooks/order.py).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum, unique

import aiohttp

from .endpoint import Endpoint
from .errors import JournalError
from .order import DeliveryOrder, Hold, OrderUnavailableError
from .outbox import Outbox, Pending
from .retry import RetryPolicy
from .sender import send

logger = logging.getLogger(__name__)

__all__ = ["Delivery", "DeliveryState"]

# A receiver that goes down and up again is logged at most this often.
LOG_QUIET_S = 300.0


class _Quiet:
    """A kind of log line said at most once every ``seconds`` (by the loop's clock)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: float | None = None

    def due(self) -> bool:
        now = asyncio.get_running_loop().time()
        if self._last is not None and now - self._last < self.seconds:
            return False
        self._last = now
        return True


@unique
class DeliveryState(StrEnum):
    DELIVERING = "delivering"
    """The receiver took the last event (or nothing was tried yet)."""
    FAILING = "failing"
    """The last attempt failed: one request at a time until one is taken."""


class Delivery:
    """The sender of one endpoint: owns its task, started by :meth:`start`, ended by :meth:`close`.

    Args:
        endpoint: where to send.
        outbox: the endpoint's stored events.
        session: the HTTP session (owned by the caller).
        policy: backoff and giving up.
        concurrency: calls sent at once while the receiver answers.
        order: the order shared with other servers (None: this outbox is the only one).
        hold: how long an event waits for an earlier one of its call held elsewhere.
        clock: Unix time (tests move it).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        outbox: Outbox,
        session: aiohttp.ClientSession,
        *,
        policy: RetryPolicy,
        concurrency: int = 8,
        order: DeliveryOrder | None = None,
        hold: Hold | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self.order = order
        self.hold = hold or Hold()
        self.outbox = outbox
        self.policy = policy
        self.concurrency = concurrency
        self.state = DeliveryState.DELIVERING
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.refused = 0
        """Events not stored because the outbox was full."""
        self._session = session
        self._clock = clock
        self._rng = random.Random()
        self._ready: deque[str] = deque()  # calls whose head may go now, in turn
        self._queued: set[str] = set()  # the calls in _ready
        self._in_flight: set[str] = set()
        self._due: dict[str, float] = {}  # call -> loop time of its next attempt
        self._timers: list[tuple[float, str]] = []  # heap of _due; stale entries skipped
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # For the log: failures and give-ups since the state went to failing.
        self._failures = 0
        self._given_up = 0
        self._logged_failing = False
        self._last_logged_at = -LOG_QUIET_S
        self._refusing = False
        self._held: set[str] = set()  # calls whose head waits for another node's event
        self._order_trouble_log = _Quiet(LOG_QUIET_S)
        self._unheld_log = _Quiet(LOG_QUIET_S)

    @property
    def held(self) -> int:
        """Calls whose next event waits for an earlier one held by another server."""
        return len(self._held)

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def next_attempt_at(self) -> float | None:
        """Unix time of the next retry of a call waiting out its backoff, if any."""
        if not self._due or self._loop is None:
            return None
        return self._clock() + max(0.0, min(self._due.values()) - self._loop.time())

    def start(self) -> None:
        if self._task is not None:
            return
        for call_id in self.outbox.calls():
            self._make_ready(call_id)
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name=f"Webhooks({self.name})::delivery")
        self._task.add_done_callback(self._stopped)

    def notify(self, call_id: str) -> None:
        """The call has a new event stored (or one could not be): look at it."""
        self._make_ready(call_id)
        self._wake.set()

    def retry_now(self, call_id: str) -> None:
        """An admin put an event of the call back: send it without waiting out a backoff."""
        self._due.pop(call_id, None)
        self.notify(call_id)

    def note_refusal(self, error: Exception) -> None:
        """The outbox was full: count it, and say so once until it takes events again."""
        self.refused += 1
        if not self._refusing:
            self._refusing = True
            logger.warning("Webhooks(%s) events are dropped: %s", self.name, error)

    def note_stored(self) -> None:
        if self._refusing:
            self._refusing = False
            logger.info(
                "Webhooks(%s) stores events again (%d were dropped)", self.name, self.refused
            )

    async def close(self) -> None:
        """Stop sending (an attempt under way is abandoned: its event stays pending)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.TaskGroup() as attempts:  # every attempt is awaited on the way out
            while True:
                self._wake.clear()
                now = loop.time()
                while self._timers and self._timers[0][0] <= now:
                    due, call_id = heapq.heappop(self._timers)
                    if self._due.get(call_id) == due:
                        del self._due[call_id]
                        self._make_ready(call_id)
                limit = self.concurrency if self.state is DeliveryState.DELIVERING else 1
                while self._ready and len(self._in_flight) < limit:
                    call_id = self._ready.popleft()
                    self._queued.discard(call_id)
                    pending = self.outbox.head(call_id)
                    if pending is None or not pending.durable:
                        continue  # notify() brings it back once it is stored
                    self._in_flight.add(call_id)
                    attempts.create_task(
                        self._attempt(call_id, pending),
                        name=f"Webhooks({self.name})::call {call_id}",
                    )
                timeout = self._timers[0][0] - now if self._timers else None
                try:
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    def _make_ready(self, call_id: str) -> None:
        if call_id in self._queued or call_id in self._in_flight or call_id in self._due:
            return
        self._queued.add(call_id)
        self._ready.append(call_id)

    async def _attempt(self, call_id: str, pending: Pending) -> None:
        try:
            await self._deliver(call_id, pending)
        except Exception:
            # A bug, not the receiver: keep it from spinning, and from stopping the rest.
            logger.exception("Webhooks(%s) event %s: attempt broke", self.name, pending.event.id)
            self._back_off(call_id, self.policy.cap_s)
        finally:
            self._in_flight.discard(call_id)
            self._make_ready(call_id)
            self._wake.set()

    async def _deliver(self, call_id: str, pending: Pending) -> None:
        event = pending.event
        if not await self._in_turn(pending):
            pending.looks += 1
            self._back_off(call_id, self.hold.next_look_s(pending.looks))
            return
        error = await send(self._session, self.endpoint, event, self._clock())
        now = self._clock()
        if error is None:
            self._succeeded()
            try:
                await self.outbox.mark_delivered(pending, now)
            except JournalError as failure:
                logger.warning(
                    "Webhooks(%s) event %s was delivered but %s: it may be sent again",
                    self.name,
                    event.id,
                    failure,
                )
            await self._settle(pending)
            return
        pending.attempts += 1
        pending.last_error = error
        self._failed(error, now)
        if not self.policy.gives_up(pending.attempts, now - event.occurred_at):
            self._back_off(call_id, self.policy.delay_s(pending.attempts, self._rng))
            return
        self._given_up += 1
        if self._given_up == 1:
            logger.warning(
                "Webhooks(%s) gave up %s of call %s (event %s) after %d attempts: %s; it is "
                "listed as failed for the admin to retry (later ones are counted, not logged)",
                self.name,
                event.type,
                event.call_id,
                event.id,
                pending.attempts,
                error,
            )
        try:
            await self.outbox.mark_failed(pending, error, now)
        except JournalError as failure:
            logger.warning(
                "Webhooks(%s) event %s was given up but %s", self.name, event.id, failure
            )
        await self._settle(pending)

    async def _in_turn(self, pending: Pending) -> bool:
        """May ``pending`` go now: is the earlier event it follows settled, wherever it is?"""
        event = pending.event
        after = event.after(self.endpoint.wants)
        if self.order is None or after == 0:
            return True
        now = self._clock()
        if pending.held_since is None:
            pending.held_since = now
        try:
            settled = await self.order.settled(self.name, event.call_id)
        except OrderUnavailableError as trouble:
            self._order_trouble(trouble)
            settled = after  # at least once comes first: it goes, its seq tells its place
        if settled >= after:
            self._held.discard(event.call_id)
            return True
        waited = now - pending.held_since
        if waited < self.hold.hold_s:
            self._held.add(event.call_id)
            return False
        self._held.discard(event.call_id)
        if self._unheld_log.due():
            logger.warning(
                "Webhooks(%s) %s of call %s (seq %d) waited %.0f s for seq %d, which another "
                "server holds and has not delivered: sent without it (the receiver orders by "
                "seq; later ones in the next five minutes are not logged)",
                self.name,
                event.type,
                event.call_id,
                event.seq,
                waited,
                after,
            )
        return True

    async def _settle(self, pending: Pending) -> None:
        """Tell the other servers this event is delivered or given up."""
        if self.order is None:
            return
        try:
            await self.order.settle(self.name, pending.event.call_id, pending.event.seq)
        except OrderUnavailableError as trouble:
            self._order_trouble(trouble)

    def _order_trouble(self, trouble: OrderUnavailableError) -> None:
        if self._order_trouble_log.due():
            logger.warning(
                "Webhooks(%s) cannot see what other servers delivered: %s. Events go out "
                "as they come; a receiver may get a call's events out of order (their seq "
                "tells). Check that Redis is up; this is said at most every five minutes",
                self.name,
                trouble,
            )

    def _back_off(self, call_id: str, delay_s: float) -> None:
        due = asyncio.get_running_loop().time() + delay_s
        self._due[call_id] = due
        heapq.heappush(self._timers, (due, call_id))

    def _succeeded(self) -> None:
        if self.state is DeliveryState.FAILING:
            self.state = DeliveryState.DELIVERING
            if self._logged_failing:
                gave_up = f", {self._given_up} events given up" if self._given_up else ""
                logger.info(
                    "Webhooks(%s) failing -> delivering: %s takes events again "
                    "(after %d failed attempts%s)",
                    self.name,
                    self.endpoint.display_url,
                    self._failures,
                    gave_up,
                )
        self._failures = 0
        self._given_up = 0
        self._logged_failing = False

    def _failed(self, error: str, now: float) -> None:
        self.last_error = error
        self.last_error_at = now
        self._failures += 1
        if self.state is DeliveryState.FAILING:
            return
        self.state = DeliveryState.FAILING
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._last_logged_at < LOG_QUIET_S:
            return
        self._last_logged_at = loop_now
        self._logged_failing = True
        logger.warning(
            "Webhooks(%s) delivering -> failing: %s; retrying with backoff, one request at a "
            "time until it takes one",
            self.name,
            error,
        )

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("Webhooks(%s) delivery stopped", self.name, exc_info=task.exception())
