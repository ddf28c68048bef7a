"""What the agent and the supervisors read of a transcript comes in the order it was said.

Guards: a partial whose send is slow (a congested socket at that moment) still reaches
the agent and the watching supervisors before the final it led to, whose send is quick;
closing transcription cancels and awaits every send still under way, so nothing is left
running after it. A keyword the customer says and a customer who sounds negative twice in
a row alert the agent and the watchers, each alert naming the utterance that raised it.

The pool of Vosk workers is played by the test (it hands over the partial and the final
a real pool would); the call, its router, the transcription and its senders are real.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.values import CallValue, ParticipantValue
from media.room import Room
from media.source import EncodedFrame, SourceKey, SourceKind
from node.config import Config
from node.events import ServerEvent
from node.quality_monitor import QualityMonitor
from node.recordings import CallRecordings
from node.transcription import Transcription
from transcribe.models import ModelCatalog
from transcribe.pool import OnResults, OnStopped, TranscriptionPool
from transcribe.recognizer import Final, Word
from transcribe.speaker import SpeakerStream
from transcribe.utterance import PartialText, Utterance, utterance_of

SLOW_S = 0.2
TRANSCRIPT_EVENTS = (ServerEvent.TRANSCRIPT_PARTIAL, ServerEvent.TRANSCRIPT_UTTERANCE)


class ScriptedPool(TranscriptionPool):
    """Takes streams as the pool does; their results come when the test hands them over."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.results: dict[SpeakerStream, OnResults] = {}

    def warm(self, model: object) -> None:
        pass

    def add(self, stream: SpeakerStream, on_results: OnResults, on_stopped: OnStopped) -> None:
        self.results[stream] = on_results

    def offer(self, stream: SpeakerStream, frame: EncodedFrame) -> None:
        pass

    async def remove(self, stream: SpeakerStream) -> None:
        self.results.pop(stream, None)


class AnyModel(ModelCatalog):
    async def load_async(self, language: str) -> object:
        return object()


