"""Media of a call between real aiortc peers through the real server on 127.0.0.1.

Guards:
- each side hears the other's tone and not its own (the router does not loop media back);
- camera video arrives at its own resolution, screen share as a separate track;
- a receiver that joins late gets a keyframe and sees a picture (PLI passed upstream; how
  soon is a figure of `kotha bench join`, not a limit here);
- a forwarded call decodes nothing on the server;
- media comes back after the socket drops and the page joins again (fresh peer).
"""

from __future__ import annotations

import asyncio
import threading
import time

import aiortc.rtcrtpreceiver
import pytest
from aiortc import MediaStreamTrack

from callcenter.identity import Role
from media.source import SourceKey, SourceKind
from node.events import ServerEvent
from tests.conftest import Server, connect_call
from tests.support import TestCardTrack, ToneTrack, participant_media, record_audio, tone_levels


class TrackCollector:
    """Remote tracks by source, as the client's peer reports them."""

    def __init__(self) -> None:
        self.tracks: dict[SourceKey, MediaStreamTrack] = {}
        self._changed = asyncio.Event()

    def __call__(self, key: SourceKey, track: MediaStreamTrack) -> None:
        self.tracks[key] = track
        self._changed.set()

    async def get(self, source: SourceKind, timeout: float = 10) -> MediaStreamTrack:
        async def find() -> MediaStreamTrack:
            while True:
                for key, track in self.tracks.items():
                    if key.source is source:
                        return track
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)


async def test_agent_hears_customer_and_customer_hears_agent(server: Server) -> None:
    heard_by_customer, heard_by_agent = TrackCollector(), TrackCollector()
    call_id, customer_token = await server.customer_call()
    customer = server.client(
        customer_token,
        sources={SourceKind.MICROPHONE: ToneTrack(440)},
        on_track=heard_by_customer,
    )
    await customer.connect()
    await customer.request_call(media="audio")
    agent = server.client(
        server.token(Role.AGENT, "Rahim"),
        sources={SourceKind.MICROPHONE: ToneTrack(660)},
        on_track=heard_by_agent,
    )
    await agent.connect()
    await agent.set_availability("available")
    await agent.accept_call(call_id)
    await asyncio.gather(customer.join_call(), agent.join_call())

    agent_track = await heard_by_agent.get(SourceKind.MICROPHONE)
    customer_track = await heard_by_customer.get(SourceKind.MICROPHONE)
    # Let the first packets settle, then listen for a second on each side.
    agent_audio, customer_audio = await asyncio.gather(
        record_audio(agent_track, 1.5), record_audio(customer_track, 1.5)
    )
    agent_audio, customer_audio = agent_audio[24000:], customer_audio[24000:]

    at_agent = tone_levels(agent_audio, 440, 660)
    at_customer = tone_levels(customer_audio, 440, 660)
    assert at_agent[440] > 0.5, f"agent does not hear the customer: {at_agent}"
    assert at_agent[660] < 0.01, f"agent hears their own voice: {at_agent}"
    assert at_customer[660] > 0.5, f"customer does not hear the agent: {at_customer}"
    assert at_customer[440] < 0.01, f"customer hears their own voice: {at_customer}"


async def test_audio_only_call_has_no_video_anywhere(server: Server) -> None:
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
    )
    offer = await pair.customer.wait_for(ServerEvent.MEDIA_OFFER)
    assert {slot["kind"] for slot in offer["slots"]} == {"audio"}
    assert "m=video" not in offer["description"]["sdp"]
    room = server.switchboard.room(pair.call_id)
    assert {source.kind for source in room.router.sources()} == {"audio"}


async def test_offer_carries_only_forwardable_codecs(server: Server) -> None:
    pair = await connect_call(
        server,
        media="video",
        customer_sources=participant_media(440, camera=(320, 240)),
        agent_sources=participant_media(660, camera=(320, 240)),
    )
    offer = await pair.agent.wait_for(ServerEvent.MEDIA_OFFER)
    sdp = offer["description"]["sdp"]
    rtpmaps = {
        line.split()[1].split("/")[0].lower()
        for line in sdp.splitlines()
        if line.startswith("a=rtpmap:")
    }
    assert rtpmaps == {"opus", "vp8", "rtx"}


async def test_video_and_screen_share_arrive_as_separate_tracks(server: Server) -> None:
    seen_by_agent = TrackCollector()
    pair = await connect_call(
        server,
        media="video",
        customer_sources=participant_media(440, camera=(320, 240)),
        agent_sources=participant_media(660, camera=(640, 360)),
        agent_options={"on_track": seen_by_agent},
    )
    camera = await seen_by_agent.get(SourceKind.CAMERA)
    frame = await asyncio.wait_for(camera.recv(), 10)
    assert (frame.width, frame.height) == (320, 240)

    ack = await pair.customer.start_screen_share(TestCardTrack(1280, 720))
    assert ack["renegotiating"] is True
    screen = await seen_by_agent.get(SourceKind.SCREEN)
    frame = await asyncio.wait_for(screen.recv(), 10)
    assert (frame.width, frame.height) == (1280, 720)
    # The camera keeps coming on its own track beside the screen.
    frame = await asyncio.wait_for(camera.recv(), 10)
    assert (frame.width, frame.height) == (320, 240)
    update = await pair.agent.wait_for(
        ServerEvent.PARTICIPANT_UPDATED,
        lambda p: p["participant"]["role"] == "customer" and p["participant"]["screen_sharing"],
    )
    assert update["participant"]["screen_sharing"] is True


