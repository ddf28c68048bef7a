"""``kotha bench join``: how soon an agent who joins a video call late sees the customer.

When the agent joins, the customer's camera has been sending for a while and its one
keyframe is long gone (aiortc's VP8 encoder makes one every 3000 frames unless asked), so
the agent's decoder has nothing to show until the server asks the customer's sender for a
new one (a PLI passed upstream, ``media/router.py``) and it arrives. That wait is the
figure. ``tests/media/test_call_media.py`` once asserted it (within 1.0 s of
``join_call``); the test now checks only that the picture comes after a keyframe request.

kotha runs as its own process, as an operator runs it (:func:`~bench.server.start_server`).
For each of ``joins`` video calls, made through the REST API and each taken by its own
agent, one call at a time:

1. the customer (a :class:`~client.participant.KothaClient` whose camera is aiortc's
   ``VideoStreamTrack``: 640x480, 30 frames a second) joins the media;
2. once the agent's ``quality_updated`` shows the customer's camera arriving at the
   server, ``lead_s`` more seconds pass;
3. the agent sends ``join_call`` and the clock starts: ``join_ack_ms`` when its ack is
   back, ``track_ms`` when the agent's peer has the camera's track (the server's offer
   answered), ``connected_ms`` when that peer's connection is up (ICE and DTLS done),
   ``first_frame_ms`` when the agent's decoder gives the first picture;
4. both leave the call.

Besides percentiles over the joins, the result has the server's CPU, this process's (the
clients'), ``other_cpu_cores`` (the rest of the machine over the run) and the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack, VideoStreamTrack
from av import VideoFrame

from client.participant import ClientError, KothaClient
from media import aiortc_compat
from media.source import SourceKey, SourceKind
from node.events import ServerEvent

from .measure import CpuClock, machine_info, spread
from .server import create_calls, running_server, take_call

LEAD_S = 2.0
MEDIA_TIMEOUT_S = 15.0
# What tests/media/test_call_media.py asserted of every late join before it became a figure.
TARGET_FIRST_FRAME_MS = 1000.0


@dataclass(frozen=True, slots=True)
class Join:
    """One late join, in ms from the agent's ``join_call``."""

    join_ack_ms: float
    track_ms: float
    connected_ms: float
    first_frame_ms: float
    width: int
    height: int


async def run_join_benchmark(
    *, joins: int, lead_s: float = LEAD_S, quiet: bool = False
) -> dict[str, Any]:
    """Time ``joins`` late joins, one call at a time; the figures as one JSON-able dict."""
    if joins < 1 or lead_s < 0:
        raise ValueError("joins must be at least 1 and lead_s not negative")

    def progress(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    aiortc_compat.restrict_ice_addresses(["127.0.0.1"])
    try:
        with tempfile.TemporaryDirectory(prefix="kotha-bench-join-") as tmp:
            async with running_server("forward", Path(tmp)) as server:
                specs = await create_calls(server.url, server.secret, joins, media="video")
                clock = CpuClock(server.process.pid)
                results: list[Join] = []
                errors: list[str] = []
                for index, spec in enumerate(specs):
                    try:
                        join = await _late_join(server.url, spec, lead_s)
                    except (TimeoutError, ClientError, ConnectionError) as exc:
                        errors.append(f"join {index + 1}: {type(exc).__name__}: {exc}")
                        progress(f"bench[join]: {errors[-1]}")
                        continue
                    results.append(join)
                    progress(
                        f"bench[join]: {index + 1}/{joins}: first frame "
                        f"{join.first_frame_ms:.0f} ms after join_call"
                    )
                cpu = clock.read()
    except RuntimeError as exc:  # the server did not start, or the calls could not be made
        return {"benchmark": "join", "joins": joins, "error": str(exc)}
    finally:
        aiortc_compat.restrict_ice_addresses([])
    return _figures(results, errors, joins=joins, lead_s=lead_s, cpu=cpu)


async def _late_join(url: str, spec: dict[str, str], lead_s: float) -> Join:
    """One call: the customer's camera flows, then the agent joins and waits for a picture."""
    loop = asyncio.get_running_loop()
    camera: asyncio.Future[tuple[float, MediaStreamTrack]] = loop.create_future()
    connected: asyncio.Future[float] = loop.create_future()

    def on_track(key: SourceKey, track: MediaStreamTrack) -> None:
        if key.source is not SourceKind.CAMERA or camera.done():
            return
        camera.set_result((time.monotonic(), track))
        assert agent.peer is not None  # the peer answering the offer reports its tracks
        pc = agent.peer.pc

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected" and not connected.done():
                connected.set_result(time.monotonic())

    source = VideoStreamTrack()
    customer = KothaClient(url, spec["customer_token"], sources={SourceKind.CAMERA: source})
    agent = KothaClient(url, spec["agent"], on_track=on_track)
    try:
        await take_call(customer, agent, spec["call_id"], media="video")
        await customer.join_call(spec["call_id"])
        await agent.wait_for(ServerEvent.QUALITY_UPDATED, _camera_arrives, MEDIA_TIMEOUT_S)
        await asyncio.sleep(lead_s)

        started = time.monotonic()
        await agent.join_call(spec["call_id"])
        acked = time.monotonic()
        track_at, track = await asyncio.wait_for(camera, MEDIA_TIMEOUT_S)
        frame = await asyncio.wait_for(track.recv(), MEDIA_TIMEOUT_S)
        seen = time.monotonic()
        connected_at = await asyncio.wait_for(connected, MEDIA_TIMEOUT_S)
        assert isinstance(frame, VideoFrame), frame  # a decoded camera track gives pictures
        return Join(
            join_ack_ms=_ms(acked - started),
            track_ms=_ms(track_at - started),
            connected_ms=_ms(connected_at - started),
            first_frame_ms=_ms(seen - started),
            width=frame.width,
            height=frame.height,
        )
    finally:
        with contextlib.suppress(ClientError, ConnectionError, TimeoutError):
            await agent.hang_up()
        await asyncio.gather(agent.close(), customer.close(), return_exceptions=True)
        source.stop()


def _camera_arrives(view: dict[str, Any]) -> bool:
    """A ``quality_updated`` view in which the server receives the customer's camera."""
    return any(
        p["role"] == "customer" and p["inbound"].get("camera", {}).get("packets", 0) > 0
        for p in view["participants"]
    )


def _figures(
    results: list[Join], errors: list[str], *, joins: int, lead_s: float, cpu: dict[str, float]
) -> dict[str, Any]:
    first_frames = [j.first_frame_ms for j in results]
    worst = max(first_frames, default=None)
    figures: dict[str, Any] = {
        "benchmark": "join",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "joins": joins,
        "completed": len(results),
        "lead_s": lead_s,
        **spread("first_frame_ms", first_frames),
        **spread("track_ms", [j.track_ms for j in results]),
        **spread("connected_ms", [j.connected_ms for j in results]),
        **spread("join_ack_ms", [j.join_ack_ms for j in results]),
        "target_max_first_frame_ms": TARGET_FIRST_FRAME_MS,
        "target_met": None if worst is None else worst < TARGET_FIRST_FRAME_MS,
        "joins_detail": [asdict(j) for j in results],
        **cpu,
        "machine": machine_info(),
    }
    if errors:
        figures["errors"] = errors
    if not results:
        figures["error"] = "no late join completed: " + "; ".join(errors)
    return figures


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


__all__ = ["run_join_benchmark"]
