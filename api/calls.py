"""The REST API: calls created by a shop's backend, guest calls for the demo, lookups.

Errors are JSON ``{"error": {"code", "message", "field"?}}`` with the matching
HTTP status; bodies are validated by the schemas in schemas.py.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from callcenter.errors import (
    AuthError,
    ForbiddenError,
    InvalidMessageError,
    KothaError,
    NotFoundError,
    RateLimitedError,
    TokenMissingError,
)
from callcenter.identity import Identity, Role
from callcenter.registry import RegistryError
from callcenter.values import CallValue
from node.ice import ice_servers_for
from node.limits import RateLimiter
from node.payloads import call_payload
from node.switchboard import Switchboard
from signaling.keys import API_LIMITER, AUTHORITY, CONFIG, GUEST_LIMITER, SWITCHBOARD
from signaling.remote import client_address
from signaling.schemas import CreateCallBody, GuestBody, Message, parse

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn our errors into JSON replies; never show a traceback to a client."""
    try:
        return await handler(request)
    except RateLimitedError as exc:
        return web.json_response(
            {"error": exc.to_wire()},
            status=exc.http_status,
            headers={"Retry-After": str(max(1, round(exc.retry_after_s)))},
        )
    except KothaError as exc:
        return web.json_response({"error": exc.to_wire()}, status=exc.http_status)
    except RegistryError as exc:
        busy = request.app[SWITCHBOARD].outage.refusal(exc, f"{request.method} {request.path}")
        return web.json_response({"error": busy.to_wire()}, status=busy.http_status)
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            return web.json_response(
                {"error": {"code": "http_error", "message": exc.reason}}, status=exc.status
            )
        raise
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return web.json_response(
            {"error": {"code": "internal_error", "message": "the server failed; try again"}},
            status=500,
        )


def bearer_identity(request: web.Request) -> Identity:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise TokenMissingError("send the token as 'Authorization: Bearer <token>'")
    return request.app[AUTHORITY].verify(token.strip())


def require_api_key(request: web.Request) -> int:
    """The index of the shop's API key the request carries (its calls are counted by it)."""
    given = request.headers.get("X-API-Key", "")
    keys = request.app[CONFIG].api_keys
    # Compare with every key, in constant time, so timing says nothing about which.
    matched = -1
    for number, key in enumerate(keys):
        if hmac.compare_digest(given.encode(), key.encode()):
            matched = number
    if not given:
        raise TokenMissingError("send the shop's API key in the X-API-Key header")
    if matched < 0:
        raise AuthError("the API key is not valid")
    return matched


def remote_address(request: web.Request) -> str:
    """The client's address (behind a trusted proxy, the one it names)."""
    return client_address(
        request.remote,
        request.headers.get("X-Forwarded-For"),
        request.app[CONFIG].proxy_networks,
    )


async def read_body(request: web.Request, model: type[M]) -> M:
    if request.content_type != "application/json":
        raise InvalidMessageError("send the body as application/json", field="$")
    try:
        data: Any = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidMessageError(f"the body is not valid JSON: {exc}", field="$") from None
    return parse(model, data)


async def healthz(request: web.Request) -> web.Response:
    """Liveness for a load balancer: nothing about calls (that is for /metrics, with a token)."""
    draining = request.app[SWITCHBOARD].draining
    return web.json_response(
        {"status": "draining" if draining else "ok"}, status=503 if draining else 200
    )


async def client_config(request: web.Request) -> web.Response:
    """What the pages need to know before they have a token."""
    config = request.app[CONFIG]
    return web.json_response(
        {
            "guest_mode": config.guest_mode,
            "languages": config.call_languages,
            "recording": config.recording_enabled,
        }
    )


async def create_call(request: web.Request) -> web.Response:
    """``POST /api/calls``: a shop's backend asks for a call and gets a join link."""
    key = require_api_key(request)
    _take(request.app[API_LIMITER], f"key:{key}", "calls created with this API key")
    body = await read_body(request, CreateCallBody)
    config = request.app[CONFIG]
    return await _new_call_response(
        request,
        subject=body.customer.id,
        name=body.customer.name,
        language=body.language,
        media=body.media,
        metadata=dict(body.metadata),
        ttl_s=config.customer_token_ttl_s,
    )


