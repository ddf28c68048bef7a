"""Signed webhooks that tell the shop's backend about calls (docs/webhooks.md).

The server makes one :class:`Dispatcher` with its :class:`Endpoint` list, calls
``start()`` at startup and ``close()`` at shutdown, and ``publish()`` when a call
is queued, answered, ended or abandoned and when its recording is ready. The
shop checks each delivery with :func:`verify`.
"""

from .delivery import DeliveryState
from .dispatcher import Dispatcher
from .endpoint import Endpoint
from .errors import (
    DispatcherStateError,
    EndpointConfigError,
    EventRefusedError,
    JournalError,
    NotFoundError,
    OutboxFullError,
    SignatureError,
    WebhookError,
)
from .event import EventType, Follow, WebhookEvent
from .order import DeliveryOrder, Hold, OrderUnavailableError
from .retry import RetryPolicy
from .signature import sign, verify
from .status import EndpointStatus, FailedDelivery

__all__ = [
    "DeliveryOrder",
    "DeliveryState",
    "Dispatcher",
    "DispatcherStateError",
    "Endpoint",
    "EndpointConfigError",
    "EndpointStatus",
    "EventRefusedError",
    "EventType",
    "FailedDelivery",
    "Follow",
    "Hold",
    "JournalError",
    "NotFoundError",
    "OrderUnavailableError",
    "OutboxFullError",
    "RetryPolicy",
    "SignatureError",
    "WebhookError",
    "WebhookEvent",
    "sign",
    "verify",
]
