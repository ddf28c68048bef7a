"""The shop proves a delivery came from kotha: ``Kotha-Signature`` and its check.

Guards:
- the signature is HMAC-SHA256 of exactly ``"<t>." + body`` under the shared secret,
  so a shop that never saw kotha's code can check it (docs/webhooks.md);
- a changed body, another secret, an old (or far future) time and a malformed header
  each fail with a message that says which, in plain words;
- a header with several v1 signatures verifies when one of them matches.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from webhooks import SignatureError, sign, verify
from webhooks.signature import signed_payload

SECRET = "whsec-0123456789abcdef"
BODY = (
    '{"id":"8f1c","type":"call.ended","call_id":"c-1","seq":3,"occurred_at":1767000000.0,'
    '"data":{"ended_by":"কাস্টমার"}}'
).encode()
NOW = 1_767_000_000.25


def test_the_shop_checks_a_delivery_with_the_shared_secret() -> None:
    header = sign(SECRET, BODY, NOW)
    verify(SECRET, BODY, header, now=NOW + 2)


def test_the_signature_is_hmac_sha256_of_the_time_a_dot_and_the_body() -> None:
    header = sign(SECRET, BODY, NOW)
    expected = hmac.new(SECRET.encode(), b"1767000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1767000000,v1={expected}"
    assert signed_payload(1767000000, BODY) == b"1767000000." + BODY


def test_a_tampered_body_fails_as_a_wrong_signature() -> None:
    header = sign(SECRET, BODY, NOW)
    tampered = BODY.replace(b'"seq":3', b'"seq":4')
    with pytest.raises(SignatureError, match="wrong signature: the body was changed"):
        verify(SECRET, tampered, header, now=NOW)


def test_another_secret_fails_as_a_wrong_signature() -> None:
    header = sign("whsec-somebody-else-entirely", BODY, NOW)
    with pytest.raises(SignatureError, match="signed with another secret"):
        verify(SECRET, BODY, header, now=NOW)


def test_a_delivery_signed_long_ago_fails_as_too_old() -> None:
    header = sign(SECRET, BODY, NOW - 3600)
    with pytest.raises(SignatureError, match=r"too old: signed 3600 s ago, more than the 300 s"):
        verify(SECRET, BODY, header, now=NOW)


def test_a_delivery_signed_in_the_far_future_blames_the_clock() -> None:
    header = sign(SECRET, BODY, NOW + 3600)
    with pytest.raises(SignatureError, match=r"in the future.*receiver's clock"):
        verify(SECRET, BODY, header, now=NOW)


def test_a_replay_within_the_tolerance_still_verifies_and_the_tolerance_is_the_shops() -> None:
    header = sign(SECRET, BODY, NOW - 250)
    verify(SECRET, BODY, header, now=NOW)
    with pytest.raises(SignatureError, match="too old"):
        verify(SECRET, BODY, header, now=NOW, tolerance_s=60)


@pytest.mark.parametrize(
    ("header", "words"),
    [
        pytest.param("", "no time", id="empty"),
        pytest.param("v1=abcdef", "no time", id="no-time"),
        pytest.param("t=1767000000", "no v1= signature", id="no-signature"),
        pytest.param("t=yesterday,v1=abcdef", "not whole Unix seconds", id="time-not-a-number"),
        pytest.param("sha256=abcdef", "no time", id="another-scheme"),
    ],
)
def test_a_malformed_header_fails_as_bad_format(header: str, words: str) -> None:
    with pytest.raises(SignatureError, match=f"bad format: .*{words}"):
        verify(SECRET, BODY, header, now=NOW)


def test_a_signature_that_is_not_hex_fails_without_crashing() -> None:
    with pytest.raises(SignatureError, match="wrong signature"):
        verify(SECRET, BODY, "t=1767000000,v1=ঠিক আছে", now=NOW)


def test_one_matching_signature_of_several_is_enough() -> None:
    good = sign(SECRET, BODY, NOW).split(",")[1]
    verify(SECRET, BODY, f"t=1767000000,v1={'0' * 64},{good}", now=NOW)


def test_a_signature_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        verify(SECRET, BODY, "", now=NOW)
