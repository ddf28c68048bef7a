"""``kotha recordings``: list, show, purge and reindex the call recordings on disk."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callcenter.errors import ConfigError
from node.config import Config, load_config

from .text import printable, printable_json


def add_recordings(sub: Any) -> None:
    recordings = sub.add_parser("recordings", help="find, show and purge call recordings")
    rec_sub = recordings.add_subparsers(required=True, metavar="action")
    listing = rec_sub.add_parser("list", help="recordings, newest first")
    listing.add_argument("--since", help="YYYY-MM-DD (UTC), inclusive")
    listing.add_argument("--until", help="YYYY-MM-DD (UTC), exclusive")
    listing.add_argument("--agent", help="agent id or part of the name")
    listing.add_argument("--customer", help="customer id or part of the name")
    listing.add_argument("--tag")
    listing.add_argument("--text", help="words spoken (full-text search of the transcripts)")
    listing.add_argument("--min-duration", type=float, help="seconds")
    listing.add_argument("--max-duration", type=float, help="seconds")
    listing.add_argument("--max-mos", type=float, help="calls whose worst MOS fell below this")
    listing.add_argument(
        "--alert",
        choices=["high_jitter", "high_loss", "high_rtt", "low_mos", "no_audio"],
        help="calls in which this quality alert fired",
    )
    listing.add_argument(
        "--min-interruptions", type=int, help="calls with at least this many interruptions"
    )
    listing.add_argument(
        "--min-silence", type=float, help="calls in which nobody talked for this many seconds"
    )
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=_recordings_list)
    show = rec_sub.add_parser("show", help="a recording's meta.json")
    show.add_argument("call_id")
    show.set_defaults(func=_recordings_show)
    purge = rec_sub.add_parser("purge", help="delete recordings older than the retention")
    purge.add_argument("--days", type=int, help="default: retention_days from the config")
    purge.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    purge.set_defaults(func=_recordings_purge)
    reindex = rec_sub.add_parser("reindex", help="rebuild the index from the folders")
    reindex.set_defaults(func=_recordings_reindex)
    for action in (listing, show, purge, reindex):
        action.add_argument("--data-dir", type=Path)


def config_from(args: argparse.Namespace, **overrides: Any) -> Config:
    """The settings the command line names (``--config``, and flags), with the secret."""
    return load_config(args.config, overrides=overrides).with_secret()


@contextlib.contextmanager
def _recording_index(config: Config, *, rebuild_stale: bool = True) -> Iterator[Any]:
    """The recording index, closed afterwards; a new or outdated one is rebuilt first."""
    from recording.index import RecordingIndex

    index = RecordingIndex(config.recordings_path / "index.sqlite3")
    try:
        if rebuild_stale and index.needs_reindex:
            index.reindex(config.recordings_path)
        yield index
    finally:
        index.close()


def _recordings_list(args: argparse.Namespace) -> int:
    from recording.index import Query, day_start

    config = config_from(args, data_dir=args.data_dir)
    try:
        query = Query(
            since=day_start(args.since) if args.since else None,
            until=day_start(args.until) if args.until else None,
            agent=args.agent,
            customer=args.customer,
            tag=args.tag,
            text=args.text,
            min_duration_s=args.min_duration,
            max_duration_s=args.max_duration,
            max_mos=args.max_mos,
            quality_alert=args.alert,
            min_interruptions=args.min_interruptions,
            min_silence_s=args.min_silence,
            limit=args.limit,
        )
    except ValueError as exc:
        raise ConfigError(f"dates are YYYY-MM-DD: {exc}") from exc
    with _recording_index(config) as index:
        rows = index.search(query)
    # Names come from callers and from recordings of older versions: whatever they
    # hold is printed escaped, never as raw control or direction characters.
    for row in rows:
        if args.json:
            print(printable_json(row))
        else:
            started = time.strftime("%Y-%m-%d %H:%M", time.gmtime(row["started_at"] or 0))
            print(
                printable(
                    f"{row['call_id']}  {started}Z  {row['duration_ms'] / 1000:7.1f}s  "
                    f"agent={row['agent_name'] or '-'}  customer={row['customer_name'] or '-'}  "
                    f"tags={','.join(row['tags']) or '-'}"
                    f"{'  (recovered)' if row['recovered'] else ''}"
                )
            )
    if not args.json:
        print(f"{len(rows)} recording(s)", file=sys.stderr)
    return 0


def _recordings_show(args: argparse.Namespace) -> int:
    config = config_from(args, data_dir=args.data_dir)
    with _recording_index(config) as index:
        row = index.get(args.call_id)
    if row is None:
        print(
            printable(
                f"kotha: no recording of call {args.call_id} (try: kotha recordings reindex)"
            ),
            file=sys.stderr,
        )
        return 1
    text = (Path(row["folder"]) / "meta.json").read_text(encoding="utf-8", errors="replace")
    try:
        print(printable_json(json.loads(text), indent=2))
    except ValueError:  # not JSON (damaged by hand?): shown as it is, escaped
        print("\n".join(printable(line) for line in text.rstrip("\n").split("\n")))
    return 0


def _recordings_purge(args: argparse.Namespace) -> int:
    import getpass

    from node.audit import AuditLog, AuditRecord
    from recording.retention import delete, expired

    config = config_from(args, data_dir=args.data_dir)
    days = args.days or config.retention_days
    cutoff = time.time() - days * 86400
    old = expired(config.recordings_path, cutoff)
    if args.dry_run:
        for recording in old:
            print(printable(f"would delete {recording.call_id}  {recording.folder}"))
        print(f"{len(old)} recording(s) older than {days} days", file=sys.stderr)
        return 0
    audit = AuditLog(config.audit_path)
    try:
        with _recording_index(config) as index:
            for recording in old:
                # The audit line goes first: no deletion without its record.
                record = AuditRecord(
                    actor=f"cli:{getpass.getuser()}",
                    role="operator",
                    action="purge_recording",
                    call_id=recording.call_id,
                    source="cli",
                    details={"retention_days": days, "started_at": recording.started_at},
                )
                audit.append(record.to_line())
                delete(recording, config.recordings_path)
                index.remove(recording.call_id)
                print(printable(f"deleted {recording.call_id}"))
    finally:
        audit.close()
    print(f"{len(old)} recording(s) older than {days} days deleted", file=sys.stderr)
    return 0


def _recordings_reindex(args: argparse.Namespace) -> int:
    config = config_from(args, data_dir=args.data_dir)
    with _recording_index(config, rebuild_stale=False) as index:
        count = index.reindex(config.recordings_path)
    print(f"indexed {count} recording(s) from {config.recordings_path}")
    return 0
