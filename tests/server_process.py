"""kotha as an operator runs it, for the tests that kill it: its own process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import API_KEY, TEST_SECRET
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0


class ServerProcess:
    """``kotha serve`` in its own process, killable; ``settings`` as ``KOTHA_*`` values."""

    def __init__(
        self, data_dir: Path, settings: dict[str, str] | None = None, *, name: str = "server"
    ) -> None:
        self.data_dir = data_dir
        self.settings = settings or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None
        self.log = data_dir / f"{name}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, ready_path: str = "/healthz") -> None:
        """Start it and wait until ``ready_path`` answers 200."""
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            KOTHA_DATA_DIR=str(self.data_dir),
            KOTHA_JWT_SECRET=TEST_SECRET,
            KOTHA_API_KEYS=API_KEY,
            KOTHA_ICE_ADDRESSES="127.0.0.1",
            KOTHA_LOG_FORMAT="text",
        )
        env.update({f"KOTHA_{key.upper()}": value for key, value in self.settings.items()})
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "signaling", "serve"],
                *["--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.process.returncode is None, self.log.read_text()[-2000:]
                try:
                    async with session.get(self.url + ready_path) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "the server did not come up"
                await asyncio.sleep(0.2)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), 10)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 15)
