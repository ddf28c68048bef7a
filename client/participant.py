"""A Python client of the kotha protocol, with an aiortc peer for media.

The tests and ``kotha bench`` use it; it is also what a bot or a load
generator would use. It does what the browser pages do: connect with a token,
send verbs and wait for their acks, answer every media offer, and keep a log
of the facts the server sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiortc import MediaStreamTrack

from media.client_peer import ClientPeer, EncodedFrameHandler, SdpFilter, TrackHandler
from media.peer import Slot, SlotDirection
from media.source import SourceKind
from node.events import NAMESPACE, ClientEvent, ServerEvent

logger = logging.getLogger(__name__)


class ClientError(Exception):
    """The server answered a request with an error."""

    def __init__(self, event: str, error: Mapping[str, Any]) -> None:
        self.event = event
        self.code = str(error.get("code", "error"))
        self.field = error.get("field")
        self.message = str(error.get("message", ""))
        super().__init__(f"{event}: {self.code}: {self.message}")


@dataclass(frozen=True, slots=True)
class Received:
    event: str
    payload: Any
    at: float = field(default_factory=time.perf_counter)  # when it arrived


class KothaClient:
    """One signed-in participant: a socket.io connection and, in a call, a peer.

    Args:
        url: the server's base URL.
        token: a signed token (customer or agent).
        sources: local tracks to publish, by source. They stay the caller's:
            every peer this client makes (a second :meth:`join_call`, a
            restart) publishes the same tracks, and none of them stops them.
        on_track / on_encoded_frame: see :class:`media.client_peer.ClientPeer`.
        offer_filter / answer_filter: rewrite the SDP of each offer and answer,
            as :class:`media.client_peer.ClientPeer` does; tests route the
            media through a network impairment this way.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        sources: Mapping[SourceKind, MediaStreamTrack] | None = None,
        on_track: TrackHandler | None = None,
        on_encoded_frame: EncodedFrameHandler | None = None,
        offer_filter: SdpFilter | None = None,
        answer_filter: SdpFilter | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.sources: dict[SourceKind, MediaStreamTrack] = dict(sources or {})
        self.received: list[Received] = []
        self.peer: ClientPeer | None = None
        self.peer_id: str | None = None
        self.call_id: str | None = None
        self.offers_answered = 0
        self._on_track = on_track
        self._on_encoded_frame = on_encoded_frame
        self._offer_filter = offer_filter
        self._answer_filter = answer_filter
        self._news = asyncio.Condition()
        self._offer_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.sio = socketio.AsyncClient(reconnection=False)
        for event in ServerEvent:
            self.sio.on(event.value, self._recorder(event.value), namespace=NAMESPACE)

    # -- connection ------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        """Connect and return the server's view of this participant (``get_state``)."""
        await self.sio.connect(
            self.url,
            auth={"token": self.token},
            namespaces=[NAMESPACE],
            transports=["websocket"],
            wait_timeout=10,
        )
        return await self.request(ClientEvent.GET_STATE)

    async def disconnect(self) -> None:
        """Drop the socket (the peer stays, as when a browser's network drops)."""
        await self.sio.disconnect()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.peer is not None:
            await self.peer.close()
            self.peer = None

    async def request(self, event: ClientEvent | str, payload: Any = None) -> dict[str, Any]:
        """Send one verb and return its ack, raising :class:`ClientError` on an error ack."""
        name = event.value if isinstance(event, ClientEvent) else event
        ack = await self.sio.call(name, payload or {}, namespace=NAMESPACE, timeout=15)
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise ClientError(name, (ack or {}).get("error", {}) if isinstance(ack, dict) else {})
        return ack

    # -- verbs -----------------------------------------------------------

    async def request_call(self, media: str = "audio", language: str = "bn") -> dict[str, Any]:
        ack = await self.request(ClientEvent.REQUEST_CALL, {"media": media, "language": language})
        self.call_id = ack["call"]["call_id"]
        return ack

    async def set_availability(self, status: str) -> dict[str, Any]:
        return await self.request(ClientEvent.SET_AVAILABILITY, {"status": status})

    async def accept_call(self, call_id: str | None = None) -> dict[str, Any]:
        ack = await self.request(ClientEvent.ACCEPT_CALL, {"call_id": call_id} if call_id else {})
        self.call_id = ack["call"]["call_id"]
        return ack

    async def join_call(self, call_id: str | None = None) -> dict[str, Any]:
        """Start media; calling it again replaces the peer (what a reload does)."""
        self.call_id = call_id or self.call_id
        return await self.request(ClientEvent.JOIN_CALL, {"call_id": self.call_id})

    async def monitor_call(self, call_id: str, mode: str = "listen") -> dict[str, Any]:
        """Monitor a call as a supervisor (listen, whisper or barge); a media offer follows."""
        self.call_id = call_id
        return await self.request(ClientEvent.MONITOR_CALL, {"call_id": call_id, "mode": mode})

    async def set_monitor_mode(self, mode: str) -> dict[str, Any]:
        return await self.request(
            ClientEvent.SET_MONITOR_MODE, {"call_id": self.call_id, "mode": mode}
        )

    async def stop_monitoring(self) -> dict[str, Any]:
        return await self.request(ClientEvent.STOP_MONITORING, {"call_id": self.call_id})

    async def start_screen_share(self, track: MediaStreamTrack) -> dict[str, Any]:
        self.sources[SourceKind.SCREEN] = track
        if self.peer is not None:
            self.peer.set_source(SourceKind.SCREEN, track)
        return await self.request(ClientEvent.START_SCREEN_SHARE, {"call_id": self.call_id})

    async def stop_screen_share(self) -> dict[str, Any]:
        self.sources.pop(SourceKind.SCREEN, None)
        if self.peer is not None:
            self.peer.set_source(SourceKind.SCREEN, None)
        return await self.request(ClientEvent.STOP_SCREEN_SHARE, {"call_id": self.call_id})

    async def hang_up(self) -> dict[str, Any]:
        return await self.request(ClientEvent.HANG_UP, {"call_id": self.call_id})

    # -- what the server said --------------------------------------------

    def events(self, event: ServerEvent | str) -> list[Any]:
        name = event.value if isinstance(event, ServerEvent) else event
        return [r.payload for r in self.received if r.event == name]

    async def wait_for(
        self,
        event: ServerEvent | str,
        predicate: Callable[[Any], bool] = lambda _: True,
        timeout: float = 10.0,
    ) -> Any:
        """The first payload of ``event`` (already received or still to come) that matches."""
        name = event.value if isinstance(event, ServerEvent) else event

        def find() -> Any:
            for r in self.received:
                if r.event == name and predicate(r.payload):
                    return r
            return None

        async with self._news:
            found = await asyncio.wait_for(self._news.wait_for(find), timeout)
        return found.payload

    # -- internals -------------------------------------------------------

    def _recorder(self, name: str) -> Callable[[Any], Any]:
        async def record(payload: Any = None) -> None:
            self.received.append(Received(name, payload))
            async with self._news:
                self._news.notify_all()
            if name == ServerEvent.MEDIA_OFFER.value:
                task = asyncio.get_running_loop().create_task(self._answer(payload))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        return record

    async def _answer(self, offer: dict[str, Any]) -> None:
        async with self._offer_lock:
            if offer["peer_id"] != self.peer_id:
                # The server made a fresh peer (join again, or a restart): so do we.
                if self.peer is not None:
                    await self.peer.close()
                self.peer = ClientPeer(
                    self.sources,
                    on_track=self._on_track,
                    on_encoded_frame=self._on_encoded_frame,
                    offer_filter=self._offer_filter,
                    answer_filter=self._answer_filter,
                )
                self.peer_id = offer["peer_id"]
            slots = [
                Slot(
                    mid=s["mid"],
                    kind=s["kind"],
                    direction=SlotDirection(s["direction"]),
                    participant_id=s["participant_id"],
                    source=s["source"],
                )
                for s in offer["slots"]
            ]
            peer = self.peer
            assert peer is not None  # made above for a new peer_id
            sdp = await peer.answer(offer["description"]["sdp"], slots)
            try:
                await self.request(
                    ClientEvent.SEND_ANSWER,
                    {
                        "call_id": offer["call_id"],
                        "peer_id": offer["peer_id"],
                        "offer_id": offer["offer_id"],
                        "description": {"type": "answer", "sdp": sdp},
                    },
                )
                self.offers_answered += 1
            except ClientError:
                logger.exception("answer to offer %s refused", offer["offer_id"])
