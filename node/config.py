"""Server configuration: a TOML file, then ``KOTHA_*`` environment variables, then flags.

Every setting has a default that runs the embedded single-node server with no
external service. The JWT secret is the one setting that must never be a
default: when none is given, a random one is generated on first run and kept
in the data directory, so tokens survive a restart.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from callcenter.errors import ConfigError

ENV_PREFIX = "KOTHA_"
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased, as browsers send it in Origin."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return ""
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    try:
        port = parts.port
    except ValueError:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme.lower()}://{host.lower()}{suffix}"


class IceServer(BaseModel):
    """A STUN or TURN server handed to browsers (``RTCIceServer``)."""

    model_config = ConfigDict(extra="forbid")

    urls: list[Annotated[str, Field(pattern=r"^(stun|stuns|turn|turns):")]]
    # TURN servers get time-limited credentials from ``turn_secret`` (TURN REST
    # API); a static password is deliberately not supported.
    turn: bool = False


class WebhookEndpoint(BaseModel):
    """A URL of the shop's backend told of calls (docs/webhooks.md)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)]
    secret: Annotated[str, Field(min_length=16, max_length=500)]
    """The shared secret each delivery is signed with (HMAC-SHA256)."""
    events: list[
        Literal["call.queued", "call.answered", "call.ended", "call.abandoned", "recording.ready"]
    ] = Field(default_factory=list)
    """The events it wants (empty: all)."""


