"""A participant who joins the call again keeps being heard, through the Python client.

Guards:
- a customer who calls ``join_call`` a second time (a fresh peer, same microphone) is still
  heard by the agent: closing the first peer must not stop the microphone the second one
  sends (aiortc stops a sender's track when its connection closes);
- the microphone handed to the client stays live across the rejoin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection
from av import AudioFrame

from media.source import SourceKey, SourceKind
from tests.conftest import Server, connect_call
from tests.support import SAMPLE_RATE, ToneTrack, tone_levels


class HeardTracks:
    """The tracks the agent's client receives, by whose source they carry."""

    def __init__(self) -> None:
        self.tracks: dict[SourceKey, MediaStreamTrack] = {}
        self.arrived = asyncio.Event()

    def __call__(self, key: SourceKey, track: MediaStreamTrack) -> None:
        self.tracks[key] = track
        self.arrived.set()

    async def microphone(self) -> MediaStreamTrack:
        await asyncio.wait_for(self.arrived.wait(), 10)
        return next(t for k, t in self.tracks.items() if k.source is SourceKind.MICROPHONE)


async def listen(track: MediaStreamTrack, seconds: float, *, patience: float = 5.0) -> np.ndarray:
    """Up to ``seconds`` of audio from ``track``; less if nothing comes for ``patience`` s."""
    chunks: list[np.ndarray] = []
    heard = 0.0
    while heard < seconds:
        try:
            frame = await asyncio.wait_for(track.recv(), patience)
        except TimeoutError:
            break
        assert isinstance(frame, AudioFrame)
        chunks.append(frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0])
        heard += frame.samples / frame.sample_rate
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(0)


async def test_agent_keeps_hearing_the_customer_after_the_customer_joins_again(
    server: Server,
) -> None:
    microphone = ToneTrack(440)
    heard_by_agent = HeardTracks()
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: microphone},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
        agent_options={"on_track": heard_by_agent},
    )
    track = await heard_by_agent.microphone()
    before = await listen(track, 1.0)
    assert tone_levels(before[SAMPLE_RATE // 4 :], 440)[440] > 0.5, "no tone before the rejoin"
    first_peer = pair.customer.peer_id

    # The customer's page joins the call again on the same socket: the server and the
    # client each make a fresh peer, and the client publishes the same microphone on it.
    ack = await pair.customer.join_call()
    assert ack["peer_id"] != first_peer
    deadline = time.monotonic() + 10
    while pair.customer.offers_answered < 2 or pair.customer.peer_id != ack["peer_id"]:
        assert time.monotonic() < deadline, "the customer never answered the fresh peer's offer"
        await asyncio.sleep(0.05)

    # Three seconds of what the agent hears now; the last one must be the customer's tone.
    after = await listen(track, 3.0)
    assert len(after) >= 2 * SAMPLE_RATE, (
        f"the agent heard only {len(after) / SAMPLE_RATE:.2f} s from the customer after the rejoin"
    )
    levels = tone_levels(after[-SAMPLE_RATE:], 440)
    assert levels[440] > 0.5, f"the agent no longer hears the customer's tone: {levels}"
    assert microphone.readyState == "live", "closing the first peer stopped the microphone"


async def connected(pc: RTCPeerConnection) -> None:
    for _ in range(200):
        if pc.connectionState == "connected":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the peer did not connect: {pc.connectionState}")


async def cut_short(close: Callable[[], Awaitable[None]], ticks: int = 1) -> None:
    """Start ``close`` and cancel it at a wait (as closing a client mid-rejoin does)."""
    closing = asyncio.ensure_future(close())
    for _ in range(ticks):
        await asyncio.sleep(0)
    assert not closing.done()  # a connected peer's close waits for its transports
    closing.cancel()
    await asyncio.gather(closing, return_exceptions=True)


async def test_a_peer_whose_close_was_cut_short_still_closes(server: Server) -> None:
    """CI hung for an hour in a test's teardown: the client was closed while it was closing
    its old peer for a fresh one, and aiortc's close, cut short, left every later close
    waiting forever (and the server's peer, cut short, stayed open)."""
    pair = await connect_call(server)
    assert pair.customer.peer is not None
    client_pc = pair.customer.peer.pc
    await connected(client_pc)
    await cut_short(pair.customer.peer.close)
    await asyncio.wait_for(pair.customer.close(), 10)  # before: waited forever
    assert client_pc.connectionState == "closed"

    assert pair.agent.peer is not None
    await connected(pair.agent.peer.pc)
    peers = server.switchboard.room(pair.call_id).peers().values()
    peer = next(p for p in peers if p.connection.connectionState == "connected")
    await cut_short(peer.close, ticks=3)  # into aiortc's close
    await asyncio.wait_for(peer.close(), 10)
    assert peer.connection.connectionState == "closed"  # before: left connected