class Recipient:
    """Someone the transcript is sent to, whose partials take ``SLOW_S`` to go out."""

    def __init__(self) -> None:
        self.read: list[tuple[ServerEvent, dict[str, Any]]] = []
        self.sends: list[asyncio.Task[Any]] = []

    async def take(self, event: ServerEvent, payload: dict[str, Any]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.sends.append(task)
        if event is ServerEvent.TRANSCRIPT_PARTIAL:
            await asyncio.sleep(SLOW_S)
        self.read.append((event, payload))

    def alerts(self) -> list[dict[str, Any]]:
        return [p["alert"] for e, p in self.read if e is ServerEvent.TRANSCRIPT_ALERT]

    def transcript(self) -> list[tuple[ServerEvent, str]]:
        return [
            (event, (payload.get("partial") or payload["utterance"])["text"])
            for event, payload in self.read
            if event in TRANSCRIPT_EVENTS
        ]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("it did not happen in time")


def final(text: str, start_ms: int) -> Final:
    words = [
        Word(w, start_ms + 300 * n, start_ms + 300 * n + 250, 0.9)
        for n, w in enumerate(text.split())
    ]
    return Final(text, words[0].start_ms, words[-1].end_ms, words)


@dataclass
class LiveCall:
    """A call being transcribed: the customer's stream is open and the test speaks for it."""

    transcription: Transcription
    call: CallValue
    stream: SpeakerStream
    hand_over: OnResults
    agent: Recipient
    watchers: Recipient

    def said(self, text: str, uid: str, start_ms: int) -> Utterance:
        return utterance_of(
            final(text, start_ms),
            utterance_id=uid,
            speaker=self.stream.speaker,
            language=self.call.language,
            spotter=self.transcription.spotter,
        )


@asynccontextmanager
async def live_call(tmp_path: Path, language: str = "ko") -> AsyncIterator[LiveCall]:
    agent, watchers = Recipient(), Recipient()

    async def send(call_id: str, pid: str, event: ServerEvent, payload: dict[str, Any]) -> None:
        assert pid == "p-agent"
        await agent.take(event, payload)

    async def watch(call_id: str, event: ServerEvent, payload: dict[str, Any]) -> None:
        await watchers.take(event, payload)

    config = Config()
    recordings = CallRecordings(tmp_path, enabled=False)
    quality = QualityMonitor(config, recordings, send)
    pool = ScriptedPool()
    transcription = Transcription(
        config, recordings, quality, send, watchers=watch, catalog=AnyModel(), pool=pool
    )
    call = CallValue(
        call_id="c_live",
        customer=ParticipantValue("p-customer", "customer", "cust", "Karim"),
        language=language,
        media="audio",
        created_at=time.time(),
        agent=ParticipantValue("p-agent", "agent", "agent", "Rahim"),
    )

    async def ignore(*_: Any) -> None:
        pass

    room = Room(call.call_id, on_offer=ignore, on_state=lambda *_: None)
    try:
        transcription.start(call, room, {call.call_id: call}.get)
        transcript = transcription.transcript(call.call_id)
        assert transcript is not None
        await until(lambda: transcript.tap is not None)
        assert transcript.tap is not None
        # The customer's first frame opens their stream in the pool.
        key = SourceKey("p-customer", SourceKind.MICROPHONE)
        transcript.tap(key, EncodedFrame.now(b"\x00", 0, True, 0))
        [(stream, hand_over)] = pool.results.items()
        yield LiveCall(transcription, call, stream, hand_over, agent, watchers)
    finally:
        await transcription.stop(call.call_id, room)
        await transcription.close()
        await room.close()


async def test_a_partial_sent_slowly_still_comes_before_its_final(tmp_path: Path) -> None:
    async with live_call(tmp_path) as live:
        agent, watchers, stream = live.agent, live.watchers, live.stream
        live.hand_over(stream, [PartialText(stream.speaker, "where is", 1400)])
        live.hand_over(stream, [live.said("where is my parcel", "u1", 1000)])
        expected = [
            (ServerEvent.TRANSCRIPT_PARTIAL, "where is"),
            (ServerEvent.TRANSCRIPT_UTTERANCE, "where is my parcel"),
        ]
        await until(lambda: len(agent.transcript()) == 2 and len(watchers.transcript()) == 2)
        assert agent.transcript() == expected
        assert watchers.transcript() == expected

        # The customer goes on; the call's transcription is closed while that partial
        # is still on its way: the send is cancelled, not left running.
        live.hand_over(stream, [PartialText(stream.speaker, "and when", 3000)])
        await until(lambda: len(agent.sends) == len(agent.read) + 1)
    assert all(task.done() for task in agent.sends + watchers.sends)
    assert agent.transcript() == expected


async def test_the_agent_is_alerted_to_a_keyword_and_to_a_customer_who_stays_negative(
    tmp_path: Path,
) -> None:
    async with live_call(tmp_path, language="en") as live:
        live.hand_over(live.stream, [live.said("this is terrible i want a refund", "u1", 1000)])
        live.hand_over(live.stream, [live.said("awful service very bad", "u2", 4000)])
        await until(lambda: len(live.agent.alerts()) == 2 and len(live.watchers.alerts()) == 2)
        transcript = live.transcription.transcript(live.call.call_id)
        assert transcript is not None
        raised = [alert for _, alert in transcript.raised]
    keyword, streak = live.agent.alerts()
    assert keyword == {
        "kind": "keyword",
        "keyword": "refund",
        "message": "the customer said “refund”",
        "utterance_id": "u1",
        "role": "customer",
        "active": True,
    }
    assert streak == {
        "kind": "negative_streak",
        "message": "the customer has sounded negative 2 times in a row",
        "active": True,
        "utterance_id": "u2",
    }
    assert live.watchers.alerts() == [keyword, streak]
    # What the floor reads of them is what the consoles were sent.
    assert [alert.to_wire() for alert in raised] == [keyword, streak]
