"""Errors a client is refused with, each with the code it sees on the wire.

::

    KothaError
    ├── ConfigError            (also ValueError)       bad settings; the server will not start
    ├── AuthError              (also PermissionError)
    │   ├── TokenMissingError                          no token given
    │   ├── TokenExpiredError                          the token's exp has passed
    │   ├── TokenInvalidError                          forged, malformed, or alg not HS256
    │   ├── TokenRevokedError                          an administrator revoked the sign-in
    │   └── ForbiddenError                             valid token, but the role may not do this
    ├── InvalidMessageError    (also ValueError)       a message or body failed its schema
    ├── NotFoundError          (also LookupError)      no such call (or not one you may see)
    ├── CallStateError                                 the call is not in a state that allows it
    ├── QueueFullError                                 too many customers already waiting
    ├── RateLimitedError                               a client sends faster than a real one
    ├── LimitExceededError                             holds more than one client may
    │   ├── TooManySocketsError                        too many sockets on one token
    │   └── QueueShareError                            too many waiting calls from one address
    ├── ServerBusyError                                shutting down (or not ready): retry
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
    "LimitExceededError",
    "MediaRequestError",
    "NotFoundError",
    "QueueFullError",
    "QueueShareError",
    "RateLimitedError",
    "ServerBusyError",
    "TokenExpiredError",
    "TokenInvalidError",
    "TokenMissingError",
    "TokenRevokedError",
    "TooManySocketsError",
]


class KothaError(Exception):
    """Base of every refusal; ``code`` is stable and goes on the wire."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_wire(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
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


class TokenRevokedError(AuthError):
    code = "token_revoked"


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

    def __init__(
        self, message: str, *, field: str | None = None, retry_after_s: float = 1.0
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s

    def to_wire(self) -> dict[str, object]:
        return {**super().to_wire(), "retry_after_s": max(1, round(self.retry_after_s))}


class LimitExceededError(KothaError):
    code = "limit_exceeded"
    http_status = 429


class TooManySocketsError(LimitExceededError):
    code = "too_many_sockets"


class QueueShareError(LimitExceededError):
    code = "queue_share_exceeded"


class ServerBusyError(KothaError):
    code = "busy"
    http_status = 503


class MediaRequestError(KothaError):
    code = "media_error"
    http_status = 400
