"""The reviewer's REST API: find recordings, open one, play it, download it.

Only reviewer, supervisor and admin tokens get in. Opening a recording for
playback and asking for a download each write one audit record first, then
hand out short-lived signed URLs; the media itself is served from those
URLs with HTTP range requests (aiohttp's FileResponse answers ``Range``,
once :func:`recording.playback.byte_range` has found it to be one range).

Every file a person can fetch is audited as what it is: playback hands out
the mixed ``playback`` rendition (and the video streams), and the full
multi-track ``recording`` only for a recording that has no such rendition,
with ``file: recording`` in the audit record; otherwise the full recording is
a download.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from aiohttp import hdrs, web
from pydantic import Field

from callcenter.errors import InvalidMessageError, NotFoundError, TokenRevokedError
from callcenter.identity import REPLAY_ROLES, Identity
from node.audit import AuditRecord
from recording.conversation import read_conversation
from recording.errors import RangeNotSatisfiableError, RecordingNotFoundError
from recording.finalize import META, read_events
from recording.index import Query
from recording.playback import byte_range, content_type, media_files, resolve
from recording.transcript import transcript_from
from signaling.keys import CONFIG, MEDIA_SIGNER, REVOCATIONS, SWITCHBOARD
from signaling.schemas import CallId, Message, ShortText, parse, unix_day

from .calls import bearer_identity

Date = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class RecordingSearch(Message):
    """Query string of ``GET /api/recordings`` (numbers arrive as text)."""

    since: Date | None = None
    until: Date | None = None
    agent: ShortText | None = None
    customer: ShortText | None = None
    tag: ShortText | None = None
    text: ShortText | None = None
    min_duration: Annotated[str, Field(pattern=r"^\d{1,6}$")] | None = None
    max_duration: Annotated[str, Field(pattern=r"^\d{1,6}$")] | None = None
    max_mos: Annotated[str, Field(pattern=r"^[1-5](\.\d{1,2})?$")] | None = None
    alert: Literal["high_jitter", "high_loss", "high_rtt", "low_mos", "no_audio"] | None = None
    keyword: ShortText | None = None
    max_sentiment: Annotated[str, Field(pattern=r"^-?[01](\.\d{1,3})?$")] | None = None
    min_interruptions: Annotated[str, Field(pattern=r"^\d{1,4}$")] | None = None
    min_silence: Annotated[str, Field(pattern=r"^\d{1,5}$")] | None = None  # seconds
    category: ShortText | None = None
    limit: Annotated[str, Field(pattern=r"^\d{1,3}$")] | None = None
    offset: Annotated[str, Field(pattern=r"^\d{1,6}$")] | None = None


class _CallIdOnly(Message):
    call_id: CallId


async def list_recordings(request: web.Request) -> web.Response:
    bearer_identity(request).require(*REPLAY_ROLES)
    search = parse(RecordingSearch, dict(request.query))
    query = Query(
        since=unix_day(search.since, "since") if search.since else None,
        until=unix_day(search.until, "until") if search.until else None,
        agent=search.agent,
        customer=search.customer,
        tag=search.tag,
        text=search.text,
        min_duration_s=float(search.min_duration) if search.min_duration else None,
        max_duration_s=float(search.max_duration) if search.max_duration else None,
        max_mos=float(search.max_mos) if search.max_mos else None,
        quality_alert=search.alert,
        keyword=search.keyword,
        max_sentiment=float(search.max_sentiment) if search.max_sentiment else None,
        min_interruptions=int(search.min_interruptions) if search.min_interruptions else None,
        min_silence_s=float(search.min_silence) if search.min_silence else None,
        category=search.category,
        limit=min(200, int(search.limit or 50)),
        offset=int(search.offset or 0),
    )
    rows = await request.app[SWITCHBOARD].recordings.search(query)
    return web.json_response({"recordings": [_public(row) for row in rows]})


NOT_ON_TIMELINE = {
    "stream_started",
    "quality_sample",
    "quality_summary",
    "utterance",  # served as the transcript
    "transcript_summary",
    "talk_spurt",  # served as the conversation
}
DOWNLOADS = ("recording", "dual_channel", "events", "transcript", "transcript_vtt")


async def get_recording(request: web.Request) -> web.Response:
    bearer_identity(request).require(*REPLAY_ROLES)
    folder, meta = await _open(request)
    loop = asyncio.get_running_loop()
    events = await loop.run_in_executor(None, read_events, folder)
    conversation = await loop.run_in_executor(None, read_conversation, folder)
    contact = await request.app[SWITCHBOARD].contacts.store.get(meta["call_id"])
    transcript = transcript_from(events)
    return web.json_response(
        {
            "recording": _describe(meta),
            "transcript": transcript,
            "conversation": conversation,
            # The customer's rating, if they gave one (it may come after the recording).
            "rating": None
            if contact is None or contact.csat is None
            else {
                "score": contact.csat,
                "comment": contact.csat_comment,
                "rated_at": contact.rated_at,
            },
            "timeline": [e for e in events if e.get("type") not in NOT_ON_TIMELINE],
            # One entry a second: drawn as a chart under the player, not listed.
            "quality": [
                {"t_ms": e.get("t_ms"), "samples": e.get("samples", [])}
                for e in events
                if e.get("type") == "quality_sample"
            ],
        }
    )


async def open_playback(request: web.Request) -> web.Response:
    """``POST /api/recordings/{call_id}/playback``: audit, then signed URLs for the player."""
    identity = bearer_identity(request)
    identity.require(*REPLAY_ROLES)
    _, meta = await _open(request)
    files = media_files(meta)
    # The player needs one audio file: the mixed rendition. Only a recording made
    # before renditions (or whose rendition failed) falls back to the full recording,
    # and then the audit record says that this is what was handed out.
    audio = next((key for key in ("playback", "recording") if key in files), None)
    details = {"file": "recording"} if audio == "recording" else {}
    await _audit(request, identity, "playback", meta["call_id"], **details)
    signer, ttl = request.app[MEDIA_SIGNER], request.app[CONFIG].media_url_ttl_s
    urls: dict[str, Any] = {}
    if audio is not None:
        urls[audio] = signer.url(meta["call_id"], audio, identity, ttl)
    urls["streams"] = [
        {
            **_stream_info(stream),
            "url": signer.url(meta["call_id"], f"stream-{n}", identity, ttl),
        }
        for n, stream in enumerate(meta.get("streams") or [])
        if stream.get("kind") == "video"
    ]
    return web.json_response({"urls": urls, "expires_in_s": ttl})


async def open_download(request: web.Request) -> web.Response:
    """``POST /api/recordings/{call_id}/downloads/{key}``: audit, then one signed URL."""
    identity = bearer_identity(request)
    identity.require(*REPLAY_ROLES)
    key = request.match_info["key"]
    if key not in DOWNLOADS:
        raise InvalidMessageError(f"downloads are {', '.join(DOWNLOADS)}", field="key")
    _, meta = await _open(request)
    if key not in media_files(meta):
        raise NotFoundError(f"this recording has no {key}")
    await _audit(request, identity, "download", meta["call_id"], file=key)
    url = request.app[MEDIA_SIGNER].url(
        meta["call_id"], key, identity, request.app[CONFIG].media_url_ttl_s, download=True
    )
    return web.json_response({"url": url})


async def serve_media(request: web.Request) -> web.StreamResponse:
    """``GET /media/{call_id}/{key}``: one file of a recording, from a signed URL, with ranges."""
    call_id, key = request.match_info["call_id"], request.match_info["key"]
    parse(_CallIdOnly, {"call_id": call_id})
    grant = request.app[MEDIA_SIGNER].verify(call_id, key, request.query)
    if request.app[REVOCATIONS].revoked(grant.sign_in):
        raise TokenRevokedError("the sign-in this link was made for was revoked")
    folder, meta = await _open(request, call_id)
    try:
        path = resolve(folder, meta, key)
    except RecordingNotFoundError as exc:
        raise NotFoundError(str(exc)) from exc
    filename = f"{call_id}-{key}{path.suffix}"
    response: web.StreamResponse
    if key == "events":
        # "The call's events as JSON": one array, made from the append-only lines.
        events = await asyncio.get_running_loop().run_in_executor(None, read_events, folder)
        response = web.json_response(events, dumps=lambda x: json.dumps(x, ensure_ascii=False))
        filename = f"{call_id}-events.json"
    else:
        if (asked := request.headers.get(hdrs.RANGE)) is not None:
            size = path.stat().st_size
            try:
                byte_range(asked, size)
            except RangeNotSatisfiableError as exc:
                return _range_not_satisfiable(str(exc), size)
        response = web.FileResponse(path, headers={"Content-Type": content_type(path)})
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if grant.download:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _range_not_satisfiable(message: str, size: int) -> web.Response:
    """416 with the reason in words, and the file's length (RFC 9110 section 15.5.17)."""
    return web.json_response(
        {"error": {"code": "range_not_satisfiable", "message": message}},
        status=416,
        headers={hdrs.CONTENT_RANGE: f"bytes */{size}"},
    )


