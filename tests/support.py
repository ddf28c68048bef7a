"""Media sources and measurements shared by the tests: tones, test cards, spectra."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fractions
import json
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from media.source import SourceKey, SourceKind

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960


class ToneTrack(MediaStreamTrack):
    """A microphone that plays a sine tone, paced in real time like a real one."""

    kind = "audio"

    def __init__(self, hz: float, amplitude: int = 8000) -> None:
        super().__init__()
        self.hz = hz
        self.amplitude = amplitude
        self.muted = False
        self._sample = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._sample / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = np.arange(self._sample, self._sample + FRAME_SAMPLES) / SAMPLE_RATE
        amplitude = 0 if self.muted else self.amplitude
        samples = (np.sin(2 * np.pi * self.hz * t) * amplitude).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._sample
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._sample += FRAME_SAMPLES
        return frame


class SpeechTrack(MediaStreamTrack):
    """A microphone that says what is in a WAV file, then stays open and quiet.

    Paced in real time like a real microphone; ``started`` and ``ended`` are the
    ``time.perf_counter()`` at which the first and last speech sample were sent.
    It speaks ``lead_s`` after its first frame, or, if ``cued``, when :meth:`cue` says.
    ``hush_s``: after the speech, it sends nothing that long once (as a muted one does).
    """

    kind = "audio"

    def __init__(
        self, wav: Path, *, lead_s: float = 0.5, cued: bool = False, hush_s: float = 0.0
    ) -> None:
        super().__init__()
        with wave.open(str(wav)) as source:
            shape = (source.getframerate(), source.getnchannels(), source.getsampwidth())
            assert shape == (SAMPLE_RATE, 1, 2), f"{wav} must be 48 kHz 16-bit mono"
            self.speech = np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)
        self.lead = int(lead_s * SAMPLE_RATE)
        self.started: float | None = None
        self.ended: float | None = None
        self.spoken = asyncio.Event()  # set once the last speech sample has been sent
        self._begin: int | None = None if cued else self.lead  # the first speech sample
        self._hush_s = hush_s
        self._hushed = False
        self._sample = 0
        self._start: float | None = None

    @property
    def duration_s(self) -> float:
        return len(self.speech) / SAMPLE_RATE

    def cue(self, after_s: float) -> None:
        """Start speaking ``after_s`` from now."""
        self._begin = self._sample + round(after_s * SAMPLE_RATE)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        if self.spoken.is_set() and self._hush_s and not self._hushed:
            self._hushed = True
            await asyncio.sleep(self._hush_s)
            self._sample += round(self._hush_s * SAMPLE_RATE / FRAME_SAMPLES) * FRAME_SAMPLES
        wait = self._start + self._sample / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        samples = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        if self._begin is not None:
            offset = self._sample - self._begin
            if offset + FRAME_SAMPLES > 0 and offset < len(self.speech):
                part = self.speech[max(0, offset) : offset + FRAME_SAMPLES]
                at = max(0, -offset)
                samples[at : at + len(part)] = part
                now = time.perf_counter()
                self.started = self.started or now
                self.ended = now
            elif offset >= len(self.speech):
                self.spoken.set()
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._sample
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._sample += FRAME_SAMPLES
        return frame


class TestCardTrack(MediaStreamTrack):
    """A camera (or a shared screen) of a fixed size, 15 frames a second."""

    kind = "video"
    __test__ = False  # not a pytest test class

    def __init__(self, width: int, height: int, fps: int = 15) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self._fps = fps
        self._count = 0
        self._start: float | None = None
        rng = np.random.default_rng(width * height)
        self._image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._count / self._fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = VideoFrame.from_ndarray(np.roll(self._image, self._count, axis=1), format="rgb24")
        frame.pts = self._count * (90000 // self._fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return frame


async def record_audio(track: MediaStreamTrack, seconds: float) -> np.ndarray:
    """Mono samples received on ``track`` over ``seconds`` of audio."""
    chunks: list[np.ndarray] = []
    received = 0.0
    while received < seconds:
        frame = await asyncio.wait_for(track.recv(), 5)
        data = frame.to_ndarray().reshape(-1)
        if frame.layout.name == "stereo":
            data = data.reshape(-1, 2)[:, 0]
        chunks.append(data.astype(np.float64))
        received += frame.samples / frame.sample_rate
    return np.concatenate(chunks)


def tone_levels(
    samples: np.ndarray, *frequencies: float, rate: int = SAMPLE_RATE
) -> dict[float, float]:
    """Share of the signal's energy within 10 Hz of each frequency (0..1)."""
    windowed = samples * np.hanning(len(samples))
    power = np.abs(np.fft.rfft(windowed)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    total = power.sum() or 1.0
    return {f: float(power[np.abs(freqs - f) <= 10].sum() / total) for f in frequencies}


def participant_media(
    hz: float, camera: tuple[int, int] | None = None
) -> dict[SourceKind, MediaStreamTrack]:
    """What a participant publishes: a microphone playing a tone, and a camera if sized."""
    sources: dict[SourceKind, MediaStreamTrack] = {SourceKind.MICROPHONE: ToneTrack(hz)}
    if camera is not None:
        sources[SourceKind.CAMERA] = TestCardTrack(*camera)
    return sources


def token_claims(**overrides: object) -> dict[str, object]:
    """The claims of a valid kotha agent token, with ``overrides`` (for forging tokens)."""
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "kotha",
        "sub": "eve",
        "role": "agent",
        "iat": now,
        "exp": now + 60,
    }
    claims.update(overrides)
    return claims


def unsigned_token(claims: dict[str, object]) -> str:
    """A JWT with ``alg: none``: what an attacker sends hoping the signature is not checked."""

    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


