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
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from callcenter.errors import AuthError, TokenExpiredError
from callcenter.identity import GrantRef, Identity


@dataclass(frozen=True, slots=True)
class MediaGrant:
    call_id: str
    key: str
    viewer: str
    expires: int
    download: bool
    role: str = ""
    grant_id: str = ""
    """The viewer's sign-in: revoking it (or them, or their role) ends the link too."""
    granted_at: int = 0

    @property
    def sign_in(self) -> GrantRef:
        return GrantRef(self.grant_id, self.viewer, self.role, self.granted_at)


class MediaSigner:
    def __init__(self, secret: str) -> None:
        # A key of its own, so a media signature can never pass as a JWT or back.
        self._key = hmac.new(secret.encode(), b"kotha-media-url", hashlib.sha256).digest()

    def url(
        self, call_id: str, key: str, viewer: Identity, ttl_s: int, *, download: bool = False
    ) -> str:
        """A link for ``viewer``, valid ``ttl_s`` but never past their token's own expiry."""
        expires = min(int(time.time()) + ttl_s, viewer.expires_at)
        grant = MediaGrant(
            call_id,
            key,
            viewer.subject,
            expires,
            download,
            viewer.role.value,
            viewer.grant_id,
            viewer.granted_at,
        )
        query = {
            "v": grant.viewer,
            "r": grant.role,
            "g": grant.grant_id,
            "ga": str(grant.granted_at),
            "exp": str(expires),
            "sig": self._sign(grant),
        }
        if download:
            query["dl"] = "1"
        return f"/media/{call_id}/{key}?{urlencode(query)}"

    def verify(self, call_id: str, key: str, query: Mapping[str, str]) -> MediaGrant:
        """The grant a link's query carries, if its signature holds and it has not expired."""
        try:
            grant = MediaGrant(
                call_id,
                key,
                query.get("v", ""),
                int(query.get("exp", "")),
                query.get("dl") == "1",
                query.get("r", ""),
                query.get("g", ""),
                int(query.get("ga", "0")),
            )
        except ValueError as exc:
            raise AuthError("the media link is malformed") from exc
        sig = query.get("sig", "")
        if not hmac.compare_digest(self._sign(grant), sig):
            raise AuthError("the media link's signature is not valid")
        if grant.expires < time.time():
            raise TokenExpiredError("the media link has expired; open the recording again")
        return grant

    def _sign(self, grant: MediaGrant) -> str:
        message = "\n".join(
            (
                grant.call_id,
                grant.key,
                grant.viewer,
                str(grant.expires),
                str(int(grant.download)),
                grant.role,
                grant.grant_id,
                str(grant.granted_at),
            )
        )
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()
