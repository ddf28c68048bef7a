"""A call recorded between real aiortc peers: everything lands where it happened.

Guards: one track per participant stream; the customer's beep at 2 s and the agent's at
3 s are there within 40 ms; 5 % packet loss on one leg does not move later audio; a
3-second pause is silence of the right length, holds nothing said during it, and the
audio after it stays in place; the folder is finished with checksums and a timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import Server
from tests.support import BeepTrack, beep_onsets, drop_every

TOLERANCE_S = 0.040


async def record_call(
    server: Server,
    *,
    customer_beeps: list[float],
    agent_beeps: list[float],
    until: float,
    pause: tuple[float, float] | None = None,
    customer_loss_every: int | None = None,
    page_reports_every_s: float | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run a call whose parties beep at the given call times; return the finished folder."""
    customer_mic, agent_mic = BeepTrack(1000, []), BeepTrack(1500, [])
    call_id, token = await server.customer_call("Karim")
    customer = server.client(token, sources={SourceKind.MICROPHONE: customer_mic})
    agent = server.client(
        server.token(Role.AGENT, "Rahim"), sources={SourceKind.MICROPHONE: agent_mic}
    )
    await customer.connect()
    await agent.connect()
    await customer.request_call()
    await agent.set_availability("available")
    await agent.accept_call(call_id)
    recorder = server.switchboard.recordings.recorder(call_id)
    assert recorder is not None, "an accepted call must be recorded"
    t0 = recorder.started_perf
    customer_mic.beeps = [(t0 + t, 0.25) for t in customer_beeps]
    agent_mic.beeps = [(t0 + t, 0.25) for t in agent_beeps]
    await asyncio.gather(customer.join_call(), agent.join_call())

    if customer_loss_every:
        deadline = time.monotonic() + 10
        while customer.peer is None or customer.peer.pc.connectionState != "connected":
            assert time.monotonic() < deadline, "the customer's media never connected"
            await asyncio.sleep(0.05)
        dropped = drop_every(customer.peer.pc.getSenders()[0].transport, customer_loss_every)

    async def at(t: float) -> None:
        await asyncio.sleep(max(0.0, t0 + t - time.perf_counter()))

    async def report_like_pages() -> None:
        # What the browser pages send of their own getStats(), as they do, every few seconds.
        assert page_reports_every_s is not None
        report = {"call_id": call_id, "audio": {"jitter_ms": 2.0, "concealed_pct": 0.0}}
        while True:
            await asyncio.sleep(page_reports_every_s)
            for party in (customer, agent):
                await party.request("report_quality", report)

    reporting = asyncio.create_task(report_like_pages()) if page_reports_every_s else None

    if pause is not None:
        await at(pause[0])
        assert (await agent.request("pause_recording", {"call_id": call_id}))[
            "recording"
        ] == "paused"
        await at(pause[1])
        assert (await agent.request("resume_recording", {"call_id": call_id}))[
            "recording"
        ] == "recording"
    await at(until)
    if reporting is not None:
        reporting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporting
    await agent.hang_up()
    await server.switchboard.recordings.settle()
    if customer_loss_every:
        assert len(dropped) > 10, "the loss pattern did not apply"
    meta_path = recorder.folder / "meta.json"
    assert meta_path.is_file(), "the recording was not finished"
    return recorder.folder, json.loads(meta_path.read_text())


def tracks_by_role(folder: Path, meta: dict[str, Any]) -> dict[str, tuple[np.ndarray, int, float]]:
    """Each audio track of recording.webm as a timeline: samples placed at their pts.

    Placing by timestamp (not playing frames back to back) shows where a
    player that honours timestamps puts each sound; the two agree only if
    the track has no gaps.
    """
    roles = [s["role"] for s in meta["streams"]]
    result: dict[str, tuple[np.ndarray, int, float]] = {}
    with av.open(str(folder / meta["combined"]["file"])) as container:
        for index, stream in enumerate(container.streams.audio):
            placed: list[tuple[float, np.ndarray]] = []
            rate = 48000
            for frame in container.decode(stream):
                rate = frame.sample_rate
                placed.append((float(frame.pts * frame.time_base), first_channel(frame)))
            container.seek(0)
            start = placed[0][0]
            end = max(t + len(x) / rate for t, x in placed)
            timeline = np.zeros(int((end - start) * rate) + 1)
            covered = 0
            for t, x in placed:
                at = round((t - start) * rate)
                timeline[at : at + len(x)] = x
                covered += len(x)
            assert covered >= 0.98 * len(timeline), "the audio track has gaps"
            result[roles[index]] = (timeline, rate, start)
    return result


