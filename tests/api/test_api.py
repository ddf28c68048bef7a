"""The REST API: how a shop creates calls, how the demo makes guest calls, who may look.

Guards: API key checks, body validation that names the field, guest mode switch and rate
limit, customers seeing only their own call, staff roles, static files not escaping web/;
names, metadata and tags holding control or direction-override characters (which drive
an operator's terminal or make a name read backwards) are refused, naming the field,
while Bengali (with its zero-width joiner), Korean and emoji names are welcome.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from callcenter.identity import Role
from tests.conftest import API_KEY, Server, ServerFactory


async def _request(
    server: Server,
    method: str,
    path: str,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    data: Any = None,
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, server.url + path, json=json, headers=headers, data=data
        ) as response,
    ):
        body = (
            await response.json()
            if response.content_type == "application/json"
            else await response.text()
        )
        return response.status, body


async def test_health_answers_and_tells_a_stranger_nothing_about_calls(server: Server) -> None:
    await server.customer_call()
    status, body = await _request(server, "GET", "/healthz")
    assert (status, body) == (200, {"status": "ok"})


async def test_shop_creates_a_call_and_gets_a_join_link_bound_to_it(server: Server) -> None:
    status, body = await _request(
        server,
        "POST",
        "/api/calls",
        json={
            "customer": {"id": "shop-42", "name": "Karim"},
            "language": "en",
            "metadata": {"order": "A-77"},
        },
        headers={"X-API-Key": API_KEY},
    )
    assert status == 201
    identity = server.authority.verify(body["token"])
    assert (identity.role, identity.subject, identity.call_id) == (
        Role.CUSTOMER,
        "shop-42",
        body["call_id"],
    )
    assert body["join_url"] == f"{server.switchboard.config.base_url}/support#token={body['token']}"
    call = server.switchboard.calls[body["call_id"]]
    assert (call.language, call.metadata) == ("en", {"order": "A-77"})


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({}, "token_missing", id="no-key"),
        pytest.param({"X-API-Key": "wrong-key-0123456789"}, "unauthorized", id="wrong-key"),
    ],
)
async def test_call_creation_needs_the_api_key(
    server: Server, headers: dict[str, str], code: str
) -> None:
    status, body = await _request(
        server, "POST", "/api/calls", json={"customer": {"id": "x"}}, headers=headers
    )
    assert status == 401
    assert body["error"]["code"] == code


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({}, "customer", id="missing-customer"),
        pytest.param({"customer": {"id": "a b/../c"}}, "customer.id", id="bad-customer-id"),
        pytest.param(
            {"customer": {"id": "x"}, "language": "fr"}, "language", id="unknown-language"
        ),
        pytest.param({"customer": {"id": "x"}, "media": "hologram"}, "media", id="unknown-media"),
        pytest.param({"customer": {"id": "x"}, "extra": 1}, "extra", id="unknown-field"),
        pytest.param(
            {"customer": {"id": "x"}, "metadata": {"k": 5}}, "metadata.k", id="metadata-not-text"
        ),
        pytest.param([1, 2], "$", id="not-an-object"),
    ],
)
async def test_bad_call_bodies_name_the_field(server: Server, payload: Any, field: str) -> None:
    status, body = await _request(
        server, "POST", "/api/calls", json=payload, headers={"X-API-Key": API_KEY}
    )
    assert status == 422
    assert body["error"]["code"] == "invalid_message"
    assert body["error"]["field"] == field


async def test_malformed_json_and_wrong_content_type_are_refused(server: Server) -> None:
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    status, body = await _request(server, "POST", "/api/calls", data="{not json", headers=headers)
    assert (status, body["error"]["code"]) == (422, "invalid_message")
    status, body = await _request(
        server, "POST", "/api/calls", data="x=1", headers={"X-API-Key": API_KEY}
    )
    assert (status, body["error"]["field"]) == (422, "$")


async def test_oversized_body_is_refused(server: Server) -> None:
    big = {"customer": {"id": "x"}, "metadata": {"k": "v" * 100_000}}
    status, _ = await _request(
        server, "POST", "/api/calls", json=big, headers={"X-API-Key": API_KEY}
    )
    assert status == 413


async def test_guest_call_is_refused_when_guest_mode_is_off(start_server: ServerFactory) -> None:
    server = await start_server(guest_mode=False)
    status, body = await _request(server, "POST", "/api/guest", json={})
    assert (status, body["error"]["code"]) == (403, "forbidden")


async def test_guest_calls_are_rate_limited_per_address(server: Server) -> None:
    statuses = [
        (await _request(server, "POST", "/api/guest", json={"name": "G"}))[0] for _ in range(11)
    ]
    assert statuses[:10] == [201] * 10
    assert statuses[10] == 429


async def test_customer_sees_only_their_own_call(server: Server) -> None:
    mine, my_token = await server.customer_call("Karim")
    theirs, _ = await server.customer_call("Salma")
    auth = {"Authorization": f"Bearer {my_token}"}
    status, body = await _request(server, "GET", f"/api/calls/{mine}", headers=auth)
    assert (status, body["call"]["call_id"]) == (200, mine)
    status, body = await _request(server, "GET", f"/api/calls/{theirs}", headers=auth)
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = await _request(server, "GET", "/api/calls", headers=auth)
    assert (status, body["error"]["code"]) == (403, "forbidden")


async def test_staff_list_live_calls_but_reviewers_do_not(server: Server) -> None:
    await server.customer_call("Karim")
    for role in (Role.AGENT, Role.SUPERVISOR, Role.ADMIN):
        status, body = await _request(
            server, "GET", "/api/calls", headers={"Authorization": f"Bearer {server.token(role)}"}
        )
        assert status == 200 and len(body["calls"]) == 1
    status, body = await _request(
        server,
        "GET",
        "/api/calls",
        headers={"Authorization": f"Bearer {server.token(Role.REVIEWER)}"},
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "token_missing", id="no-header"),
        pytest.param("Basic abc", "token_missing", id="not-bearer"),
        pytest.param("Bearer not.a.jwt", "token_invalid", id="garbage"),
    ],
)
async def test_rest_refuses_requests_without_a_valid_token(
    server: Server, authorization: str | None, code: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    status, body = await _request(server, "GET", "/api/ice-servers", headers=headers)
    assert (status, body["error"]["code"]) == (401, code)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../node/config.py",
        "/static/%2e%2e/node/config.py",
        "/static/..%2fsignaling%2fconfig.py",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
    ],
)
async def test_static_files_do_not_escape_the_web_folder(server: Server, path: str) -> None:
    async with aiohttp.ClientSession() as session:
        url = aiohttp.client.URL(server.url + path, encoded=True)
        async with session.get(url) as response:
            text = await response.text()
    assert response.status in (403, 404)
    assert "jwt_secret" not in text and "root:" not in text


# Each kind of character that may not be in a name, metadata or a tag.
REFUSED = [
    pytest.param("Karim\x1b[2J", id="escape-clears-the-screen"),
    pytest.param("Karim\x07", id="bell"),
    pytest.param("Ka\x00rim", id="nul"),
    pytest.param("Ka\x85rim", id="c1-next-line"),
    pytest.param("Ka\x9brim", id="c1-control-sequence"),
    pytest.param("Karim \u202egnp.exe", id="right-to-left-override"),
    pytest.param("\u2066Karim\u2069", id="directional-isolates"),
    pytest.param("Ka\u200frim", id="right-to-left-mark"),
    pytest.param("Ka\u061crim", id="arabic-letter-mark"),
]


@pytest.mark.parametrize("name", REFUSED)
async def test_a_guest_name_with_control_characters_is_refused(server: Server, name: str) -> None:
    status, body = await _request(server, "POST", "/api/guest", json={"name": name})
    assert status == 422
    assert body["error"]["field"] == "name"
    assert body["error"]["message"].startswith(
        "name: must not contain control or direction-override characters"
    )


@pytest.mark.parametrize("text", REFUSED)
@pytest.mark.parametrize(
    ("where", "field"),
    [
        pytest.param(
            lambda text: {"customer": {"id": "x", "name": text}}, "customer.name", id="name"
        ),
        pytest.param(
            lambda text: {"customer": {"id": "x"}, "metadata": {"order": text}},
            "metadata.order",
            id="metadata-value",
        ),
        pytest.param(
            lambda text: {"customer": {"id": "x"}, "metadata": {text: "A-77"}},
            "metadata.",
            id="metadata-key",
        ),
    ],
)
async def test_a_shops_call_with_control_characters_is_refused_naming_the_field(
    server: Server, text: str, where: Any, field: str
) -> None:
    status, body = await _request(
        server, "POST", "/api/calls", json=where(text), headers={"X-API-Key": API_KEY}
    )
    assert status == 422
    assert body["error"]["field"].startswith(field)
    assert "control or direction-override characters" in body["error"]["message"]
    assert body["error"]["message"].isprintable(), "the refusal shows the character escaped"
    assert not server.switchboard.calls, "no call was made"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("র\u200d্যাব হোসেন", id="bengali-with-zero-width-joiner"),
        pytest.param("করিম", id="bengali"),
        pytest.param("김민수", id="korean"),
        pytest.param("Karim 👍🏽 👨\u200d👩\u200d👧", id="emoji-with-joiners"),
    ],
)
async def test_names_in_any_script_are_welcome(server: Server, name: str) -> None:
    status, body = await _request(server, "POST", "/api/guest", json={"name": name})
    assert status == 201, body
    status, body = await _request(
        server,
        "POST",
        "/api/calls",
        json={"customer": {"id": "shop-42", "name": name}, "metadata": {"note": name}},
        headers={"X-API-Key": API_KEY},
    )
    assert status == 201, body
    call = server.switchboard.calls[body["call_id"]]
    assert (call.customer.name, call.metadata["note"]) == (name, name)


async def test_a_call_is_in_a_language_the_server_offers(start_server: ServerFactory) -> None:
    """The customer page offers config's languages; a language not offered is refused in words."""
    server = await start_server(call_languages=["bn", "en", "ko"])
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/client-config") as response:
            assert (await response.json())["languages"] == ["bn", "en", "ko"]
        headers = {"X-API-Key": API_KEY}
        body = {"customer": {"id": "c-1", "name": "Karim"}, "language": "ko"}
        async with http.post(f"{server.url}/api/calls", json=body, headers=headers) as response:
            assert response.status == 201, await response.text()
        body["language"] = "fr"
        async with http.post(f"{server.url}/api/calls", json=body, headers=headers) as response:
            assert response.status == 422
            error = (await response.json())["error"]
        assert error["field"] == "language" and "bn, en, ko" in error["message"]
