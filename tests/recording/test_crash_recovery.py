"""The server is killed with SIGKILL mid-call: the recording survives and is recovered.

Guards: stream files cut off by the kill still play up to within 2 s of it (clusters of
1 s, packets flushed as written); the next start finds the unfinished recording, finishes
it and marks it recovered. With the operator's categories configured, the recovered
recording has those matched live before the kill (as they were matched) and those only
the end of the call decides, and the search finds the call by them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

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
from tests.webhooks.receiver import Receiver


@pytest.fixture
async def server_process(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    # The peers in this process talk to the server over 127.0.0.1 only.
    aiortc_compat.restrict_ice_addresses(["127.0.0.1"])
    process = ServerProcess(tmp_path)
    yield process
    await process.stop()
    aiortc_compat.restrict_ice_addresses([])


async def call_until_killed(server_process: ServerProcess) -> tuple[str, float]:
    """A customer and an agent talk for 6 s, then the server is killed: the call's id and
    when the kill came."""
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
    return str(created["call_id"]), killed_at


def cut_off_recording(server_process: ServerProcess) -> Path:
    """The one recording folder, which the kill left unfinished."""
    (folder,) = [p for p in (server_process.data_dir / "recordings").glob("*/*/*/*") if p.is_dir()]
    assert not (folder / "meta.json").exists()
    return folder


async def recovered_meta(folder: Path) -> dict[str, Any]:
    """The meta.json the restarted server writes when it recovers ``folder``."""
    deadline = time.monotonic() + 30
    while not (folder / "meta.json").exists():
        assert time.monotonic() < deadline, "the restarted server did not recover the recording"
        await asyncio.sleep(0.2)
    meta: dict[str, Any] = json.loads((folder / "meta.json").read_text())
    return meta


async def test_recording_survives_a_kill_and_is_recovered_on_restart(
    server_process: ServerProcess,
) -> None:
    await server_process.start()
    _, killed_at = await call_until_killed(server_process)

    folder = cut_off_recording(server_process)
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
    meta = await recovered_meta(folder)
    assert meta["recovered"] is True
    assert meta["categories"] == []  # no categories_file: no call is categorised
    assert {s["role"] for s in meta["streams"]} == {"customer", "agent"}
    assert meta["duration_ms"] >= (killed_at - started["at"] - 2.0) * 1000
    with av.open(str(folder / meta["combined"]["file"])) as container:
        assert len(container.streams.audio) == 2


SHOP_SECRET = "whsec-kotha-test-0123456789"

CATEGORIES = """
[[category]]
name = "Past two seconds"
[[category.condition]]
duration = { longer_than_s = 2 }

[[category]]
name = "Short call"
[[category.condition]]
duration = { shorter_than_s = 600 }

[[category]]
name = "Disclosure missing"
[[category.condition]]
said = { by = "agent", phrases = ["this call is recorded"], within_first_s = 30, negate = true }
"""


async def test_a_call_cut_off_by_a_kill_gets_the_categories_its_end_decides(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    rules_file = tmp_path / "categories.toml"
    rules_file.write_text(CATEGORIES, encoding="utf-8")
    server_process.settings["categories_file"] = str(rules_file)
    shop = Receiver(SHOP_SECRET)  # the shop's backend, told of the call throughout
    await shop.start()
    hooks = [{"name": "shop", "url": shop.url, "secret": SHOP_SECRET}]
    server_process.settings["webhooks"] = json.dumps(hooks)
    await server_process.start()
    call_id, _ = await call_until_killed(server_process)

    folder = cut_off_recording(server_process)
    timeline = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    [live] = [e["match"] for e in timeline if e["type"] == "category_matched"]
    assert (live["category"], live["at_ms"], live["live"]) == ("Past two seconds", 2000, True)

    await server_process.start()
    meta = await recovered_meta(folder)
    kept = {m["category"]: m for m in meta["categories"]}
    assert set(kept) == {"Past two seconds", "Short call", "Disclosure missing"}
    assert kept["Past two seconds"] == live  # as the node matched it, moment and all
    assert kept["Short call"]["at_ms"] >= meta["duration_ms"]  # the end decided it
    assert kept["Disclosure missing"]["at_ms"] >= meta["duration_ms"]  # before 30 s passed
    assert not kept["Short call"]["live"] and not kept["Disclosure missing"]["live"]

    reviewer = TokenAuthority(TEST_SECRET).issue(Role.REVIEWER, "rina", name="Rina", ttl_s=600)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {reviewer}"}) as session:
        for name in kept:
            url = f"{server_process.url}/api/recordings?category={quote(name)}"
            async with session.get(url) as response:
                assert response.status == 200, await response.text()
                found = (await response.json())["recordings"]
            assert [r["call_id"] for r in found] == [call_id], name

    # The shop hears of the call's end (the restart's doing) and of the recovered
    # recording, once each, in order.
    try:
        events = await shop.wait_for(4, timeout=30)
    finally:
        await shop.stop()
    assert [(e.type, e.seq) for e in events] == [
        ("call.queued", 1),
        ("call.answered", 2),
        ("call.ended", 3),
        ("recording.ready", 4),
    ]
    assert events[2].data["reason"] == "interrupted"  # the restart ended it: told once
    ready = events[-1].data
    assert ready["recovered"] is True and ready["recording_id"] == call_id
    assert set(ready["categories"]) == set(kept)
