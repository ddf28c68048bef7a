"""Finding recordings: the index, rebuilt from the folders alone, and `kotha recordings`.

Guards: search by date range, agent, customer, duration and tag; the folders are the
source of truth (a deleted index is rebuilt from them); words search through the FTS5
transcript table; `purge` deletes only what is past retention, and audits each deletion.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from recording.index import Query, RecordingIndex, day_start
from recording.layout import folder_for
from signaling.cli import main

DAY = 86400.0
NOW = time.time()


def finished_recording(
    root: Path,
    call_id: str,
    *,
    days_ago: float,
    agent: str,
    customer: str,
    seconds: float,
    tags: list[str],
) -> Path:
    """A recording folder as finalisation leaves it (the index needs only meta.json)."""
    started = NOW - days_ago * DAY
    folder = folder_for(root, call_id, started)
    (folder / "streams").mkdir(parents=True)
    meta = {
        "call_id": call_id,
        "started_at": started,
        "finalized_at": started + seconds,
        "duration_ms": int(seconds * 1000),
        "recovered": False,
        "call": {
            "language": "bn",
            "media": "audio",
            "agent": {"subject": agent.lower(), "name": agent},
            "customer": {"subject": customer.lower(), "name": customer},
        },
        "streams": [{"kind": "audio", "role": "customer"}, {"kind": "audio", "role": "agent"}],
        "tags": tags,
        "end_reason": "hung_up",
    }
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "recordings"
    finished_recording(
        root,
        "c_old0000001",
        days_ago=120,
        agent="Rahim",
        customer="Karim",
        seconds=300,
        tags=["refund"],
    )
    finished_recording(
        root,
        "c_mid0000002",
        days_ago=10,
        agent="Nusrat",
        customer="Salma",
        seconds=45,
        tags=["delivery"],
    )
    finished_recording(
        root,
        "c_new0000003",
        days_ago=1,
        agent="Rahim",
        customer="Jamal",
        seconds=900,
        tags=["refund", "bkash"],
    )
    return root


def ids(rows: list[dict[str, object]]) -> list[object]:
    return [r["call_id"] for r in rows]


def test_reviewer_finds_recordings_by_agent_customer_date_duration_and_tag(root: Path) -> None:
    index = RecordingIndex(root / "index.sqlite3")
    assert index.reindex(root) == 3
    assert ids(index.search(Query())) == ["c_new0000003", "c_mid0000002", "c_old0000001"]
    assert ids(index.search(Query(agent="rahim"))) == ["c_new0000003", "c_old0000001"]
    assert ids(index.search(Query(customer="Sal"))) == ["c_mid0000002"]
    assert ids(index.search(Query(since=NOW - 30 * DAY))) == ["c_new0000003", "c_mid0000002"]
    assert ids(index.search(Query(until=NOW - 30 * DAY))) == ["c_old0000001"]
    assert ids(index.search(Query(min_duration_s=60, max_duration_s=600))) == ["c_old0000001"]
    assert ids(index.search(Query(tag="refund"))) == ["c_new0000003", "c_old0000001"]
    assert ids(index.search(Query(tag="refund", agent="Rahim", since=NOW - 30 * DAY))) == [
        "c_new0000003"
    ]
    index.close()


def test_the_folders_are_the_truth_and_the_index_is_rebuilt_from_them(root: Path) -> None:
    path = root / "index.sqlite3"
    RecordingIndex(path).close()
    path.unlink()
    index = RecordingIndex(path)
    assert index.search(Query()) == []
    assert index.reindex(root) == 3
    row = index.get("c_new0000003")
    assert row is not None and row["tags"] == ["bkash", "refund"] and row["duration_ms"] == 900_000
    index.close()


def test_words_are_searched_as_a_phrase_not_as_query_syntax(root: Path) -> None:
    index = RecordingIndex(root / "index.sqlite3")
    index.reindex(root)
    index._db.execute(
        "INSERT INTO transcripts VALUES (?, ?, ?, ?)",
        ("c_mid0000002", "customer", 1000, "my parcel has not arrived"),
    )
    assert ids(index.search(Query(text="parcel has not"))) == ["c_mid0000002"]
    assert ids(index.search(Query(text='parcel" OR "x'))) == []  # no injection of FTS syntax
    index.close()


def test_day_start_is_midnight_utc() -> None:
    assert day_start("2026-11-25") == 1795564800.0


def test_cli_lists_shows_and_reindexes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(root.parent)
    assert main(["recordings", "reindex", "--data-dir", data]) == 0
    assert "indexed 3" in capsys.readouterr().out
    assert (
        main(
            [
                "recordings",
                "list",
                "--agent",
                "Rahim",
                "--tag",
                "refund",
                "--json",
                "--data-dir",
                data,
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert ids(rows) == ["c_new0000003", "c_old0000001"]
    assert main(["recordings", "show", "c_mid0000002", "--data-dir", data]) == 0
    assert json.loads(capsys.readouterr().out)["call"]["customer"]["name"] == "Salma"
    assert main(["recordings", "show", "c_nothere000", "--data-dir", data]) == 1
    assert main(["recordings", "list", "--since", "25-11-2026", "--data-dir", data]) == 2


def test_purge_deletes_only_recordings_past_retention_and_audits_each(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(root.parent)
    main(["recordings", "reindex", "--data-dir", data])
    assert main(["recordings", "purge", "--days", "30", "--dry-run", "--data-dir", data]) == 0
    assert "c_old0000001" in capsys.readouterr().out
    assert len(list(root.glob("*/*/*/*"))) == 3, "a dry run deletes nothing"

    assert main(["recordings", "purge", "--days", "30", "--data-dir", data]) == 0
    remaining = sorted(p.name for p in root.glob("*/*/*/*"))
    assert remaining == ["c_mid0000002", "c_new0000003"]
    audit = [json.loads(line) for line in (root.parent / "audit.jsonl").read_text().splitlines()]
    assert [(a["action"], a["call_id"]) for a in audit] == [("purge_recording", "c_old0000001")]
    capsys.readouterr()
    main(["recordings", "list", "--json", "--data-dir", data])
    assert ids([json.loads(x) for x in capsys.readouterr().out.splitlines()]) == [
        "c_new0000003",
        "c_mid0000002",
    ]


def with_quality(folder: Path, mos_worst: float, alerts: dict[str, int]) -> None:
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["quality"] = {
        "mos_average": 4.2,
        "mos_worst": mos_worst,
        "jitter_ms_p95": 12.0,
        "loss_pct": 0.4,
        "alerts": alerts,
        "samples": 60,
    }
    meta_path.write_text(json.dumps(meta))


def test_reviewer_finds_calls_that_sounded_bad(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = next(root.rglob("c_mid0000002"))
    with_quality(bad, 2.6, {"high_loss": 2})
    with_quality(next(root.rglob("c_new0000003")), 4.3, {})
    index = RecordingIndex(root / "index.sqlite3")
    index.reindex(root)

    assert ids(index.search(Query(max_mos=3.5))) == ["c_mid0000002"]
    assert ids(index.search(Query(quality_alert="high_loss"))) == ["c_mid0000002"]
    assert ids(index.search(Query(quality_alert="no_audio"))) == []
    row = index.search(Query(customer="Salma"))[0]
    assert (row["mos_worst"], row["quality_alerts"]) == (2.6, ["high_loss"])
    index.close()

    # From the shell, too.
    capsys.readouterr()
    code = main(["recordings", "list", "--data-dir", str(root.parent), "--max-mos", "3", "--json"])
    assert code == 0
    listed = [json.loads(line)["call_id"] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["c_mid0000002"]


def with_conversation(folder: Path, interruptions: int, longest_silence_s: float) -> None:
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    longest = int(longest_silence_s * 1000)
    meta["conversation"] = {
        "file": "conversation.json",
        "duration_ms": meta["duration_ms"],
        "parties": {
            "agent": {"talk_ms": 1000, "talk_share": 0.4},
            "customer": {"talk_ms": 900, "talk_share": 0.35},
        },
        "non_talk_ms": longest + 2000,
        "longest_silence": {"start_ms": 5000, "end_ms": 5000 + longest, "ms": longest},
        "interruption_count": interruptions,
    }
    meta_path.write_text(json.dumps(meta))


def test_reviewer_finds_calls_with_many_interruptions_or_a_long_silence(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_conversation(next(root.rglob("c_mid0000002")), interruptions=12, longest_silence_s=4)
    with_conversation(next(root.rglob("c_new0000003")), interruptions=10, longest_silence_s=31.5)
    # c_old0000001 was recorded before talk was measured: it has no figures and never matches.
    index = RecordingIndex(root / "index.sqlite3")
    index.reindex(root)

    assert ids(index.search(Query(min_interruptions=11))) == ["c_mid0000002"]
    assert ids(index.search(Query(min_interruptions=10))) == ["c_new0000003", "c_mid0000002"]
    assert ids(index.search(Query(min_silence_s=30))) == ["c_new0000003"]
    assert ids(index.search(Query(min_silence_s=32))) == []
    row = index.search(Query(min_silence_s=30))[0]
    assert (row["interruptions"], row["longest_silence_ms"]) == (10, 31500)
    assert (row["agent_talk_share"], row["customer_talk_share"]) == (0.4, 0.35)
    index.close()

    capsys.readouterr()
    data = str(root.parent)
    assert main(["recordings", "list", "--data-dir", data, "--min-silence", "30", "--json"]) == 0
    listed = [json.loads(line)["call_id"] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["c_new0000003"]


def test_an_index_from_an_older_kotha_is_rebuilt_from_the_folders(root: Path) -> None:
    import sqlite3

    path = root / "index.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE recordings (call_id TEXT PRIMARY KEY, folder TEXT)")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()

    index = RecordingIndex(path)
    assert index.needs_reindex
    assert index.reindex(root) == 3
    assert len(index.search(Query())) == 3
    index.close()
    assert not RecordingIndex(path).needs_reindex
