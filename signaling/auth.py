"""Signed tokens and the roles they carry.

Tokens are JWTs signed with HS256 and a secret from the config. Decoding
names the one algorithm it accepts, so ``alg=none`` and key-confusion tokens
are refused by PyJWT before any claim is read.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum, unique

import jwt

from .errors import (
    ForbiddenError,
    TokenExpiredError,
    TokenInvalidError,
    TokenMissingError,
)

ALGORITHM = "HS256"
ISSUER = "kotha"
# Tokens larger than this are refused before they are parsed.
MAX_TOKEN_LENGTH = 4096


@unique
class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    REVIEWER = "reviewer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is connected, as the token says."""

    role: Role
    subject: str
    name: str
    call_id: str | None
    """The one call a customer token is bound to; None for staff."""
    expires_at: int
    issued_at: int
    token_id: str

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise ForbiddenError(f"a {self.role.value} token cannot do this; it needs {allowed}")


class TokenAuthority:
    """Issues and verifies the tokens of one deployment."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret

    def issue(
        self,
        role: Role,
        subject: str,
        *,
        name: str = "",
        call_id: str | None = None,
        ttl_s: int,
        now: float | None = None,
    ) -> str:
        if role is Role.CUSTOMER and not call_id:
            raise ValueError("a customer token must be bound to a call")
        issued = int(time.time() if now is None else now)
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": subject,
            "role": role.value,
            "name": name or subject,
            "iat": issued,
            "exp": issued + ttl_s,
            "jti": secrets.token_urlsafe(9),
        }
        if call_id:
            claims["call"] = call_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def refresh(self, identity: Identity) -> str:
        """A new token with the same claims and the same lifetime, starting now.

        Lets a connected page keep a long call going past its token's expiry
        without asking anyone for a new link.
        """
        return self.issue(
            identity.role,
            identity.subject,
            name=identity.name,
            call_id=identity.call_id,
            ttl_s=max(60, identity.expires_at - identity.issued_at),
        )

    def verify(self, token: object) -> Identity:
        if token is None or token == "":
            raise TokenMissingError("no token: connect with auth={'token': ...}")
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalidError("the token must be a string of at most 4096 characters")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpiredError("the token has expired; get a new one") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenInvalidError(f"the token is not valid: {exc}") from exc
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise TokenInvalidError(
                f"the token names no known role: {claims.get('role')!r}"
            ) from exc
        call_id = claims.get("call")
        if role is Role.CUSTOMER and not isinstance(call_id, str):
            raise TokenInvalidError("a customer token must name the call it may join")
        subject = claims["sub"]
        name = claims.get("name")
        if not isinstance(subject, str) or not subject:
            raise TokenInvalidError("the token's subject must be a non-empty string")
        return Identity(
            role=role,
            subject=subject,
            name=name if isinstance(name, str) and name else subject,
            call_id=call_id if isinstance(call_id, str) else None,
            expires_at=int(claims["exp"]),
            issued_at=int(claims["iat"]),
            token_id=str(claims.get("jti", "")),
        )