def first_channel(frame: av.AudioFrame) -> np.ndarray:
    """The first channel of a decoded frame, on the 16-bit scale whatever the sample format."""
    data = frame.to_ndarray()
    channel = (
        data[0] if frame.format.is_planar else data.reshape(-1, len(frame.layout.channels))[:, 0]
    )
    if frame.format.name.startswith("flt"):
        return channel * 32767.0
    return channel.astype(np.float64)


def onsets(track: tuple[np.ndarray, int, float]) -> list[float]:
    samples, rate, start = track
    return [start + t for t in beep_onsets(samples, rate)]


async def test_beeps_land_where_they_were_said(server: Server) -> None:
    folder, meta = await record_call(server, customer_beeps=[2.0], agent_beeps=[3.0], until=4.0)
    assert {(s["role"], s["source"]) for s in meta["streams"]} == {
        ("customer", "microphone"),
        ("agent", "microphone"),
    }
    tracks = tracks_by_role(folder, meta)
    assert len(tracks) == 2, "one track per participant stream"
    assert onsets(tracks["customer"]) == pytest.approx([2.0], abs=TOLERANCE_S)
    assert onsets(tracks["agent"]) == pytest.approx([3.0], abs=TOLERANCE_S)


async def test_packet_loss_on_one_leg_does_not_shift_later_audio(server: Server) -> None:
    folder, meta = await record_call(
        server, customer_beeps=[2.0, 3.5], agent_beeps=[3.0], until=4.5, customer_loss_every=20
    )
    tracks = tracks_by_role(folder, meta)
    assert onsets(tracks["customer"]) == pytest.approx([2.0, 3.5], abs=TOLERANCE_S)
    assert onsets(tracks["agent"]) == pytest.approx([3.0], abs=TOLERANCE_S)


async def test_a_pause_is_silence_and_later_audio_stays_in_place(server: Server) -> None:
    folder, meta = await record_call(
        server,
        customer_beeps=[1.5, 3.5],  # the second is said while recording is paused
        agent_beeps=[5.5],
        until=6.5,
        pause=(2.5, 5.0),
    )
    tracks = tracks_by_role(folder, meta)
    assert onsets(tracks["customer"]) == pytest.approx([1.5], abs=TOLERANCE_S)
    assert onsets(tracks["agent"]) == pytest.approx([5.5], abs=TOLERANCE_S)
    (pause,) = meta["pauses"]
    assert pause["start_ms"] == pytest.approx(2500, abs=100)
    assert pause["end_ms"] == pytest.approx(5000, abs=100)
    # The paused stretch is there, as silence, so the recording keeps its length.
    samples, rate, start = tracks["customer"]
    assert start + len(samples) / rate >= 6.3
    paused = samples[int((2.6 - start) * rate) : int((4.9 - start) * rate)]
    assert len(paused) > 2 * rate and np.abs(paused).max() < 50


async def test_finished_folder_has_checksums_and_a_timeline(server: Server) -> None:
    folder, meta = await record_call(server, customer_beeps=[1.0], agent_beeps=[1.5], until=2.0)
    import hashlib

    for stream in meta["streams"]:
        data = (folder / stream["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == stream["sha256"]
    assert not list(folder.rglob("*.part")), "finished files are renamed from .part"
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "recording_started"
    assert kinds.count("participant_joined") == 2
    assert "call_ended" in kinds and kinds[-1] == "recording_stopped"
    assert meta["recovered"] is False
    assert meta["call"]["customer"]["name"] == "Karim"


async def test_dual_channel_file_has_the_customer_left_and_the_agent_right(server: Server) -> None:
    import wave

    folder, meta = await record_call(server, customer_beeps=[1.0], agent_beeps=[2.0], until=3.0)
    dual = meta["renditions"]["dual_channel"]
    with wave.open(str(folder / dual["file"])) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 16000)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    left, right = samples[:, 0].astype(np.float64), samples[:, 1].astype(np.float64)
    assert beep_onsets(left, 16000) == pytest.approx([1.0], abs=TOLERANCE_S)
    assert beep_onsets(right, 16000) == pytest.approx([2.0], abs=TOLERANCE_S)
    # Each beep is on its own side only.
    assert np.abs(left[int(1.95 * 16000) : int(2.2 * 16000)]).max() < 100
    assert np.abs(right[int(0.95 * 16000) : int(1.2 * 16000)]).max() < 100
    # The player's rendition holds both parties, and seeks (it has cues).
    with av.open(str(folder / meta["renditions"]["playback"]["file"])) as playback:
        assert len(playback.streams.audio) == 1
        playback.seek(2_000_000)  # 2 s, in microseconds
        frame = next(playback.decode(audio=0))
        assert float(frame.pts * frame.time_base) == pytest.approx(2.0, abs=0.1)
