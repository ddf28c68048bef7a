"""ICE servers for clients, with time-limited TURN credentials.

TURN credentials follow the TURN REST API convention (draft-uberti-behave-
turn-rest, as coturn's ``use-auth-secret`` implements it): the username is
``<expiry unix time>:<subject>`` and the password is
``base64(HMAC-SHA1(secret, username))``. The TURN server checks both with the
same shared secret, so no password is ever stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from node.config import Config


def turn_credentials(
    secret: str, subject: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    expiry = int(time.time() if now is None else now) + ttl_s
    username = f"{expiry}:{subject}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(
    config: Config, subject: str, now: float | None = None
) -> list[dict[str, object]]:
    """The ``iceServers`` list for one client's RTCPeerConnection."""
    servers: list[dict[str, object]] = []
    for server in config.ice_servers:
        entry: dict[str, object] = {"urls": list(server.urls)}
        if server.turn:
            username, credential = turn_credentials(
                config.turn_secret, subject, config.turn_ttl_s, now
            )
            entry["username"] = username
            entry["credential"] = credential
        servers.append(entry)
    return servers