class Config(BaseModel):
    """All settings of one kotha node."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    public_url: str = ""
    """Base URL that join links point at; defaults to http://host:port."""
    data_dir: Path = Path("var")

    jwt_secret: str = ""
    """HS256 secret for tokens; generated and kept in data_dir when empty."""
    token_ttl_s: Annotated[int, Field(ge=60, le=7 * 86400)] = 12 * 3600
    customer_token_ttl_s: Annotated[int, Field(ge=60, le=86400)] = 2 * 3600
    guest_token_ttl_s: Annotated[int, Field(ge=60, le=86400)] = 30 * 60
    guest_mode: bool = False
    """Let the customer page mint a short-lived token bound to one new call (demo)."""
    page_test_hooks: bool = False
    """Pages expose their state as ``window.kotha`` for browser tests (tests only)."""
    api_keys: list[Annotated[str, Field(min_length=16)]] = Field(default_factory=list)
    """Keys a shop backend uses for POST /api/calls (X-API-Key header)."""
    metrics_token: Annotated[str, Field(min_length=16)] | None = None
    """Static bearer token a Prometheus scraper may send to GET /metrics (else: admin JWT only)."""
    socket_rate_per_s: Annotated[float, Field(gt=0)] = 20.0
    """Messages a second one socket may send before it gets "rate_limited" replies."""
    socket_rate_burst: Annotated[float, Field(ge=1)] = 100.0
    allowed_origins: list[str] = Field(default_factory=list)
    """Origins (``https://support.example.com``) whose pages may open a socket, besides
    ``public_url``'s. The Host header is never trusted for this (DNS rebinding)."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks (CIDR) of reverse proxies in front of this server; only from them
    is ``X-Forwarded-For`` believed, and the per-address limits apply to the client it names."""

    max_connections: Annotated[int, Field(ge=1)] = 10_000
    """TCP connections this node holds at once (sockets, page loads, API calls)."""
    max_connections_per_address: Annotated[int, Field(ge=1)] = 64
    """TCP connections one address may hold at once. Generous because mobile carriers put many
    customers behind one address (CGNAT); a trusted proxy is not counted."""
    socket_connects_per_address_per_min: Annotated[float, Field(gt=0)] = 120.0
    """New sockets one address may open a minute (a burst of a quarter of it at once)."""
    max_sockets_per_token: Annotated[int, Field(ge=1, le=1000)] = 8
    """Sockets open at once on one token and the tokens refreshed from it (a page, its reloads,
    a second tab)."""
    socket_sign_in_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    """A socket that has not signed in (sent its token) this long after opening is closed."""
    http_idle_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 15.0
    """An HTTP connection that sends nothing (no request, or headers stalled) this long is
    closed."""
    shutdown_timeout_s: Annotated[float, Field(gt=0, le=300)] = 8.0
    """On SIGTERM: calls end (everyone told why), recordings finish, then the process exits;
    anything still running after this is cut off. Below Docker's 10 s and systemd's 90 s."""
    token_max_session_s: Annotated[int, Field(ge=60, le=30 * 86400)] = 24 * 3600
    """The longest a sign-in lasts, however often its token is refreshed."""
    api_calls_per_min: Annotated[float, Field(gt=0)] = 600.0
    """Calls one API key may create a minute (a burst of a tenth of it at once)."""
    guest_calls_per_min: Annotated[float, Field(gt=0)] = 10.0
    """Guest calls one address may start a minute (demo mode only)."""
    max_queued_per_address: Annotated[int, Field(ge=1)] = 20
    """Customers one address may have waiting in the queue at once."""
    ended_call_retention_s: Annotated[float, Field(ge=10, le=7 * 86400)] = 3600.0
    """How long an ended call stays in memory, so ``GET /api/calls/{id}`` and a page that
    reconnects still learn how it ended (the recording keeps it for good)."""
    redis_url: str | None = None
    """The Redis that holds the call centre's state (calls, agents and the queue), e.g.
    ``redis://10.0.0.5:6379/0``; none: it is kept in this process (one node)."""
    node_id: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] = ""
    """This node's name in the registry (which node holds a call's media); empty: the host
    name and process id."""
    redis_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "kotha:"
    """The prefix of every key this call centre writes in that Redis."""
    reuse_port: bool = False
    """Share the port with the other nodes of this machine (``SO_REUSEPORT``: the kernel
    spreads new connections over them); ``kotha serve --nodes N`` sets it."""
    joins_per_min: Annotated[float, Field(gt=0)] = 12.0
    """Fresh media connections one participant may open a minute (reloads, network changes);
    a page that fails and rejoins at once is refused, not given a peer each time."""

    ice_servers: list[IceServer] = Field(default_factory=list)
    turn_secret: str = ""
    turn_ttl_s: Annotated[int, Field(ge=60, le=86400)] = 3600
    ice_addresses: list[str] = Field(default_factory=list)
    """Addresses the server gathers ICE candidates on (all interfaces when empty)."""
    ice_candidate_networks: list[str] | None = None
    """Non-public networks (CIDR) a client's ICE candidates may name. Public unicast addresses
    are always allowed; multicast and unspecified ones never. Unset: everything when this
    server listens on a loopback or private address (a laptop, a LAN), public addresses only
    otherwise, so that a client cannot make a public server probe its private neighbours."""

    auto_offer: bool = False
    """Offer the longest-waiting call to the longest-idle available agent."""
    offer_timeout_s: Annotated[float, Field(gt=0, le=120)] = 20.0
    rejoin_grace_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long a participant whose socket dropped may come back to the same call."""
    answer_timeout_s: Annotated[float, Field(gt=0, le=120)] = 20.0
    default_handle_time_s: Annotated[float, Field(gt=0)] = 180.0
    """Handle time assumed for the wait estimate until calls have been measured."""
    max_queue: Annotated[int, Field(ge=1)] = 500
    max_calls: Annotated[int, Field(ge=1, le=100_000)] = 200
    """Calls whose media this node carries at once; past it, agents here take no new call
    (the ones it carries keep their quality) and ``/readyz`` says the node is full."""

    recording_enabled: bool = True
    """Record every call (the customer page says so)."""
    recordings_dir: Path | None = None
    """Where recordings go; data_dir/recordings when unset."""
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """``kotha recordings purge`` deletes recordings older than this."""
    categories_file: Path | None = None
    """The operator's categories of calls (TOML rules, docs/categories.md), decided live."""
    webhooks: list[WebhookEndpoint] = Field(default_factory=list, max_length=20)
    """Where the shop's backend is told of calls: [[webhooks]] name, url, secret, events."""
    webhook_retry_base_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    """A failed delivery is tried again after this, doubling each time..."""
    webhook_retry_cap_s: Annotated[float, Field(gt=0, le=3600)] = 300.0
    """...to at most this; an event is given up a day after it happened."""
    webhook_order_hold_s: Annotated[float, Field(ge=0, le=86400)] = 3600.0
    """With many nodes: how long a call's event waits for an earlier one of the call that
    another node has not delivered yet (its receiver down), before it goes anyway."""
    contacts_retention_days: Annotated[int, Field(ge=1, le=3650)] = 400
    """Contact records (the reports' calls) older than this are forgotten, hourly."""
    media_url_ttl_s: Annotated[int, Field(ge=30, le=86400)] = 3600
    """How long a signed playback or download URL stays valid."""

    quality_interval_s: Annotated[float, Field(ge=0.2, le=10)] = 1.0
    """How often every call's connections are sampled (alert rules count samples)."""
    quality_jitter_ms: Annotated[float, Field(gt=0)] = 30.0
    quality_loss_pct: Annotated[float, Field(gt=0, le=100)] = 3.0
    quality_loss_average_pct: Annotated[float, Field(gt=0, le=100)] = 3.0
    quality_rtt_ms: Annotated[float, Field(gt=0)] = 400.0
    quality_mos: Annotated[float, Field(ge=1, le=5)] = 3.0
    """Alert thresholds: a sample is bad above these (below, for MOS)."""
    quality_video_jitter_ms: Annotated[float, Field(gt=0)] = 100.0
    quality_video_loss_pct: Annotated[float, Field(gt=0, le=100)] = 5.0
    """Video's own: a frame leaves the browser as a burst of packets and the receiver buffers
    whole frames, retransmitting what is lost, so video bears more jitter and loss than a
    voice does before anyone sees it (audio's 30 ms would call a clean camera poor)."""
    quality_no_audio_s: Annotated[int, Field(ge=1, le=60)] = 3
    """Seconds without audio from a participant's microphone before the no-audio alert."""

    call_languages: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]],
        Field(min_length=1, max_length=20),
    ] = Field(default_factory=lambda: ["bn", "en"])
    """Languages a customer may choose for a call (the customer page offers them, the API
    accepts them). ``kotha serve --demo`` adds every language with an installed speech model."""

    conversation_analytics: bool = True
    """Measure each party's talk from their own audio (talk time, silences, interruptions,
    loudness: the conversation characteristics of every call, also without a speech model).
    Costs about 1 % of a recorded, transcribed call's CPU (docs/benchmarks.md)."""

    transcribe_enabled: bool = True
    """Transcribe calls live (where a speech model for the call's language exists)."""
    transcribe_models: dict[str, Path] = Field(default_factory=dict)
    """Vosk model folders by language code; else installed model packages, else a download."""
    transcribe_download: bool = False
    """Let Vosk download a missing model by language name (needs the internet)."""
    transcribe_languages: dict[str, str] = Field(default_factory=dict)
    """Which speech model transcribes a call, by the customer's language choice (for example
    {"bn": "en-in"}); a language not listed is transcribed in itself."""
    transcribe_workers: Annotated[int, Field(ge=0, le=64)] = 0
    """Transcription threads (0: one per core)."""
    transcribe_max_streams: Annotated[int, Field(ge=0, le=1000)] = 8
    """Microphones transcribed at once on this node; more are refused with a reason."""
    transcribe_warm_spares: Annotated[int, Field(ge=0, le=1000)] = 0
    """Warm recognisers kept ready per speech model (0: one per transcription thread). Each
    saves a new call ~0.9 s of CPU in its first second and holds 15-20 MB; at most
    ``transcribe_max_streams``."""
    transcribe_behind_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    """New streams are refused while transcription runs this far behind live."""
    transcribe_give_up_s: Annotated[float, Field(gt=0, le=600)] = 20.0
    """A stream this far behind live stops being transcribed (and says so)."""
    transcribe_keywords: dict[str, list[str]] | None = None
    """Keywords that alert when said, by language ("*": every language); built-in list when
    unset."""
    sentiment_negative_streak: Annotated[int, Field(ge=1, le=20)] = 2
    """Negative customer utterances in a row that alert a supervisor."""
    sentiment_fall: Annotated[float, Field(gt=0, le=2)] = 0.5
    """A fall of the customer's mood this large (on -1..1) alerts a supervisor."""

    timezone: str = "Asia/Dhaka"
    """The centre's time zone: where "today" begins on the floor, and the reports' hours and
    days (an IANA name, such as Asia/Dhaka or UTC)."""
    service_level_target_s: Annotated[float, Field(gt=0, le=3600)] = 20.0
    """Service level: the share of calls answered within this many seconds of queueing."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _turn_needs_secret(self) -> Config:
        if any(server.turn for server in self.ice_servers) and len(self.turn_secret) < 16:
            raise ValueError(
                "a TURN server needs turn_secret (at least 16 characters) for its "
                "time-limited credentials"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone this machine knows: write an IANA name such as "
                "Asia/Dhaka or UTC"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def webhooks_path(self) -> Path:
        """This node's webhook outboxes (nodes of one machine share data_dir)."""
        if self.node_id:
            return self.data_dir / "nodes" / self.node_id.replace(":", "_") / "webhooks"
        return self.data_dir / "webhooks"

    @property
    def contacts_path(self) -> Path:
        """The contact records of a single node (many nodes keep them in Redis)."""
        return self.data_dir / "contacts.sqlite3"

    @field_validator("ice_candidate_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(
                    f"{text!r} is not an address or a network like 10.0.0.0/8"
                ) from None
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != origin_of(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port] with no path, "
                    "for example https://support.example.com"
                )
        return value

    @property
    def candidate_networks(self) -> list[IPNetwork] | None:
        """The non-public networks clients' ICE candidates may name; None: every network."""
        if self.ice_candidate_networks is not None:
            return [ipaddress.ip_network(n, strict=False) for n in self.ice_candidate_networks]
        try:
            own = ipaddress.ip_address(self.host)
        except ValueError:
            own = None  # a host name: treat it as public
        # 0.0.0.0 and :: listen on every interface, the public ones too.
        if own is not None and not own.is_unspecified and (own.is_loopback or own.is_private):
            return None
        return []

    @property
    def proxy_networks(self) -> list[IPNetwork]:
        return [ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies]

    @property
    def recordings_path(self) -> Path:
        return (
            self.recordings_dir if self.recordings_dir is not None else self.data_dir / "recordings"
        )

    @property
    def journal_path(self) -> Path:
        """What this node knows of its calls across a restart: its own file when it is named
        (nodes of one machine share ``data_dir``; each restores only its own calls)."""
        if self.node_id:
            return self.data_dir / "nodes" / self.node_id.replace(":", "_") / "calls.jsonl"
        return self.data_dir / "calls.jsonl"

    @property
    def audit_path(self) -> Path:
        """The audit log: in data_dir, beside the secret, not with the recordings it audits."""
        return self.data_dir / "audit.jsonl"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def with_secret(self) -> Config:
        """Return this config with a JWT secret, generating and keeping one if needed."""
        if self.jwt_secret:
            return self
        path = self.data_dir / "jwt_secret"
        try:
            secret = path.read_text().strip()
        except FileNotFoundError:
            secret = ""
        if not secret:
            path.parent.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_urlsafe(48)
            # Written with 0600 before the secret goes in: no window where others can read it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secret + "\n")
        return self.model_copy(update={"jwt_secret": secret})


def load_config(
    path: Path | None = None,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Read the TOML file, then ``KOTHA_<SETTING>`` variables, then ``overrides``."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values.update(tomllib.loads(path.read_text()))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    environ = os.environ if env is None else env
    fields = Config.model_fields
    for name, field in fields.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        values[name] = _parse_env(name, raw, field.annotation)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Config.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


def _parse_env(name: str, raw: str, annotation: Any) -> Any:
    text = str(annotation)
    if "dict" in text:
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} is not valid JSON: {exc}") from exc
    if "list" in text:
        if raw.strip().startswith("["):
            try:
                return json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} is not valid JSON: {exc}") from exc
        return [item.strip() for item in raw.split(",") if item.strip()]
    if annotation is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be true or false, not {raw!r}")
    return raw


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "config"
        problems.append(f"{where}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)
