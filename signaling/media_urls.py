"""Short-lived signed URLs for recording media.

A reviewer's token is not put on a URL (URLs end up in logs and browser
history); instead the API hands out a URL for one file of one recording,
for one viewer, valid for a limited time, signed with HMAC-SHA256 under a
key derived from the server's secret. The player then fetches byte ranges
from it without further auth.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from .errors import AuthError, TokenExpiredError


@dataclass(frozen=True, slots=True)
class MediaGrant:
    call_id: str
    key: str
    viewer: str
    expires: int
    download: bool


class MediaSigner:
    def __init__(self, secret: str) -> None:
        # A key of its own, so a media signature can never pass as a JWT or back.
        self._key = hmac.new(secret.encode(), b"kotha-media-url", hashlib.sha256).digest()

    def url(
        self, call_id: str, key: str, viewer: str, ttl_s: int, *, download: bool = False
    ) -> str:
        expires = int(time.time()) + ttl_s
        grant = MediaGrant(call_id, key, viewer, expires, download)
        query = {"v": viewer, "exp": str(expires), "sig": self._sign(grant)}
        if download:
            query["dl"] = "1"
        return f"/media/{call_id}/{key}?{urlencode(query)}"

    def verify(
        self, call_id: str, key: str, *, viewer: str, expires: str, sig: str, download: bool
    ) -> MediaGrant:
        try:
            grant = MediaGrant(call_id, key, viewer, int(expires), download)
        except ValueError as exc:
            raise AuthError("the media link is malformed") from exc
        if not hmac.compare_digest(self._sign(grant), sig):
            raise AuthError("the media link's signature is not valid")
        if grant.expires < time.time():
            raise TokenExpiredError("the media link has expired; open the recording again")
        return grant

    def _sign(self, grant: MediaGrant) -> str:
        message = (
            f"{grant.call_id}\n{grant.key}\n{grant.viewer}\n{grant.expires}\n{int(grant.download)}"
        )
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()
