"""Revoked sign-ins: one token's grant, everything of one person, or everything of a role.

A token is one link in a *grant*: the sign-in it was first issued for, and every
token refreshed from it since (they share the grant id ``gid`` and the grant's
start ``gat``). Revoking a grant ends all of its tokens; revoking a subject or a
role ends every grant of theirs that started at or before the revocation, so a
person signed in again afterwards (a new grant) gets in.

The list is kept in ``revocations.jsonl`` in the data directory, appended and
fsynced record by record (off the event loop), read back at start, and re-read
when another process (``kotha revoke``) appended to it. An entry is kept only
as long as a grant it could end may live (``token_max_session_s``), so the file
stays small. Several nodes will keep it in Redis instead (the registry issue).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from enum import StrEnum, unique
from pathlib import Path
from typing import Any

from callcenter.identity import GrantRef

logger = logging.getLogger(__name__)

__all__ = ["Revocation", "RevocationKind", "RevocationList"]


@unique
class RevocationKind(StrEnum):
    GRANT = "grant"  # one sign-in: a token and all the tokens refreshed from it
    SUBJECT = "subject"  # every sign-in of one person (a departed employee, a stolen laptop)
    ROLE = "role"  # every sign-in of a role (all supervisors, say)


@dataclass(frozen=True, slots=True)
class Revocation:
    kind: RevocationKind
    value: str
    """The grant id, the subject, or the role's name."""
    revoked_at: float
    """Grants that started at or before this instant are ended."""
    until: float
    """After this no grant it ends can still be alive; the entry may be forgotten."""
    by: str
    """Who revoked (an admin's subject, or ``cli:<user>``)."""
    reason: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Revocation:
        return cls(
            kind=RevocationKind(data["kind"]),
            value=str(data["value"]),
            revoked_at=float(data["revoked_at"]),
            until=float(data["until"]),
            by=str(data.get("by", "")),
            reason=str(data.get("reason", "")),
        )


RevokedListener = Callable[[Revocation], None]


class RevocationList:
    """The revocations of one deployment's data directory, checked on every request.

    Args:
        path: the ``revocations.jsonl`` file.
        max_session_s: the longest a grant lives; an entry is kept that long.
    """

    def __init__(self, path: Path, *, max_session_s: float) -> None:
        self.path = path
        self.max_session_s = max_session_s
        self._grants: dict[str, Revocation] = {}
        self._subjects: dict[str, Revocation] = {}
        self._roles: dict[str, Revocation] = {}
        self._listeners: list[RevokedListener] = []
        self._seen: tuple[int, int] | None = None  # (size, mtime_ns) of the file last read
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="revocations")

    def __len__(self) -> int:
        return len(self._grants) + len(self._subjects) + len(self._roles)

    def on_revoked(self, listener: RevokedListener) -> None:
        """Call ``listener`` for each new revocation (the hub disconnects its sockets)."""
        self._listeners.append(listener)

    def revoked(self, grant: GrantRef) -> Revocation | None:
        """The revocation that ends ``grant``, if any (a few dict lookups: every request)."""
        found = self._grants.get(grant.grant_id)
        if found is not None:
            return found
        for table, key in ((self._subjects, grant.subject), (self._roles, grant.role)):
            entry = table.get(key)
            if entry is not None and grant.granted_at <= entry.revoked_at:
                return entry
        return None

    def entries(self) -> list[Revocation]:
        now = time.time()
        every = [*self._grants.values(), *self._subjects.values(), *self._roles.values()]
        return sorted((e for e in every if e.until > now), key=lambda e: -e.revoked_at)

    def make(
        self, kind: RevocationKind, value: str, *, by: str, reason: str = "", until: float = 0
    ) -> Revocation:
        now = time.time()
        return Revocation(
            kind=kind,
            value=value,
            revoked_at=now,
            until=max(until, now + self.max_session_s),
            by=by,
            reason=reason,
        )

    async def add(self, revocation: Revocation) -> None:
        """Write ``revocation`` to disk (fsynced), then make it take effect."""
        line = json.dumps(revocation.to_wire(), ensure_ascii=False)
        await asyncio.get_running_loop().run_in_executor(self._thread, self.append, line)
        self._take(revocation)

    def append(self, line: str) -> None:
        """Append one record and fsync it (also used directly by ``kotha revoke``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def load(self) -> int:
        """Read the file (at start); returns the entries in effect."""
        for entry in self._read():
            self._take(entry)
        return len(self)

    async def watch(self, interval_s: float = 2.0) -> None:
        """Pick up revocations another process appended, until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval_s)
            try:
                entries = await loop.run_in_executor(self._thread, self._read)
            except OSError as exc:
                logger.warning("cannot read %s (%s); revocations from the CLI wait", self.path, exc)
                continue
            for entry in entries:
                self._take(entry)

    def _read(self) -> list[Revocation]:
        """The entries still in effect, if the file changed since it was last read."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        seen = (stat.st_size, stat.st_mtime_ns)
        if seen == self._seen:
            return []
        self._seen = seen
        now = time.time()
        entries: list[Revocation] = []
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, 1):
                try:
                    entry = Revocation.from_wire(json.loads(text))
                except (ValueError, KeyError, TypeError):
                    # A line cut off by a crash mid-write is the only way to get here.
                    logger.warning("%s line %d is not a revocation; skipped", self.path, number)
                    continue
                if entry.until > now:
                    entries.append(entry)
        return entries

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    def _take(self, entry: Revocation) -> None:
        table = {
            RevocationKind.GRANT: self._grants,
            RevocationKind.SUBJECT: self._subjects,
            RevocationKind.ROLE: self._roles,
        }[entry.kind]
        current = table.get(entry.value)
        if current is not None and current.revoked_at >= entry.revoked_at:
            return
        table[entry.value] = entry
        logger.info("revoked %s %s (by %s)", entry.kind.value, entry.value, entry.by)
        for listener in self._listeners:
            listener(entry)
