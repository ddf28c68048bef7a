"""The searchable index of finished recordings (SQLite).

The folders are the source of truth: every row is made from a folder's
meta.json, and :meth:`RecordingIndex.reindex` rebuilds the whole index from
the folders alone. The index is a cache for searching. The transcript table
is an FTS5 full-text index of every utterance (from transcript.json); words
are matched as a phrase whose last word may go on ("환불" finds "환불해",
"refund" finds "refunded"), since Korean and Bengali add endings to words.

A RecordingIndex is used from one thread at a time (SQLite connections are
per thread); the server gives it a single-thread executor of its own.
"""

from __future__ import annotations

import calendar
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .finalize import finished_recordings

# Bumped whenever a column changes: an index of another version is rebuilt from the
# folders (it is a cache; the folders are the truth).
SCHEMA_VERSION = 5
# Around the matched words of a search snippet: control characters, which no transcript
# holds (brackets do: the Korean model writes numbers as "[50]").
MATCH_START, MATCH_END = "\x02", "\x03"
SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    call_id TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    started_at REAL,
    finalized_at REAL,
    duration_ms INTEGER NOT NULL,
    agent_subject TEXT,
    agent_name TEXT,
    customer_subject TEXT,
    customer_name TEXT,
    language TEXT,
    media TEXT,
    has_video INTEGER NOT NULL,
    recovered INTEGER NOT NULL,
    tags TEXT NOT NULL,
    end_reason TEXT,
    mos_average REAL,
    mos_worst REAL,
    loss_pct REAL,
    quality_alerts TEXT NOT NULL DEFAULT '[]',
    utterances INTEGER NOT NULL DEFAULT 0,
    customer_sentiment REAL,
    keywords TEXT NOT NULL DEFAULT '[]',
    interruptions INTEGER,
    longest_silence_ms INTEGER,
    non_talk_ms INTEGER,
    agent_talk_share REAL,
    customer_talk_share REAL,
    categories TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS recordings_started ON recordings (started_at);
