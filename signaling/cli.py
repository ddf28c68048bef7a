"""The ``kotha`` command: ``serve``, ``token``, ``revoke``, ``recordings`` and ``bench``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callcenter.errors import ConfigError
from callcenter.identity import Role
from node.config import Config
from transcribe.models import installed_languages

from .auth import TokenAuthority
from .cli_bench import add_bench
from .cli_nodes import MAX_NODES, serve_nodes
from .cli_recordings import add_recordings, config_from
from .text import plain_text

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
    serve.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="run N nodes on this machine, one port, sharing Redis (started here when "
        "redis_url is not set): every core used",
    )
    serve.add_argument("--node-of-many", action="store_true", help=argparse.SUPPRESS)
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

    add_bench(sub)

    add_recordings(sub)
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


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """``--host``, ``--port`` and ``--data-dir``: where a server listens and keeps its files."""
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir", type=Path)


def serve_config(args: argparse.Namespace, **overrides: Any) -> Config:
    """A server's settings: the ``--config`` file, then ``KOTHA_*`` variables, then flags."""
    return config_from(args, host=args.host, port=args.port, data_dir=args.data_dir, **overrides)


def run_server(config: Config, make_app: Callable[[], web.Application], banner: str) -> None:
    """Serve ``make_app()`` on uvloop until SIGTERM or SIGINT; print ``banner`` once listening."""
    import uvloop

    from node.logs import configure_logging

    from .listener import serve

    configure_logging(config.log_level, config.log_format)

    async def run() -> None:
        await serve(
            make_app(), config, ready=(lambda: print(banner, flush=True)) if banner else None
        )

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())


def _serve(args: argparse.Namespace) -> int:
    from .app import create_app

    overrides: dict[str, Any] = {}
    if args.demo:
        overrides["guest_mode"] = True
        # Vosk downloads the English model on the first English call where there is
        # internet; without it the console says plainly that there is no model.
        overrides["transcribe_download"] = True
    if not 1 <= args.nodes <= MAX_NODES:
        raise ConfigError(f"--nodes must be between 1 and {MAX_NODES}")
    config = serve_config(args, **overrides)
    if args.demo:
        config = demo_languages(config)
    banner = _banner(config, demo=args.demo)
    if args.nodes > 1:
        return serve_nodes(args, config, banner)
    # One of many: the launcher prints the banner once, for all of them.
    run_server(config, lambda: create_app(config), "" if args.node_of_many else banner)
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
        f"  the floor's reports:             {base}/reports",
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
    config = config_from(args, data_dir=args.data_dir)
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
    from node.audit import AuditLog, AuditRecord

    from .revocation import RevocationKind, RevocationList

    config = config_from(args, data_dir=args.data_dir)
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


if __name__ == "__main__":
    sys.exit(main())
