"""The ``kotha`` command: ``serve``, ``token`` and ``bench``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callcenter.errors import ConfigError
from callcenter.identity import Role
from node.config import Config, load_config
from transcribe.models import installed_languages

from .auth import TokenAuthority
from .text import plain_text, printable, printable_json

if TYPE_CHECKING:
    from aiohttp import web

DEMO_AGENTS = (("rahim", "Rahim"), ("nusrat", "Nusrat"))
DEMO_REVIEWER = ("rina", "Rina")
DEMO_SUPERVISOR = ("sumi", "Sumi")
DEMO_ADMIN = ("arif", "Arif")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"kotha: {exc.message}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kotha", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML config file (settings as in docs)")
    sub = parser.add_subparsers(required=True, metavar="command")

    serve = sub.add_parser("serve", help="run the call server")
    add_serve_arguments(serve)
    serve.add_argument(
        "--demo",
        action="store_true",
        help="local demo: guest calls on, and print sign-in links for demo agents",
    )
    serve.set_defaults(func=_serve)

    token = sub.add_parser("token", help="print a signed token")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--name", required=True, help="display name (also the subject by default)")
    token.add_argument("--subject", help="stable id of the person; defaults to the name")
    token.add_argument("--call", help="the call a customer token may join")
    token.add_argument("--ttl", type=int, help="seconds until it expires")
    token.add_argument("--data-dir", type=Path)
    token.set_defaults(func=_token)

    _add_revoke(sub)

    _add_bench(sub)

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
    return parser


def _add_revoke(sub: Any) -> None:
    revoke = sub.add_parser(
        "revoke",
        help="end sign-ins: one token's, everything of a person, or everything of a role",
    )
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", help="the token to revoke (and every token refreshed from it)")
    which.add_argument("--grant", help="a sign-in's id (the token's gid claim)")
    which.add_argument("--subject", help="a person's id: every sign-in of theirs until now")
    which.add_argument("--role", choices=[r.value for r in Role], help="every sign-in of a role")
    revoke.add_argument("--reason", default="", help="why (kept in the audit log)")
    revoke.add_argument("--data-dir", type=Path)
    revoke.set_defaults(func=_revoke)


def _add_bench(sub: Any) -> None:
    bench = sub.add_parser("bench", help="benchmarks that print JSON")
    bench_sub = bench.add_subparsers(required=True, metavar="benchmark")
    relay = bench_sub.add_parser("relay", help="server CPU per forwarded stream vs a naive relay")
    relay.add_argument(
        "--calls",
        type=int,
        default=5,
        help="two-party calls (default 5: the most one naive-relay process carries here)",
    )
    relay.add_argument("--seconds", type=float, default=20.0)
    relay.add_argument("--json", action="store_true", help="print only the JSON line")
    relay.add_argument(
        "--mode",
        choices=["both", "forward", "transcode"],
        help="the forwarding server, the naive baseline, or both "
        "(default; with --record or --monitor: forward)",
    )
    relay.add_argument(
        "--record",
        action="store_true",
        help="also run the forwarding load with recording on; adds record_cpu_ms_per_stream_s",
    )
    relay.add_argument(
        "--monitor",
        action="store_true",
        help="also run the forwarding load with a listening supervisor on every call "
        "(what listening supervisors cost); adds monitor_overhead_pct and "
        "monitor_cpu_ms_per_supervisor_s",
    )
    relay.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="with --record or --monitor: alternate forward and those runs this many times "
        "and report the median overhead (the machine's speed drifts more than they cost)",
    )
    relay.set_defaults(func=_bench_relay)
    quality = bench_sub.add_parser(
        "quality", help="server CPU of measuring every connection once a second"
    )
    quality.add_argument("--participants", type=int, default=50)
    quality.add_argument("--seconds", type=float, default=20.0)
    quality.add_argument("--json", action="store_true", help="print only the JSON line")
    quality.set_defaults(func=_bench_quality)
    transcribe = bench_sub.add_parser(
        "transcribe", help="live transcription: real time factor and latency of N microphones"
    )
    transcribe.add_argument("--streams", type=int, default=2, help="microphones at once")
    transcribe.add_argument(
        "--phrases", type=int, default=6, help="support-call phrases each says (~3.5 s each)"
    )
    transcribe.add_argument("--workers", type=int, help="the pool's threads (default: cores)")
    transcribe.add_argument(
        "--max-streams",
        type=int,
        default=64,
        help="the pool's limit; with --find-capacity, the most tried",
    )
    transcribe.add_argument(
        "--find-capacity",
        action="store_true",
        help="try 1, 2, 4, 6, 8, ... streams until the pool falls behind; report the capacity",
    )
    transcribe.add_argument(
        "--warm-spares",
        type=int,
        help="warm recognisers the pool keeps ready (default: one per worker)",
    )
    transcribe.add_argument("--json", action="store_true", help="print only the JSON line")
    transcribe.set_defaults(func=_bench_transcribe)
    join = bench_sub.add_parser(
        "join", help="how soon an agent who joins a video call late sees the picture"
    )
    join.add_argument("--joins", type=int, default=10, help="late joins, one call at a time")
    join.add_argument(
        "--lead", type=float, default=2.0, help="seconds the camera sends before the agent joins"
    )
    join.add_argument("--json", action="store_true", help="print only the JSON line")
    join.set_defaults(func=_bench_join)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """``--host``, ``--port`` and ``--data-dir``: where a server listens and keeps its files."""
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir", type=Path)


def serve_config(args: argparse.Namespace, **overrides: Any) -> Config:
    """A server's settings: the ``--config`` file, then ``KOTHA_*`` variables, then flags."""
    return _load(args, host=args.host, port=args.port, data_dir=args.data_dir, **overrides)


