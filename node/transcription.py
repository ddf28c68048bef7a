"""Every live call's transcript: who hears it, what the timeline keeps, when to alert.

The recognising happens in ``transcribe`` (a pool of worker threads shared by
the node); this is where it meets calls. A call's language picks the model
(or says plainly why there is none); each speaking participant's microphone
gets its own recogniser, so the speaker label is the track's owner; final
utterances get the speaker's line quality while they were said, go on the
recording's timeline and to the agent (supervisors listen through
``listeners``); the customer's mood and the configured keywords raise alerts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from callcenter.in_call import speaker_of
from callcenter.values import CallValue
from media.room import Room
from media.router import Router
from media.source import EncodedFrame, SourceKey, SourceKind
from recording.timeline import EntryType
from transcribe.alert import TranscriptAlert
from transcribe.errors import TranscribeError
from transcribe.keywords import KeywordSpotter
from transcribe.models import ModelCatalog
from transcribe.mood import Mood
from transcribe.pool import TranscriptionPool
from transcribe.speaker import Result, SpeakerStream
from transcribe.utterance import PartialText, Speaker, Utterance

from .call_transcript import CallTranscript
from .config import Config
from .events import ServerEvent
from .notifier import Send
from .quality_monitor import QualityMonitor
from .recordings import CallRecordings
from .tasks import Lanes, TaskSet

logger = logging.getLogger(__name__)

TICK_S = 0.25  # how often quiet streams are flushed and lag is checked
LAG_REPORT_TICKS = 8  # every 2 s, consoles hear how far behind transcription runs...
LAG_SHOWN_MS = 1500  # ...when it is at least this far behind (and once when it caught up)
LANGUAGE_NAMES = {"bn": "Bengali", "en": "English", "ko": "Korean", "hi": "Hindi"}

# To everyone watching a call (supervisors): call id, event, payload.
Watchers = Callable[[str, ServerEvent, dict[str, Any]], Coroutine[Any, Any, None]]
# Told every event of every call (supervisors' dashboards, metrics). Runs on the loop.
TranscriptListener = Callable[[str, ServerEvent, dict[str, Any]], None]


class Transcription:
    """Transcribes every live call on this node."""

    def __init__(
        self,
        config: Config,
        recordings: CallRecordings,
        quality: QualityMonitor,
        send: Send,
        *,
        watchers: Watchers | None = None,
        catalog: ModelCatalog | None = None,
        pool: TranscriptionPool | None = None,
    ) -> None:
        self.enabled = config.transcribe_enabled
        self.catalog = catalog or ModelCatalog(
            config.transcribe_models, allow_download=config.transcribe_download
        )
        self.pool = pool or TranscriptionPool(
            workers=config.transcribe_workers or None,
            max_streams=config.transcribe_max_streams,
            behind_s=config.transcribe_behind_s,
            give_up_s=config.transcribe_give_up_s,
            warm_spares=config.transcribe_warm_spares or None,
        )
        self.spotter = KeywordSpotter(config.transcribe_keywords)
        self._languages = dict(config.transcribe_languages)
        self._model_languages = set(config.transcribe_models)
        self._streak = config.sentiment_negative_streak
        self._fall = config.sentiment_fall
        self._recordings = recordings
        self._quality = quality
        self._send = send
        self._watchers = watchers
        self._calls: dict[str, CallTranscript] = {}
        self._tasks = TaskSet("Transcription")
        # One lane per recipient: each is sent its events in the order they were made.
        self._lanes = Lanes(self._tasks)
        self.listeners: list[TranscriptListener] = []
        self.utterances = 0
        self.alerts = 0

    def transcript(self, call_id: str) -> CallTranscript | None:
        return self._calls.get(call_id)

    def start(self, call: CallValue, room: Room, known: Callable[[str], CallValue | None]) -> None:
        """Transcribe ``call`` from now on (the agent has just taken it); ``known`` gives the
        node's latest view of a call (who speaks as whom)."""
        call_id = call.call_id
        recorder = self._recordings.recorder(call_id)
        transcript = CallTranscript(
            call_id=call_id,
            known=lambda: known(call_id),
            language=self._languages.get(call.language, call.language),
            call_start=recorder.started_perf if recorder else time.perf_counter(),
            call_start_wall=recorder.started_at if recorder else time.time(),
            mood=Mood(streak=self._streak, fall=self._fall),
        )
        self._calls[call.call_id] = transcript
        if not self.enabled or not isinstance(room.plane, Router):
            transcript.state = "off"
            transcript.reason = (
                "live transcription is off on this server"
                if not self.enabled
                else "this server relays media in a mode that cannot be transcribed"
            )
            self._settled(transcript)
            return
        self._tasks.spawn(self._load(transcript, room.plane), f"load {call.call_id}")

    def pause(self, call_id: str, paused: bool) -> None:
        """While the recording is paused nothing is transcribed either (a card being read out)."""
        transcript = self._calls.get(call_id)
        if transcript is not None:
            transcript.paused = paused
            self._changed(transcript)

    async def stop(self, call_id: str, room: Room | None = None) -> None:
        """The call ended: what was said up to the end is recognised and kept, then it stops."""
        transcript = self._calls.pop(call_id, None)
        if transcript is None:
            return
        if room is not None and transcript.tap is not None and isinstance(room.plane, Router):
            room.plane.remove_tap(transcript.tap)
        transcript.tap = None
        streams = list(transcript.streams.values())
        await asyncio.gather(*(self.pool.remove(s) for s in streams))
        if transcript.state == "active":
            self._recordings.event(
                call_id,
                EntryType.TRANSCRIPT_SUMMARY,
                utterances=len(transcript.utterances),
                language=transcript.language,
                mood=transcript.mood.to_wire(),
            )

    async def speaker_left(self, call_id: str, participant_id: str) -> None:
        """A party left a call that goes on (an agent whose connection was lost).

        What they said up to then is recognised and kept; their recogniser is let go.
        """
        transcript = self._calls.get(call_id)
        stream = transcript.streams.pop(participant_id, None) if transcript else None
        if transcript is None or stream is None:
            return
        await self.pool.remove(stream)
        self._changed(transcript)

    async def preload(self) -> None:
        """Load the models calls will need now, not when the first call's first words come."""
        if not self.enabled:
            return
        languages = {*self._languages.values(), *self._model_languages}
        for language in sorted(languages):
            try:
                model = await self.catalog.load_async(language)
            except TranscribeError as exc:
                logger.warning("speech model for %s not loaded: %s", language, exc.reason)
                continue
            self.pool.warm(model)

    async def run(self) -> None:
        """Flush quiet streams and watch the lag, a few times a second."""
        ticks = 0
        while True:
            await asyncio.sleep(TICK_S)
            ticks += 1
            try:
                self.pool.tick()
                if ticks % LAG_REPORT_TICKS == 0:
                    self._report_lag()
            except Exception:
                logger.exception("transcription tick failed; trying again")

    def _report_lag(self) -> None:
        """While transcription runs behind, every call's console and watchers are told."""
        lag_ms = round(self.pool.lag_s() * 1000)
        for transcript in self._calls.values():
            behind = lag_ms >= LAG_SHOWN_MS
            if transcript.state == "active" and (behind or transcript.lag_shown):
                transcript.lag_shown = behind
                self._changed(transcript)

    async def close(self) -> None:
        """Stop loading models and sending (what was still to be sent is dropped)."""
        await self._tasks.close()
        await asyncio.to_thread(self.pool.close)

    # -- internals -------------------------------------------------------

    async def _load(self, transcript: CallTranscript, router: Router) -> None:
        try:
            transcript.model = await self.catalog.load_async(transcript.language)
        except TranscribeError as exc:
            name = LANGUAGE_NAMES.get(transcript.language, transcript.language)
            transcript.state = "unavailable"
            transcript.reason = f"no live transcript for {name}: {exc.reason}"
            logger.info("call %s not transcribed: %s", transcript.call_id, exc.reason)
        else:
            if transcript.call_id not in self._calls:
                return  # ended while the model loaded
            transcript.state = "active"
            self.pool.warm(transcript.model)
            transcript.tap = lambda key, frame: self._on_frame(transcript, key, frame)
            router.add_tap(transcript.tap)
        self._settled(transcript)

    def _settled(self, transcript: CallTranscript) -> None:
        """Whether the call is transcribed is known: the timeline and the console hear it."""
        self._recordings.event(
            transcript.call_id,
            EntryType.TRANSCRIPTION_STATE,
            state=transcript.state,
            language=transcript.language,
            reason=transcript.reason,
        )
        self._changed(transcript)

    def _on_frame(self, transcript: CallTranscript, key: SourceKey, frame: EncodedFrame) -> None:
        """The tap: on the packet path, so it only queues."""
        if key.source is not SourceKind.MICROPHONE or transcript.paused:
            return
        stream = transcript.streams.get(key.participant_id)
        if stream is None:
            if key.participant_id in transcript.refused:
                return
            stream = self._open(transcript, key.participant_id)
            if stream is None:
                return
        self.pool.offer(stream, frame)

    def _open(self, transcript: CallTranscript, participant_id: str) -> SpeakerStream | None:
        # A supervisor's microphone reaches the tap only while they whisper or barge in.
        speaker = speaker_of(transcript.known(), participant_id)
        if speaker is None or transcript.model is None:
            return None
        role, name = speaker
        try:
            self.pool.admit()
        except TranscribeError as exc:
            transcript.refused[participant_id] = exc.reason
            self._recordings.event(
                transcript.call_id,
                EntryType.TRANSCRIPTION_REFUSED,
                participant_id=participant_id,
                role=role,
                reason=exc.reason,
            )
            self._changed(transcript)
            return None
        stream = SpeakerStream(
            Speaker(participant_id, role, name),
            transcript.language,
            transcript.model,
            call_start=transcript.call_start,
            spotter=self.spotter,
            utterance_ids=transcript.ids,
            spares=self.pool.spares,
        )
        transcript.streams[participant_id] = stream
        self.pool.add(
            stream,
            lambda s, results: self._results(transcript, results),
            lambda s, reason: self._stopped(transcript, s, reason),
        )
        self._changed(transcript)
        return stream

    def _results(self, transcript: CallTranscript, results: list[Result]) -> None:
        for result in results:
            if isinstance(result, PartialText):
                transcript.partials[result.speaker.participant_id] = result
                self._emit(
                    transcript, ServerEvent.TRANSCRIPT_PARTIAL, {"partial": result.to_wire()}
                )
                continue
            self._utterance(transcript, result)

    def _utterance(self, transcript: CallTranscript, result: Utterance) -> None:
        call_id = transcript.call_id
        pid = result.speaker.participant_id
        transcript.partials.pop(pid, None)
        quality = self._quality.quality(call_id)
        if quality is not None:
            line = quality.line(
                pid,
                transcript.call_start_wall + result.start_ms / 1000,
                transcript.call_start_wall + result.end_ms / 1000,
            )
            result = replace(result, quality=line)
        transcript.utterances.append(result)
        self.utterances += 1
        mood_changes = (
            transcript.mood.add(result.sentiment) if result.speaker.role == "customer" else []
        )
        utterance = result.to_wire()
        self._recordings.event(call_id, EntryType.UTTERANCE, utterance=utterance)
        self._emit(
            transcript,
            ServerEvent.TRANSCRIPT_UTTERANCE,
            {"utterance": utterance, "mood": transcript.mood.to_wire()},
        )
        alerts = [TranscriptAlert.keyword_said(result, k) for k in dict.fromkeys(result.keywords)]
        alerts += [TranscriptAlert.mood(change, result) for change in mood_changes]
        for alert in alerts:
            self._alert(transcript, alert)

    def _alert(self, transcript: CallTranscript, alert: TranscriptAlert) -> None:
        self.alerts += 1
        transcript.raised.append((time.time(), alert))
        wire = alert.to_wire()
        self._recordings.event(transcript.call_id, EntryType.TRANSCRIPT_ALERT, alert=wire)
        self._emit(transcript, ServerEvent.TRANSCRIPT_ALERT, {"alert": wire})

    def _stopped(self, transcript: CallTranscript, stream: SpeakerStream, reason: str) -> None:
        pid = stream.speaker.participant_id
        transcript.streams.pop(pid, None)
        transcript.refused[pid] = reason
        self._recordings.event(
            transcript.call_id,
            EntryType.TRANSCRIPTION_REFUSED,
            participant_id=pid,
            role=stream.speaker.role,
            reason=reason,
        )
        self._changed(transcript)

    def _changed(self, transcript: CallTranscript) -> None:
        self._emit(
            transcript, ServerEvent.TRANSCRIPTION_STATE, transcript.status(self.pool.lag_s())
        )

    def _emit(
        self, transcript: CallTranscript, event: ServerEvent, payload: dict[str, Any]
    ) -> None:
        call_id = transcript.call_id
        payload = {"call_id": call_id, **payload}
        for listener in self.listeners:
            listener(call_id, event, payload)
        call = transcript.known()
        agent = call.agent if call is not None else None
        if agent is not None:
            pid = agent.participant_id
            self._lanes.run((call_id, pid), self._send(call_id, pid, event, payload))
        if self._watchers is not None:
            self._lanes.run((call_id, "watchers"), self._watchers(call_id, event, payload))
