"""Recorded calls leave nothing behind in memory once their recordings are finished.

Guards: after several real recorded calls between aiortc peers have ended and their
recordings are finished and indexed, the node no longer holds any of them: no recorder
waiting for late events, and the calls' recorders and packet routers are freed (weak
references to them are dead after a garbage collection). A node that kept each one
grew by about 270 KB a call until it was restarted.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref

from media.router import Router
from media.source import SourceKind
from recording.index import Query
from recording.recorder import Recorder
from tests.conftest import Server, connect_call
from tests.support import ToneTrack

CALLS = 3


async def recorded_call(server: Server) -> tuple[weakref.ref[Recorder], weakref.ref[Router]]:
    """One call that is recorded for a second of tone each way, then hung up."""
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
    )
    recorder = server.switchboard.recordings.recorder(pair.call_id)
    assert recorder is not None, "an accepted call must be recorded"
    router = server.switchboard.room(pair.call_id).plane
    assert isinstance(router, Router), "recorded calls forward packets through a Router"
    deadline = time.monotonic() + 10
    while not recorder._streams:
        assert time.monotonic() < deadline, "no media reached the recorder"
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    await pair.agent.hang_up()
    await pair.customer.close()
    await pair.agent.close()
    return weakref.ref(recorder), weakref.ref(router)


async def test_finished_recordings_are_not_kept_in_memory(server: Server) -> None:
    refs = [await recorded_call(server) for _ in range(CALLS)]
    recordings = server.switchboard.recordings
    await recordings.settle()
    assert len(await recordings.search(Query())) == CALLS, "every call was indexed"

    assert recordings._ending == {}, "finished recordings still wait for late events"
    gc.collect()
    alive = [
        name
        for recorder, router in refs
        for name, ref in (("recorder", recorder), ("router", router))
        if ref() is not None
    ]
    assert alive == [], f"still held after their calls ended: {alive}"
