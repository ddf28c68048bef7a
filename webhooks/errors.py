"""Errors of the webhooks package.

::

    WebhookError
    ├── SignatureError        (also ValueError)    a delivery that fails verification: the
    │                                              header is malformed, the signature does
    │                                              not match, or it is too old
    ├── EndpointConfigError   (also ValueError)    an endpoint that cannot be used as given
    ├── EventRefusedError     (also ValueError)    an event that cannot be sent (data not a
    │                                              JSON object, too large)
    ├── OutboxFullError       (also OverflowError) an endpoint keeps as many events as it may
    ├── JournalError          (also OSError)       an event could not be written to disk
    ├── NotFoundError         (also LookupError)   no such endpoint, or no such failed event
    ├── DispatcherStateError                       publish before start or after close
    └── OrderUnavailableError (also ConnectionError) the order shared with other servers
                                                   cannot be read (webhooks/order.py)
"""

from __future__ import annotations

__all__ = [
    "DispatcherStateError",
    "EndpointConfigError",
    "EventRefusedError",
    "JournalError",
    "NotFoundError",
    "OutboxFullError",
    "SignatureError",
    "WebhookError",
]


class WebhookError(Exception):
    """Base of every error raised by ``webhooks``."""


class SignatureError(WebhookError, ValueError):
    """A ``Kotha-Signature`` header that does not prove the body came from kotha, and why."""


class EndpointConfigError(WebhookError, ValueError):
    """An endpoint's name, URL, secret or timeout cannot be used."""


class EventRefusedError(WebhookError, ValueError):
    """An event whose data is not a JSON object, or whose body is too large to send."""


class OutboxFullError(WebhookError, OverflowError):
    """The endpoint already keeps its maximum of events; this one was not stored for it."""


class JournalError(WebhookError, OSError):
    """The event could not be written to disk (full, read-only, gone)."""


class NotFoundError(WebhookError, LookupError):
    """No endpoint of that name, or no failed event of that id at that endpoint."""


class DispatcherStateError(WebhookError):
    """The dispatcher is not started, or already closed."""
