"""Signed tokens and the roles they carry.

Tokens are JWTs signed with HS256 and a secret from the config. Decoding
names the one algorithm it accepts, so ``alg=none`` and key-confusion tokens
are refused by PyJWT before any claim is read.

Every token belongs to a *grant* (a sign-in): ``gid`` names it, ``gat`` is when
it began and ``gexp`` the latest any of its tokens may expire. Refreshing a token
keeps its grant and its lifetime and never passes ``gexp``; revoking the grant
(signaling/revocation.py) ends every token of it.
"""

from __future__ import annotations

import secrets
import time

import jwt

from callcenter.errors import (
    TokenExpiredError,
    TokenInvalidError,
    TokenMissingError,
    TokenRevokedError,
)
from callcenter.identity import Identity, Role

from .revocation import RevocationList

ALGORITHM = "HS256"
ISSUER = "kotha"
# Tokens larger than this are refused before they are parsed.
MAX_TOKEN_LENGTH = 4096
DEFAULT_MAX_SESSION_S = 24 * 3600


class TokenAuthority:
    """Issues and verifies the tokens of one deployment.

    Args:
        secret: the HS256 secret (at least 32 characters).
        max_session_s: the longest a grant lasts, however often it is refreshed.
        revocations: checked on every verification; none (a CLI, a benchmark) checks nothing.
    """

    def __init__(
        self,
        secret: str,
        *,
        max_session_s: int = DEFAULT_MAX_SESSION_S,
        revocations: RevocationList | None = None,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self.max_session_s = max_session_s
        self.revocations = revocations

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
        """A token of a new grant, valid ``ttl_s`` (a grant never outlasts ``max_session_s``)."""
        if role is Role.CUSTOMER and not call_id:
            raise ValueError("a customer token must be bound to a call")
        issued = int(time.time() if now is None else now)
        token_id = secrets.token_urlsafe(9)
        grant_end = issued + max(ttl_s, self.max_session_s)
        return self._encode(
            role=role,
            subject=subject,
            name=name or subject,
            call_id=call_id,
            issued=issued,
            expires=issued + ttl_s,
            token_id=token_id,
            grant=(token_id, issued, grant_end),
        )

    def refresh(self, identity: Identity) -> str:
        """A new token of the same grant, with the same lifetime, starting now.

        Lets a connected page keep a long call going past its token's expiry
        without asking anyone for a new link; bounded by the grant's end.
        """
        now = int(time.time())
        if now >= identity.grant_expires_at:
            raise TokenExpiredError(
                "this sign-in has lasted as long as a sign-in may; sign in again"
            )
        lifetime = max(1, identity.expires_at - identity.issued_at)
        return self._encode(
            role=identity.role,
            subject=identity.subject,
            name=identity.name,
            call_id=identity.call_id,
            issued=now,
            expires=min(now + lifetime, identity.grant_expires_at),
            token_id=secrets.token_urlsafe(9),
            grant=(identity.grant_id, identity.granted_at, identity.grant_expires_at),
        )

    def verify(self, token: object) -> Identity:
        """The identity of a valid, unexpired, unrevoked token; else an AuthError in words."""
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
                options={"require": ["exp", "iat", "sub", "iss", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpiredError("the token has expired; get a new one") from None
        except jwt.InvalidTokenError as exc:
            raise TokenInvalidError(_refusal(exc)) from None
        identity = _identity(claims, self.max_session_s)
        if self.revocations is not None and self.revocations.revoked(identity.grant):
            raise TokenRevokedError("this sign-in was revoked by an administrator; sign in again")
        return identity

    def grant_of(self, token: object) -> Identity:
        """The identity of a token of this server, expired or not (to revoke its grant)."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalidError("the token must be a string of at most 4096 characters")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "jti"], "verify_exp": False},
            )
        except jwt.InvalidTokenError as exc:
            raise TokenInvalidError(_refusal(exc)) from None
        return _identity(claims, self.max_session_s)

    def _encode(
        self,
        *,
        role: Role,
        subject: str,
        name: str,
        call_id: str | None,
        issued: int,
        expires: int,
        token_id: str,
        grant: tuple[str, int, int],
    ) -> str:
        grant_id, granted_at, grant_end = grant
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": subject,
            "role": role.value,
            "name": name,
            "iat": issued,
            "exp": expires,
            "jti": token_id,
            "gid": grant_id,
            "gat": granted_at,
            "gexp": grant_end,
        }
        if call_id:
            claims["call"] = call_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)


def _identity(claims: dict[str, object], max_session_s: int) -> Identity:
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise TokenInvalidError("the token names no role this server knows") from None
    call_id = claims.get("call")
    if role is Role.CUSTOMER and not isinstance(call_id, str):
        raise TokenInvalidError("a customer token must name the call it may join")
    subject, name, token_id = claims["sub"], claims.get("name"), claims["jti"]
    if not isinstance(subject, str) or not subject:
        raise TokenInvalidError("the token's subject must be a non-empty string")
    if not isinstance(token_id, str) or not token_id:
        raise TokenInvalidError("the token's id (jti) must be a non-empty string")
    issued_at, expires_at = _int(claims["iat"]), _int(claims["exp"])
    # Tokens issued before grants existed are each a grant of their own.
    grant_id = claims.get("gid", token_id)
    granted_at = _int(claims.get("gat", issued_at))
    grant_end = _int(claims.get("gexp", granted_at + max(max_session_s, expires_at - issued_at)))
    if not isinstance(grant_id, str) or not grant_id or granted_at > issued_at:
        raise TokenInvalidError("the token's sign-in fields (gid, gat) are not valid")
    if expires_at > grant_end:
        raise TokenInvalidError("the token outlives its sign-in")
    return Identity(
        role=role,
        subject=subject,
        name=name if isinstance(name, str) and name else subject,
        call_id=call_id if isinstance(call_id, str) else None,
        expires_at=expires_at,
        issued_at=issued_at,
        token_id=token_id,
        grant_id=grant_id,
        granted_at=granted_at,
        grant_expires_at=grant_end,
    )


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalidError("the token's times must be numbers")
    return int(value)


def _refusal(exc: jwt.InvalidTokenError) -> str:
    """Why a token is refused, in words (PyJWT's own messages are not for people)."""
    if isinstance(exc, jwt.InvalidSignatureError):
        return "the token's signature does not match this server's secret; get a new token"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "the token was not issued by this server"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "the token is not valid yet; check the clocks of this computer and the server"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return "the token lacks a field this server needs; get a new token"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "the token is signed with an algorithm this server does not accept"
    return "the token is not a valid kotha token; get a new one"