def run_server(config: Config, make_app: Callable[[], web.Application], banner: str) -> None:
    """Serve ``make_app()`` on uvloop until SIGTERM or SIGINT; print ``banner`` once listening."""
    import uvloop

    from node.logs import configure_logging

    from .listener import serve

    configure_logging(config.log_level, config.log_format)

    async def run() -> None:
        await serve(make_app(), config, ready=lambda: print(banner, flush=True))

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())


def _load(args: argparse.Namespace, **overrides: Any) -> Config:
    return load_config(args.config, overrides=overrides).with_secret()


def _serve(args: argparse.Namespace) -> int:
    from .app import create_app

    overrides: dict[str, Any] = {}
    if args.demo:
        overrides["guest_mode"] = True
        # Vosk downloads the English model on the first English call where there is
        # internet; without it the console says plainly that there is no model.
        overrides["transcribe_download"] = True
    config = serve_config(args, **overrides)
    if args.demo:
        config = demo_languages(config)
    run_server(config, lambda: create_app(config), _banner(config, demo=args.demo))
    return 0


def demo_languages(config: Config) -> Config:
    """The demo offers every language with an installed model, so a newcomer sees transcripts."""
    installed = installed_languages(config.transcribe_models)
    offered = [*config.call_languages, *(x for x in installed if x not in config.call_languages)]
    return config.model_copy(update={"call_languages": offered})


def _banner(config: Config, *, demo: bool) -> str:
    base = config.base_url
    lines = [
        f"kotha is serving on {base}",
        f"  start here (every page):         {base}/",
        f"  customer page ('call support'): {base}/support",
        f"  agent console:                   {base}/agent",
        f"  call recordings (reviewers):     {base}/replay",
        f"  supervisor dashboard:            {base}/dashboard",
        f"  audit log (admins):              {base}/audit",
        f"  health:                          {base}/healthz",
    ]
    if demo:
        authority = TokenAuthority(config.jwt_secret)
        lines.append("  demo agent sign-in links (valid 12 h):")
        for subject, name in DEMO_AGENTS:
            token = authority.issue(Role.AGENT, subject, name=name, ttl_s=config.token_ttl_s)
            lines.append(f"    {name}: {base}/agent#token={token}")
        subject, name = DEMO_REVIEWER
        token = authority.issue(Role.REVIEWER, subject, name=name, ttl_s=config.token_ttl_s)
        lines.append(f"  demo reviewer sign-in link: {base}/replay#token={token}")
        subject, name = DEMO_SUPERVISOR
        token = authority.issue(Role.SUPERVISOR, subject, name=name, ttl_s=config.token_ttl_s)
        lines.append(f"  demo supervisor sign-in link: {base}/dashboard#token={token}")
        subject, name = DEMO_ADMIN
        token = authority.issue(Role.ADMIN, subject, name=name, ttl_s=config.token_ttl_s)
        lines.append(f"  demo admin sign-in link (audit log): {base}/audit#token={token}")
        lines.append("  guest calls are on: open the customer page and press 'call support'")
        installed = installed_languages(config.transcribe_models)
        lines.append(
            "  live transcript: the customer page offers "
            + ", ".join(config.call_languages)
            + "; transcribed here: "
            + (", ".join(installed) or "none")
            + " (choose Korean, 'ko', on the customer page to see it work; English fetches"
            " Vosk's model on first use where there is internet; Bengali has no Vosk model)"
        )
    return "\n".join(lines)


