"""This node among the others that share one call centre (``redis_url``).

- **Who owns a call.** Its media lives on one node (``CallValue.media_node``); a message for
  the call that reaches another node is relayed there (:meth:`Cluster.owner_of`, the hub's
  relay), and so is the end of a call, so that the node with the room closes it.
- **News.** Every change this node makes to the registry goes to the other nodes as news
  (the values written, and whether the queue changed); they bring their views up to date
  (a value is taken only if its version is newer) and offer waiting calls to their own free
  agents. The registry stays the authority: news only spares a round trip per read.
- **Alone.** With no Redis there is no bus: every call is this node's, and nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from callcenter import in_call
from callcenter.errors import ServerBusyError
from callcenter.lifecycle import Refused
from callcenter.nodes import NodeValue, choose_node, live_nodes
from callcenter.placements import Placements
from callcenter.registry import RegistryError
from callcenter.states import CallState, EndReason
from callcenter.values import AgentValue, CallValue
from webhooks import NotFoundError as WebhookNotFoundError

from .bus import Body, BusError, NodeBus
from .events import ServerEvent
from .presence import agent_key

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)

RelayHandler = Callable[[Body], Awaitable[Body]]


class _EveryNode(set[str]):
    """Holds every node id (the directory could not be read)."""

    def __contains__(self, item: object) -> bool:
        return True


_EVERY_NODE = _EveryNode()


class Cluster:
    """The node bus's two ends for this node: what it relays and tells, what it hears."""

    def __init__(self, board: Switchboard, redis_url: str | None, *, prefix: str) -> None:
        self._board = board
        self.bus: NodeBus | None = None
        if redis_url:
            self.bus = NodeBus.from_url(
                redis_url,
                prefix=prefix,
                node_id=board.node_id,
                on_request=self.answer,
                on_news=self.heard,
            )
        self._missing: set[tuple[str, str]] = set()  # parties no live node listed, last time
        self._placed = Placements()  # counted in the nodes' loads until their beats have them
        self.relay_handler: RelayHandler | None = None
        """Runs a client's event relayed from another node (the socket.io hub sets it)."""

    @property
    def many(self) -> bool:
        """Whether other nodes may share this call centre."""
        return self.bus is not None

    def start(self) -> None:
        if self.bus is not None:
            self._board.tasks.spawn(self.bus.run(), "node_bus")

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()

    # -- who owns a call -------------------------------------------------------

    async def owner_of(self, call_id: str, *, adopt: bool = False) -> str | None:
        """The other live node that holds this call's media, if one does (None: this node
        answers, as it has the room, or the call has no media). A call whose media node is
        gone is moved (``adopt``: a party joining again) to the node with the most room."""
        board = self._board
        if self.bus is None or board.room_of(call_id) is not None:
            return None
        call = board.calls.get(call_id)
        if call is None or (not call.media_node and call.state is not CallState.ENDED):
            call = await board.fresh(call_id)
        if call is None or call.state is CallState.ENDED or not call.media_node:
            return None
        if call.media_node != board.node_id and await self.alive(call.media_node):
            return call.media_node
        call = await board.fresh(call_id)  # this node's view may be behind a move
        if call is None or call.state is CallState.ENDED or not call.media_node:
            return None
        if call.media_node != board.node_id and await self.alive(call.media_node):
            return call.media_node
        if not adopt:
            return None
        owner = await self.adopt(call)
        return owner if owner != board.node_id else None

    async def adopt(self, call: CallValue) -> str:
        """The node with the call's media is gone: its media moves to the node with the most
        room (a fresh room there, the recording going on in a new segment). Returns the node
        that has it now (another node may have moved it first)."""
        board = self._board
        target = await self.place(replace(call, media_node=None))
        try:
            moved = await board.commit(in_call.move_media(call.call_id, call.media_node, target))
        except Refused:
            fresh = await board.fresh(call.call_id)
            return fresh.media_node if fresh is not None and fresh.media_node else board.node_id
        logger.warning(
            "Call(%s): node %s, which carried its media, is gone; the media moves to %s",
            call.call_id,
            call.media_node,
            target,
        )
        if target == board.node_id:
            await board.open_media(moved)
        else:
            await self.open_at_owner(moved)
        return target

    async def nodes_gone(self, nodes: list[NodeValue]) -> None:
        """Nodes dropped out of the directory (killed, cut off). The first live node moves
        their calls' media and tells every party and supervisor of them to join again (so
        each is told once; a party's page does at once, ``media_failed``). Whoever was
        connected only to them is found by :meth:`check_presence`."""
        board = self._board
        live = sorted(node.node_id for node in board.heartbeat.nodes)
        if not live or live[0] != board.node_id:
            return
        gone = {node.node_id for node in nodes}
        orphans = [c.call_id for c in board.calls.values() if c.media_node in gone]
        for call_id in orphans:
            call = await board.fresh(call_id)
            if call is None or call.state is CallState.ENDED or call.media_node not in gone:
                continue
            await self.adopt(call)
            await self._join_again(call, "the server that carried this call stopped")

    def check_presence(self) -> None:
        """After each reading of the directory, on the first live node: a party the registry
        says is connected but whom no live node lists (``NodeValue.present``) in two readings
        in a row had their socket on a node that died; their rejoin grace starts."""
        board = self._board
        live = board.heartbeat.nodes
        if self.bus is None or not live or min(n.node_id for n in live) != board.node_id:
            self._missing = set()
            return
        present = set(board.presence.keys()).union(*(n.present for n in live))
        missing = {
            (call.call_id, party.participant_id)
            for call in board.live_calls()
            for party in call.participants
            if party.connected
            and (agent_key(party.subject) if party.role == "agent" else party.participant_id)
            not in present
        }
        for call_id, participant_id in missing & self._missing:
            board.tasks.spawn(board.connections.lost(call_id, participant_id), "presence")
        self._missing = missing - self._missing

    def present_elsewhere(self, key: str) -> bool:
        """Whether another live node says ``key`` (``NodeValue.present``) is connected to it."""
        board = self._board
        return any(key in n.present for n in board.heartbeat.nodes if n.node_id != board.node_id)

    def alone(self) -> bool:
        """Whether no other live node shares this call centre (as the last reading says)."""
        return all(node.node_id == self._board.node_id for node in self._board.heartbeat.nodes)

    async def move_away(self, call: CallValue) -> bool:
        """This node drains: the call's media goes on at the node with the most room (its
        recording in a new segment) and its parties join again there. False: no other node
        has room, or the registry cannot be reached (the call ends here)."""
        board = self._board
        target = self._choose()  # this node beat as draining: out of selection
        if self.bus is None or target is None or target == board.node_id:
            return False
        try:
            moved = await board.commit(in_call.move_media(call.call_id, board.node_id, target))
        except (Refused, RegistryError):
            return False
        logger.info("Call(%s): this node stops; the call goes on at %s", call.call_id, target)
        media = board.media.take(call.call_id)
        if media is not None:
            await media.hand_over(target)
        try:
            await self.open_at_owner(moved)
        except RegistryError as exc:  # the parties' joins open it there
            logger.warning(
                "Call(%s): %s did not open its media yet (%s)", call.call_id, target, exc
            )
        await self._join_again(call, "this server is shutting down")
        return True

    async def _join_again(self, call: CallValue, why: str) -> None:
        """Every party and supervisor of ``call`` is told to join it again (its media moved)."""
        board = self._board
        told: Body = {"call_id": call.call_id, "reason": f"{why}; join the call again"}
        for party in call.participants:
            await board.notifier.to_participant(
                call.call_id, party.participant_id, ServerEvent.MEDIA_FAILED, told
            )
        for monitor in call.monitors:  # their sessions were in the room that is gone
            await board.notifier.to_socket(monitor.sid, ServerEvent.MEDIA_FAILED, told)

    async def alive(self, node_id: str) -> bool:
        """Whether ``node_id`` beat within its time to live (the directory read afresh if
        the last beat's reading did not have it: it may have just started)."""
        heartbeat = self._board.heartbeat
        if any(node.node_id == node_id for node in heartbeat.nodes):
            return True
        nodes = live_nodes(await self._board.registry.nodes(), time.time())
        return any(node.node_id == node_id for node in nodes)

    # -- where a call's media goes ----------------------------------------------

    def can_place(self) -> bool:
        """Whether a newly taken call would find a node with room (no round trip)."""
        if self.bus is None:
            return not self._board.media.full()
        return self._choose() is not None

    async def place(self, call: CallValue) -> str:
        """The node a call being taken gets its media on: where its room already is (a call
        back from the queue keeps it), else the live node with the most headroom, counting
        the calls this node placed there since that node's last beat. A
        :class:`ServerBusyError` when every node is full or draining."""
        board = self._board
        kept = call.media_node
        if kept and (
            board.room_of(call.call_id) is not None
            or (self.bus is not None and kept != board.node_id and await self.alive(kept))
        ):
            return kept
        if self.bus is None or self.alone():
            board.media.refuse_if_full()
            return board.node_id
        chosen = self._choose()
        if chosen is None:
            await board.heartbeat.beat()  # the directory afresh: a node may have room now
            chosen = self._choose()
        if chosen is None:
            raise ServerBusyError(
                "every server of the call centre carries as many calls as it may; "
                "the call waits for a line to free up"
            )
        self._placed.add(call.call_id, chosen, time.time())
        return chosen

    def opened(self, call_id: str) -> None:
        """The call placed by :meth:`place` has its media open at its node now."""
        self._placed.opened(call_id, time.time())

    def _choose(self) -> str | None:
        """The node :func:`choose_node` picks, each node's load counting the calls this node
        placed there that the node's last beat did not count (callcenter/placements.py)."""
        now = time.time()
        chosen = choose_node(self._placed.loads(self._board.heartbeat.nodes, now), now)
        return chosen.node_id if chosen is not None else None

    async def open_at_owner(self, call: CallValue) -> None:
        """The call's owner (another node) opens its media now, before anyone joins."""
        assert call.media_node is not None
        await self.relay(call.media_node, {"verb": "open_media", "call_id": call.call_id})

    async def other_nodes(self) -> set[str]:
        """The other live nodes (a recording one of them goes on with is not recovered
        here); with the registry out of reach, every node ever named in a recording is
        taken to be alive, so nothing live is finished by mistake."""
        if self.bus is None:
            return set()
        try:
            nodes = live_nodes(await self._board.registry.nodes(), time.time())
        except RegistryError:
            logger.warning("recordings are recovered without the node directory: none is")
            return _EVERY_NODE
        return {node.node_id for node in nodes} - {self._board.node_id}

    async def ask_others(self, body: Body) -> dict[str, Body | BusError]:
        """``body`` to every other live node at once: each one's reply, or why it gave none."""
        others = await self.other_nodes()
        if isinstance(others, _EveryNode):
            raise BusError("the node directory could not be read")
        names = sorted(others)
        replies = await asyncio.gather(
            *(self.relay(node, body) for node in names), return_exceptions=True
        )
        answered: dict[str, Body | BusError] = {}
        for node, reply in zip(names, replies, strict=True):
            if isinstance(reply, BaseException) and not isinstance(reply, BusError):
                raise reply
            answered[node] = reply
        return answered

    async def relay(self, node_id: str, body: Body) -> Body:
        """A request to another node; its reply (a :class:`BusError` if it never answers)."""
        assert self.bus is not None, "relay() needs the node bus (redis_url)"
        return await self.bus.request(node_id, body)

    async def end_at_owner(self, call_id: str, reason: EndReason, by: str | None) -> bool:
        """Ask the call's owner to end it; False: this node ends it (it is the owner, or the
        owner is gone or does not answer)."""
        try:
            owner = await self.owner_of(call_id)
            if owner is None:
                return False
            await self.relay(
                owner, {"verb": "end_call", "call_id": call_id, "reason": reason.value, "by": by}
            )
        except RegistryError as exc:
            logger.warning(
                "Call(%s) ends on this node: its owner did not answer (%s)", call_id, exc
            )
            return False
        return True

    # -- news ------------------------------------------------------------------

    async def changed(
        self, calls: Mapping[str, CallValue], agents: Mapping[str, AgentValue], queue: bool
    ) -> None:
        """Tell the other nodes what this node just wrote to the registry."""
        if self.bus is None or not (calls or agents or queue):
            return
        news: Body = {
            "calls": [call.to_record() for call in calls.values()],
            "agents": [agent.to_record() for agent in agents.values()],
            "queue": queue,
        }
        try:
            await self.bus.news(news)
        except BusError as exc:
            self._board.outage.refusal(exc, "news of a change for the other nodes")

    async def heard(self, sender: str, news: Body) -> None:
        """Another node's news: newer values into this node's view; a changed queue is read
        and offered to this node's free agents. Its figures for the calls it owns (about
        once a second) go to the floor."""
        board = self._board
        if board.floor.heard(sender, news):
            return
        for record in news.get("calls", ()):
            call = CallValue.from_record(record)
            known = board.calls.get(call.call_id)
            if known is None or known.version < call.version:
                board.calls[call.call_id] = call
            if call.state in (CallState.ACTIVE, CallState.ENDED):
                # Taken or ended on another node: its customer's address may queue again.
                board.customer_desk.release_address(call.call_id)
        for record in news.get("agents", ()):
            agent = AgentValue.from_record(record)
            known_agent = board.agents.get(agent.subject)
            if known_agent is None or known_agent.version < agent.version:
                board.agents[agent.subject] = agent
        board.floor.changed()
        if news.get("queue"):
            await board.read_queue()
            await board.dispatcher.offer_waiting()

    async def answer(self, sender: str, request: Body) -> Body:
        """A request from another node, for a call this node owns."""
        verb = request.get("verb")
        if verb == "event" and self.relay_handler is not None:
            return await self.relay_handler(request)
        if verb == "open_media":
            call = await self._board.fresh(str(request["call_id"]))
            if call is not None and call.media_node == self._board.node_id:
                await self._board.media_taken(call)
            return {}
        if verb == "end_call":
            await self._board.end_call(
                str(request["call_id"]), EndReason(request["reason"]), _text(request.get("by"))
            )
            return {}
        if verb == "webhook_status":
            return {"endpoints": self._board.webhooks.status()}
        if verb == "webhook_retry":
            try:
                retried = await self._board.webhooks.retry(
                    str(request["name"]), _text(request.get("event_id"))
                )
            except WebhookNotFoundError:
                return {"retried": 0, "found": False}
            return {"retried": retried, "found": True}
        return {"bus_error": f"this node does not know the request {str(verb)[:32]!r}"}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = ["Cluster", "RelayHandler"]
