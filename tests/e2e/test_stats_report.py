"""Both browser pages report their own getStats() to the server during a call.

Guards: within ~12 s of connecting, the server holds a report from the customer's page and
from the agent's, with what only the browser knows (how long audio waited in its jitter
buffer, the share of it concealed), and the agent's live quality view shows the customer's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from callcenter.in_call import party_of

from .conftest import PagesFactory
from .test_browser_call import start_voice_call

pytestmark = pytest.mark.e2e

REPORTS_WITHIN_S = 12.0


async def test_both_pages_report_their_own_view_of_the_audio(open_pages: PagesFactory) -> None:
    pages = await open_pages()
    await start_voice_call(pages)
    switchboard = pages.server.switchboard
    call_id = next(c.call_id for c in switchboard.live_calls())

    deadline = time.monotonic() + REPORTS_WITHIN_S
    reports: dict[str, Any] = {}
    while time.monotonic() < deadline:
        quality = switchboard.quality.quality(call_id)
        reports = dict(quality.reports) if quality else {}
        if len(reports) == 2:
            break
        await asyncio.sleep(0.2)
    call = switchboard.calls[call_id]
    roles = {
        (p.role if (p := party_of(call, pid)) else pid): report for pid, report in reports.items()
    }
    assert set(roles) == {"customer", "agent"}, f"reports: {reports}\n{pages.logs()}"
    for role, report in roles.items():
        audio = report.get("audio") or {}
        assert "jitter_buffer_delay_ms" in audio and audio["jitter_buffer_delay_ms"] >= 0, (
            role,
            report,
        )
        assert 0 <= audio.get("concealed_pct", -1) <= 100, (role, report)
    view = switchboard.quality.quality(call_id)
    assert view is not None
    customer = next(p for p in view.view()["participants"] if p["role"] == "customer")
    assert customer["reported"]["audio"] == roles["customer"]["audio"]
