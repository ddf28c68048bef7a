"""Reviewers find, play and download recordings; nobody else does, and nothing leaks.

Guards: only reviewer, supervisor and admin tokens; each playback and download writes one
audit record first (and is refused without it); every file handed out is audited as what
it is (playback gives the player's rendition, the full recording is a download, unless a
recording has no rendition and the playback record says so); media is served from
short-lived signed URLs with HTTP range requests, one range at a time, and a long, odd or
impossible Range header is a 416 in words, never a server error; a tampered, expired or
borrowed URL is refused; no key, path, link or edited meta.json can reach a file outside
the recording's folder.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from callcenter.identity import Identity, Role
from signaling.keys import MEDIA_SIGNER
from tests.conftest import Server
from tests.conftest import api_request as _call
from tests.recording.test_recorded_call import record_call


@pytest.fixture
async def recorded(server: Server) -> tuple[Server, Path, dict[str, Any]]:
    folder, meta = await record_call(server, customer_beeps=[0.5], agent_beeps=[1.0], until=1.5)
    return server, folder, meta


async def test_reviewer_finds_and_opens_a_recording(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, _, meta = recorded
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, body, _ = await _call(
        server, "GET", "/api/recordings?agent=Rahim&customer=Karim", reviewer
    )
    assert status == 200
    assert [r["call_id"] for r in body["recordings"]] == [meta["call_id"]]
    assert "folder" not in body["recordings"][0], "server paths stay on the server"
    status, body, _ = await _call(server, "GET", f"/api/recordings/{meta['call_id']}", reviewer)
    assert status == 200
    kinds = [e["type"] for e in body["timeline"]]
    assert kinds.count("participant_joined") == 2 and "call_ended" in kinds
    assert set(body["recording"]["downloads"]) == {"recording", "dual_channel", "events"}
    # A day the calendar does not have is named, not a server error.
    status, body, _ = await _call(server, "GET", "/api/recordings?since=2026-13-45", reviewer)
    assert (status, body["error"]["field"]) == (422, "since")


@pytest.mark.parametrize("role", [Role.AGENT, Role.CUSTOMER])
async def test_agents_and_customers_cannot_reach_recordings(
    recorded: tuple[Server, Path, dict[str, Any]], role: Role
) -> None:
    server, _, meta = recorded
    token = server.token(
        role, "someone", call_id=meta["call_id"] if role is Role.CUSTOMER else None
    )
    for method, path in (
        ("GET", "/api/recordings"),
        ("GET", f"/api/recordings/{meta['call_id']}"),
        ("POST", f"/api/recordings/{meta['call_id']}/playback"),
        ("POST", f"/api/recordings/{meta['call_id']}/downloads/recording"),
    ):
        status, body, _ = await _call(server, method, path, token)
        assert (status, body["error"]["code"]) == (403, "forbidden"), path
    status, body, _ = await _call(server, "GET", "/api/recordings")
    assert (status, body["error"]["code"]) == (401, "token_missing")


async def test_playback_is_audited_and_served_with_ranges(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, folder, meta = recorded
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, body, _ = await _call(
        server, "POST", f"/api/recordings/{meta['call_id']}/playback", reviewer
    )
    assert status == 200
    url = body["urls"]["playback"]
    assert "token" not in url and reviewer not in url
    whole = (folder / "playback.webm").read_bytes()
    status, part, headers = await _call(server, "GET", url, headers={"Range": "bytes=100-299"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-299/{len(whole)}"
    assert part == whole[100:300]
    status, _, headers = await _call(
        server, "GET", url, headers={"Range": f"bytes={len(whole) - 10}-"}
    )
    assert status == 206 and headers["Content-Length"] == "10"
    audit = [r for r in server.switchboard.audit.read() if r["action"] == "playback"]
    assert [(r["actor"], r["call_id"], r["role"]) for r in audit] == [
        ("rina", meta["call_id"], "reviewer")
    ]


async def test_downloads_are_audited_and_attached(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, folder, meta = recorded
    admin = server.token(Role.ADMIN, "Arif")
    for key, name in (("dual_channel", "dual_channel.wav"), ("events", "events.json")):
        status, body, _ = await _call(
            server, "POST", f"/api/recordings/{meta['call_id']}/downloads/{key}", admin
        )
        assert status == 200
        status, data, headers = await _call(server, "GET", body["url"])
        assert status == 200
        assert (
            headers["Content-Disposition"].endswith(f'-{name}"')
            or name in headers["Content-Disposition"]
        )
        if key == "dual_channel":
            assert data == (folder / "dual-channel.wav").read_bytes()
        else:
            assert data[0]["type"] == "recording_started"
    downloads = [r for r in server.switchboard.audit.read() if r["action"] == "download"]
    assert [r["details"]["file"] for r in downloads] == ["dual_channel", "events"]
    status, body, _ = await _call(
        server, "POST", f"/api/recordings/{meta['call_id']}/downloads/meta", admin
    )
    assert (status, body["error"]["field"]) == (422, "key")


def _rina(server: Server) -> Identity:
    """A reviewer's identity, as a link is made for."""
    return server.authority.verify(server.token(Role.REVIEWER, "Rina"))


