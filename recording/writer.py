"""The writer thread of the node's recordings: the only place their files are written.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

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


@dataclass(frozen=True, slots=True)
class Open:
    """Create the recording's folder and open its events.jsonl."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded frame of a stream, at its call time."""

    stream: str
    kind: str  # "audio" or "video"
    data: bytes
    ms: int
    keyframe: bool


@dataclass(frozen=True, slots=True)
class SilenceUntil:
    """Fill an audio stream with silence up to ``end_ms``."""

    stream: str
    end_ms: int


@dataclass(frozen=True, slots=True)
class Event:
    """One JSON line for events.jsonl."""

    line: str


@dataclass(frozen=True, slots=True)
class Stop:
    """Close every file of the recording."""


Command = Open | Frame | SilenceUntil | Event | Stop
STOP = Stop()


class DiskWriter:
    """The thread that writes every recording of this node.

    One thread for all calls, not one per call: a thread per call wakes up
    for every batch of every call and competes with the event loop for the
    GIL, so what recording costs grew with the number of calls more than
    with the bytes written. A recording's commands still run in the order
    they were queued, and one recording's failure is logged, not spread.
    """

    def __init__(self) -> None:
        # (None, STOP) closes the thread itself.
        self._queue: queue.SimpleQueue[tuple[RecordingWriter | None, Command]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="recording-writer", daemon=True)
        self._start_lock = threading.Lock()
        self._closed: Future[None] = Future()
        self._open: set[RecordingWriter] = set()

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        with self._start_lock:
            if not self._thread.is_alive() and not self._closed.done():
                self._thread.start()

    def submit(self, writer: RecordingWriter, command: Command) -> None:
        self._queue.put((writer, command))

    def close(self) -> Future[None]:
        """Write what is queued, close the files of recordings still open, stop the thread."""
        if not self._thread.is_alive():
            if not self._closed.done():
                self._closed.set_result(None)
            return self._closed
        self._queue.put((None, STOP))
        return self._closed

    def _run(self) -> None:
        silence = opus_silence()
        closing = False
        try:
            while not closing:
                batch = [self._queue.get()]
                while True:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                for writer, command in batch:
                    if writer is None:
                        closing = True
                        continue
                    self._open.add(writer)
                    if writer.apply(command, silence):
                        self._open.discard(writer)
                if not closing:
                    # Let frames gather: one wake-up (and one turn at the GIL) per
                    # batch instead of per frame. Bounded well under the 2 s a
                    # crash may lose.
                    time.sleep(BATCH_S)
        finally:
            # Shutting down with calls still up: their files are closed so that
            # all written data is on disk; the next start finishes them.
            for writer in list(self._open):
                writer.apply(STOP, silence)
            self._closed.set_result(None)


class RecordingWriter:
    """One recording's stream files and events.jsonl, written by the node's DiskWriter."""

    def __init__(self, folder: Path, disk: DiskWriter) -> None:
        self.folder = folder
        self._disk = disk
        self._files: dict[str, StreamFile] = {}
        self._events: TextIO | None = None
        self._done: Future[dict[str, dict[str, Any]]] = Future()

    def start(self) -> None:
        self._disk.start()
        self._disk.submit(self, Open())

    def frame(self, stream: str, kind: str, data: bytes, ms: int, keyframe: bool) -> None:
        self._disk.submit(self, Frame(stream, kind, data, ms, keyframe))

    def silence_until(self, stream: str, end_ms: int) -> None:
        """Fill an audio stream with silence up to ``end_ms`` (a pause the call ended in).

        Gaps between frames are filled by the stream file itself; this is for
        a stretch that no later frame closes.
        """
        self._disk.submit(self, SilenceUntil(stream, end_ms))

    def event(self, line: str) -> None:
        """Append one JSON line to events.jsonl."""
        self._disk.submit(self, Event(line))

    def stop(self) -> Future[dict[str, dict[str, Any]]]:
        """Close every file; the future gives each stream's frame count and time span."""
        self._disk.submit(self, STOP)
        return self._done

    def apply(self, command: Command, silence: bytes) -> bool:
        """Run one command on the writer thread; True once the recording is closed."""
        if self._done.done():
            return True
        if isinstance(command, Stop):
            self._close()
            return True
        try:
            self._handle(command, silence)
        except Exception:
            # One bad frame must not end the recording of the rest.
            logger.exception(
                "recording writer (%s): %s failed", self.folder.name, type(command).__name__
            )
        return False

    def _close(self) -> None:
        try:
            for file in self._files.values():
                file.close()
            if self._events is not None:
                self._events.flush()
                os.fsync(self._events.fileno())
                self._events.close()
        except Exception as exc:
            logger.exception("recording writer (%s): closing failed", self.folder.name)
            self._done.set_exception(exc)
            return
        self._done.set_result(
            {
                name: {"frames": f.frames, "first_ms": f.first_ms, "last_ms": f.last_ms}
                for name, f in self._files.items()
            }
        )

    def _handle(self, command: Command, silence: bytes) -> None:
        if isinstance(command, Open):
            self.folder.mkdir(parents=True, exist_ok=True)
            self._events = open(self.folder / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        elif isinstance(command, Frame):
            file = self._file(command.stream, command.kind, silence)
            file.write(command.data, command.ms, command.keyframe)
        elif isinstance(command, SilenceUntil):
            file = self._file(command.stream, "audio", silence)
            if file.last_ms is not None and command.end_ms > file.last_ms:
                file.write(silence, command.end_ms - AUDIO_FRAME_MS, True)
        elif isinstance(command, Event):
            if self._events is None:
                raise RuntimeError("events.jsonl is not open")
            self._events.write(command.line + "\n")
            self._events.flush()

    def _file(self, stream: str, kind: str, silence: bytes) -> StreamFile:
        file = self._files.get(stream)
        if file is None:
            path = self.folder / "streams" / f"{stream}.webm{PART_SUFFIX}"
            file = self._files[stream] = StreamFile(path, kind, silence)
        return file
