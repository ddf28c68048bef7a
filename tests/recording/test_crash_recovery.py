"""The server is killed with SIGKILL mid-call: the recording survives and is recovered.

Guards: stream files cut off by the kill still play up to within 2 s of it (clusters of
1 s, packets flushed as written); the next start finds the unfinished recording, finishes
it and marks it recovered.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import av
import pytest

from callcenter.identity import Role
from client.participant import KothaClient
from media import aiortc_compat
from media.source import SourceKind
from signaling.auth import TokenAuthority
from tests.conftest import API_KEY, TEST_SECRET
from tests.server_process import ServerProcess
from tests.support import ToneTrack


@pytest.fixture
async def server_process(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    # The peers in this process talk to the server over 127.0.0.1 only.
    aiortc_compat.restrict_ice_addresses(["127.0.0.1"])
    process = ServerProcess(tmp_path)
    yield process
    await process.stop()
    aiortc_compat.restrict_ice_addresses([])


async def test_recording_survives_a_kill_and_is_recovered_on_restart(
    server_process: ServerProcess,
) -> None:
    await server_process.start()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server_process.url + "/api/calls",
            json={"customer": {"id": "shop-7", "name": "Karim"}},
            headers={"X-API-Key": API_KEY},
        ) as response,
    ):
        created = await response.json()
    agent_token = TokenAuthority(TEST_SECRET).issue(Role.AGENT, "rahim", name="Rahim", ttl_s=600)
    customer = KothaClient(
        server_process.url, created["token"], sources={SourceKind.MICROPHONE: ToneTrack(440)}
    )
    agent = KothaClient(
        server_process.url, agent_token, sources={SourceKind.MICROPHONE: ToneTrack(660)}
    )
    try:
        await customer.connect()
        await agent.connect()
        await customer.request_call()
        await agent.set_availability("available")
        await agent.accept_call(created["call_id"])
        await asyncio.gather(customer.join_call(), agent.join_call())
        await asyncio.sleep(6)
        killed_at = time.time()
        await server_process.kill()
    finally:
        await customer.close()
        await agent.close()

    (folder,) = [p for p in (server_process.data_dir / "recordings").glob("*/*/*/*") if p.is_dir()]
    assert not (folder / "meta.json").exists()
    started = json.loads((folder / "events.jsonl").read_text().splitlines()[0])
    assert started["type"] == "recording_started"
    parts = sorted((folder / "streams").glob("*.webm.part"))
    assert len(parts) == 2, "one file per participant stream, cut off by the kill"
    for part in parts:
        last = 0.0
        with av.open(str(part), format="webm") as container:
            try:
                for frame in container.decode(audio=0):
                    last = float(frame.pts * frame.time_base)
            except av.FFmpegError:
                pass  # the cut-off end of the file
        kill_s = killed_at - started["at"]
        assert last >= kill_s - 2.0, (
            f"{part.name} plays to {last:.2f} s, the kill was at {kill_s:.2f} s"
        )

    await server_process.start()
    deadline = time.monotonic() + 30
    while not (folder / "meta.json").exists():
        assert time.monotonic() < deadline, "the restarted server did not recover the recording"
        await asyncio.sleep(0.2)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["recovered"] is True
    assert {s["role"] for s in meta["streams"]} == {"customer", "agent"}
    assert meta["duration_ms"] >= (killed_at - started["at"] - 2.0) * 1000
    with av.open(str(folder / meta["combined"]["file"])) as container:
        assert len(container.streams.audio) == 2
