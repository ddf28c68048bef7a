"""docs/webhooks.md is what a shop's developer copies: its code and examples must be right.

Guards: the page's Python verifier accepts a real delivery kotha signed (as received
by a real receiver) and refuses a changed body, another secret and an old time; every
JSON example is an event of a type that exists, with the fields a body has; every
event type has its example; the headers named are the headers sent.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.webhooks.conftest import SECRET, OpenDispatcher, endpoint
from tests.webhooks.receiver import Receiver
from webhooks import EventType, sign
from webhooks.signature import (
    CONTENT_TYPE,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
)

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE, flags=re.DOTALL)


def the_pages_verifier() -> Callable[[str, bytes, str], dict[str, Any]]:
    (code,) = blocks("python")
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)
    verifier: Callable[[str, bytes, str], dict[str, Any]] = namespace["verify_kotha_signature"]
    return verifier


async def test_the_pages_verifier_accepts_what_kotha_sends(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    verify_kotha_signature = the_pages_verifier()
    dispatcher = await open_dispatcher(endpoint(receiver.url))
    published = await dispatcher.publish(EventType.CALL_ENDED, "call-1", {"ended_by": "কাস্টমার"})
    (got,) = await receiver.wait_for(1)

    header = got.headers["Kotha-Signature"]
    assert verify_kotha_signature(SECRET, got.body, header) == json.loads(published.to_body())
    with pytest.raises(ValueError, match="wrong signature"):
        verify_kotha_signature(SECRET, got.body.replace(b"call-1", b"call-2"), header)
    with pytest.raises(ValueError, match="wrong signature"):
        verify_kotha_signature("whsec-somebody-else-entirely", got.body, header)
    old = sign(SECRET, got.body, time.time() - 600)
    with pytest.raises(ValueError, match="too long ago"):
        verify_kotha_signature(SECRET, got.body, old)
    with pytest.raises(ValueError, match="malformed"):
        verify_kotha_signature(SECRET, got.body, "sha256=abc")


def test_every_event_type_has_a_valid_example() -> None:
    examples = [json.loads(block) for block in blocks("json")]
    assert sorted(example["type"] for example in examples) == sorted(t.value for t in EventType)
    for example in examples:
        assert list(example) == ["id", "type", "call_id", "seq", "occurred_at", "data"]
        assert re.fullmatch(r"[0-9a-f]{32}", example["id"])
        assert isinstance(example["seq"], int)
        assert isinstance(example["data"], dict)


def test_the_headers_named_are_the_headers_sent() -> None:
    for header, value in [
        ("Content-Type", CONTENT_TYPE),
        ("User-Agent", USER_AGENT),
        (EVENT_ID_HEADER, None),
        (EVENT_TYPE_HEADER, None),
        (SIGNATURE_HEADER, None),
    ]:
        assert f"| `{header}` |" in PAGE
        if value is not None:
            assert f"| `{header}` | `{value}` |" in PAGE
