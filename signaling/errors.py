"""Errors of the signalling layer, each with the code a client sees.

::

    KothaError
    ├── ConfigError            (also ValueError)       bad settings; the server will not start
    ├── AuthError              (also PermissionError)
    │   ├── TokenMissingError                          no token given
    │   ├── TokenExpiredError                          the token's exp has passed
    │   ├── TokenInvalidError                          forged, malformed, or alg not HS256
    │   └── ForbiddenError                             valid token, but the role may not do this
    ├── InvalidMessageError    (also ValueError)       a message or body failed its schema
    ├── NotFoundError          (also LookupError)      no such call (or not one you may see)
    ├── CallStateError                                 the call is not in a state that allows it
    ├── QueueFullError                                 too many customers already waiting
    ├── RateLimitedError                               a client sends faster than a real one
    └── MediaRequestError                              media refused it (bad SDP, stale answer)
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "CallStateError",
    "ConfigError",
    "ForbiddenError",
    "InvalidMessageError",
    "KothaError",
    "MediaRequestError",
    "NotFoundError",
    "QueueFullError",
    "RateLimitedError",
    "TokenExpiredError",
    "TokenInvalidError",
    "TokenMissingError",
]


class KothaError(Exception):
    """Base of every signalling error; ``code`` is stable and goes on the wire."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_wire(self) -> dict[str, str]:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return error


class ConfigError(KothaError, ValueError):
    code = "config_error"


class AuthError(KothaError, PermissionError):
    code = "unauthorized"
    http_status = 401


class TokenMissingError(AuthError):
    code = "token_missing"


class TokenExpiredError(AuthError):
    code = "token_expired"


class TokenInvalidError(AuthError):
    code = "token_invalid"


class ForbiddenError(AuthError):
    code = "forbidden"
    http_status = 403


class InvalidMessageError(KothaError, ValueError):
    code = "invalid_message"
    http_status = 422


class NotFoundError(KothaError, LookupError):
    code = "not_found"
    http_status = 404


class CallStateError(KothaError):
    code = "call_state"
    http_status = 409


class QueueFullError(KothaError):
    code = "queue_full"
    http_status = 503


class RateLimitedError(KothaError):
    code = "rate_limited"
    http_status = 429


class MediaRequestError(KothaError):
    code = "media_error"
    http_status = 400
