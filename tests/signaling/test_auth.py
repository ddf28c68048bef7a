"""Tokens: a deployment's own tokens pass, every other kind of token is refused by name.

Guards: expired, forged, alg=none, other-algorithm, unknown-role and unbound customer
tokens are refused; role checks name what is needed.
"""

from __future__ import annotations

import base64
import json
import time
import warnings

import jwt
import pytest

from callcenter.errors import (
    ForbiddenError,
    TokenExpiredError,
    TokenInvalidError,
    TokenMissingError,
)
from callcenter.identity import Role
from signaling.auth import TokenAuthority
from tests.support import token_claims, unsigned_token

SECRET = "a-secret-for-tests-that-is-long-enough-0123"


@pytest.fixture
def authority() -> TokenAuthority:
    return TokenAuthority(SECRET)


def test_agent_token_round_trips(authority: TokenAuthority) -> None:
    token = authority.issue(Role.AGENT, "rahim", name="Rahim", ttl_s=60)
    identity = authority.verify(token)
    assert (identity.role, identity.subject, identity.name, identity.call_id) == (
        Role.AGENT,
        "rahim",
        "Rahim",
        None,
    )


def test_customer_token_is_bound_to_its_call(authority: TokenAuthority) -> None:
    token = authority.issue(Role.CUSTOMER, "karim", call_id="c_0123456789", ttl_s=60)
    assert authority.verify(token).call_id == "c_0123456789"
    with pytest.raises(ValueError, match="bound to a call"):
        authority.issue(Role.CUSTOMER, "karim", ttl_s=60)


@pytest.mark.parametrize("token", [None, ""], ids=["none", "empty"])
def test_missing_token_is_refused(authority: TokenAuthority, token: str | None) -> None:
    with pytest.raises(TokenMissingError):
        authority.verify(token)


def test_expired_token_is_refused(authority: TokenAuthority) -> None:
    token = authority.issue(Role.AGENT, "rahim", ttl_s=60, now=time.time() - 120)
    with pytest.raises(TokenExpiredError, match="expired"):
        authority.verify(token)


def test_token_signed_with_another_secret_is_refused(authority: TokenAuthority) -> None:
    forged = TokenAuthority("another-secret-that-is-long-enough-xyz").issue(
        Role.ADMIN, "eve", ttl_s=60
    )
    with pytest.raises(TokenInvalidError, match="signature does not match this server's secret"):
        authority.verify(forged)


def test_alg_none_token_is_refused(authority: TokenAuthority) -> None:
    claims = token_claims(role="admin")
    with pytest.raises(TokenInvalidError):
        authority.verify(unsigned_token(claims))


def test_token_with_another_algorithm_is_refused(authority: TokenAuthority) -> None:
    claims = token_claims(role="admin")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns that the key is short for HS512
        token = jwt.encode(claims, SECRET, algorithm="HS512")
    with pytest.raises(TokenInvalidError):
        authority.verify(token)


def test_tampered_claims_are_refused(authority: TokenAuthority) -> None:
    token = authority.issue(Role.CUSTOMER, "karim", call_id="c_0123456789", ttl_s=60)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    with pytest.raises(TokenInvalidError):
        authority.verify(f"{header}.{unsigned_token(claims).split('.')[1]}.{signature}")


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"role": "janitor"}, id="unknown-role"),
        pytest.param({"role": "customer"}, id="customer-without-call"),
        pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
    ],
)
def test_tokens_with_bad_claims_are_refused(
    authority: TokenAuthority, claims: dict[str, object]
) -> None:
    with pytest.raises(TokenInvalidError):
        authority.verify(jwt.encode(token_claims(**claims), SECRET, algorithm="HS256"))


def test_oversized_and_non_string_tokens_are_refused(authority: TokenAuthority) -> None:
    with pytest.raises(TokenInvalidError):
        authority.verify("a" * 5000)
    with pytest.raises(TokenInvalidError):
        authority.verify({"token": "x"})


def test_role_check_names_the_roles_needed(authority: TokenAuthority) -> None:
    identity = authority.verify(authority.issue(Role.REVIEWER, "rina", ttl_s=60))
    with pytest.raises(ForbiddenError, match="reviewer token cannot do this; it needs agent"):
        identity.require(Role.AGENT)


def test_short_secret_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        TokenAuthority("short")
