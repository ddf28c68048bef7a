"""The calls of one node, on disk: what a restarted server knows of the calls before it.

Each call gets a line in ``calls.jsonl`` when it is created, answered and ended
(appended off the event loop; an append survives ``kill -9``, the OS holds it).
At start the journal is read back: a call with no "ended" line was live when
the server stopped, so it is ended now as ``interrupted``, and its parties, who
reconnect with their tokens, are told so (``call_ended``) instead of "no such
call". Calls that ended within the retention stay visible. The file is then
rewritten with only those calls, so it never grows past a day's calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from callcenter.states import CallState, EndReason
from callcenter.values import CallValue, ParticipantValue

logger = logging.getLogger(__name__)

__all__ = ["CallJournal"]


class CallJournal:
    """``calls.jsonl`` in the data directory.

    Args:
        path: the journal file.
        retention_s: how long an ended call stays known (visible to a late reload).
    """

    def __init__(self, path: Path, *, retention_s: float) -> None:
        self.path = path
        self.retention_s = retention_s
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="call-journal")
        self._last: Future[None] | None = None
        self.lines_since_rewrite = 0

    def record(self, call: CallValue, event: str) -> None:
        """Append the call as it is now (``created``, ``answered`` or ``ended``); never blocks."""
        self._last = self._thread.submit(self._append, [_line(call, event)])
        self.lines_since_rewrite += 1

    def rewrite(self, calls: list[CallValue]) -> None:
        """Replace the file by one line per call still known (after the lines already queued)."""
        lines = [_line(call, call.state.value) for call in calls]
        self._last = self._thread.submit(self._replace, lines)
        self.lines_since_rewrite = 0

    async def restore(self) -> list[tuple[CallValue, CallValue]]:
        """The calls of the last run still worth knowing, each as the last run left it and
        as it is now (the interrupted ones are ended now: the pair tells that moment)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._restore)

    async def close(self) -> None:
        """Wait for the lines already handed over, then stop the writer."""
        if self._last is not None:
            await asyncio.wrap_future(self._last)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.shutdown)

    def _append(self, lines: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, "".join(line + "\n" for line in lines).encode())
        finally:
            os.close(fd)

    def _restore(self) -> list[tuple[CallValue, CallValue]]:
        entries: dict[str, dict[str, Any]] = {}
        try:
            with self.path.open(encoding="utf-8", errors="replace") as handle:
                for number, text in enumerate(handle, 1):
                    try:
                        entry = json.loads(text)
                        entries[str(entry["call_id"])] = entry
                    except (ValueError, KeyError, TypeError):
                        logger.warning("%s line %d is cut off; skipped", self.path, number)
        except FileNotFoundError:
            return []
        now = time.time()
        calls: list[tuple[CallValue, CallValue]] = []
        for entry in entries.values():
            try:
                call = left = _call(entry)
            except (ValueError, KeyError, TypeError):
                logger.warning("%s: a call cannot be read back; skipped", self.path)
                continue
            if call.state is not CallState.ENDED:
                call = replace(
                    call, state=CallState.ENDED, end_reason=EndReason.INTERRUPTED, ended_at=now
                )
                logger.info(
                    "Call(%s) was %s when the server stopped: ended as interrupted",
                    call.call_id,
                    entry.get("state"),
                )
            if now - (call.ended_at or now) <= self.retention_s:
                calls.append((left, call))
        self._replace([_line(call, "ended") for _, call in calls])
        return calls

    def _replace(self, lines: list[str]) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        os.replace(temporary, self.path)


def _line(call: CallValue, event: str) -> str:
    return json.dumps({"event": event, "at": time.time(), **_entry(call)}, ensure_ascii=False)


def _entry(call: CallValue) -> dict[str, Any]:
    """What is kept of a call: enough to show it, end it and tell its parties."""
    agent = call.agent
    return {
        "call_id": call.call_id,
        "state": call.state.value,
        "language": call.language,
        "media": call.media,
        "created_at": call.created_at,
        "queued_at": call.queued_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "end_reason": call.end_reason.value if call.end_reason else None,
        "ended_by": call.ended_by,
        "customer": _party(call.customer),
        "agent": _party(agent) if agent is not None else None,
        "tags": list(call.tags),
    }


def _party(participant: ParticipantValue) -> dict[str, str]:
    return {
        "participant_id": participant.participant_id,
        "subject": participant.subject,
        "name": participant.name,
    }


def _participant(data: dict[str, Any], role: str) -> ParticipantValue:
    return ParticipantValue(
        participant_id=str(data["participant_id"]),
        role=role,
        subject=str(data["subject"]),
        name=str(data["name"]),
        connected=False,
    )


def _call(entry: dict[str, Any]) -> CallValue:
    agent = entry.get("agent")
    reason = entry.get("end_reason")
    return CallValue(
        call_id=str(entry["call_id"]),
        customer=_participant(entry["customer"], "customer"),
        language=str(entry["language"]),
        media=str(entry["media"]),
        state=CallState(entry["state"]),
        created_at=float(entry["created_at"]),
        queued_at=entry.get("queued_at"),
        answered_at=entry.get("answered_at"),
        ended_at=entry.get("ended_at"),
        end_reason=EndReason(reason) if reason else None,
        ended_by=entry.get("ended_by"),
        agent=_participant(agent, "agent") if agent else None,
        tags=tuple(entry.get("tags") or ()),
    )