async def test_receiver_that_joins_late_is_sent_a_keyframe_and_sees_the_picture(
    server: Server,
) -> None:
    """The late joiner's first decodable frame comes because the server asked for one.

    How soon it comes is a speed figure, not a pass mark here (a loaded machine stretches
    it); the test checks what the agent sees: a picture, after a keyframe request.
    """
    seen_by_agent = TrackCollector()
    pair = await connect_call(
        server,
        media="video",
        join=False,
        customer_sources=participant_media(440, camera=(320, 240)),
        agent_sources=participant_media(660, camera=(320, 240)),
        agent_options={"on_track": seen_by_agent},
    )
    await pair.customer.join_call()
    room = server.switchboard.room(pair.call_id)
    customer_id = (await pair.customer.request("get_state"))["participant_id"]
    camera_source = room.router.source(SourceKey(customer_id, SourceKind.CAMERA))
    # The customer's camera has been sending (its one keyframe long gone) for a while.
    deadline = time.monotonic() + 10
    while camera_source.frames_received < 30:
        assert time.monotonic() < deadline, "the customer's camera never reached the server"
        await asyncio.sleep(0.1)

    requested = camera_source.keyframes_requested
    await pair.agent.join_call()
    camera = await seen_by_agent.get(SourceKind.CAMERA)
    frame = await asyncio.wait_for(camera.recv(), 10)
    assert (frame.width, frame.height) == (320, 240)
    assert camera_source.keyframes_requested > requested, "the joiner's keyframe was asked for"


async def test_server_decodes_nothing_during_a_forwarded_call(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoders_made: list[str] = []
    real_get_decoder = aiortc.rtcrtpreceiver.get_decoder

    def counting_get_decoder(codec):  # type: ignore[no-untyped-def]
        decoders_made.append(codec.mimeType)
        return real_get_decoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", counting_get_decoder)
    frames: dict[str, int] = {"customer": 0, "agent": 0}

    def counter(who: str):  # type: ignore[no-untyped-def]
        def on_frame(key: SourceKey, frame: object) -> None:
            frames[who] += 1

        return on_frame

    call_id, customer_token = await server.customer_call(media="video")
    customer = server.client(
        customer_token,
        sources={SourceKind.MICROPHONE: ToneTrack(440), SourceKind.CAMERA: TestCardTrack(320, 240)},
        on_encoded_frame=counter("customer"),
    )
    agent = server.client(
        server.token(Role.AGENT, "Rahim"),
        sources={SourceKind.MICROPHONE: ToneTrack(660), SourceKind.CAMERA: TestCardTrack(320, 240)},
        on_encoded_frame=counter("agent"),
    )
    await customer.connect()
    await agent.connect()
    await customer.request_call(media="video")
    await agent.set_availability("available")
    await agent.accept_call(call_id)
    await asyncio.gather(customer.join_call(), agent.join_call())
    deadline = time.monotonic() + 10
    while min(frames.values()) < 100:
        assert time.monotonic() < deadline, f"media did not flow: {frames}"
        await asyncio.sleep(0.1)
        live_decoders = [
            t.name for t in threading.enumerate() if t.name.endswith("-decoder") and t.is_alive()
        ]
        assert live_decoders == [], f"decoder threads running: {live_decoders}"

    assert decoders_made == [], f"something decoded: {decoders_made}"
    room = server.switchboard.room(call_id)
    forwarded = sum(t.frames_forwarded for s in room.router.sources() for t in s.tracks)
    assert forwarded >= 200


async def test_media_returns_after_the_socket_drops_and_the_page_joins_again(
    server: Server,
) -> None:
    heard_by_agent = TrackCollector()
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
        agent_options={"on_track": heard_by_agent},
    )
    track = await heard_by_agent.get(SourceKind.MICROPHONE)
    before = tone_levels((await record_audio(track, 1.0))[12000:], 440)
    assert before[440] > 0.5

    # The customer's page reloads: socket and peer are gone, a new page connects.
    started = time.monotonic()
    await pair.customer.close()
    customer_token = pair.customer.token
    again = server.client(customer_token, sources={SourceKind.MICROPHONE: ToneTrack(440)})
    state = await again.connect()
    assert state["call"]["state"] == "active"
    await again.join_call(pair.call_id)
    after = tone_levels((await record_audio(track, 2.0))[48000:], 440)
    elapsed = time.monotonic() - started
    assert after[440] > 0.5, f"agent no longer hears the customer: {after}"
    assert elapsed < 10, f"rejoin took {elapsed:.1f} s"
    assert pair.agent.events(ServerEvent.CALL_ENDED) == []


