"""Typed application state: the only shared state there is (no module globals)."""

from __future__ import annotations

import socketio
from aiohttp import web

from .auth import TokenAuthority
from .config import Config
from .hub import CallNamespace
from .media_urls import MediaSigner
from .switchboard import Switchboard

CONFIG = web.AppKey("config", Config)
AUTHORITY = web.AppKey("authority", TokenAuthority)
SWITCHBOARD = web.AppKey("switchboard", Switchboard)
SOCKETIO = web.AppKey("socketio", socketio.AsyncServer)
CALL_NAMESPACE = web.AppKey("call_namespace", CallNamespace)
GUEST_LIMITER = web.AppKey("guest_limiter", dict)
MEDIA_SIGNER = web.AppKey("media_signer", MediaSigner)
