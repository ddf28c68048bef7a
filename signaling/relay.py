"""A client's event about a call another node owns: relayed there, answered from there.

The socket is on this node; the call's media and live state are on its owner
(``CallValue.media_node``). The hub sends the event, as parsed from the socket, with the
socket's identity, id and address, over the node bus (:mod:`node.bus`); the owner runs it
as if the socket were its own (its emits reach the socket through the socket.io manager,
:mod:`signaling.fanout`) and its ack is the client's ack, refusals in the owner's words.
"""

from __future__ import annotations

from typing import Any

from callcenter.identity import Identity
from node.cluster import Cluster
from node.config import Config
from node.events import ClientEvent
from node.notifier import Payload

from .sessions import SocketSession

# Events about a call's media or live state: run on the node that owns the call's media.
RELAYED = frozenset(
    {
        ClientEvent.JOIN_CALL,
        ClientEvent.SEND_ANSWER,
        ClientEvent.ADD_ICE_CANDIDATE,
        ClientEvent.START_SCREEN_SHARE,
        ClientEvent.STOP_SCREEN_SHARE,
        ClientEvent.SET_TRACK_STATE,
        ClientEvent.HANG_UP,
        ClientEvent.TAG_CALL,
        ClientEvent.PAUSE_RECORDING,
        ClientEvent.RESUME_RECORDING,
        ClientEvent.HOLD_CALL,
        ClientEvent.RESUME_CALL,
        ClientEvent.REPORT_QUALITY,
        ClientEvent.WATCH_CALL,
        ClientEvent.UNWATCH_CALL,
        ClientEvent.MONITOR_CALL,
        ClientEvent.SET_MONITOR_MODE,
        ClientEvent.STOP_MONITORING,
    }
)

# Events that move a call's media off a node that is gone: a party or supervisor joining.
ADOPTING = frozenset({ClientEvent.JOIN_CALL, ClientEvent.MONITOR_CALL})

_FAILED = {"code": "internal_error", "message": "the server failed; try again"}


class OwnerRefusedError(Exception):
    """The node that owns the call refused a relayed event; its words go to the client."""

    def __init__(self, wire: Any) -> None:
        super().__init__("refused by the call's node")
        self.wire: dict[str, Any] = wire if isinstance(wire, dict) else dict(_FAILED)


async def relay(
    cluster: Cluster, owner: str, socket: SocketSession, event: ClientEvent, raw: Any
) -> Payload:
    """Run ``event`` on ``owner``; its payload (or :class:`OwnerRefusedError`)."""
    reply = await cluster.relay(
        owner,
        {
            "verb": "event",
            "event": event.value,
            "identity": socket.identity.to_record(),
            "sid": socket.sid,
            "source": socket.source,
            "message": raw,
        },
    )
    if reply.get("ok") is True:
        return {key: value for key, value in reply.items() if key != "ok"}
    raise OwnerRefusedError(reply.get("error"))


def relayed_socket(request: Payload, config: Config) -> SocketSession:
    """The socket a relayed event came from, as the owner sees it."""
    record = request.get("identity")
    source = request.get("source")
    if not isinstance(record, dict):
        raise TypeError("a relayed event carries its identity")
    return SocketSession(
        Identity.from_record(record),
        source if isinstance(source, str) else None,
        config.socket_rate_per_s,
        config.socket_rate_burst,
        sid=str(request.get("sid")),
    )


__all__ = ["ADOPTING", "RELAYED", "OwnerRefusedError", "relay", "relayed_socket"]
