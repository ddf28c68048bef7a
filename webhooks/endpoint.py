"""Where one shop's backend wants to be told, and how: an endpoint of the configuration.

The name is the endpoint's identity across restarts (its outbox on disk is named
after it, so a changed URL or secret keeps the events not delivered yet); the
secret never shows in a repr, a log line or the admin's status.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import EndpointConfigError
from .event import EventType

__all__ = ["Endpoint"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# A secret a person could guess is no proof; secrets.token_hex(32) gives 64 characters.
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One receiver of webhooks.

    Args:
        name: letters, digits, ``_`` and ``-``; names the endpoint's outbox on disk.
        url: ``http://`` or ``https://``; redirects are not followed.
        secret: the HMAC key shared with the shop (at least 16 characters).
        events: the event types it wants (all by default); a frozenset once made.
        timeout_s: how long one attempt may take, connecting included.
    """

    name: str
    url: str
    secret: str = field(repr=False)
    events: AbstractSet[EventType] = frozenset(EventType)
    """A frozenset once made (strings are taken too: a configuration file has them)."""
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise EndpointConfigError(
                f"endpoint name {self.name!r}: use 1-64 letters, digits, '_' or '-'"
            )
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointConfigError(
                f"endpoint {self.name}: the URL must start with http:// or https:// and name a host"
            )
        if len(self.secret) < MIN_SECRET_LENGTH:
            raise EndpointConfigError(
                f"endpoint {self.name}: the secret must have at least {MIN_SECRET_LENGTH} "
                "characters"
            )
        if not self.timeout_s > 0:
            raise EndpointConfigError(f"endpoint {self.name}: timeout_s must be above 0")
        events = _event_types(self.name, self.events)
        if not events:
            raise EndpointConfigError(f"endpoint {self.name}: it wants no event type")
        object.__setattr__(self, "events", events)

    def wants(self, type: EventType) -> bool:
        return type in self.events

    @property
    def display_url(self) -> str:
        """The URL without credentials, query or fragment (they may hold a token)."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"


def _event_types(name: str, given: Iterable[EventType | str]) -> frozenset[EventType]:
    types = set()
    for value in given:
        try:
            types.add(EventType(value))
        except ValueError:
            known = ", ".join(t.value for t in EventType)
            raise EndpointConfigError(
                f"endpoint {name}: {value!r} is not an event type (one of {known})"
            ) from None
    return frozenset(types)
