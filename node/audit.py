"""The append-only audit log: who did what to which call, from where, and when.

Playback, downloads, pausing and resuming a recording, purges, watching a
call and every monitoring session (its start, each switch between listen,
whisper and barge, and its end) each leave exactly one record. The record
is written (and flushed to disk) before the action takes effect; if it
cannot be written the action is refused, so nothing auditable happens
unaudited (a monitoring session's end excepted: see node/monitoring.py).
Writes run in a thread of their own, in order. Queries read the file incrementally:
the records parsed so far are kept, and each query parses only the lines appended
since (by this server, or by the ``kotha`` CLI in another process).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from callcenter.errors import KothaError

logger = logging.getLogger(__name__)


class AuditError(KothaError):
    code = "audit_unavailable"
    http_status = 503


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor: str
    """The subject of the token that acted."""
    role: str
    action: str
    call_id: str | None
    source: str | None
    """The client's address, as the server saw it."""
    at: float = field(default_factory=time.time)
    details: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    """The actor's display name, as their token gave it."""

    def to_line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What the admins' audit page asks for: filters, newest first, one page."""

    call_id: str | None = None
    actor: str | None = None
    actions: tuple[str, ...] = ()
    """Any of these actions, each exact or a prefix ("monitor" finds monitor_started...)."""
    since: float | None = None
    until: float | None = None
    limit: int = 100
    offset: int = 0

    def apply(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        matching = [r for r in reversed(records) if self.matches(r)]
        return matching[self.offset : self.offset + self.limit], len(matching)

    def matches(self, record: dict[str, Any]) -> bool:
        at = float(record.get("at") or 0)
        action = str(record.get("action", ""))
        return (
            (self.call_id is None or record.get("call_id") == self.call_id)
            and (self.actor is None or record.get("actor") == self.actor)
            and (not self.actions or any(action.startswith(a) for a in self.actions))
            and (self.since is None or at >= self.since)
            and (self.until is None or at < self.until)
        )


class AuditLog:
    """``audit.jsonl`` in the data directory, appended to and fsynced record by record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")
        # What has been read of the file: its records, oldest first, and where the
        # next read starts. Queries run in the log's thread, tests call read() on the
        # loop: the lock keeps the two from parsing the same lines twice.
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._offset = 0
        self._file_id: tuple[int, int] | None = None
        self.bytes_read = 0
        """Bytes read from the file so far (each query reads only what was appended)."""

    async def record(self, record: AuditRecord) -> None:
        """Write ``record`` durably, or raise AuditError (and the caller refuses the action)."""
        line = record.to_line()
        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, self.append, line)
        except OSError as exc:
            # The detail (a path on the server) goes to the log, not to the client.
            logger.error("the audit log %s cannot be written: %s", self.path, exc)
            raise AuditError(
                "the audit log cannot be written, so the action is refused; tell an operator"
            ) from exc

    def append(self, line: str) -> None:
        """Append one line and fsync it (also used directly by the CLI)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    async def query(self, query: AuditQuery) -> tuple[list[dict[str, Any]], int]:
        """Records that match ``query``, newest first, and how many match in all.

        Read in the log's own thread, after the writes queued before it.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._query, query)

    def _query(self, query: AuditQuery) -> tuple[list[dict[str, Any]], int]:
        with self._lock:
            self._catch_up()
            return query.apply(self._records)

    def read(self) -> list[dict[str, Any]]:
        """Every record, oldest first (the new ones read from the file, the rest kept)."""
        with self._lock:
            self._catch_up()
            return list(self._records)

    def _catch_up(self) -> None:
        """Parse the lines appended since the last read; all of them if the file was replaced."""
        try:
            with self.path.open("rb") as file:
                stat = os.fstat(file.fileno())
                file_id = (stat.st_dev, stat.st_ino)
                if file_id != self._file_id or stat.st_size < self._offset:
                    # A new file (first read, restored or rotated by an operator): start over.
                    self._records, self._offset, self._file_id = [], 0, file_id
                file.seek(self._offset)
                chunk = file.read()
        except FileNotFoundError:
            self._records, self._offset, self._file_id = [], 0, None
            return
        self.bytes_read += len(chunk)
        # A line still being written (no newline yet) waits for the next read.
        complete = chunk.rfind(b"\n") + 1
        for line in chunk[:complete].splitlines():
            if line.strip():
                self._records.append(json.loads(line))
        self._offset += complete

    def close(self) -> None:
        self._thread.shutdown(wait=True)