CREATE INDEX IF NOT EXISTS recordings_agent ON recordings (agent_subject);
CREATE INDEX IF NOT EXISTS recordings_customer ON recordings (customer_subject);
CREATE TABLE IF NOT EXISTS recording_tags (
    call_id TEXT NOT NULL REFERENCES recordings (call_id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (call_id, tag)
);
CREATE INDEX IF NOT EXISTS recording_tags_tag ON recording_tags (tag);
CREATE VIRTUAL TABLE IF NOT EXISTS transcripts USING fts5 (
    call_id UNINDEXED, speaker UNINDEXED, t_ms UNINDEXED, text
);
"""


@dataclass(frozen=True, slots=True)
class Query:
    """What a reviewer searches by; every field is optional."""

    since: float | None = None
    until: float | None = None
    agent: str | None = None
    customer: str | None = None
    tag: str | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    text: str | None = None
    max_mos: float | None = None  # calls whose worst MOS fell below this
    quality_alert: str | None = None  # calls in which this alert fired (high_loss, ...)
    keyword: str | None = None  # calls in which this configured keyword was said
    max_sentiment: float | None = None  # calls whose customer's mean sentiment fell below this
    min_interruptions: int | None = None  # calls with at least this many interruptions
    min_silence_s: float | None = None  # calls in which nobody talked for this long at once
    category: str | None = None  # calls that met this operator's category
    limit: int = 50
    offset: int = 0


class RecordingIndex:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        # A new file, or one made by another version of kotha: the caller rebuilds it.
        self.needs_reindex = version != SCHEMA_VERSION
        if self.needs_reindex:
            self._db.executescript(
                "DROP TABLE IF EXISTS recording_tags; DROP TABLE IF EXISTS recordings;"
            )
        self._db.executescript(SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def add(self, folder: Path, meta: dict[str, Any]) -> None:
        """Index (or re-index) the finished recording in ``folder``."""
        call = meta.get("call") or {}
        agent = call.get("agent") or {}
        customer = call.get("customer") or {}
        tags = sorted(set(meta.get("tags") or []))
        quality = meta.get("quality") or {}
        alerts = sorted((quality.get("alerts") or {}).keys())
        transcript = meta.get("transcript") or {}
        conversation = meta.get("conversation") or {}
        parties = conversation.get("parties") or {}
        longest = conversation.get("longest_silence") or {}
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM recordings WHERE call_id = ?", (meta["call_id"],))
            self._db.execute(
                f"INSERT INTO recordings VALUES ({','.join('?' * 28)})",
                (
                    meta["call_id"],
                    str(folder),
                    meta.get("started_at"),
                    meta.get("finalized_at"),
                    int(meta.get("duration_ms") or 0),
                    agent.get("subject"),
                    agent.get("name"),
                    customer.get("subject"),
                    customer.get("name"),
                    call.get("language"),
                    call.get("media"),
                    int(any(s.get("kind") == "video" for s in meta.get("streams", []))),
                    int(bool(meta.get("recovered"))),
                    json.dumps(tags, ensure_ascii=False),
                    meta.get("end_reason"),
                    quality.get("mos_average"),
                    quality.get("mos_worst"),
                    quality.get("loss_pct"),
                    json.dumps(alerts),
                    int(transcript.get("utterances") or 0),
                    transcript.get("customer_sentiment"),
                    json.dumps(sorted(transcript.get("keywords") or {}), ensure_ascii=False),
                    conversation.get("interruption_count"),
                    longest.get("ms") if conversation else None,
                    conversation.get("non_talk_ms"),
                    (parties.get("agent") or {}).get("talk_share"),
                    (parties.get("customer") or {}).get("talk_share"),
                    json.dumps(_category_names(meta), ensure_ascii=False),
                ),
            )
            self._db.executemany(
                "INSERT INTO recording_tags VALUES (?, ?)", [(meta["call_id"], t) for t in tags]
            )
            self._db.execute("DELETE FROM transcripts WHERE call_id = ?", (meta["call_id"],))
            self._db.executemany(
                "INSERT INTO transcripts VALUES (?, ?, ?, ?)",
                [
                    (meta["call_id"], u.get("role"), u.get("start_ms"), u.get("text", ""))
                    for u in _utterances(folder, transcript)
                ],
            )

    def remove(self, call_id: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM recordings WHERE call_id = ?", (call_id,))
            self._db.execute("DELETE FROM transcripts WHERE call_id = ?", (call_id,))

    def get(self, call_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM recordings WHERE call_id = ?", (call_id,)).fetchone()
        return _row(row) if row is not None else None

    def search(self, query: Query) -> list[dict[str, Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.since is not None:
            clauses.append("started_at >= ?")
            params.append(query.since)
        if query.until is not None:
            clauses.append("started_at < ?")
            params.append(query.until)
        if query.agent:
            clauses.append("(agent_subject = ? OR agent_name LIKE ?)")
            params += [query.agent, f"%{query.agent}%"]
        if query.customer:
            clauses.append("(customer_subject = ? OR customer_name LIKE ?)")
            params += [query.customer, f"%{query.customer}%"]
        if query.tag:
            clauses.append("call_id IN (SELECT call_id FROM recording_tags WHERE tag = ?)")
            params.append(query.tag)
        if query.min_duration_s is not None:
            clauses.append("duration_ms >= ?")
            params.append(int(query.min_duration_s * 1000))
        if query.max_duration_s is not None:
            clauses.append("duration_ms <= ?")
            params.append(int(query.max_duration_s * 1000))
        if query.max_mos is not None:
            clauses.append("mos_worst < ?")
            params.append(query.max_mos)
        # A value in one of the row's JSON lists (the column names are this code's own).
        for value, column in (
            (query.quality_alert, "quality_alerts"),
            (query.keyword, "keywords"),
            (query.category, "categories"),
        ):
            if value:
                clauses.append(f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value = ?)")
                params.append(value)
        if query.max_sentiment is not None:
            clauses.append("customer_sentiment < ?")
            params.append(query.max_sentiment)
        if query.min_interruptions is not None:
            clauses.append("interruptions >= ?")
            params.append(query.min_interruptions)
        if query.min_silence_s is not None:
            clauses.append("longest_silence_ms >= ?")
            params.append(int(query.min_silence_s * 1000))
        if query.text:
            clauses.append("call_id IN (SELECT call_id FROM transcripts WHERE transcripts MATCH ?)")
            params.append(_fts_phrase(query.text))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT * FROM recordings {where} ORDER BY started_at DESC LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        ).fetchall()
        found = [_row(r) for r in rows]
        if query.text:
            for row in found:
                row["matches"] = self._matches(row["call_id"], query.text)
        return found

    def _matches(self, call_id: str, text: str, limit: int = 3) -> list[dict[str, Any]]:
        """Where in a call the words were said: time, speaker and the words around them."""
        rows = self._db.execute(
            "SELECT t_ms, speaker, snippet(transcripts, 3, ?, ?, '…', 12) FROM transcripts "
            "WHERE call_id = ? AND transcripts MATCH ? ORDER BY CAST(t_ms AS INTEGER) LIMIT ?",
            (MATCH_START, MATCH_END, call_id, _fts_phrase(text), limit),
        ).fetchall()
        return [{"t_ms": r[0], "role": r[1], "snippet": r[2]} for r in rows]

    def older_than(self, cutoff: float) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM recordings WHERE started_at < ? ORDER BY started_at", (cutoff,)
        ).fetchall()
        return [_row(r) for r in rows]

    def reindex(self, root: Path) -> int:
        """Rebuild the index from the finished folders under ``root``; returns the count."""
        with self._db:
            self._db.execute("DELETE FROM recording_tags")
            self._db.execute("DELETE FROM recordings")
            self._db.execute("DELETE FROM transcripts")
        count = 0
        for folder, meta in finished_recordings(root):
            self.add(folder, meta)
            count += 1
        return count


def _utterances(folder: Path, transcript: dict[str, Any]) -> list[dict[str, Any]]:
    name = transcript.get("file")
    if not name or "/" in name or name.startswith("."):
        return []
    try:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    return [u for u in data.get("utterances", []) if isinstance(u, dict)]


def _row(row: sqlite3.Row) -> dict[str, Any]:
    entry = dict(row)
    entry["tags"] = json.loads(entry["tags"])
    entry["quality_alerts"] = json.loads(entry["quality_alerts"])
    entry["keywords"] = json.loads(entry["keywords"])
    entry["categories"] = json.loads(entry["categories"])
    entry["has_video"] = bool(entry["has_video"])
    entry["recovered"] = bool(entry["recovered"])
    return entry


def _category_names(meta: dict[str, Any]) -> list[str]:
    found = [m.get("category") for m in meta.get("categories") or [] if isinstance(m, dict)]
    return sorted({str(name) for name in found if name})


def _fts_phrase(text: str) -> str:
    """A user's words as one FTS5 phrase (quotes doubled): no query syntax from users.

    The phrase's last word is a prefix, so a word with an ending still matches.
    """
    return '"' + text.replace('"', '""') + '"*'


def day_start(date: str) -> float:
    """Unix time of midnight UTC of a ``YYYY-MM-DD`` date."""
    return float(calendar.timegm(time.strptime(date, "%Y-%m-%d")))
