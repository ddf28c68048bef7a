"""Schemas of every socket.io message and REST body the server accepts.

Each message is a frozen pydantic model that forbids unknown fields and does
no type coercion, so ``"1"`` is not a number and an extra field is an error.
Every free-text field (names, tags, metadata, search words) refuses control and
direction-override characters (:func:`signaling.text.plain_text`).
:func:`parse` turns a failure into :class:`InvalidMessageError` naming the field.
"""

from __future__ import annotations

import calendar
import time
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from callcenter.errors import InvalidMessageError
from node.events import ClientEvent

from .text import plain_text, printable

PlainText = AfterValidator(plain_text)
"""Refuses control and direction-override characters: on every field a person reads."""

CallId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{6,64}$")]
PeerId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
"""A language code; which ones a call may have is config (``call_languages``)."""
MediaKind = Literal["audio", "video"]
# A browser's SDP for a call with screen share is a few kilobytes; 64 KiB is
# generous and keeps a malicious answer from costing the parser much.
Sdp = Annotated[str, StringConstraints(min_length=10, max_length=65536)]
ShortText = Annotated[str, StringConstraints(max_length=200), PlainText]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80), PlainText]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RequestCall(Message):
    media: MediaKind = "audio"
    language: Language = "bn"
    name: Name = ""
    """The customer's name, when their call has none yet (a guest who named themself late)."""


class CancelCall(Message):
    pass


class SetAvailability(Message):
    status: Literal["available", "away"]


class AcceptCall(Message):
    call_id: CallId | None = None
    """Omitted: take the longest-waiting call."""


class DeclineCall(Message):
    call_id: CallId


class CallRef(Message):
    """A message that only names the call it is about."""

    call_id: CallId


class AnswerDescription(Message):
    type: Literal["answer"]
    sdp: Sdp


class SendAnswer(Message):
    call_id: CallId
    peer_id: PeerId
    offer_id: Annotated[int, Field(ge=1)]
    description: AnswerDescription


class IceCandidate(Message):
    """``RTCIceCandidateInit`` as the browser produces it."""

    candidate: Annotated[str, StringConstraints(max_length=1024)]
    sdpMid: Annotated[str, StringConstraints(max_length=32)] | None = None  # noqa: N815
    sdpMLineIndex: Annotated[int, Field(ge=0, le=255)] | None = None  # noqa: N815
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None  # noqa: N815


class AddIceCandidate(Message):
    call_id: CallId
    peer_id: PeerId
    candidate: IceCandidate | None
    """None: the browser has no more candidates."""


Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), PlainText
]


class TagCall(Message):
    """Tags an agent gives a call (refund, delivery, complaint), for finding its recording."""

    call_id: CallId
    tags: Annotated[list[Tag], Field(min_length=1, max_length=10)]


Milliseconds = Annotated[float, Field(ge=0, le=600_000, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10**9)]


class ClientAudioStats(Message):
    """What the page's own ``getStats()`` says of the audio it receives."""

    jitter_ms: Milliseconds | None = None
    jitter_buffer_delay_ms: Milliseconds | None = None
    concealed_pct: Percent | None = None
    packets_lost: Count | None = None
    round_trip_ms: Milliseconds | None = None


class ClientVideoStats(Message):
    """What the page's own ``getStats()`` says of the video it receives."""

    jitter_ms: Milliseconds | None = None
    frames_per_second: Annotated[float, Field(ge=0, le=240, allow_inf_nan=False)] | None = None
    frame_width: Annotated[int, Field(ge=0, le=8192)] | None = None
    frame_height: Annotated[int, Field(ge=0, le=8192)] | None = None
    frames_dropped: Count | None = None
    freeze_count: Count | None = None


class ReportQuality(Message):
    """A page's summary of its ``getStats()``, every few seconds, shown beside the server's."""

    call_id: CallId
    audio: ClientAudioStats | None = None
    video: ClientVideoStats | None = None


MonitorModeName = Literal["listen", "whisper", "barge"]


class MonitorCall(Message):
    """A supervisor starts monitoring a call: listening, whispering to the agent, or barging in."""

    call_id: CallId
    mode: MonitorModeName = "listen"


class SetMonitorMode(Message):
    call_id: CallId
    mode: MonitorModeName


class SetTrackState(Message):
    call_id: CallId
    kind: MediaKind
    enabled: bool


class GetState(Message):
    pass


class CustomerRef(Message):
    id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.@:+-]+$")]
    name: Name = ""


class CreateCallBody(Message):
    """``POST /api/calls`` from a shop's backend."""

    customer: CustomerRef
    language: Language = "bn"
    media: MediaKind = "audio"
    metadata: Annotated[
        dict[Annotated[str, StringConstraints(max_length=64), PlainText], ShortText],
        Field(max_length=20),
    ] = Field(default_factory=dict)


class GuestBody(Message):
    """``POST /api/guest`` from the demo customer page."""

    name: Name = ""
    language: Language = "bn"


M = TypeVar("M", bound=Message)


def unix_day(date: str, field: str) -> float:
    """Midnight UTC of a ``YYYY-MM-DD`` that passed its pattern, or the error naming ``field``.

    The pattern lets 2026-13-45 through; the calendar does not.
    """
    try:
        return float(calendar.timegm(time.strptime(date, "%Y-%m-%d")))
    except ValueError:
        raise InvalidMessageError(f"{field}: no such day: {date}", field=field) from None


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` as ``model`` or raise InvalidMessageError naming the first bad field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidMessageError(
            f"the message must be a JSON object, not {type(data).__name__}", field="$"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        # A dict key is part of the location: it may be the very text that was refused.
        field = ".".join(printable(str(part)) for part in error["loc"]) or "$"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "field required"
        elif error["type"] == "value_error":
            # Our validators' own words, without pydantic's "Value error, " before them.
            message = str(error.get("ctx", {}).get("error", message))
        raise InvalidMessageError(f"{field}: {message}", field=field) from None


# The schema of each client event: the hub parses every message with its own.
SCHEMAS: dict[ClientEvent, type[Message]] = {
    ClientEvent.REQUEST_CALL: RequestCall,
    ClientEvent.CANCEL_CALL: CancelCall,
    ClientEvent.SET_AVAILABILITY: SetAvailability,
    ClientEvent.ACCEPT_CALL: AcceptCall,
    ClientEvent.DECLINE_CALL: DeclineCall,
    ClientEvent.JOIN_CALL: CallRef,
    ClientEvent.SEND_ANSWER: SendAnswer,
    ClientEvent.ADD_ICE_CANDIDATE: AddIceCandidate,
    ClientEvent.START_SCREEN_SHARE: CallRef,
    ClientEvent.STOP_SCREEN_SHARE: CallRef,
    ClientEvent.SET_TRACK_STATE: SetTrackState,
    ClientEvent.HANG_UP: CallRef,
    ClientEvent.TAG_CALL: TagCall,
    ClientEvent.PAUSE_RECORDING: CallRef,
    ClientEvent.RESUME_RECORDING: CallRef,
    ClientEvent.HOLD_CALL: CallRef,
    ClientEvent.RESUME_CALL: CallRef,
    ClientEvent.WATCH_CALL: CallRef,
    ClientEvent.UNWATCH_CALL: CallRef,
    ClientEvent.MONITOR_CALL: MonitorCall,
    ClientEvent.SET_MONITOR_MODE: SetMonitorMode,
    ClientEvent.STOP_MONITORING: CallRef,
    ClientEvent.GET_STATE: GetState,
    ClientEvent.REFRESH_TOKEN: GetState,
    ClientEvent.REPORT_QUALITY: ReportQuality,
}
