"""One attempt to deliver one event: a signed POST, and what went wrong said in words.

This is the one place aiohttp's exceptions are caught and translated: the
admin's status and the log read "the receiver answered 500" or "could not
connect to https://shop.example/hooks: connection refused", never an exception's
repr. Only a 2xx answer is a delivery. Redirects are not followed (a webhook
URL that moved is a configuration to fix, and following it would send the
signed body somewhere nobody configured). Neither the secret nor the body is
ever part of an error.
"""

from __future__ import annotations

import os
import ssl
from http import HTTPStatus

import aiohttp

from .endpoint import Endpoint
from .event import WebhookEvent
from .signature import (
    CONTENT_TYPE,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
    sign,
)

__all__ = ["request_headers", "send"]


def request_headers(
    endpoint: Endpoint, event: WebhookEvent, body: bytes, now: float
) -> dict[str, str]:
    """The headers of a delivery of ``event`` (``body``) signed at ``now``."""
    return {
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event.id,
        EVENT_TYPE_HEADER: str(event.type),
        SIGNATURE_HEADER: sign(endpoint.secret, body, now),
    }


async def send(
    session: aiohttp.ClientSession, endpoint: Endpoint, event: WebhookEvent, now: float
) -> str | None:
    """POST ``event`` to ``endpoint``: None if it was taken (2xx), else why not, in words."""
    body = event.to_body()
    try:
        async with session.post(
            endpoint.url,
            data=body,
            headers=request_headers(endpoint, event, body, now),
            timeout=aiohttp.ClientTimeout(total=endpoint.timeout_s),
            allow_redirects=False,
        ) as response:
            status = response.status
            location = response.headers.get("Location", "")[:200]
    except TimeoutError:  # aiohttp's timeouts are TimeoutErrors too
        return f"no answer within {endpoint.timeout_s:g} s"
    except aiohttp.ClientError as error:
        return _explain(endpoint, error)
    except (OSError, ssl.SSLError) as error:
        return f"could not connect to {endpoint.display_url}: {_os_reason(error)}"
    if 200 <= status < 300:
        return None
    return _answered(status, location)


def _answered(status: int, location: str) -> str:
    try:
        phrase = f" ({HTTPStatus(status).phrase})"
    except ValueError:
        phrase = ""
    said = f"the receiver answered {status}{phrase}"
    if 300 <= status < 400:
        where = f" to {location}" if location else ""
        return f"{said}, a redirect{where}: redirects are not followed, configure the new URL"
    return said


def _explain(endpoint: Endpoint, error: aiohttp.ClientError) -> str:
    where = endpoint.display_url
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return f"could not connect to {where}: its TLS certificate is not trusted"
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"could not connect to {where}: {_os_reason(error.os_error)}"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "the receiver closed the connection without answering"
    if isinstance(error, aiohttp.ClientSSLError):
        return f"could not connect to {where}: TLS failed"
    if isinstance(error, aiohttp.InvalidURL):
        return f"the URL {where} is not valid"
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return "the receiver's answer could not be read (not valid HTTP)"
    if isinstance(error, aiohttp.ClientOSError):
        return f"the connection to {where} failed: {_os_reason(error)}"
    return f"the request to {where} failed ({type(error).__name__})"


def _os_reason(error: OSError) -> str:
    """``connection refused``, ``name or service not known``...: the OS's words, lower case."""
    if isinstance(error, ssl.SSLError):
        return "TLS failed"
    if error.errno is not None and error.errno > 0:
        return os.strerror(error.errno).lower()
    reason = error.strerror or str(error) or type(error).__name__
    return reason[:1].lower() + reason[1:]
