"""A node stopped as it starts lets the recording index finish opening, quietly.

Guards: stopping the server while it is still opening (and rebuilding) the recording
index neither logs an error ("cannot schedule new futures after shutdown") nor leaves
the recordings it found unindexed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp import web

from recording.index import RecordingIndex
from signaling.app import create_app
from tests.conftest import make_config
from tests.recording.test_index_and_cli import finished_recording


async def test_a_node_stopped_while_opening_its_index_stops_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    config = make_config(tmp_path)
    for n in range(3):
        finished_recording(
            config.recordings_path,
            f"c_found00000{n}",
            days_ago=n + 1,
            agent="Rahim",
            customer="Karim",
            seconds=30,
            tags=[],
        )
    runner = web.AppRunner(create_app(config), handle_signals=False, access_log=None)
    await runner.setup()  # starts opening the index, with a rebuild to do
    await runner.cleanup()  # and stops at once

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], "stopping while opening is not an error"
    index = RecordingIndex(config.recordings_path / "index.sqlite3")
    try:
        assert index.get("c_found000000") is not None, "what was found was indexed"
    finally:
        index.close()
