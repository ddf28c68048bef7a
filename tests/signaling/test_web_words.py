"""Every reason the server gives for ending a supervisor's monitoring has words on the dashboard.

Guards: a session stopped because the agent's connection was lost showed "Listening stopped
(agent_lost)." (a code, not words). The reasons are read from node/monitoring.py (each
``self._end(..., "<reason>")``) and the words from web/js/floor-words.js (MONITOR_END_WORDS).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def monitor_end_reasons() -> set[str]:
    source = (ROOT / "node" / "monitoring.py").read_text(encoding="utf-8")
    return set(re.findall(r'self\._end(?:_all)?\([^)]*?"([a-z_]+)"\)', source))


def monitor_end_words() -> dict[str, str]:
    text = (ROOT / "web" / "js" / "floor-words.js").read_text(encoding="utf-8")
    body = re.search(r"export const MONITOR_END_WORDS = \{(.*?)\n\};", text, re.S)
    assert body, "floor-words.js has no MONITOR_END_WORDS"
    return dict(re.findall(r'^\s*([a-z_]+): "(.+)",$', body.group(1), re.M))


def test_every_end_of_monitoring_is_said_in_words() -> None:
    reasons, words = monitor_end_reasons(), monitor_end_words()
    assert {"stopped", "call_ended", "agent_lost"} <= reasons, reasons
    assert sorted(reasons - words.keys()) == []
    for reason in reasons:
        assert "_" not in words[reason] and words[reason].endswith("."), words[reason]
