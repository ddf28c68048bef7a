"""Typed application state: the only shared state there is (no module globals)."""

from __future__ import annotations

from aiohttp import web

from node.config import Config
from node.limits import RateLimiter
from node.switchboard import Switchboard

from .auth import TokenAuthority
from .hub import CallNamespace
from .media_urls import MediaSigner
from .revocation import RevocationList
from .socket_server import SocketServer

CONFIG = web.AppKey("config", Config)
AUTHORITY = web.AppKey("authority", TokenAuthority)
SWITCHBOARD = web.AppKey("switchboard", Switchboard)
SOCKETIO = web.AppKey("socketio", SocketServer)
CALL_NAMESPACE = web.AppKey("call_namespace", CallNamespace)
GUEST_LIMITER = web.AppKey("guest_limiter", RateLimiter)
"""Guest calls per address (demo mode)."""
API_LIMITER = web.AppKey("api_limiter", RateLimiter)
"""Calls created per API key."""
REVOCATIONS = web.AppKey("revocations", RevocationList)
MEDIA_SIGNER = web.AppKey("media_signer", MediaSigner)
