"""Attacks on a kotha server, each run in a process of its own.

    python -m tests.attack.attacker <attack> --url http://127.0.0.1:PORT --seconds 6 [...]

The attacker sends from ``--source`` (127.0.0.2 by default), so the server's
per-address limits fall on it and not on the test's call from 127.0.0.1. It
runs at a lower priority (nice 10): on a shared 2-core machine its own CPU
must not be what slows the server or the test's call down.

Standard output carries JSON lines: ``{"mark": name, "at": unix_s, ...}`` as
the attack passes a stage (so a test can act at that moment), then one line
``{"summary": {...}}`` with what the server answered: ``attempts``,
``accepted``, ``refused``, ``outcomes`` (a count per kind of answer), one
``samples`` message per kind, ``unclear`` (refusals without a clear error)
and ``retry_after`` (refusals that said when to come back), plus what each
attack measures of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.attack.wire import (
    OP_BINARY,
    OP_TEXT,
    Endpoint,
    HttpAnswer,
    Outcome,
    SocketIo,
    WebSocket,
    failure,
    guest_token,
    http_request,
    read_answer,
    request_head,
    socket_connect,
    websocket_connect,
)

POLLING_PATH = "/socket.io/?EIO=4&transport=polling"
TRUNCATED = '42/call,1["get_state",{'
BINARY_HEADER = '451000000-/call,["request_call",{"_placeholder":true,"num":0}]'


def mark(name: str, **details: Any) -> None:
    print(json.dumps({"mark": name, "at": time.time(), **details}), flush=True)


async def ready(args: argparse.Namespace) -> None:
    """With ``--wait-go``: say "ready", then wait for the test's "go" on standard input."""
    if args.wait_go:
        mark("ready")
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


