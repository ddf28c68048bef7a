"""Where contact records and agents' time are kept: a port, and the one-node store.

One node keeps them in SQLite under its data folder (they outlive a restart, as
the recordings do); many nodes keep them in Redis (``redis_store.py``), where
every node's reports read the same numbers. The call's own facts (when it was
queued, answered, ended) and what is learnt later (the recording's analytics,
the customer's rating) are written to separate fields, so a rating that
arrives on one node while another ends the call overwrites nothing.

SQLite blocks: every statement runs on the store's own thread, never the loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .contact import ContactRecord
from .transitions import AgentSpan

T = TypeVar("T")

# What the call's own story sets; the rest is added later (annotations).
CALL_FACTS = (
    "language",
    "queued_at",
    "answered_at",
    "ended_at",
    "end_reason",
    "agent_subject",
    "agent_name",
    "customer_name",
    "hold_s",
    "holds",
)
ANNOTATIONS = (
    "mos_average",
    "customer_end_sentiment",
    "categories",
    "csat",
    "csat_comment",
    "rated_at",
)
# A report may not read more than this many contacts (a year of a busy centre is more:
# ask for a shorter range).
MAX_READ = 200_000


class ContactStore(Protocol):
    async def put(self, record: ContactRecord) -> None:
        """Write the call's own facts of ``record`` (annotations are left as they are)."""

    async def annotate(self, call_id: str, **values: Any) -> bool:
        """Add later facts (``ANNOTATIONS``) to a contact; False if there is no such contact."""

    async def get(self, call_id: str) -> ContactRecord | None: ...

    async def rate(self, call_id: str, score: int, comment: str | None, at: float) -> bool:
        """The customer's rating, once: False if the contact was rated already."""

    async def add_span(self, span: AgentSpan) -> None: ...

    async def contacts(self, since: float, until: float) -> list[ContactRecord]:
        """The contacts queued in ``since..until``, oldest first."""

    async def spans(self, since: float, until: float) -> list[AgentSpan]:
        """The agents' spans that overlap ``since..until``."""

    async def trim(self, before: float) -> int:
        """Forget contacts queued, and spans ended, before ``before``; how many."""

    async def close(self) -> None: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    call_id TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    queued_at REAL NOT NULL,
    answered_at REAL,
    ended_at REAL,
    end_reason TEXT,
    agent_subject TEXT,
    agent_name TEXT,
    customer_name TEXT NOT NULL DEFAULT '',
    hold_s REAL NOT NULL DEFAULT 0,
    holds INTEGER NOT NULL DEFAULT 0,
    mos_average REAL,
    customer_end_sentiment TEXT,
    categories TEXT NOT NULL DEFAULT '[]',
    csat INTEGER,
    csat_comment TEXT,
    rated_at REAL
);
CREATE INDEX IF NOT EXISTS contacts_queued ON contacts (queued_at);
CREATE TABLE IF NOT EXISTS agent_spans (
    subject TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_spans_end ON agent_spans ("end");
"""


# Columns added after the first contacts.sqlite3 was written: a file made before has them
# added as it opens (with their defaults for the calls it holds).
LATER_COLUMNS = {
    "hold_s": "REAL NOT NULL DEFAULT 0",
    "holds": "INTEGER NOT NULL DEFAULT 0",
}


def _add_missing_columns(db: sqlite3.Connection) -> None:
    have = {row[1] for row in db.execute("PRAGMA table_info(contacts)")}
    for name, kind in LATER_COLUMNS.items():
        if name not in have:
            db.execute(f"ALTER TABLE contacts ADD COLUMN {name} {kind}")


def _encode(name: str, value: Any) -> Any:
    return json.dumps(list(value), ensure_ascii=False) if name == "categories" else value


class SqliteContactStore:
    """The contacts of one node, in ``path`` (WAL: a crash loses no committed write)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="contacts")
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL: a commit survives the process being killed (kill -9), not a
            # power cut; a contact is a figure, not a recording, and fsync per call is costly.
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            _add_missing_columns(db)
            self._db = db
        return self._db

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: work(self._open()))

    async def put(self, record: ContactRecord) -> None:
        values = [_encode(n, getattr(record, n)) for n in CALL_FACTS]
        columns = ", ".join(CALL_FACTS)
        marks = ", ".join("?" * (1 + len(CALL_FACTS)))
        updates = ", ".join(f"{n} = excluded.{n}" for n in CALL_FACTS)
        sql = (
            f"INSERT INTO contacts (call_id, {columns}) VALUES ({marks}) "
            f"ON CONFLICT (call_id) DO UPDATE SET {updates}"
        )
        await self._run(lambda db: db.execute(sql, (record.call_id, *values)))

    async def annotate(self, call_id: str, **values: Any) -> bool:
        unknown = set(values) - set(ANNOTATIONS)
        if unknown:
            raise ValueError(f"not a later fact of a contact: {', '.join(sorted(unknown))}")
        if not values:
            return await self.get(call_id) is not None
        sets = ", ".join(f"{n} = ?" for n in values)
        params = [_encode(n, v) for n, v in values.items()]
        cursor = await self._run(
            lambda db: db.execute(
                f"UPDATE contacts SET {sets} WHERE call_id = ?", (*params, call_id)
            )
        )
        return cursor.rowcount > 0

    async def rate(self, call_id: str, score: int, comment: str | None, at: float) -> bool:
        cursor = await self._run(
            lambda db: db.execute(
                "UPDATE contacts SET csat = ?, csat_comment = ?, rated_at = ? "
                "WHERE call_id = ? AND csat IS NULL",
                (score, comment, at, call_id),
            )
        )
        return cursor.rowcount > 0

    async def get(self, call_id: str) -> ContactRecord | None:
        rows = await self._run(
            lambda db: db.execute("SELECT * FROM contacts WHERE call_id = ?", (call_id,)).fetchall()
        )
        return _record(rows[0]) if rows else None

    async def add_span(self, span: AgentSpan) -> None:
        await self._run(
            lambda db: db.execute(
                'INSERT INTO agent_spans (subject, name, state, start, "end") VALUES (?,?,?,?,?)',
                (span.subject, span.name, span.state, span.start, span.end),
            )
        )

    async def contacts(self, since: float, until: float) -> list[ContactRecord]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT * FROM contacts WHERE queued_at >= ? AND queued_at < ? "
                "ORDER BY queued_at LIMIT ?",
                (since, until, MAX_READ),
            ).fetchall()
        )
        return [_record(r) for r in rows]

    async def spans(self, since: float, until: float) -> list[AgentSpan]:
        rows = await self._run(
            lambda db: db.execute(
                'SELECT * FROM agent_spans WHERE "end" > ? AND start < ? ORDER BY start LIMIT ?',
                (since, until, MAX_READ),
            ).fetchall()
        )
        return [AgentSpan(r["subject"], r["name"], r["state"], r["start"], r["end"]) for r in rows]

    async def trim(self, before: float) -> int:
        def work(db: sqlite3.Connection) -> int:
            gone = db.execute("DELETE FROM contacts WHERE queued_at < ?", (before,)).rowcount
            gone += db.execute('DELETE FROM agent_spans WHERE "end" < ?', (before,)).rowcount
            return int(gone)

        return await self._run(work)

    async def close(self) -> None:
        def shut(db: sqlite3.Connection) -> None:
            db.close()

        if self._db is not None:
            await self._run(shut)
            self._db = None
        self._executor.shutdown(wait=True)


def _record(row: sqlite3.Row) -> ContactRecord:
    values = dict(row)
    values["categories"] = tuple(json.loads(values.get("categories") or "[]"))
    return ContactRecord.from_record(values)
