"""Signing a delivery, and checking one: what proves to the shop that kotha sent it.

Stripe's scheme, which shops' developers already know: the header
``Kotha-Signature: t=<unix seconds>,v1=<hex>`` carries the time of signing and
HMAC-SHA256 of ``"<t>." + body`` under the endpoint's secret. Signing the time
with the body lets the receiver refuse a delivery replayed later; each retry is
signed afresh, so a retry a day later still verifies. A header with several
``v1=`` entries verifies when one of them matches, so a later version can sign with
two secrets while one is rotated without breaking receivers.
"""

from __future__ import annotations

import hashlib
import hmac

from .errors import SignatureError

__all__ = [
    "CONTENT_TYPE",
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "sign",
    "signed_payload",
    "verify",
]

SIGNATURE_HEADER = "Kotha-Signature"
EVENT_ID_HEADER = "Kotha-Event-Id"
EVENT_TYPE_HEADER = "Kotha-Event-Type"
CONTENT_TYPE = "application/json"
USER_AGENT = "kotha-webhooks/1"
SCHEME = "v1"
# Five minutes, as Stripe: room for clocks a little apart and a slow network, too
# short to replay a captured delivery much later.
DEFAULT_TOLERANCE_S = 300.0


def signed_payload(timestamp: int, body: bytes) -> bytes:
    """The exact bytes the HMAC is taken of: ``b"<t>." + body``."""
    return f"{timestamp}.".encode() + body


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), signed_payload(timestamp, body), hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, now: float) -> str:
    """The ``Kotha-Signature`` value for ``body`` sent at ``now`` (Unix seconds)."""
    timestamp = int(now)
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, body)}"


def verify(
    secret: str, body: bytes, header: str, now: float, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> None:
    """Check a delivery as the shop's backend does; raise :class:`SignatureError` if it fails.

    Args:
        secret: the endpoint's shared secret.
        body: the request body exactly as received (before any JSON parsing).
        header: the ``Kotha-Signature`` header.
        now: the receiver's clock, Unix seconds.
        tolerance_s: how far the signing time may be from ``now``, either way.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(
                    f"bad format: the signature's time t={value!r} is not whole Unix seconds"
                ) from None
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("bad format: the signature header has no time (t=...)")
    if not signatures:
        raise SignatureError(f"bad format: the signature header has no {SCHEME}= signature")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected.encode(), given.encode()) for given in signatures):
        raise SignatureError(
            "wrong signature: the body was changed, or it was signed with another secret"
        )
    age = now - timestamp
    if age > tolerance_s:
        raise SignatureError(
            f"too old: signed {age:.0f} s ago, more than the {tolerance_s:g} s allowed"
        )
    if -age > tolerance_s:
        raise SignatureError(
            f"signed {-age:.0f} s in the future, more than the {tolerance_s:g} s allowed: "
            "is the receiver's clock right?"
        )