class Tally:
    """What the server answered, attempt by attempt."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.attempts = 0
        self.accepted = 0
        self.outcomes: Counter[str] = Counter()
        self.samples: dict[str, str] = {}
        self.unclear = 0
        self.retry_after = 0

    def add(self, outcome: Outcome) -> None:
        self.attempts += 1
        self.outcomes[outcome.kind] += 1
        self.samples.setdefault(outcome.kind, outcome.message[:300])
        if outcome.accepted:
            self.accepted += 1
            return
        if not outcome.clear:
            self.unclear += 1
        if outcome.retry_after is not None:
            self.retry_after += 1

    def summary(self, **extra: Any) -> dict[str, Any]:
        return {
            "seconds": round(time.monotonic() - self.started, 3),
            "attempts": self.attempts,
            "accepted": self.accepted,
            "refused": self.attempts - self.accepted,
            "outcomes": dict(self.outcomes),
            "samples": self.samples,
            "unclear": self.unclear,
            "retry_after": self.retry_after,
            **extra,
        }


class Holder:
    """Open connections the attacker keeps, and when the server closed each."""

    def __init__(self) -> None:
        self.sockets: list[WebSocket] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.max_open = 0

    def hold(self, ws: WebSocket, reader: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.sockets.append(ws)
        self.max_open = max(self.max_open, self.open_now())
        task = asyncio.get_running_loop().create_task(
            reader() if reader is not None else ws.wait_closed(3600)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def open_now(self) -> int:
        return sum(1 for ws in self.sockets if ws.open)

    def figures(self) -> dict[str, Any]:
        now = time.monotonic()
        lifetimes = [ws.closed_at - ws.opened_at for ws in self.sockets if ws.closed_at]
        ages = [now - ws.opened_at for ws in self.sockets if ws.open]
        return {
            "held": len(self.sockets),
            "max_open": self.max_open,
            "open_at_end": len(ages),
            "closed_by_server": len(lifetimes),
            "longest_closed_lifetime_s": round(max(lifetimes, default=0.0), 3),
            "shortest_closed_lifetime_s": round(min(lifetimes, default=0.0), 3),
            "oldest_open_s": round(max(ages, default=0.0), 3),
        }

    async def drop_all(self) -> None:
        for ws in self.sockets:
            ws.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def workers(count: int, work: Callable[[int], Awaitable[None]]) -> None:
    await asyncio.gather(*(work(n) for n in range(count)))


# -- 1. engine.io long-polling handshakes --------------------------------------


async def polling(args: argparse.Namespace) -> dict[str, Any]:
    """``--concurrency`` workers send polling handshakes on keep-alive connections."""
    endpoint = Endpoint.of(args.url, args.source)
    tally = Tally()
    deadline = time.monotonic() + args.seconds
    sessions = 0
    mark("attacking")

    async def work(n: int) -> None:
        nonlocal sessions
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        count = 0
        while time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = await endpoint.open()
                reader, writer = conn
                count += 1
                path = f"{POLLING_PATH}&t={n}-{count}"
                writer.write(request_head("GET", path, f"{endpoint.host}:{endpoint.port}"))
                await writer.drain()
                answer = await asyncio.wait_for(read_answer(reader), 10)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                tally.add(failure(exc))
                if conn is not None:
                    conn[1].close()
                conn = None
                await asyncio.sleep(0.01)
                continue
            if answer.status == 200 and answer.body.startswith(b"0{"):
                sessions += 1
                tally.add(Outcome(True, "http_200:session"))
            elif answer.status == 200:
                tally.add(Outcome(True, "http_200", answer.body[:100].decode("latin-1")))
            else:
                tally.add(answer.outcome())
            if answer.headers.get("connection", "").lower() == "close":
                conn[1].close()
                conn = None
        if conn is not None:
            conn[1].close()

    await workers(args.concurrency, work)
    return tally.summary(sessions=sessions)


# -- 1b. websockets that never sign in ------------------------------------------


async def websockets(args: argparse.Namespace) -> dict[str, Any]:
    """Websocket handshakes in a loop, each kept open and never signed in."""
    endpoint = Endpoint.of(args.url, args.source)
    tally = Tally()
    holder = Holder()
    deadline = time.monotonic() + args.seconds
    mark("attacking")

    async def work(n: int) -> None:
        while time.monotonic() < deadline:
            try:
                opened = await websocket_connect(endpoint)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                tally.add(failure(exc))
                await asyncio.sleep(0.01)
                continue
            if isinstance(opened, HttpAnswer):
                tally.add(opened.outcome())
            else:
                tally.add(Outcome(True))
                holder.hold(opened)

    await workers(args.concurrency, work)
    mark("holding", open=holder.open_now())
    await asyncio.sleep(args.hold)
    figures = holder.figures()
    await holder.drop_all()
    return tally.summary(**figures)


# -- 2. many sockets on one token --------------------------------------------------


async def socket_flood(args: argparse.Namespace) -> dict[str, Any]:
    """``--count`` signed-in sockets on one guest token, each kept open."""
    endpoint = Endpoint.of(args.url, args.source)
    token = args.token or await guest_token(endpoint)
    tally = Tally()
    holder = Holder()
    deadline = time.monotonic() + args.seconds
    remaining = args.count
    mark("attacking")

    async def work(n: int) -> None:
        nonlocal remaining
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            sio, outcome = await socket_connect(endpoint, token)
            tally.add(outcome)
            if sio is not None:
                holder.hold(sio.ws)

    await workers(args.concurrency, work)
    mark("holding", open=holder.open_now())
    await asyncio.sleep(args.hold)
    figures = holder.figures()
    await holder.drop_all()
    return tally.summary(**figures)


# -- 3. stalled request heads --------------------------------------------------------


@dataclass(slots=True)
class Stall:
    """One connection that sent half a request head: when it opened, ended, what it heard."""

    opened_at: float
    ended_at: float | None = None
    answer: HttpAnswer | None = None

    @property
    def lifetime(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.opened_at

    def outcome(self) -> Outcome:
        if self.answer is not None and self.answer.status >= 400:
            return self.answer.outcome()
        if self.ended_at is None:
            return Outcome(True, "held", "still open when the attacker gave up")
        return Outcome(True, "closed_silently", "closed without an answer")


async def stall(endpoint: Endpoint, hold: float, stalls: list[Stall], tally: Tally) -> None:
    try:
        reader, writer = await endpoint.open()
    except (OSError, TimeoutError) as exc:
        tally.add(failure(exc))
        return
    this = Stall(time.monotonic())
    stalls.append(this)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(hold):
                with contextlib.suppress(asyncio.IncompleteReadError, ValueError):
                    this.answer = await read_answer(reader)
                with contextlib.suppress(asyncio.IncompleteReadError, ValueError):
                    await reader.read()  # until the server closes
                this.ended_at = time.monotonic()
    except OSError:
        this.ended_at = time.monotonic()
    finally:
        writer.close()


async def stalled(args: argparse.Namespace) -> dict[str, Any]:
    """``--count`` connections that send half a request head, then nothing."""
    endpoint = Endpoint.of(args.url, args.source)
    tally = Tally()
    whole = Tally()
    stalls: list[Stall] = []
    held_now: list[int] = []

    async def while_held() -> None:
        # Whole requests from the same address while the stalled ones are held: beyond the
        # address's limit they must get a clear refusal, not a silent close.
        await asyncio.sleep(args.probe_after)
        held_now.append(sum(1 for s in stalls if s.ended_at is None))
        for _ in range(args.probe_requests):
            try:
                answer = await http_request(endpoint, "GET", "/healthz", timeout=3)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                whole.add(failure(exc))
                continue
            whole.add(Outcome(True, "http_200") if answer.status < 400 else answer.outcome())

    mark("attacking")
    await asyncio.gather(
        while_held(), *(stall(endpoint, args.hold, stalls, tally) for _ in range(args.count))
    )
    for one in stalls:
        tally.add(one.outcome())
    closed = [s.lifetime for s in stalls if s.lifetime is not None]
    return tally.summary(
        opened=len(stalls),
        closed_by_server=len(closed),
        open_at_end=len(stalls) - len(closed),
        answered=sum(1 for s in stalls if s.answer is not None),
        lifetimes_s=sorted(round(t, 2) for t in closed),
        longest_closed_lifetime_s=round(max(closed, default=0.0), 3),
        held_when_requesting=held_now[0] if held_now else None,
        whole_requests=whole.summary(),
    )


# -- 4. binary attachments -------------------------------------------------------------


async def binary(args: argparse.Namespace) -> dict[str, Any]:
    """A signed-in socket announces 10**6 attachments, then sends 250 KiB frames."""
    endpoint = Endpoint.of(args.url, args.source)
    token = args.token or await guest_token(endpoint)
    tally = Tally()
    sio, outcome = await socket_connect(endpoint, token)
    tally.add(outcome)
    if sio is None:
        return tally.summary(frames_sent=0, closed_by_server=False)
    sio.listen()
    ws = sio.ws
    payload = os.urandom(args.frame_kib * 1024)
    sent = 0
    closed_after: int | None = None
    mark("attacking")
    started = time.monotonic()
    try:
        await ws.send_text(BINARY_HEADER)
        for _ in range(args.count):
            if not ws.open:
                break
            await ws.send(OP_BINARY, payload)
            sent += 1
    except (ConnectionError, RuntimeError, OSError):
        pass
    sending_s = time.monotonic() - started
    if ws.open:
        await ws.wait_closed(args.hold)
    if ws.closed_at is not None:
        closed_after = sent
    mark("sent", frames=sent)
    events = [name for name, _ in sio.events]
    refused = [data for name, data in sio.events if name == "refused"]
    summary = tally.summary(
        frames_sent=sent,
        megabytes_sent=round(sent * len(payload) / 2**20, 1),
        sending_s=round(sending_s, 3),
        closed_by_server=ws.closed_at is not None,
        close_after_s=round(ws.closed_at - started, 3) if ws.closed_at else None,
        closed_after_frames=closed_after,
        close_code=ws.close_code,
        events=events,
        refused_event=refused[0][0] if refused and refused[0] else None,
    )
    await sio.close()
    return summary


# -- 5. truncated packets ----------------------------------------------------------------


async def log_flood(args: argparse.Namespace) -> dict[str, Any]:
    """``--count`` truncated socket.io packets on one websocket, as fast as it goes."""
    endpoint = Endpoint.of(args.url, args.source)
    token = (args.token or await guest_token(endpoint)) if args.signed_in else None
    tally = Tally()
    sio, outcome = await socket_connect(endpoint, token)
    tally.add(outcome)
    if sio is None:
        return tally.summary(frames_sent=0, closed_by_server=False)
    sio.listen()
    ws = sio.ws
    await ready(args)
    mark("attacking")
    started = time.monotonic()
    sent = 0
    data = TRUNCATED.encode()
    try:
        await ws.send(OP_TEXT, data)
        sent = 1
        # The first one alone: a server that closes at the first bad packet says so now.
        for _ in range(50):
            if not ws.open:
                break
            await asyncio.sleep(0.01)
        while ws.open and sent < args.count:
            batch = min(200, args.count - sent)
            for _ in range(batch):
                ws.write(OP_TEXT, data)
            await ws.writer.drain()
            sent += batch
    except (ConnectionError, RuntimeError, OSError):
        pass
    sending_s = time.monotonic() - started
    if ws.open:
        await ws.wait_closed(args.hold)
    mark("sent", frames=sent)
    summary = tally.summary(
        frames_sent=sent,
        sending_s=round(sending_s, 3),
        closed_by_server=ws.closed_at is not None,
        close_after_s=round(ws.closed_at - started, 3) if ws.closed_at else None,
        close_code=ws.close_code,
        events=[name for name, _ in sio.events],
    )
    await sio.close()
    return summary


# -- 6. the queue -----------------------------------------------------------------------


async def create_calls(args: argparse.Namespace, endpoint: Endpoint) -> tuple[Tally, list[str]]:
    """``--count`` ``POST /api/calls`` on ``--concurrency`` keep-alive connections."""
    creating = Tally()
    tokens: list[str] = []
    pending = list(range(args.count))
    host = f"{endpoint.host}:{endpoint.port}"

    async def create(n: int) -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while pending:
            index = pending.pop()
            body = json.dumps(
                {"customer": {"id": f"flood-{index}", "name": f"Flood {index}"}, "language": "bn"}
            ).encode()
            headers = {
                "X-API-Key": args.api_key,
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
            }
            try:
                if conn is None:
                    conn = await endpoint.open()
                reader, writer = conn
                writer.write(request_head("POST", "/api/calls", host, headers) + body)
                await writer.drain()
                answer = await asyncio.wait_for(read_answer(reader), 10)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                creating.add(failure(exc))
                if conn is not None:
                    conn[1].close()
                conn = None
                continue
            if answer.status == 201:
                creating.add(Outcome(True))
                tokens.append(answer.json["token"])
            else:
                creating.add(answer.outcome())
            if answer.headers.get("connection", "").lower() == "close":
                conn[1].close()
                conn = None
        if conn is not None:
            conn[1].close()

    await workers(min(args.concurrency, args.count), create)
    return creating, tokens


def ack_outcome(ack: Any) -> Outcome:
    """A ``request_call`` ack: accepted, or refused with a code and a message in words."""
    if isinstance(ack, dict) and ack.get("ok"):
        return Outcome(True)
    error = (ack or {}).get("error", {}) if isinstance(ack, dict) else {}
    code, message = error.get("code"), error.get("message")
    # "In words": a sentence, not just a code.
    clear = bool(code and message and " " in str(message))
    return Outcome(False, f"ack:{code}", str(message), clear=clear)


class Queuer:
    """Customers that sign in and ask ``request_call``, their sockets kept open."""

    def __init__(self, endpoint: Endpoint, tokens: list[str]) -> None:
        self.endpoint = endpoint
        self.connecting = Tally()
        self.queueing = Tally()
        self.sockets: list[SocketIo] = []
        self.ack_errors: list[str] = []
        self._tokens = list(reversed(tokens))
        self._half = len(tokens) // 2
        self.done = 0

    async def run(self, concurrency: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds

        async def work(n: int) -> None:
            while self._tokens and time.monotonic() < deadline:
                await self.enqueue(self._tokens.pop())
                self.done += 1
                if self.done == self._half:
                    mark("queued_half", done=self.done)

        await workers(min(concurrency, max(1, len(self._tokens))), work)

    async def enqueue(self, token: str) -> None:
        sio, outcome = await socket_connect(self.endpoint, token)
        self.connecting.add(outcome)
        if sio is None:
            return
        self.sockets.append(sio)
        sio.listen()
        try:
            ack = await sio.call("request_call", {"media": "audio", "language": "bn"})
        except (ConnectionError, TimeoutError, OSError) as exc:
            self.queueing.add(failure(exc))
            return
        outcome = ack_outcome(ack)
        self.queueing.add(outcome)
        if not outcome.accepted and len(self.ack_errors) < 5:
            self.ack_errors.append(f"{outcome.kind}: {outcome.message}")

    async def drop_all(self) -> int:
        """Every socket gone at once, as if the attacker's network went; how many were open."""
        open_sockets = sum(1 for s in self.sockets if s.ws.open)
        mark("dropping", open=open_sockets)
        for sio in self.sockets:
            sio.ws.abort()
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)
        mark("dropped")
        return open_sockets


