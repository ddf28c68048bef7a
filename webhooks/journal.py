"""A JSON-lines file that keeps what it acknowledged through ``kill -9`` and power loss.

Records are appended by one writer thread, never on the event loop. Whatever
was queued while the thread was busy goes out in one write and one ``fsync``
(group commit), and each caller's future is done only once its lines are on
disk: acknowledged means durable. A whole new content (compaction) is written
to a temporary file, fsync'd and moved over the journal with ``os.replace``, in
the same queue, so an append made after it lands in the new file; it is made
and encoded in the thread too, so a large outbox costs the loop nothing.

A process killed while writing leaves at most a cut-off last line. Reading back
drops it (and any other line that is not a JSON object) with one warning, and
cuts the file back to its last whole line so the next append starts clean.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import JournalError

logger = logging.getLogger(__name__)

__all__ = ["Journal"]


@dataclass(frozen=True, slots=True)
class _Write:
    """Lines to append, or (``content``) the file's whole new content, made in the thread."""

    data: bytes
    content: Callable[[], Iterable[Mapping[str, Any]]] | None
    done: asyncio.Future[None]


class Journal:
    """One JSON-lines file, appended and replaced off the event loop.

    Args:
        path: the file; its directory is made if missing.
        executor: the writer thread, shared with other journals so that writes
            submitted in order are durable in that order; by default one of its own.
    """

    def __init__(self, path: Path, executor: ThreadPoolExecutor | None = None) -> None:
        self.path = path
        self.lines = 0
        """Lines the file has once everything queued is written (for compaction)."""
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(1, thread_name_prefix="webhooks-journal")
        # Filled on the loop, drained by the writer thread (deque appends and pops
        # are atomic).
        self._queue: deque[_Write] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Writer thread only:
        self._fd: int | None = None
        self._torn = False  # the file may end in part of a line (a write failed midway)

    async def load(self) -> list[dict[str, Any]]:
        """The records in the file, oldest first; a missing file has none."""
        self._loop = asyncio.get_running_loop()
        records, self.lines = await self._loop.run_in_executor(self._executor, self._read)
        return records

    def append(self, records: Sequence[Mapping[str, Any]]) -> asyncio.Future[None]:
        """Queue ``records``; the future is done when they are on disk.

        The future fails with :class:`JournalError`; it is the journal's own, so
        await it through a wrapper (``asyncio.shield``) if the waiter may be
        cancelled. Raises TypeError if a record is not JSON.
        """
        data = b"".join(_encode(record) for record in records)
        self.lines += len(records)
        return self._submit(_Write(data, None, self._new_future()))

    def replace(
        self, content: Callable[[], Iterable[Mapping[str, Any]]], lines: int
    ) -> asyncio.Future[None]:
        """Queue a new whole content instead of every line written before.

        ``content()`` runs in the writer thread (a large outbox is encoded off the
        loop), so it must only read values nobody changes: make it from a copy.
        ``lines`` is how many records it gives.
        """
        self.lines = lines
        return self._submit(_Write(b"", content, self._new_future()))

    async def close(self) -> None:
        """Wait for everything queued, then close the file (and the own writer thread)."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_file)
        if self._own_executor:
            await asyncio.to_thread(self._executor.shutdown)

    def _new_future(self) -> asyncio.Future[None]:
        if self._loop is None:
            raise RuntimeError("Journal.load() comes first")
        if self._closed:
            raise JournalError(f"{self.path} is closed")
        return self._loop.create_future()

    def _submit(self, write: _Write) -> asyncio.Future[None]:
        self._queue.append(write)
        self._executor.submit(self._flush)
        return write.done

    # The writer thread.

    def _read(self) -> tuple[list[dict[str, Any]], int]:
        self.path.with_name(self.path.name + ".tmp").unlink(missing_ok=True)
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return [], 0
        end = data.rfind(b"\n") + 1
        if end < len(data):
            logger.warning(
                "%s: its last line was cut off (%d bytes; the process stopped while writing "
                "it): dropped",
                self.path,
                len(data) - end,
            )
            with self.path.open("r+b") as handle:
                handle.truncate(end)
                os.fsync(handle.fileno())
        records: list[dict[str, Any]] = []
        unreadable = 0
        lines = data[:end].split(b"\n")[:-1]
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                unreadable += 1
                continue
            if isinstance(record, dict):
                records.append(record)
            else:
                unreadable += 1
        if unreadable:
            logger.warning("%s: %d lines are not JSON records: skipped", self.path, unreadable)
        return records, len(lines)

    def _flush(self) -> None:
        batch: list[_Write] = []
        while True:
            try:
                write = self._queue.popleft()
            except IndexError:
                break
            if write.content is not None:
                self._append(batch)
                batch = []
                self._replace(write)
            else:
                batch.append(write)
        self._append(batch)

    def _append(self, batch: list[_Write]) -> None:
        if not batch:
            return
        data = b"".join(write.data for write in batch)
        try:
            if self._fd is None:
                self._fd = self._open()
            if self._torn:  # end the cut-off line, or it would swallow the next record
                data = b"\n" + data
            self._torn = True
            _write_all(self._fd, data)
            os.fsync(self._fd)
            self._torn = False
        except OSError as error:
            self._settle(batch, error)
        else:
            self._settle(batch, None)

    def _replace(self, write: _Write) -> None:
        assert write.content is not None
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            data = b"".join(_encode(record) for record in write.content())
        except (TypeError, ValueError) as error:  # a bug: the old file stays, whole
            logger.error("%s: its new content is not JSON (%s); kept as it was", self.path, error)
            self._settle([write], OSError(f"not JSON: {error}"))
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
        except OSError as error:  # the old file is whole, and still the one appended to
            temporary.unlink(missing_ok=True)
            self._settle([write], error)
            return
        if self._fd is not None:  # the old file's: the next append opens the new one
            os.close(self._fd)
            self._fd = None
        self._torn = False
        try:
            _fsync_directory(self.path.parent)
        except OSError as error:
            self._settle([write], error)
        else:
            self._settle([write], None)

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if not existed:  # the new name must survive a power loss too
            _fsync_directory(self.path.parent)
        return fd

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _settle(self, writes: list[_Write], error: OSError | None) -> None:
        assert self._loop is not None
        failure = None
        if error is not None:
            reason = (error.strerror or str(error)).lower()
            failure = JournalError(f"could not write {self.path}: {reason}")
        for write in writes:
            try:
                self._loop.call_soon_threadsafe(_resolve, write.done, failure)
            except RuntimeError:  # the loop is closed: nobody waits any more
                return


def _resolve(future: asyncio.Future[None], error: JournalError | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _encode(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