async def _open(request: web.Request, call_id: str | None = None) -> tuple[Path, dict[str, Any]]:
    call_id = call_id or request.match_info["call_id"]
    parse(_CallIdOnly, {"call_id": call_id})
    recordings = request.app[SWITCHBOARD].recordings
    row = await recordings.in_index(lambda index: index.get(call_id))
    if row is None:
        raise NotFoundError(f"no recording of call {call_id}")
    folder = Path(row["folder"])
    try:
        text = await asyncio.get_running_loop().run_in_executor(
            None, lambda: (folder / META).read_text(encoding="utf-8")
        )
    except FileNotFoundError as exc:
        raise NotFoundError(f"the recording of call {call_id} is gone (purged?)") from exc
    return folder, json.loads(text)


async def _audit(
    request: web.Request, identity: Identity, action: str, call_id: str, **details: Any
) -> None:
    await request.app[SWITCHBOARD].audit.record(
        AuditRecord(
            actor=identity.subject,
            role=identity.role.value,
            action=action,
            call_id=call_id,
            source=request.remote,
            details=details,
            name=identity.name,
        )
    )


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """An index row without the server's file paths."""
    return {k: v for k, v in row.items() if k != "folder"}


def _stream_info(stream: dict[str, Any]) -> dict[str, Any]:
    keys = ("participant_id", "role", "source", "kind", "first_ms", "last_ms")
    return {k: stream.get(k) for k in keys}


def _describe(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "call_id": meta["call_id"],
        "started_at": meta.get("started_at"),
        "duration_ms": meta.get("duration_ms"),
        "recovered": meta.get("recovered"),
        "call": meta.get("call"),
        "participants": meta.get("participants"),
        "pauses": meta.get("pauses"),
        "tags": meta.get("tags"),
        "end_reason": meta.get("end_reason"),
        "quality": meta.get("quality"),
        "streams": [_stream_info(s) for s in meta.get("streams") or []],
        "downloads": [k for k in DOWNLOADS if k in media_files(meta)],
        "transcription": _transcription(meta.get("transcript")),
        "conversation": meta.get("conversation"),
        "categories": meta.get("categories") or [],
    }


def _transcription(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if not entry:
        return None
    return {k: entry.get(k) for k in ("state", "language", "reason", "utterances")}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/recordings", list_recordings)
    app.router.add_get("/api/recordings/{call_id}", get_recording)
    app.router.add_post("/api/recordings/{call_id}/playback", open_playback)
    app.router.add_post("/api/recordings/{call_id}/downloads/{key}", open_download)
    app.router.add_get("/media/{call_id}/{key}", serve_media)