async def queue_flood(args: argparse.Namespace) -> dict[str, Any]:
    """``--count`` calls made with the API key, each customer's socket queued, then all dropped."""
    endpoint = Endpoint.of(args.url, args.source)
    mark("creating")
    creating, tokens = await create_calls(args, endpoint)
    created_s = time.monotonic() - creating.started
    mark("created", calls=len(tokens), seconds=round(created_s, 3))
    queuer = Queuer(endpoint, tokens)
    mark("queueing")
    queue_started = time.monotonic()
    await queuer.run(args.concurrency, args.seconds)
    mark(
        "queued",
        done=queuer.done,
        queued=queuer.queueing.accepted,
        seconds=round(time.monotonic() - queue_started, 3),
    )
    await asyncio.sleep(args.hold)
    open_sockets = await queuer.drop_all()
    return creating.summary(
        created=len(tokens),
        creating_s=round(created_s, 3),
        connecting=queuer.connecting.summary(),
        queueing=queuer.queueing.summary(),
        queued=queuer.queueing.accepted,
        open_before_drop=open_sockets,
        ack_errors=queuer.ack_errors,
    )


# -- 7. a slow body ------------------------------------------------------------------------


async def polling_session(endpoint: Endpoint, tally: Tally) -> str:
    """A long-polling session's id ("none" when the server opens none)."""
    try:
        answer = await http_request(endpoint, "GET", POLLING_PATH)
        if answer.status == 200:
            text = answer.body.decode("utf-8", "replace")
            tally.add(Outcome(True, "http_200:session"))
            return str(json.loads(text[text.index("{") :])["sid"])
        tally.add(answer.outcome())
    except (OSError, TimeoutError, ValueError, KeyError, asyncio.IncompleteReadError) as exc:
        tally.add(failure(exc))
    return "none"


