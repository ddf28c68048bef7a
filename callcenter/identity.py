"""Who is connected and what their role lets them do.

A token (``signaling.auth``) says who someone is; these are the plain values it becomes,
read by every layer below the edges: the role, the person, the one call a customer may
join, and the sign-in (*grant*) the token belongs to, which an administrator can revoke.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum, unique
from typing import Any

from .errors import ForbiddenError

__all__ = ["FLOOR_ROLES", "REPLAY_ROLES", "GrantRef", "Identity", "Role"]


@unique
class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    REVIEWER = "reviewer"
    ADMIN = "admin"


FLOOR_ROLES = (Role.SUPERVISOR, Role.ADMIN)
"""Who sees the live floor (the dashboard), watches and monitors calls, and takes part in none."""
REPLAY_ROLES = (Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)
"""Who may find, replay and download recordings."""


@dataclass(frozen=True, slots=True)
class GrantRef:
    """What is checked of a token: its grant, its person, its role, when the grant began."""

    grant_id: str
    subject: str
    role: str
    granted_at: float


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is connected, as the token says."""

    role: Role
    subject: str
    name: str
    call_id: str | None
    """The one call a customer token is bound to; None for staff."""
    expires_at: int
    issued_at: int
    token_id: str
    grant_id: str
    """The sign-in this token belongs to: the first token's id, kept by every refresh."""
    granted_at: int
    grant_expires_at: int
    """No token of this grant may expire later than this."""

    @property
    def grant(self) -> GrantRef:
        return GrantRef(self.grant_id, self.subject, self.role.value, self.granted_at)

    def to_record(self) -> dict[str, Any]:
        """The identity as plain values (a request relayed to another node carries it)."""
        return {**asdict(self), "role": self.role.value}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Identity:
        return cls(**{**record, "role": Role(record["role"])})

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise ForbiddenError(f"a {self.role.value} token cannot do this; it needs {allowed}")
