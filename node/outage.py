"""When the shared call registry (Redis) cannot be reached: refuse in words, log it rarely.

Calls in progress keep their media (nothing on a media path waits on the registry); what
needs the registry (a sign-in, taking a call, changing availability) is refused with
"busy, try again", and the operators' log says so once every ``every_s``, with how many
refusals it did not list, instead of a traceback per refusal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from callcenter.errors import ServerBusyError
from callcenter.registry import RegistryError

logger = logging.getLogger(__name__)

BUSY_MESSAGE = "the call centre cannot reach its shared state right now; try again in a moment"


class RegistryOutage:
    """Turns a registry failure into a refusal, and tells the operators now and then."""

    def __init__(self, every_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._every_s = every_s
        self._clock = clock
        self._said_at: float | None = None
        self._unsaid = 0
        self.refusals = 0

    def refusal(self, exc: RegistryError, what: str) -> ServerBusyError:
        """The refusal for ``what`` (a sign-in, an event's name) that failed with ``exc``."""
        self.refusals += 1
        now = self._clock()
        if self._said_at is None or now - self._said_at >= self._every_s:
            more = f" ({self._unsaid} more refused since the last line)" if self._unsaid else ""
            logger.warning(
                "%s refused: %s. Calls in progress keep their media; check that Redis "
                "(redis_url) is up and reachable from this node%s",
                what,
                str(exc).rstrip("."),
                more,
            )
            self._said_at, self._unsaid = now, 0
        else:
            self._unsaid += 1
        return ServerBusyError(BUSY_MESSAGE)
