"""The pages' list of wire events (web/js/events.js) is node/events.py, name for name.

Guards: every ClientEvent and ServerEvent is in events.js under the same name with the
same value, nothing more, and the namespace is the same; a page that names an event
through events.js cannot drift from what the server sends and accepts.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from node.events import NAMESPACE, ClientEvent, ServerEvent

EVENTS_JS = Path(__file__).resolve().parents[2] / "web" / "js" / "events.js"


def js_object(name: str) -> dict[str, str]:
    """The `NAME: "value"` pairs of `export const <name> = Object.freeze({...})`."""
    text = EVENTS_JS.read_text(encoding="utf-8")
    body = re.search(rf"export const {name} = Object\.freeze\(\{{(.*?)\}}\);", text, re.S)
    assert body, f"events.js has no {name}"
    return dict(re.findall(r'^\s*([A-Z_]+): "([a-z_]+)",$', body.group(1), re.M))


@pytest.mark.parametrize("enum", [ClientEvent, ServerEvent], ids=lambda e: e.__name__)
def test_events_js_lists_every_event_of_events_py(enum: type[StrEnum]) -> None:
    assert js_object(enum.__name__) == {event.name: event.value for event in enum}


def test_events_js_names_the_same_namespace() -> None:
    text = EVENTS_JS.read_text(encoding="utf-8")
    assert f'export const NAMESPACE = "{NAMESPACE}";' in text
