"""The writer thread of one recording: the only place its files are written.

The event loop hands it work through a queue and never waits for it: a slow
disk delays the recording, not the call. Frames, silence and timeline events
are written in the order they were queued.
"""

from __future__ import annotations

import fractions
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import av
import numpy as np

from .stream_file import StreamFile

logger = logging.getLogger(__name__)

AUDIO_FRAME_MS = 20  # Opus frames from browsers and aiortc are 20 ms
BATCH_S = 0.25  # how long the writer lets frames gather between batches
PART_SUFFIX = ".part"


def opus_silence() -> bytes:
    """One 20 ms Opus packet of stereo silence, made by the real encoder."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = 48000
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.time_base = fractions.Fraction(1, 48000)
    frame = av.AudioFrame.from_ndarray(
        np.zeros((1, 960 * 2), dtype=np.int16), format="s16", layout="stereo"
    )
    frame.sample_rate = 48000
    frame.pts = 0
    packets = encoder.encode(frame) + encoder.encode(None)
    return bytes(packets[0])


class RecordingWriter:
    """Writes one recording's stream files and its events.jsonl from its own thread."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._files: dict[str, StreamFile] = {}
        self._done: Future[dict[str, dict[str, Any]]] = Future()
        self._thread = threading.Thread(target=self._run, name=f"recording-{name}", daemon=True)
        self._silence = b""

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def frame(self, stream: str, kind: str, data: bytes, ms: int, keyframe: bool) -> None:
        self._queue.put(("frame", stream, kind, data, ms, keyframe))

    def silence_until(self, stream: str, end_ms: int) -> None:
        """Fill an audio stream with silence up to ``end_ms`` (a pause the call ended in).

        Gaps between frames are filled by the stream file itself; this is for
        a stretch that no later frame closes.
        """
        self._queue.put(("silence", stream, end_ms))

    def event(self, line: str) -> None:
        """Append one JSON line to events.jsonl."""
        self._queue.put(("event", line))

    def stop(self) -> Future[dict[str, dict[str, Any]]]:
        """Close every file; the future gives each stream's frame count and time span."""
        self._queue.put(("stop",))
        return self._done

    def _run(self) -> None:
        events = open(self.folder / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        try:
            self._silence = opus_silence()
            stopping = False
            while not stopping:
                batch = [self._queue.get()]
                while True:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                for command in batch:
                    if command[0] == "stop":
                        stopping = True
                        break
                    try:
                        self._handle(command, events)
                    except Exception:
                        # One bad frame must not end the recording of the rest.
                        logger.exception("recording writer: %s failed", command[0])
                if not stopping:
                    # Let frames gather: one wake-up (and one turn at the GIL) per
                    # batch instead of per frame. Bounded well under the 2 s a
                    # crash may lose.
                    time.sleep(BATCH_S)
        finally:
            for file in self._files.values():
                file.close()
            events.flush()
            os.fsync(events.fileno())
            events.close()
            self._done.set_result(
                {
                    name: {"frames": f.frames, "first_ms": f.first_ms, "last_ms": f.last_ms}
                    for name, f in self._files.items()
                }
            )

    def _handle(self, command: tuple[Any, ...], events: Any) -> None:
        kind = command[0]
        if kind == "frame":
            _, stream, media, data, ms, keyframe = command
            self._file(stream, media).write(data, ms, keyframe)
        elif kind == "silence":
            _, stream, end_ms = command
            file = self._file(stream, "audio")
            if file.last_ms is not None and end_ms > file.last_ms:
                file.write(self._silence, end_ms - AUDIO_FRAME_MS, True)
        elif kind == "event":
            events.write(command[1] + "\n")
            events.flush()

    def _file(self, stream: str, kind: str) -> StreamFile:
        file = self._files.get(stream)
        if file is None:
            path = self.folder / "streams" / f"{stream}.webm{PART_SUFFIX}"
            file = self._files[stream] = StreamFile(path, kind, self._silence)
        return file
