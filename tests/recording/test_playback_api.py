"""Reviewers find, play and download recordings; nobody else does, and nothing leaks.

Guards: only reviewer, supervisor and admin tokens; each playback and download writes one
audit record first (and is refused without it); media is served from short-lived signed
URLs with HTTP range requests; a tampered, expired or borrowed URL is refused; no key,
path, link or edited meta.json can reach a file outside the recording's folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from signaling.auth import Role
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
        "expired": signer.url(call_id, "playback", "rina", ttl_s=-10),
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
    url = server.app[MEDIA_SIGNER].url(meta["call_id"], key, "rina", ttl_s=60)
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
    url = server.app[MEDIA_SIGNER].url(meta["call_id"], "playback", "rina", ttl_s=60)
    status, body, _ = await _call(server, "GET", url)
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_a_symlink_in_the_folder_is_not_followed(
    recorded: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, folder, meta = recorded
    (folder / "playback.webm").unlink()
    (folder / "playback.webm").symlink_to("/etc/passwd")
    url = server.app[MEDIA_SIGNER].url(meta["call_id"], "playback", "rina", ttl_s=60)
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