async def create_guest_call(request: web.Request) -> web.Response:
    """``POST /api/guest``: the demo customer page mints a short-lived token for one new call."""
    config = request.app[CONFIG]
    if not config.guest_mode:
        raise ForbiddenError("guest calls are switched off; the shop must create the call")
    _take(request.app[GUEST_LIMITER], remote_address(request), "guest calls from your address")
    body = await read_body(request, GuestBody)
    return await _new_call_response(
        request,
        subject="guest-" + secrets.token_hex(6),
        name=body.name or "",
        language=body.language,
        media="audio",
        metadata={"source": "guest"},
        ttl_s=config.guest_token_ttl_s,
    )


async def get_call(request: web.Request) -> web.Response:
    identity = bearer_identity(request)
    call = request.app[SWITCHBOARD].visible_call(identity, request.match_info["call_id"])
    return web.json_response({"call": call_payload(call)})


def _watched_call(request: web.Request, what: str) -> tuple[Switchboard, CallValue]:
    """The call of the request, for supervisors, admins and the call's own agent only."""
    identity = bearer_identity(request)
    identity.require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
    switchboard = request.app[SWITCHBOARD]
    call = switchboard.visible_call(identity, request.match_info["call_id"])
    own = call.agent is not None and call.agent.subject == identity.subject
    if identity.role is Role.AGENT and not own:
        raise ForbiddenError(f"an agent sees the {what} of their own calls only")
    return switchboard, call


async def get_call_quality(request: web.Request) -> web.Response:
    """The call's live quality view (the agent console's and the supervisors' figures)."""
    switchboard, call = _watched_call(request, "quality")
    quality = switchboard.quality.quality(call.call_id)
    if quality is None:
        # Not measured now (ended, or not yet answered): the summary, if there is one.
        return web.json_response(
            {
                "call_id": call.call_id,
                "live": None,
                "summary": switchboard.summaries.get(call.call_id),
            }
        )
    return web.json_response(
        {"call_id": call.call_id, "live": quality.view(), "summary": quality.summary.to_dict()}
    )


async def get_call_transcript(request: web.Request) -> web.Response:
    """What has been said in a live call so far (a console opening mid-call catches up)."""
    switchboard, call = _watched_call(request, "transcript")
    transcription = switchboard.transcription
    transcript = transcription.transcript(call.call_id)
    if transcript is None:
        raise NotFoundError("this call is not live: its transcript is with the recording")
    return web.json_response(transcript.view(transcription.pool.lag_s()))


async def list_calls(request: web.Request) -> web.Response:
    identity = bearer_identity(request)
    identity.require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
    calls = request.app[SWITCHBOARD].live_calls()
    return web.json_response({"calls": [call_payload(c) for c in calls]})


async def get_floor(request: web.Request) -> web.Response:
    """The supervisors' floor now: live calls by need of attention, the queue, the agents."""
    identity = bearer_identity(request)
    identity.require(Role.SUPERVISOR, Role.ADMIN)
    return web.json_response(request.app[SWITCHBOARD].floor.view())


async def ice_servers(request: web.Request) -> web.Response:
    identity = bearer_identity(request)
    return web.json_response(
        {"ice_servers": ice_servers_for(request.app[CONFIG], identity.subject)}
    )


async def _new_call_response(
    request: web.Request,
    *,
    subject: str,
    name: str,
    language: str,
    media: str,
    metadata: dict[str, str],
    ttl_s: int,
) -> web.Response:
    config = request.app[CONFIG]
    call = await request.app[SWITCHBOARD].customer_desk.create(
        customer_subject=subject,
        customer_name=name,
        language=language,
        media=media,
        metadata=metadata,
    )
    token = request.app[AUTHORITY].issue(
        Role.CUSTOMER, subject, name=name, call_id=call.call_id, ttl_s=ttl_s
    )
    return web.json_response(
        {
            "call_id": call.call_id,
            "token": token,
            # The token rides in the fragment: browsers never send it to a server log.
            "join_url": f"{config.base_url}/support#token={token}",
            "expires_at": int(time.time()) + ttl_s,
        },
        status=201,
    )


def _take(limiter: RateLimiter, key: str, what: str) -> None:
    if not limiter.take(key):
        wait = limiter.retry_after_s(key)
        raise RateLimitedError(
            f"too many {what} for now; try again in {max(1, round(wait))} s", retry_after_s=wait
        )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/client-config", client_config)
    app.router.add_post("/api/calls", create_call)
    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/floor", get_floor)
    app.router.add_get("/api/calls/{call_id}", get_call)
    app.router.add_get("/api/calls/{call_id}/quality", get_call_quality)
    app.router.add_get("/api/calls/{call_id}/transcript", get_call_transcript)
    app.router.add_post("/api/guest", create_guest_call)
    app.router.add_get("/api/ice-servers", ice_servers)