class BeepTrack(MediaStreamTrack):
    """A microphone that is silent except for short tone beeps at given times.

    ``beeps`` are (start, seconds) on ``time.perf_counter()``, the clock the
    server stamps arriving frames with, so a test can say where in the call a
    beep must land.
    """

    kind = "audio"

    def __init__(self, hz: float, beeps: list[tuple[float, float]], amplitude: int = 12000) -> None:
        super().__init__()
        self.hz = hz
        self.beeps = beeps
        self.amplitude = amplitude
        self._sample = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.perf_counter()
        frame_start = self._start + self._sample / SAMPLE_RATE
        wait = frame_start - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        times = frame_start + np.arange(FRAME_SAMPLES) / SAMPLE_RATE
        on = np.zeros(FRAME_SAMPLES, dtype=bool)
        for start, seconds in self.beeps:
            on |= (times >= start) & (times < start + seconds)
        tone = np.sin(2 * np.pi * self.hz * times) * self.amplitude * on
        frame = AudioFrame.from_ndarray(
            tone.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._sample
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._sample += FRAME_SAMPLES
        return frame


def beep_onsets(
    samples: np.ndarray, rate: int, threshold: float = 2000.0, gap_s: float = 0.3
) -> list[float]:
    """Times (s) where the signal rises above ``threshold`` after ``gap_s`` of quiet."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    onsets: list[float] = []
    last = -1e9
    for index in loud:
        t = index / rate
        if t - last > gap_s:
            onsets.append(t)
        last = t
    return onsets


def drop_every(transport: object, n: int) -> list[int]:
    """Drop every ``n``-th RTP packet an aiortc DTLS transport sends (RTCP passes).

    A fixed pattern, like aiortc's own ``set_loss_pattern``: the loss is the
    same on every run. Returns a list that counts the drops.
    """
    from aiortc.rtp import is_rtcp

    send = transport._send_rtp  # type: ignore[attr-defined]
    dropped: list[int] = []
    count = 0

    async def lossy(data: bytes) -> None:
        nonlocal count
        if not is_rtcp(data):
            count += 1
            if count % n == 0:
                dropped.append(count)
                return
        await send(data)

    transport._send_rtp = lossy  # type: ignore[attr-defined]
    return dropped


class Ear:
    """Everything one participant hears, track by track, with when each frame arrived.

    Pass it as a client's ``on_track``: it reads every remote audio track as it
    plays. Each 20 ms frame is kept as a :class:`Heard`: when it arrived (on
    ``time.perf_counter()``), whose source it was, its RTP time and its main tone,
    so a test can ask which tone was heard when, and how soon after a change it
    started or stopped.
    """

    def __init__(self) -> None:
        self.frames: list[Heard] = []
        self.tracks: dict[SourceKey, MediaStreamTrack] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, key: SourceKey, track: MediaStreamTrack) -> None:
        self.tracks[key] = track
        if track.kind == "audio":
            task = asyncio.get_running_loop().create_task(self._listen(key, track))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _listen(self, key: SourceKey, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                data = frame.to_ndarray().reshape(-1)
                if frame.layout.name == "stereo":
                    data = data.reshape(-1, 2)[:, 0]
                rtp_s = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                self.frames.append(Heard.of(time.perf_counter(), key, rtp_s, data))

    def heard(self, hz: float, since: float = 0.0, until: float = float("inf")) -> list[float]:
        """Arrival times of frames of ``hz`` between ``since`` and ``until``."""
        return [h.at for h in self.frames if since <= h.at < until and h.is_tone(hz)]

    def onset(self, hz: float, after: float) -> float | None:
        """When ``hz`` was first heard after ``after`` (None: not yet)."""
        return next((h.at for h in self.frames if h.at >= after and h.is_tone(hz)), None)

    async def wait_for(self, hz: float, after: float = 0.0, timeout: float = 10.0) -> float:
        """Wait until ``hz`` is heard after ``after``; the arrival time of its first frame."""
        deadline = time.perf_counter() + timeout
        while (onset := self.onset(hz, after)) is None:
            if time.perf_counter() > deadline:
                raise AssertionError(f"{hz} Hz not heard within {timeout} s")
            await asyncio.sleep(0.01)
        return onset

    def source_frames(self, key: SourceKey, since: float, until: float) -> list[float]:
        """RTP times (s) of the frames of ``key`` that arrived between two moments."""
        return [h.rtp_s for h in self.frames if h.key == key and since <= h.at < until]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class Heard:
    """One received audio frame, reduced to what tests ask of it."""

    at: float
    key: SourceKey
    rtp_s: float
    peak_hz: float
    share: float  # of the frame's energy within 20 Hz of the peak
    rms: float

    @classmethod
    def of(cls, at: float, key: SourceKey, rtp_s: float, samples: np.ndarray) -> Heard:
        x = samples.astype(np.float64)
        # Zero-padded to 5 Hz bins: a 20 ms frame alone has 50 Hz bins, too coarse for 880 Hz.
        power = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=9600)) ** 2
        freqs = np.fft.rfftfreq(9600, 1 / SAMPLE_RATE)
        peak = float(freqs[int(np.argmax(power))])
        share = float(power[np.abs(freqs - peak) <= 20].sum() / (power.sum() or 1.0))
        return cls(at, key, rtp_s, peak, share, float(np.sqrt(np.mean(x**2))))

    def is_tone(self, hz: float) -> bool:
        """Loud, and mostly the one tone ``hz``."""
        return self.rms > 300 and abs(self.peak_hz - hz) <= 15 and self.share > 0.5
