"""Seeking in the player's file of a one-hour call is instant: it reads a little, not the file.

Guards:
- the mixed playback rendition of a one-hour call has an index (Matroska cues): a seek to
  50:00 lands there and reads under 2 % of the file, where a file without cues would be
  read from the start up to that point.

A real one-hour call cannot run in the test suite, and finishing one costs about 47 s of
CPU (docs/benchmarks.md), so the rendition is written from one hour of samples directly
by the code that writes it at finalisation.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from recording.renditions import RATE, _write_playback

HOUR_S = 3600
SEEK_TO_S = 50 * 60


class CountingReader(io.RawIOBase):
    """A file that counts the bytes read from it."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._file.readinto(buffer)
        self.read_bytes += count or 0
        return count or 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()
        super().close()


def write_one_hour_playback(path: Path) -> None:
    """The player's rendition of a one-hour call, written as finalisation writes it."""
    length = HOUR_S * RATE
    # A quiet hum on one side: real audio, which Opus cannot shrink to nothing.
    t = np.arange(length, dtype=np.float32) / RATE
    customer = (np.sin(2 * np.pi * 220 * t) * 2000).astype(np.int16)
    _write_playback(path, [customer, np.zeros(length, dtype=np.int16)], length)


@pytest.fixture(scope="module")
def one_hour_playback(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "playback.webm"
    write_one_hour_playback(path)
    return path


def test_a_seek_to_fifty_minutes_reads_a_little_of_a_one_hour_file(
    one_hour_playback: Path,
) -> None:
    size = one_hour_playback.stat().st_size
    reader = CountingReader(one_hour_playback)
    with av.open(reader, "r", format="webm") as container:
        stream = container.streams.audio[0]
        assert float(container.duration or 0) / 1e6 == pytest.approx(HOUR_S, abs=1)
        opened = reader.read_bytes
        container.seek(SEEK_TO_S * 1_000_000)
        frame = next(container.decode(stream))
        sought = reader.read_bytes - opened
    landed = float(frame.pts * frame.time_base)
    assert landed == pytest.approx(SEEK_TO_S, abs=1.0), f"the seek landed at {landed:.1f} s"
    assert sought < 0.02 * size, (
        f"seeking read {sought} of {size} bytes ({sought / size:.1%}): the file has no index"
    )