async def test_a_link_ends_with_its_viewers_sign_in(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    """A revoked reviewer's links stop working, and no link outlives its token."""
    server, _, meta = recorded
    call_id = meta["call_id"]
    short = server.token(Role.REVIEWER, "Rina", ttl_s=5)
    _, body, _ = await _call(server, "POST", f"/api/recordings/{call_id}/playback", short)
    link = body["urls"]["playback"]
    token_expiry = server.authority.verify(short).expires_at
    assert int(re.search(r"exp=(\d+)", link).group(1)) <= token_expiry  # type: ignore[union-attr]
    assert (await _call(server, "GET", link))[0] == 200
    admin = server.token(Role.ADMIN, "Arif")
    status, _, _ = await _call(server, "POST", "/api/revocations", admin, json={"subject": "rina"})
    assert status == 201
    status, body, _ = await _call(server, "GET", link)
    assert (status, body["error"]["code"]) == (401, "token_revoked")


async def test_tampered_expired_and_borrowed_links_are_refused(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, _, meta = recorded
    call_id = meta["call_id"]
    reviewer = server.token(Role.REVIEWER, "Rina")
    _, body, _ = await _call(server, "POST", f"/api/recordings/{call_id}/playback", reviewer)
    good = body["urls"]["playback"]
    signer = server.app[MEDIA_SIGNER]
    bad = {
        "other file": good.replace("/playback?", "/recording?"),
        "other viewer": good.replace("v=rina", "v=eve"),
        "longer life": good.replace("exp=", "exp=9"),
        "forged signature": good[:-4] + "0000",
        "made a download": good + "&dl=1",
        "another role": good.replace("r=reviewer", "r=admin"),
        "expired": signer.url(call_id, "playback", _rina(server), ttl_s=-10),
    }
    for why, url in bad.items():
        status, body, _ = await _call(server, "GET", url)
        assert status == 401, why
        assert body["error"]["code"] in ("unauthorized", "token_expired"), why
    status, _, _ = await _call(server, "GET", good)
    assert status == 200


@pytest.mark.parametrize(
    "key",
    [
        "..%2f..%2fmeta.json",
        "%2e%2e",
        "meta.json",
        "%2fetc%2fpasswd",
        "stream-0%2f..%2f..",
        "events.jsonl",
    ],
)
async def test_keys_that_are_not_files_of_the_recording_are_refused(
    recorded: tuple[Server, Path, dict[str, Any]], key: str
) -> None:
    server, _, meta = recorded
    url = server.app[MEDIA_SIGNER].url(meta["call_id"], key, _rina(server), ttl_s=60)
    status, body, _ = await _call(server, "GET", url)
    assert status in (401, 404)
    assert b"root:" not in (body if isinstance(body, bytes) else json.dumps(body).encode())


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda meta: meta["renditions"]["playback"].update(file="/etc/passwd"), id="absolute"
        ),
        pytest.param(
            lambda meta: meta["renditions"]["playback"].update(file="../../../../etc/passwd"),
            id="dotdot",
        ),
        pytest.param(
            lambda meta: meta["renditions"]["playback"].update(file="streams\\..\\meta.json"),
            id="backslash",
        ),
    ],
)
async def test_an_edited_meta_json_cannot_point_outside_the_folder(
    recorded: tuple[Server, Path, dict[str, Any]], tamper: Any
) -> None:
    server, folder, meta = recorded
    tamper(meta)
    (folder / "meta.json").write_text(json.dumps(meta))
    url = server.app[MEDIA_SIGNER].url(meta["call_id"], "playback", _rina(server), ttl_s=60)
    status, body, _ = await _call(server, "GET", url)
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_a_symlink_in_the_folder_is_not_followed(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, folder, meta = recorded
    (folder / "playback.webm").unlink()
    (folder / "playback.webm").symlink_to("/etc/passwd")
    url = server.app[MEDIA_SIGNER].url(meta["call_id"], "playback", _rina(server), ttl_s=60)
    status, body, _ = await _call(server, "GET", url)
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_playback_is_refused_when_the_audit_cannot_be_written(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, _, meta = recorded
    path = server.switchboard.audit.path
    path.unlink(missing_ok=True)
    path.mkdir()
    status, body, _ = await _call(
        server,
        "POST",
        f"/api/recordings/{meta['call_id']}/playback",
        server.token(Role.REVIEWER, "Rina"),
    )
    assert (status, body["error"]["code"]) == (503, "audit_unavailable")


async def test_playback_hands_out_the_players_rendition_and_the_full_recording_is_a_download(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, folder, meta = recorded
    call_id = meta["call_id"]
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, body, _ = await _call(server, "POST", f"/api/recordings/{call_id}/playback", reviewer)
    assert status == 200
    assert set(body["urls"]) == {"playback", "streams"}, "playback is not a way to download"
    status, body, _ = await _call(
        server, "POST", f"/api/recordings/{call_id}/downloads/recording", reviewer
    )
    assert status == 200
    status, data, _ = await _call(server, "GET", body["url"])
    assert (status, data) == (200, (folder / "recording.webm").read_bytes())
    records = [
        (r["action"], r["details"])
        for r in server.switchboard.audit.read()
        if r["call_id"] == call_id
    ]
    assert records == [("playback", {}), ("download", {"file": "recording"})]


async def test_a_recording_without_a_players_rendition_plays_in_full_and_the_audit_says_so(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    """A recording made before renditions existed has only the full multi-track file."""
    server, folder, meta = recorded
    del meta["renditions"]["playback"]
    (folder / "meta.json").write_text(json.dumps(meta))
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, body, _ = await _call(
        server, "POST", f"/api/recordings/{meta['call_id']}/playback", reviewer
    )
    assert status == 200
    assert set(body["urls"]) == {"recording", "streams"}
    status, data, _ = await _call(server, "GET", body["urls"]["recording"])
    assert (status, data) == (200, (folder / "recording.webm").read_bytes())
    (record,) = [r for r in server.switchboard.audit.read() if r["action"] == "playback"]
    assert record["details"] == {"file": "recording"}, "the audit names the file handed out"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        # 8 KB, under aiohttp's 8190-byte limit for one header, so it reaches the handler.
        pytest.param("bytes=" + ",".join(["0-1"] * 2020), "too long", id="8KB-of-ranges"),
        pytest.param("bytes=" + "0-1," * 20 + "0-1", "one byte range is served", id="many-ranges"),
        pytest.param("bytes=0-1,5-9", "one byte range is served", id="two-ranges"),
        pytest.param("bytes=abc", "must be one byte range", id="not-numbers"),
        pytest.param("items=0-1", "must be one byte range", id="another-unit"),
        pytest.param("bytes=\u0660-1", "must be one byte range", id="arabic-indic-digit"),
        pytest.param("bytes=99999999999999999999-", "past the end", id="past-the-end"),
        pytest.param("bytes=" + "9" * 5000 + "-", "too long", id="5000-digit-start"),
        pytest.param("bytes=5-1", "ends before it starts", id="backwards"),
        pytest.param("bytes=-0", "no bytes", id="empty-suffix"),
    ],
)
async def test_a_range_that_is_not_one_byte_range_of_the_file_is_a_416_in_words(
    recorded: tuple[Server, Path, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    header: str,
    words: str,
) -> None:
    server, folder, meta = recorded
    caplog.set_level(logging.WARNING)
    url = server.app[MEDIA_SIGNER].url(meta["call_id"], "playback", _rina(server), ttl_s=60)
    status, body, headers = await _call(server, "GET", url, headers={"Range": header})
    size = (folder / "playback.webm").stat().st_size
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{size}"
    assert body["error"]["code"] == "range_not_satisfiable"
    assert words in body["error"]["message"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], "a client's odd Range header is not a server error"


async def test_a_range_that_runs_past_the_end_is_the_rest_of_the_file(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    """RFC 9110 section 14.1.2: a last position past the end means up to the end."""
    server, folder, meta = recorded
    url = server.app[MEDIA_SIGNER].url(meta["call_id"], "playback", _rina(server), ttl_s=60)
    whole = (folder / "playback.webm").read_bytes()
    status, part, headers = await _call(
        server, "GET", url, headers={"Range": "bytes=10-" + "9" * 150}
    )
    assert (status, headers["Content-Range"]) == (206, f"bytes 10-{len(whole) - 1}/{len(whole)}")
    assert part == whole[10:]