async def trickle(
    endpoint: Endpoint,
    path: str,
    content_type: str,
    *,
    args: argparse.Namespace,
    tally: Tally,
    posting: asyncio.Event,
) -> dict[str, Any]:
    """One POST whose ``--body-kib`` body comes a KiB every ``--interval``: what became of it."""
    started = time.monotonic()
    size = args.body_kib * 1024
    result: dict[str, Any] = {"sent": 0, "answered_after_s": None, "status": None}
    try:
        reader, writer = await endpoint.open()
    except OSError as exc:
        result["error"] = type(exc).__name__
        return result
    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    writer.write(request_head("POST", path, f"{endpoint.host}:{endpoint.port}", headers))
    answer_task = asyncio.get_running_loop().create_task(read_answer(reader))
    chunk = b" " * 1024
    try:
        while result["sent"] < size and time.monotonic() - started < args.seconds:
            if answer_task.done():
                break
            writer.write(chunk)
            await writer.drain()
            result["sent"] += len(chunk)
            posting.set()
            await asyncio.sleep(args.interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(answer_task), 0.5)
    except (ConnectionError, OSError):
        result["write_failed_after_s"] = round(time.monotonic() - started, 3)
    if answer_task.done() and not answer_task.cancelled():
        exc = answer_task.exception()
        if exc is None:
            answer = answer_task.result()
            result["status"] = answer.status
            result["answered_after_s"] = round(time.monotonic() - started, 3)
            tally.add(answer.outcome() if answer.status >= 400 else Outcome(True))
        else:
            result["closed_without_answer"] = type(exc).__name__
    else:
        answer_task.cancel()
        result["pending_at_end"] = True
    writer.close()
    return result


