"""The shop's backend told of its calls: the contacts' moments as signed webhooks.

:class:`~node.contacts.Contacts` hands each moment it has written (a call
queued, answered, ended or abandoned; a recording finished here) to
:meth:`ShopWebhooks.tell`, which makes the event's payload and publishes it
through the ``webhooks`` package (journalled on disk before it returns, then
delivered with retries). Each moment is made by one node, so each event is
published once in the whole call centre, by the node that made it.

Its ``seq`` is the moment's place in every call's story (:data:`SEQ`: queued 1,
answered 2, ended or abandoned 3, recording ready 4), so every node numbers a
call's events alike, and each event names the earlier ones it follows. With
many nodes they share in Redis what each endpoint has settled
(webhooks/redis_order.py), and an event waits for the one before it that
another node holds: the shop gets a call's events in order, whichever nodes
made them.
"""

from __future__ import annotations

import logging
from typing import Any

from analytics.transitions import ContactEvent, ContactMoment
from callcenter.values import CallValue
from webhooks import (
    Dispatcher,
    Endpoint,
    EventType,
    Follow,
    Hold,
    NotFoundError,
    RetryPolicy,
    WebhookError,
)
from webhooks.redis_order import RedisDeliveryOrder

from .config import Config

logger = logging.getLogger(__name__)

MOMENT_EVENTS = {
    ContactMoment.QUEUED: EventType.CALL_QUEUED,
    ContactMoment.ANSWERED: EventType.CALL_ANSWERED,
    ContactMoment.ENDED: EventType.CALL_ENDED,
    ContactMoment.ABANDONED: EventType.CALL_ABANDONED,
}

# Each event's place in a call's story, the same on every node: a call has each at most once.
SEQ = {
    EventType.CALL_QUEUED: 1,
    EventType.CALL_ANSWERED: 2,
    EventType.CALL_ENDED: 3,
    EventType.CALL_ABANDONED: 3,
    EventType.RECORDING_READY: 4,
}


def _follow(kind: EventType) -> Follow:
    return Follow(SEQ[kind], kind)


def moment_follows(event: ContactEvent) -> tuple[Follow, ...]:
    """The events of the call published before this moment's, nearest first."""
    call = event.call
    queued = (_follow(EventType.CALL_QUEUED),) if call.queued_at is not None else ()
    if event.moment is ContactMoment.QUEUED:
        return ()
    if event.moment is ContactMoment.ENDED and call.answered_at is not None:
        return (_follow(EventType.CALL_ANSWERED), *queued)
    return queued


def recording_follows(meta: dict[str, Any]) -> tuple[Follow, ...]:
    """recording.ready comes after the call's end, and what came before it.

    A call recorded from its answer ends as ``call.ended``; one with no answer known to
    the recording waits for nothing it may never have (an abandoned call has no ended).
    """
    call = meta.get("call") or {}
    before = []
    if call.get("answered_at") is not None:
        before += [_follow(EventType.CALL_ENDED), _follow(EventType.CALL_ANSWERED)]
    if call.get("queued_at") is not None:
        before.append(_follow(EventType.CALL_QUEUED))
    return tuple(before)


def _customer(call: CallValue) -> dict[str, Any]:
    return {"id": call.customer.subject, "name": call.customer.name}


def moment_data(event: ContactEvent) -> dict[str, Any]:
    """The ``data`` of a call's event (docs/webhooks.md has examples)."""
    call = event.call
    agent = call.agent or (call.former_agents[-1] if call.former_agents else None)
    wait_s = (
        round((call.answered_at or event.at) - call.queued_at, 3)
        if call.queued_at is not None
        else None
    )
    if event.moment is ContactMoment.QUEUED:
        return {
            "language": call.language,
            "media": call.media,
            "queued_at": call.queued_at,
            "customer": _customer(call),
            "metadata": dict(call.metadata),
        }
    if event.moment is ContactMoment.ANSWERED:
        return {
            "agent_id": agent.subject if agent else None,
            "agent_name": agent.name if agent else None,
            "answered_at": call.answered_at,
            "wait_s": wait_s,
        }
    if event.moment is ContactMoment.ABANDONED:
        return {"abandoned_at": event.at, "wait_s": wait_s, "reason": _reason(call)}
    handle = round(event.at - call.answered_at, 3) if call.answered_at is not None else None
    return {
        "ended_at": event.at,
        "handle_s": handle,
        "reason": _reason(call),
        "ended_by": _ended_by(call),
        "agent_id": agent.subject if agent and call.answered_at is not None else None,
        "hold_s": round(call.hold_total_s(event.at), 3),
        "holds": call.holds,
        "tags": list(call.tags),
    }


