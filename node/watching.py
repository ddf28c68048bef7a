"""Who is watching which live call (its transcript and quality, no sound), for the audit log.

Watching is monitoring, so it is audited both ways: ``watch`` when it starts (written
before anything is shown, refused if it cannot be), and ``watch_ended`` with how long it
lasted and why it ended: the supervisor stopped, their page went away, or the call ended.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from callcenter.identity import Identity

from .audit import AuditError, AuditLog, AuditRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Watch:
    identity: Identity
    source: str | None
    started_at: float


class Watches:
    """The watches open on this node, by socket and call."""

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        self._open: dict[tuple[str, str], Watch] = {}  # (sid, call_id) -> watch

    async def start(self, identity: Identity, sid: str, call_id: str, source: str | None) -> None:
        """Audit the start (raises AuditError when it cannot be written), then hold it."""
        await self._audit.record(
            AuditRecord(
                actor=identity.subject,
                role=identity.role.value,
                action="watch",
                call_id=call_id,
                source=source,
                name=identity.name,
            )
        )
        self._open.setdefault((sid, call_id), Watch(identity, source, time.time()))

    async def stop(self, sid: str, call_id: str) -> None:
        await self._end((sid, call_id), "stopped")

    async def socket_closed(self, sid: str) -> None:
        for key in [k for k in self._open if k[0] == sid]:
            await self._end(key, "page_closed")

    async def call_ended(self, call_id: str) -> None:
        for key in [k for k in self._open if k[1] == call_id]:
            await self._end(key, "call_ended")

    async def _end(self, key: tuple[str, str], reason: str) -> None:
        watch = self._open.pop(key, None)
        if watch is None:
            return
        record = AuditRecord(
            actor=watch.identity.subject,
            role=watch.identity.role.value,
            action="watch_ended",
            call_id=key[1],
            source=watch.source,
            name=watch.identity.name,
            details={"reason": reason, "duration_s": round(time.time() - watch.started_at, 1)},
        )
        try:
            await self._audit.record(record)
        except AuditError as exc:
            # The watch is over either way; its start is on record.
            logger.warning(
                "the end of %s's watch of call %s was not audited: %s",
                watch.identity.subject,
                key[1],
                exc.message,
            )