async def slow_post(args: argparse.Namespace) -> dict[str, Any]:
    """Bodies of ``--body-kib`` trickled in, to a polling session and to a REST endpoint."""
    endpoint = Endpoint.of(args.url, args.source)
    tally = Tally()
    sid = await polling_session(endpoint, tally)
    targets = {
        "polling": (f"{POLLING_PATH}&sid={sid}", "text/plain;charset=UTF-8"),
        "guest": ("/api/guest", "application/json"),
    }
    posting = asyncio.Event()

    async def announce() -> None:
        await posting.wait()
        mark("posting", sid=sid)

    announcer = asyncio.get_running_loop().create_task(announce())
    results = await asyncio.gather(
        *(
            trickle(endpoint, path, kind, args=args, tally=tally, posting=posting)
            for path, kind in targets.values()
        )
    )
    announcer.cancel()
    return tally.summary(sid=sid, posts=dict(zip(targets, results, strict=True)))


ATTACKS: dict[str, Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]] = {
    "polling": polling,
    "websockets": websockets,
    "socket_flood": socket_flood,
    "stalled": stalled,
    "binary": binary,
    "log_flood": log_flood,
    "queue_flood": queue_flood,
    "slow_post": slow_post,
}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.attack.attacker", description=__doc__)
    parser.add_argument("attack", choices=sorted(ATTACKS))
    parser.add_argument("--url", required=True, help="the server, http://127.0.0.1:PORT")
    parser.add_argument("--source", default="127.0.0.2", help="local address to send from")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long to attack")
    parser.add_argument("--hold", type=float, default=1.0, help="seconds to hold on afterwards")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--token", help="a token to use (default: a guest token of its own)")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--signed-in", action="store_true", help="log_flood: sign in first")
    parser.add_argument("--frame-kib", type=int, default=250, help="binary: frame size")
    parser.add_argument("--body-kib", type=int, default=300, help="slow_post: body size")
    parser.add_argument("--interval", type=float, default=0.1, help="slow_post: between KiB")
    parser.add_argument(
        "--probe-after", type=float, default=1.5, help="stalled: whole requests this much later"
    )
    parser.add_argument("--probe-requests", type=int, default=5, help="stalled: how many")
    parser.add_argument(
        "--wait-go", action="store_true", help='say "ready", attack on a "go" line on stdin'
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with contextlib.suppress(OSError):
        os.nice(10)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    summary = asyncio.run(ATTACKS[args.attack](args))
    print(json.dumps({"summary": {"attack": args.attack, "source": args.source, **summary}}))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