def _reason(call: CallValue) -> str | None:
    return call.end_reason.value if call.end_reason else None


def _ended_by(call: CallValue) -> str | None:
    """Who ended it, by role (``customer``, ``agent``), or ``system``."""
    for participant in call.participants:
        if participant.participant_id == call.ended_by:
            return participant.role
    return "system" if call.ended_by else None


def recording_data(meta: dict[str, Any], contact: dict[str, Any] | None) -> dict[str, Any]:
    """``recording.ready``: where to find it, its analytics, categories and rating."""
    return {
        "recording_id": meta["call_id"],
        "duration_s": round(int(meta.get("duration_ms") or 0) / 1000, 3),
        "recovered": bool(meta.get("recovered")),
        "analytics": {
            "conversation": meta.get("conversation"),
            "quality": meta.get("quality"),
            "transcript": {
                k: v
                for k, v in (meta.get("transcript") or {}).items()
                if k in ("state", "language", "utterances", "customer_sentiment", "keywords")
            },
        },
        "categories": list((contact or {}).get("categories") or []),
        "csat": (contact or {}).get("csat"),
    }


class ShopWebhooks:
    """This node's webhooks (none configured: nothing is sent, nothing kept)."""

    def __init__(
        self, config: Config, *, node_id: str | None = None, policy: RetryPolicy | None = None
    ) -> None:
        self.node_id = node_id
        """Named in the admin's view when there are many nodes (None: this one alone)."""
        endpoints = [
            Endpoint(
                w.name,
                w.url,
                w.secret,
                frozenset(EventType(e) for e in w.events) or frozenset(EventType),
            )
            for w in config.webhooks
        ]
        policy = policy or RetryPolicy(
            base_s=config.webhook_retry_base_s, cap_s=config.webhook_retry_cap_s
        )
        # With many nodes a call's events are in several nodes' outboxes: ordered in Redis.
        self.order = (
            RedisDeliveryOrder.from_url(config.redis_url, prefix=config.redis_prefix)
            if endpoints and config.redis_url
            else None
        )
        self.dispatcher = (
            Dispatcher(
                config.webhooks_path,
                endpoints,
                policy=policy,
                order=self.order,
                hold=Hold(config.webhook_order_hold_s),
            )
            if endpoints
            else None
        )

    async def start(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.start()

    async def close(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.close()
        if self.order is not None:
            await self.order.close()

    def status(self) -> list[dict[str, Any]]:
        """This node's endpoints as the admin sees them (webhooks.EndpointStatus), named by node."""
        if self.dispatcher is None:
            return []
        return [{**s.to_dict(), "node": self.node_id} for s in self.dispatcher.status()]

    async def retry(self, name: str, event_id: str | None) -> int:
        """Send an endpoint's given-up event (or all of them) again; how many.

        Raises :class:`webhooks.NotFoundError` for an endpoint or event this node does not have.
        """
        if self.dispatcher is None or name not in {e.name for e in self.dispatcher.endpoints}:
            raise NotFoundError(f"no webhook endpoint named {name!r}")
        if event_id is None:
            return await self.dispatcher.retry_failed(name)
        await self.dispatcher.retry(name, event_id)
        return 1

    async def tell_moment(self, event: ContactEvent) -> None:
        kind = MOMENT_EVENTS[event.moment]
        await self._publish(
            kind, event.call.call_id, moment_data(event), event.at, moment_follows(event)
        )

    async def tell_recording(
        self, meta: dict[str, Any], contact: dict[str, Any] | None, at: float
    ) -> None:
        await self._publish(
            EventType.RECORDING_READY,
            str(meta["call_id"]),
            recording_data(meta, contact),
            at,
            recording_follows(meta),
        )

    async def _publish(
        self,
        kind: EventType,
        call_id: str,
        data: dict[str, Any],
        at: float,
        follows: tuple[Follow, ...],
    ) -> None:
        if self.dispatcher is None:
            return
        try:
            await self.dispatcher.publish(
                kind, call_id, data, occurred_at=at, seq=SEQ[kind], follows=follows
            )
        except WebhookError as exc:
            # The event is refused (too large, the disk failing): said once per event, and
            # the call goes on; the admin's view of the webhooks shows the endpoint's state.
            logger.error("The %s webhook of call %s was not kept: %s", kind, call_id, exc)