async def test_media_returns_after_a_network_drop_while_the_socket_stays(server: Server) -> None:
    heard_by_customer = TrackCollector()
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
        customer_options={"on_track": heard_by_customer},
    )
    first = await heard_by_customer.get(SourceKind.MICROPHONE)
    assert tone_levels((await record_audio(first, 1.0))[12000:], 660)[660] > 0.5
    old_peer_id = pair.customer.peer_id

    # The customer's network goes away: their peer connection dies, the socket does not.
    started = time.monotonic()
    assert pair.customer.peer is not None
    await pair.customer.peer.close()
    heard_by_customer.tracks.clear()  # the new peer's tracks may come before the ack
    ack = await pair.customer.join_call()
    assert ack["peer_id"] != old_peer_id
    track = await heard_by_customer.get(SourceKind.MICROPHONE)
    after = tone_levels((await record_audio(track, 1.5))[24000:], 660)
    assert after[660] > 0.5, f"customer no longer hears the agent: {after}"
    assert time.monotonic() - started < 10
    assert pair.customer.peer_id == ack["peer_id"]
    # The old peer's copy of the agent's voice is gone from the router: no leak per rejoin.
    agent_id = (await pair.agent.request("get_state"))["participant_id"]
    agent_voice = server.switchboard.room(pair.call_id).router.source(
        SourceKey(agent_id, SourceKind.MICROPHONE)
    )
    assert len(agent_voice.tracks) == 1


async def test_picture_loss_reported_by_a_receiver_brings_a_keyframe_from_the_sender(
    server: Server,
) -> None:
    seen_by_agent = TrackCollector()
    pair = await connect_call(
        server,
        media="video",
        customer_sources=participant_media(440, camera=(320, 240)),
        agent_sources=participant_media(660, camera=(320, 240)),
        agent_options={"on_track": seen_by_agent},
    )
    camera = await seen_by_agent.get(SourceKind.CAMERA)
    await asyncio.wait_for(camera.recv(), 10)
    customer_id = (await pair.customer.request("get_state"))["participant_id"]
    source = server.switchboard.room(pair.call_id).router.source(
        SourceKey(customer_id, SourceKind.CAMERA)
    )
    await asyncio.sleep(0.5)  # past the keyframe-request window of the late join
    requested_before = source.keyframes_requested

    # The agent's browser lost a picture and says so (RTCP PLI, RFC 4585) to the server.
    assert pair.agent.peer is not None
    receiver = next(
        t.receiver for t in pair.agent.peer.pc.getTransceivers() if t.receiver.track is camera
    )
    server_ssrc = receiver.getSynchronizationSources()[0].source
    await receiver._send_rtcp_pli(server_ssrc)

    # The server passes it upstream to the customer's camera ...
    deadline = time.monotonic() + 1
    while source.keyframes_requested == requested_before:
        assert time.monotonic() < deadline, "the PLI did not reach the customer's sender"
        await asyncio.sleep(0.01)
    # ... which answers with a keyframe.
    keyframes_before = source.keyframes_received
    deadline = time.monotonic() + 2
    while source.keyframes_received == keyframes_before:
        assert time.monotonic() < deadline, "no keyframe came from the customer's camera"
        await asyncio.sleep(0.02)


async def test_server_senders_report_what_they_forwarded(server: Server) -> None:
    pair = await connect_call(
        server,
        customer_sources=participant_media(440),
        agent_sources=participant_media(660),
    )
    room = server.switchboard.room(pair.call_id)
    agent_id = (await pair.agent.request("get_state"))["participant_id"]
    server_pc = room.peer(agent_id).connection
    (voice_sender,) = [s for s in server_pc.getSenders() if s.track is not None]
    assert pair.agent.peer is not None
    agent_pc = pair.agent.peer.pc

    async def counts() -> tuple[int, int]:
        """Packets the server says it sent, and what its last sender report told the agent
        (the agent's receivers read afresh: the customer's voice may come in a second offer,
        after the call is set up)."""
        sent = [
            s.packetsSent
            for s in (await voice_sender.getStats()).values()
            if s.type == "outbound-rtp"
        ]
        reported = [
            s.packetsSent
            for receiver in agent_pc.getReceivers()
            for s in (await receiver.getStats()).values()
            if s.type == "remote-outbound-rtp"
        ]
        return sent[0], max(reported, default=0)

    # Sender reports (RTCP SR) go out every 0.5-1.5 s, with the counters of that moment.
    deadline = time.monotonic() + 10
    sent, reported = await counts()
    while reported < 100:
        assert time.monotonic() < deadline, (
            f"no sender report counted the forwarded packets: {reported}"
        )
        await asyncio.sleep(0.2)
        sent, reported = await counts()
    assert sent >= reported, "a sender report cannot count more than was sent"
