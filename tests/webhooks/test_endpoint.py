"""An endpoint of the configuration is checked when it is made, in words.

Guards: a name that cannot name a file, a URL that is not http(s), a secret too
short to prove anything, a timeout of zero and an unknown event type are refused
with a message saying what to change; event types may be given as strings; the
URL shown to admins and in logs has no credentials or query.
"""

from __future__ import annotations

from typing import Any

import pytest

from webhooks import Endpoint, EndpointConfigError, EventType

GOOD: dict[str, Any] = {"name": "crm", "url": "https://shop.example/hooks", "secret": "s" * 32}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param({"name": "../etc"}, "use 1-64 letters, digits", id="name-a-path"),
        pytest.param({"url": "ftp://shop.example/"}, "must start with http://", id="not-http"),
        pytest.param({"url": "https:///hooks"}, "name a host", id="no-host"),
        pytest.param({"secret": "short"}, "at least 16 characters", id="short-secret"),
        pytest.param({"timeout_s": 0}, "timeout_s must be above 0", id="no-timeout"),
        pytest.param(
            {"events": {"call.started"}}, "'call.started' is not an event type", id="type"
        ),
        pytest.param({"events": set()}, "wants no event type", id="no-types"),
    ],
)
def test_an_endpoint_that_cannot_work_is_refused_in_words(
    change: dict[str, Any], words: str
) -> None:
    with pytest.raises(EndpointConfigError, match=words):
        Endpoint(**{**GOOD, **change})


def test_event_types_may_be_given_as_strings() -> None:
    endpoint = Endpoint(**{**GOOD, "events": {"call.ended", EventType.CALL_ABANDONED}})
    assert endpoint.events == frozenset({EventType.CALL_ENDED, EventType.CALL_ABANDONED})
    assert endpoint.wants(EventType.CALL_ENDED)
    assert not endpoint.wants(EventType.CALL_QUEUED)
    assert Endpoint(**GOOD).events == frozenset(EventType)


def test_the_url_shown_has_no_credentials_or_query() -> None:
    endpoint = Endpoint(**{**GOOD, "url": "https://user:pw@shop.example:8443/hooks?token=t#x"})
    assert endpoint.display_url == "https://shop.example:8443/hooks"
