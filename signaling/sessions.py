"""A signed-in socket, and when its sign-in ends: the token expires or is revoked.

Every socket carries the identity its token proved and a message budget (a token bucket:
a browser sends a burst of ICE candidates and a few clicks; a client that sends more than
the config allows is broken or hostile). A socket's session ends on its own when the token
expires, and at once when an administrator revokes the sign-in, the person or the role;
every event checks both again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from callcenter.errors import AuthError, TokenExpiredError, TokenRevokedError
from callcenter.identity import Identity
from node.monitoring import Seat

from .auth import TokenAuthority
from .revocation import Revocation, RevocationKind

EXPIRED = "your sign-in has expired; sign in again"
REVOKED = "your sign-in was revoked by an administrator"


@dataclass(slots=True)
class SocketSession:
    """One signed-in socket: who, from where, and its message budget."""

    identity: Identity
    source: str | None
    rate: float
    burst: float
    tokens: float = 0.0
    refilled: float = field(default_factory=time.monotonic)
    sid: str = ""

    def __post_init__(self) -> None:
        self.tokens = self.burst

    @property
    def seat(self) -> Seat:
        return Seat(self.identity, self.sid, self.source)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class SessionEnds:
    """Ends sockets whose sign-in is over: a timer at each token's expiry, and revocations.

    Args:
        authority: verifies tokens; its revocation list (if any) is listened to.
        sockets: the hub's open sockets by sid.
        end: tells one socket why its session ended and closes it (run as an owned task).
    """

    def __init__(
        self,
        authority: TokenAuthority,
        sockets: Mapping[str, SocketSession],
        end: Callable[[str, AuthError], Coroutine[Any, Any, None]],
    ) -> None:
        self._authority = authority
        self._sockets = sockets
        self._end = end
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._ending: dict[str, asyncio.Task[None]] = {}
        if authority.revocations is not None:
            authority.revocations.on_revoked(self._revoked)

    def expire_at(self, sid: str, identity: Identity) -> None:
        """The socket's session ends when this identity's token expires."""
        old = self._expiry.pop(sid, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, identity.expires_at - time.time())
        self._expiry[sid] = asyncio.get_running_loop().call_later(
            delay, self.end, sid, TokenExpiredError(EXPIRED)
        )

    def forget(self, sid: str) -> None:
        """The socket closed: no timer for it any more."""
        timer = self._expiry.pop(sid, None)
        if timer is not None:
            timer.cancel()

    def check(self, session: SocketSession) -> None:
        """Every event: the token behind the socket must still be valid."""
        identity = session.identity
        if identity.expires_at <= time.time():
            raise TokenExpiredError(EXPIRED)
        revocations = self._authority.revocations
        if revocations is not None and revocations.revoked(identity.grant):
            raise TokenRevokedError(REVOKED)

    def end(self, sid: str, why: AuthError) -> None:
        """Tell the socket why its session ended, then close it (a task owned here)."""
        if sid not in self._sockets or sid in self._ending:
            return
        task = asyncio.get_running_loop().create_task(self._end(sid, why), name=f"end:{sid}")
        self._ending[sid] = task
        task.add_done_callback(lambda _: self._ending.pop(sid, None))

    async def close(self) -> None:
        """Stop the expiry timers and the session-ending tasks (the app is shutting down)."""
        for timer in self._expiry.values():
            timer.cancel()
        self._expiry.clear()
        tasks = list(self._ending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _revoked(self, revocation: Revocation) -> None:
        field_of = {
            RevocationKind.GRANT: lambda i: i.grant_id,
            RevocationKind.SUBJECT: lambda i: i.subject,
            RevocationKind.ROLE: lambda i: i.role.value,
        }[revocation.kind]
        for sid, session in list(self._sockets.items()):
            identity = session.identity
            if field_of(identity) == revocation.value and (
                revocation.kind is RevocationKind.GRANT
                or identity.granted_at <= revocation.revoked_at
            ):
                self.end(sid, TokenRevokedError(REVOKED))
