"""Fixtures shared by every test: a real kotha server on 127.0.0.1, tokens, clients."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from yarl import URL

from callcenter.identity import Role
from client.participant import KothaClient
from media.source import SourceKind
from node.config import Config
from node.events import NAMESPACE
from node.switchboard import Switchboard
from signaling.app import create_app
from signaling.auth import TokenAuthority
from signaling.keys import SWITCHBOARD
from tests.redis_server import RedisServer, start_redis

pytest_plugins = ["tests.timeouts"]

TEST_SECRET = "kotha-test-secret-0123456789abcdefghijklmnop"
API_KEY = "shop-api-key-0123456789"
REDIS_URL_ENV = "KOTHA_REDIS_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis",
        action="store_true",
        help="keep the call centre's state in a real redis-server the tests start "
        f"(every server the tests run gets it as {REDIS_URL_ENV}, under a prefix of its own)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--redis``, only the tests that run a kotha server: the others never touch the
    registry, and were run as they are without it (as were those that start their own
    Redis for many nodes)."""
    if not config.getoption("--redis"):
        return
    kept = [
        item
        for item in items
        if "start_server" in getattr(item, "fixturenames", ())
        # A test of many nodes gives its servers a Redis of its own already.
        and "redis_server" not in getattr(item, "fixturenames", ())
        and item.get_closest_marker("own_redis") is None
    ]
    dropped = [item for item in items if item not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free port, stopped by its PID at the end of the session."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def shared_registry(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """With ``--redis``, every kotha server of the run keeps its state in a real Redis."""
    if not request.config.getoption("--redis"):
        yield None
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(REDIS_URL_ENV, server.url)
        yield server.url


def make_config(tmp_path: Path, **overrides: Any) -> Config:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "data_dir": tmp_path,
        "jwt_secret": TEST_SECRET,
        "guest_mode": True,
        "api_keys": [API_KEY],
        "ice_addresses": ["127.0.0.1"],
        "rejoin_grace_s": 5.0,
        "log_format": "text",
        # The pages expose window.kotha.state(), which the browser tests read.
        "page_test_hooks": True,
    }
    if os.environ.get(REDIS_URL_ENV):  # --redis: each server a call centre of its own
        values["redis_url"] = os.environ[REDIS_URL_ENV]
        values["redis_prefix"] = f"test:{secrets.token_hex(6)}:"
    values.update(overrides)
    return Config(**values)


@dataclass
class Server:
    """A running kotha app and what tests need to talk to it."""

    url: str
    app: web.Application
    authority: TokenAuthority
    clients: list[KothaClient] = field(default_factory=list)
    runner: web.AppRunner | None = None
    stopped: bool = False

    @property
    def switchboard(self) -> Switchboard:
        return self.app[SWITCHBOARD]

    def token(
        self, role: Role, name: str = "", *, call_id: str | None = None, ttl_s: int = 600
    ) -> str:
        subject = (name or role.value).lower()
        return self.authority.issue(
            role, subject, name=name or subject, call_id=call_id, ttl_s=ttl_s
        )

    async def customer_call(self, name: str = "Karim", media: str = "audio") -> tuple[str, str]:
        """A new call and its customer token, as POST /api/calls makes them."""
        call = await self.switchboard.customer_desk.create(
            customer_subject=name.lower(), customer_name=name, language="bn", media=media
        )
        return call.call_id, self.token(Role.CUSTOMER, name, call_id=call.call_id)

    def client(self, token: str, **kwargs: Any) -> KothaClient:
        client = KothaClient(self.url, token, **kwargs)
        self.clients.append(client)
        return client

    async def stop(self) -> None:
        """Stop this node as SIGTERM does (its calls end, it leaves the directory)."""
        if self.stopped:
            return
        self.stopped = True
        for client in self.clients:
            await client.close()
        if self.runner is not None:
            await self.runner.cleanup()


ServerFactory = Callable[..., Awaitable[Server]]


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    servers: list[Server] = []

    async def start(**overrides: Any) -> Server:
        config = make_config(tmp_path, **overrides)
        app = create_app(config)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        server = Server(f"http://127.0.0.1:{port}", app, TokenAuthority(TEST_SECRET), runner=runner)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def server(start_server: ServerFactory) -> Server:
    return await start_server()


NodeFactory = Callable[..., Awaitable[Server]]


@pytest.fixture
def add_node(start_server: ServerFactory, redis_server: RedisServer, tmp_path: Path) -> NodeFactory:
    """Adds a node (``"node-a"``, ...) to one call centre on the session's real Redis.

    Each node keeps its files in ``tmp_path / node_id`` unless ``data_dir`` says otherwise;
    other keywords are the node's settings (``redis_url`` for a Redis of the test's own).
    """
    prefix = f"test:{secrets.token_hex(4)}:"

    async def add(node_id: str, **overrides: Any) -> Server:
        values: dict[str, Any] = {
            "redis_url": redis_server.url,
            "redis_prefix": prefix,
            "data_dir": tmp_path / node_id,
        }
        return await start_server(node_id=node_id, **(values | overrides))

    return add


@dataclass
class Pair:
    """A customer and an agent in one active call."""

    call_id: str
    customer: KothaClient
    agent: KothaClient


async def connect_call(
    server: Server,
    *,
    media: str = "audio",
    customer_sources: dict[SourceKind, Any] | None = None,
    agent_sources: dict[SourceKind, Any] | None = None,
    join: bool = True,
    customer_options: dict[str, Any] | None = None,
    agent_options: dict[str, Any] | None = None,
    customer_name: str = "Karim",
    agent_name: str = "Rahim",
    agent_node: Server | None = None,
) -> Pair:
    """Customer calls, agent takes the call, and (by default) both join the media.

    ``*_options`` go to each side's :class:`KothaClient` (``on_track`` and so on). With
    ``agent_node`` the customer calls through ``server`` and the agent is signed in on
    that other node of the centre.
    """
    call_id, customer_token = await server.customer_call(customer_name, media=media)
    customer = server.client(customer_token, sources=customer_sources, **(customer_options or {}))
    desk = agent_node or server
    agent = desk.client(
        desk.token(Role.AGENT, agent_name), sources=agent_sources, **(agent_options or {})
    )
    await customer.connect()
    await agent.connect()
    await customer.request_call(media=media)
    await agent.set_availability("available")
    await agent.accept_call(call_id)
    if join:
        await asyncio.gather(customer.join_call(call_id), agent.join_call(call_id))
    return Pair(call_id, customer, agent)


async def api_request(
    server: Server, method: str, path: str, token: str | None = None, **kw: Any
) -> tuple[int, Any, dict[str, str]]:
    """One REST request to ``server`` (Bearer ``token``): status, JSON (or bytes), headers."""
    headers = dict(kw.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = URL(server.url + path, encoded=True)
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers, **kw) as r,
    ):
        body = await r.read()
        try:
            data: Any = json.loads(body)
        except ValueError:
            data = body
        return r.status, data, dict(r.headers)


async def connect_refusal(server: Server, auth: Any) -> dict[str, Any]:
    """Connect with ``auth`` and return the connect_error data the server sent."""
    sio = socketio.AsyncClient(reconnection=False)
    refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @sio.on("connect_error", namespace=NAMESPACE)
    async def on_error(data: Any) -> None:
        if not refused.done():
            refused.set_result(data["data"])

    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            server.url, auth=auth, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=5
        )
    data = await asyncio.wait_for(refused, 5)
    await sio.disconnect()
    return data