def _token(args: argparse.Namespace) -> int:
    # The name is shown on every page and in the audit log, like a name given to the API.
    for option, value in (("--name", args.name), ("--subject", args.subject)):
        try:
            plain_text(value or "")
        except ValueError as exc:
            raise ConfigError(f"{option} {exc}") from None
    config = _load(args, data_dir=args.data_dir)
    role = Role(args.role)
    if role is Role.CUSTOMER and not args.call:
        raise ConfigError("a customer token needs --call (create calls with POST /api/calls)")
    ttl = args.ttl or (config.customer_token_ttl_s if role is Role.CUSTOMER else config.token_ttl_s)
    token = TokenAuthority(config.jwt_secret).issue(
        role,
        args.subject or args.name.lower().replace(" ", "-"),
        name=args.name,
        call_id=args.call,
        ttl_s=ttl,
    )
    print(token)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    """Append a revocation to the data directory; a running server applies it within 2 s."""
    import getpass

    from callcenter.errors import AuthError

    from .audit import AuditLog, AuditRecord
    from .revocation import RevocationKind, RevocationList

    config = _load(args, data_dir=args.data_dir)
    revocations = RevocationList(
        config.data_dir / "revocations.jsonl", max_session_s=config.token_max_session_s
    )
    until = 0.0
    if args.token:
        authority = TokenAuthority(config.jwt_secret, max_session_s=config.token_max_session_s)
        try:
            identity = authority.grant_of(args.token.strip())
        except AuthError as exc:
            raise ConfigError(f"cannot revoke that token: {exc.message}") from None
        kind, value, until = RevocationKind.GRANT, identity.grant_id, identity.grant_expires_at
    elif args.grant:
        kind, value = RevocationKind.GRANT, args.grant
    elif args.subject:
        kind, value = RevocationKind.SUBJECT, args.subject
    else:
        kind, value = RevocationKind.ROLE, args.role
    actor = f"cli:{getpass.getuser()}"
    revocation = revocations.make(kind, value, by=actor, reason=args.reason, until=until)
    audit = AuditLog(config.audit_path)
    try:
        # The audit line goes first: no revocation without its record.
        audit.append(
            AuditRecord(
                actor=actor,
                role="operator",
                action="revoke",
                call_id=None,
                source="cli",
                details={"kind": kind.value, "value": value, "reason": args.reason},
            ).to_line()
        )
        revocations.append(json.dumps(revocation.to_wire(), ensure_ascii=False))
    finally:
        audit.close()
        revocations.close()
    print(f"revoked {kind.value} {value}: a running server ends its sockets within 2 s")
    return 0


def _bench_relay(args: argparse.Namespace) -> int:
    from bench.relay import run_relay_benchmark

    result = asyncio.run(
        run_relay_benchmark(
            calls=args.calls,
            seconds=args.seconds,
            modes=args.mode or ("forward" if args.record or args.monitor else "both"),
            record=args.record,
            monitor=args.monitor,
            rounds=args.rounds,
            quiet=args.json,
        )
    )
    print(json.dumps(result), flush=True)
    return 0


def _bench_quality(args: argparse.Namespace) -> int:
    from bench.quality import run_quality_benchmark

    result = asyncio.run(
        run_quality_benchmark(participants=args.participants, seconds=args.seconds, quiet=args.json)
    )
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1


def _bench_transcribe(args: argparse.Namespace) -> int:
    from bench.transcribe import run_transcribe_benchmark

    result = asyncio.run(
        run_transcribe_benchmark(
            streams=args.streams,
            phrases=args.phrases,
            workers=args.workers,
            max_streams=args.max_streams,
            find_capacity=args.find_capacity,
            quiet=args.json,
            warm_spares=args.warm_spares,
        )
    )
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0 if "error" not in result else 1


def _bench_join(args: argparse.Namespace) -> int:
    from bench.join import run_join_benchmark

    result = asyncio.run(run_join_benchmark(joins=args.joins, lead_s=args.lead, quiet=args.json))
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1


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

    config = _load(args, data_dir=args.data_dir)
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
    config = _load(args, data_dir=args.data_dir)
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

    from recording.retention import delete, expired

    from .audit import AuditLog, AuditRecord

    config = _load(args, data_dir=args.data_dir)
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
    config = _load(args, data_dir=args.data_dir)
    with _recording_index(config, rebuild_stale=False) as index:
        count = index.reindex(config.recordings_path)
    print(f"indexed {count} recording(s) from {config.recordings_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
