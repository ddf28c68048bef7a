"""Telling the shop's backends about calls: publish once, delivered to every endpoint.

``publish()`` numbers the event within its call, stores it in the outbox of each
endpoint that wants its type and returns once it is on disk there: from then on
it is delivered at least once, after a restart or ``kill -9`` too. Each endpoint
has its own :class:`Delivery` task, so a receiver that is down delays nobody
else's events. The admin's view is :meth:`Dispatcher.status`; an event given up
is sent again with :meth:`Dispatcher.retry`.

On disk, in the directory given::

    sequences.jsonl            each call's last seq
    <endpoint>.outbox.jsonl    one journal per endpoint (an endpoint removed from
                               the configuration leaves its file untouched)

All of it is written by one thread, in the order submitted: a call's number is
on disk before any outbox has its event.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp

from .delivery import Delivery
from .endpoint import Endpoint
from .errors import (
    DispatcherStateError,
    EndpointConfigError,
    EventRefusedError,
    JournalError,
    NotFoundError,
    OutboxFullError,
)
from .event import EventType, Follow, WebhookEvent
from .order import DeliveryOrder, Hold
from .outbox import DEFAULT_MAX_KEPT, Outbox
from .retry import RetryPolicy
from .sequences import CallSequences
from .status import EndpointStatus, FailedDelivery

logger = logging.getLogger(__name__)

__all__ = ["MAX_BODY_BYTES", "Dispatcher"]

# The largest body sent: recording.ready with its analytics is a few KB.
MAX_BODY_BYTES = 256 * 1024


class DispatcherState(enum.Enum):
    UNOPENED = 1  # made, nothing read or started
    OPENED = 2  # outboxes read, deliveries running
    CLOSED = 3  # stopped; it cannot be started again


class Dispatcher:
    """The webhooks of one server. The constructor does no I/O: ``start()`` does.

    Args:
        directory: where the outboxes live (the data directory's ``webhooks/``).
        endpoints: the receivers; names must differ.
        policy: backoff and giving up (tests make it fast).
        concurrency: calls sent at once per endpoint.
        max_kept: events kept at most per endpoint (pending and given up).
        order: the order of each call's events shared with the other servers that publish
            them (owned by the caller; None: this server publishes all of a call's events).
        hold: how long an event waits for an earlier one of its call held elsewhere.
        clock: Unix time.
    """

    def __init__(
        self,
        directory: Path,
        endpoints: Iterable[Endpoint],
        *,
        policy: RetryPolicy | None = None,
        concurrency: int = 8,
        max_kept: int = DEFAULT_MAX_KEPT,
        order: DeliveryOrder | None = None,
        hold: Hold | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.order = order
        self.hold = hold or Hold()
        self.endpoints = tuple(endpoints)
        names = [endpoint.name for endpoint in self.endpoints]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise EndpointConfigError(f"endpoint names must differ: {', '.join(twice)} twice")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.policy = policy or RetryPolicy()
        self.concurrency = concurrency
        self.max_kept = max_kept
        self._clock = clock
        self._state = DispatcherState.UNOPENED
        self._closed: asyncio.Future[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._sequences: CallSequences | None = None
        self._session: aiohttp.ClientSession | None = None
        self._deliveries: dict[str, Delivery] = {}
        self._outboxes: list[Outbox] = []

    async def start(self) -> None:
        """Read the outboxes back and start sending what they hold."""
        if self._state is not DispatcherState.UNOPENED:
            raise DispatcherStateError("a dispatcher is started once")
        self._state = DispatcherState.OPENED
        try:
            await self._open()
        except BaseException:
            await self.close()
            raise

    async def _open(self) -> None:
        # A directory that cannot be made fails the start, not the first publish.
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="webhooks-disk")
        self._sequences = await CallSequences.open(
            self.directory / "sequences.jsonl", executor=self._executor, clock=self._clock
        )
        for endpoint in self.endpoints:
            outbox = await Outbox.open(
                self.directory / f"{endpoint.name}.outbox.jsonl",
                executor=self._executor,
                max_kept=self.max_kept,
            )
            self._outboxes.append(outbox)
            for call_id, seq in outbox.highest_seqs():
                self._sequences.at_least(call_id, seq)
        # Cookies a receiver sets are never sent back (nor to another endpoint).
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        for endpoint, outbox in zip(self.endpoints, self._outboxes, strict=True):
            delivery = Delivery(
                endpoint,
                outbox,
                self._session,
                policy=self.policy,
                concurrency=self.concurrency,
                order=self.order,
                hold=self.hold,
                clock=self._clock,
            )
            self._deliveries[endpoint.name] = delivery
            delivery.start()
            if outbox.pending_count:
                logger.info(
                    "Webhooks(%s) %d events to send to %s",
                    endpoint.name,
                    outbox.pending_count,
                    endpoint.display_url,
                )

    async def publish(
        self,
        type: EventType | str,
        call_id: str,
        data: Mapping[str, Any],
        *,
        occurred_at: float | None = None,
        seq: int | None = None,
        follows: tuple[Follow, ...] = (),
    ) -> WebhookEvent:
        """Store an event of ``call_id`` for every endpoint that wants ``type``.

        Returns once it is on disk, with its ``id`` and ``seq``: the one given (the
        caller numbers the call's events the same on every server: then ``follows``
        names the earlier ones it is delivered after, nearest first), or else the
        next of the call on this server. An endpoint that keeps its maximum already
        does not get it (counted as ``refused`` in its status, and logged). Raises
        :class:`EventRefusedError` for data that is not a JSON object or too large,
        :class:`JournalError` if the disk failed (an endpoint may still have it), and
        :class:`DispatcherStateError` before ``start()`` or after ``close()``.
        """
        if self._state is not DispatcherState.OPENED or self._sequences is None:
            raise DispatcherStateError("the webhooks dispatcher is not running")
        try:
            kind = EventType(type)
        except ValueError:
            raise EventRefusedError(f"{type!r} is not an event type") from None
        if not isinstance(call_id, str) or not call_id:
            raise EventRefusedError("an event needs its call's id")
        copy = _json_object(data)
        writes: list[asyncio.Future[None]] = []
        if seq is None:
            seq, numbered = self._sequences.next(call_id)
            writes.append(numbered)
        elif seq < 1 or any(not 0 < f.seq < seq for f in follows):
            raise EventRefusedError("a seq is 1 or more, above those of the events it follows")
        else:
            self._sequences.at_least(call_id, seq)
        event = WebhookEvent(
            id=uuid.uuid4().hex,
            type=kind,
            call_id=call_id,
            seq=seq,
            occurred_at=self._clock() if occurred_at is None else occurred_at,
            data=copy,
            follows=follows,
        )
        wanting = [d for d in self._deliveries.values() if d.endpoint.wants(kind)]
        for delivery in wanting:
            try:
                writes.append(delivery.outbox.put(event))
            except OutboxFullError as full:
                delivery.note_refusal(full)
            else:
                delivery.note_stored()
        stored = asyncio.gather(*writes, return_exceptions=True)

        # The deliveries look at the call once all is on disk, whether the caller
        # still waits or not.
        def look(_: object) -> None:
            for delivery in wanting:
                delivery.notify(call_id)

        stored.add_done_callback(look)
        results = await asyncio.shield(stored)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise JournalError(f"event {event.id} of call {call_id}: {failures[0]}")
        return event

    def status(self, *, failed_limit: int = 100) -> list[EndpointStatus]:
        """Each endpoint as an admin sees it, with its ``failed_limit`` latest failures."""
        statuses = []
        for delivery in self._deliveries.values():
            outbox = delivery.outbox
            failed = outbox.failed()[::-1][:failed_limit]
            statuses.append(
                EndpointStatus(
                    name=delivery.name,
                    url=delivery.endpoint.display_url,
                    state=str(delivery.state),
                    pending=outbox.pending_count,
                    in_flight=delivery.in_flight,
                    held=delivery.held,
                    delivered=outbox.delivered,
                    failed_count=outbox.failed_count,
                    failed=tuple(FailedDelivery.of(f) for f in failed),
                    refused=delivery.refused,
                    last_error=delivery.last_error,
                    last_error_at=delivery.last_error_at,
                    last_success_at=outbox.last_delivered_at,
                    next_attempt_at=delivery.next_attempt_at,
                )
            )
        return statuses

    async def retry(self, endpoint_name: str, event_id: str) -> None:
        """Send a failed event again, now (with a fresh count of attempts).

        It may then arrive after later events of its call: its ``seq`` tells.
        Raises :class:`NotFoundError` for an unknown endpoint or event.
        """
        delivery = self._delivery(endpoint_name)
        pending, written = delivery.outbox.retry(event_id)
        delivery.retry_now(pending.event.call_id)
        await asyncio.shield(written)

    async def retry_failed(self, endpoint_name: str) -> int:
        """Send every failed event of an endpoint again; how many there were."""
        delivery = self._delivery(endpoint_name)
        writes = []
        for failed in delivery.outbox.failed():
            pending, written = delivery.outbox.retry(failed.event.id)
            delivery.retry_now(pending.event.call_id)
            writes.append(written)
        await asyncio.shield(asyncio.gather(*writes))
        return len(writes)

    async def close(self) -> None:
        """Stop sending, wait for what is queued for the disk, close. Safe to call twice."""
        if self._closed is not None:
            await self._closed
            return
        self._closed = asyncio.get_running_loop().create_future()
        self._state = DispatcherState.CLOSED
        try:
            for delivery in self._deliveries.values():
                await delivery.close()
            if self._session is not None:
                await self._session.close()
            for outbox in self._outboxes:
                await outbox.close()
            if self._sequences is not None:
                await self._sequences.close()
            if self._executor is not None:
                await asyncio.to_thread(self._executor.shutdown)
        finally:
            self._closed.set_result(None)

    def _delivery(self, endpoint_name: str) -> Delivery:
        if self._state is not DispatcherState.OPENED:
            raise DispatcherStateError("the webhooks dispatcher is not running")
        delivery = self._deliveries.get(endpoint_name)
        if delivery is None:
            raise NotFoundError(f"no webhook endpoint named {endpoint_name!r}")
        return delivery


def _json_object(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` as JSON has it (so a caller changing theirs changes nothing)."""
    if not isinstance(data, Mapping):
        raise EventRefusedError("an event's data is a JSON object (a mapping)")
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise EventRefusedError(f"an event's data must be JSON: {error}") from None
    if len(text.encode()) > MAX_BODY_BYTES:
        raise EventRefusedError(f"an event's data is larger than {MAX_BODY_BYTES} bytes")
    copy: dict[str, Any] = json.loads(text)
    return copy
