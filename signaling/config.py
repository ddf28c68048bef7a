"""Server configuration: a TOML file, then ``KOTHA_*`` environment variables, then flags.

Every setting has a default that runs the embedded single-node server with no
external service. The JWT secret is the one setting that must never be a
default: when none is given, a random one is generated on first run and kept
in the data directory, so tokens survive a restart.
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError

ENV_PREFIX = "KOTHA_"


class IceServer(BaseModel):
    """A STUN or TURN server handed to browsers (``RTCIceServer``)."""

    model_config = ConfigDict(extra="forbid")

    urls: list[Annotated[str, Field(pattern=r"^(stun|stuns|turn|turns):")]]
    # TURN servers get time-limited credentials from ``turn_secret`` (TURN REST
    # API); a static password is deliberately not supported.
    turn: bool = False


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
    api_keys: list[Annotated[str, Field(min_length=16)]] = Field(default_factory=list)
    """Keys a shop backend uses for POST /api/calls (X-API-Key header)."""
    metrics_token: Annotated[str, Field(min_length=16)] | None = None
    """Static bearer token a Prometheus scraper may send to GET /metrics (else: admin JWT only)."""
    socket_rate_per_s: Annotated[float, Field(gt=0)] = 20.0
    """Messages a second one socket may send before it gets "rate_limited" replies."""
    socket_rate_burst: Annotated[float, Field(ge=1)] = 100.0
    allowed_origins: list[str] = Field(default_factory=list)
    """Extra origins allowed to open a socket (same origin is always allowed)."""

    ice_servers: list[IceServer] = Field(default_factory=list)
    turn_secret: str = ""
    turn_ttl_s: Annotated[int, Field(ge=60, le=86400)] = 3600
    ice_addresses: list[str] = Field(default_factory=list)
    """Addresses the server gathers ICE candidates on (all interfaces when empty)."""

    auto_offer: bool = False
    """Offer the longest-waiting call to the longest-idle available agent."""
    offer_timeout_s: Annotated[float, Field(gt=0, le=120)] = 20.0
    rejoin_grace_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long a participant whose socket dropped may come back to the same call."""
    answer_timeout_s: Annotated[float, Field(gt=0, le=120)] = 20.0
    default_handle_time_s: Annotated[float, Field(gt=0)] = 180.0
    """Handle time assumed for the wait estimate until calls have been measured."""
    max_queue: Annotated[int, Field(ge=1)] = 500

    recording_enabled: bool = True
    """Record every call (the customer page says so)."""
    recordings_dir: Path | None = None
    """Where recordings go; data_dir/recordings when unset."""
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """``kotha recordings purge`` deletes recordings older than this."""
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
    quality_no_audio_s: Annotated[int, Field(ge=1, le=60)] = 3
    """Seconds without audio from a participant's microphone before the no-audio alert."""

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

    media_plane: Literal["forward", "transcode"] = "forward"
    """``transcode`` is the naive decode/re-encode relay, for benchmarks only."""
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

    @property
    def recordings_path(self) -> Path:
        return (
            self.recordings_dir if self.recordings_dir is not None else self.data_dir / "recordings"
        )

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
