"""The socket.io edge: authenticates sockets, validates messages, answers with acks.

Every client event is answered with an ack, ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message", "field"?}}``; nothing a client
sends can raise into python-socketio or leave a call half-done.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from callcenter.errors import (
    AuthError,
    CallStateError,
    ForbiddenError,
    InvalidMessageError,
    KothaError,
    RateLimitedError,
    TokenExpiredError,
    TokenRevokedError,
    TooManySocketsError,
)
from callcenter.identity import FLOOR_ROLES, Role
from callcenter.registry import RegistryError
from callcenter.states import CallState
from node.events import NAMESPACE, ClientEvent, ServerEvent
from node.limits import Tally
from node.logs import call_context
from node.payloads import call_payload
from node.switchboard import Payload, Switchboard

from .auth import TokenAuthority
from .relay import ADOPTING, RELAYED, OwnerRefusedError, relay, relayed_socket
from .rooms import AGENTS_ROOM, SUPERVISORS_ROOM, agent_room, customer_room, watch_room
from .schemas import (
    SCHEMAS,
    AcceptCall,
    AddIceCandidate,
    CallRef,
    CancelCall,
    DeclineCall,
    GetState,
    MonitorCall,
    ReportQuality,
    RequestCall,
    SendAnswer,
    SetAvailability,
    SetMonitorMode,
    SetTrackState,
    TagCall,
    parse,
)
from .sessions import SessionEnds, SocketSession

logger = logging.getLogger(__name__)


class CallNamespace(socketio.AsyncNamespace):
    """``/call``: customers and agents in calls."""

    def __init__(self, switchboard: Switchboard, authority: TokenAuthority) -> None:
        super().__init__(NAMESPACE)
        self._switchboard = switchboard
        self._authority = authority
        self._sockets: dict[str, SocketSession] = {}
        self._staff_sockets = 0
        # Sockets open on each grant (a token and the tokens refreshed from it).
        self._per_grant = Tally(switchboard.config.max_sockets_per_token)
        self._sessions = SessionEnds(authority, self._sockets, self._close)
        switchboard.cluster.relay_handler = self.relayed

    # -- socket.io entry points ------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            identity = self._authority.verify(token)
            if identity.role is Role.REVIEWER:
                raise ForbiddenError("a reviewer cannot join live calls; replay recordings instead")
            identity.require(Role.CUSTOMER, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
            if not self._per_grant.acquire(identity.grant_id):
                raise TooManySocketsError(
                    f"this sign-in already has {self._per_grant.limit} connections open; "
                    "close another tab or window first"
                )
            try:
                await self._switchboard.connections.connected(identity)
            except RegistryError as exc:
                self._per_grant.release(identity.grant_id)
                raise self._switchboard.outage.refusal(exc, "a sign-in") from None
            except BaseException:
                self._per_grant.release(identity.grant_id)
                raise
        except KothaError as exc:
            logger.info("refused socket %s: %s", sid, exc.message)
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_wire()) from None
        config = self._switchboard.config
        self._sockets[sid] = SocketSession(
            identity,
            environ.get("kotha.address"),
            config.socket_rate_per_s,
            config.socket_rate_burst,
            sid=sid,
        )
        self._sessions.expire_at(sid, identity)
        if identity.role is Role.CUSTOMER:
            await self.enter_room(sid, customer_room(identity.call_id or ""))
        elif identity.role in FLOOR_ROLES:
            self._staff_sockets += 1
            await self.enter_room(sid, SUPERVISORS_ROOM)
        else:
            await self.enter_room(sid, AGENTS_ROOM)
            await self.enter_room(sid, agent_room(identity.subject))
        with call_context(identity.call_id):
            logger.info("socket %s connected: %s %s", sid, identity.role.value, identity.subject)
        # A call that ended while this party was away (a restart between): say so.
        for ended in self._switchboard.connections.endings_for(identity):
            await self.emit(ServerEvent.CALL_ENDED.value, ended, to=sid)

    async def on_disconnect(self, sid: str, *reason: Any) -> None:
        socket = self._sockets.pop(sid, None)
        self._sessions.forget(sid)
        if socket is not None:
            self._per_grant.release(socket.identity.grant_id)
            if socket.identity.role in FLOOR_ROLES:
                self._staff_sockets -= 1
            logger.info("socket %s disconnected: %s", sid, socket.identity.subject)
            try:
                await self._switchboard.connections.socket_closed(socket.seat)
            except RegistryError as exc:  # the grace timers still run on what the node knows
                self._switchboard.outage.refusal(exc, f"the close of socket {sid}")

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        return await self._acked(self._dispatch(sid, event, args[1:]), event, sid)

    async def _acked(self, work: Awaitable[Payload], event: str, sid: str) -> Payload:
        """The ack of an event: its payload with ``ok``, or the refusal in words."""
        try:
            return {"ok": True, **(await work)}
        except OwnerRefusedError as exc:
            return {"ok": False, "error": exc.wire}
        except AuthError as exc:
            if isinstance(exc, TokenExpiredError | TokenRevokedError):
                self._sessions.end(sid, exc)
            return {"ok": False, "error": exc.to_wire()}
        except KothaError as exc:
            return {"ok": False, "error": exc.to_wire()}
        except RegistryError as exc:
            busy = self._switchboard.outage.refusal(exc, f"{event[:64]!r} from socket {sid}")
            return {"ok": False, "error": busy.to_wire()}
        except Exception:
            logger.exception("event %.64r from socket %s failed", event, sid)
            return {
                "ok": False,
                "error": {"code": "internal_error", "message": "the server failed; try again"},
            }

    # -- events for a call another node owns -----------------------------------

    async def relayed(self, request: Payload) -> Payload:
        """An event another node relayed here (this node owns the call): run as if its
        socket were here; emits to it go through the socket.io manager to its node."""
        socket = relayed_socket(request, self._switchboard.config)
        event, sid = str(request.get("event")), socket.sid

        async def run() -> Payload:
            client_event = ClientEvent(event)
            if client_event not in RELAYED:
                raise InvalidMessageError(f"{event[:64]!r} is not relayed", field="event")
            message = parse(SCHEMAS[client_event], request.get("message"))
            handler: Callable[[SocketSession, Any], Awaitable[Payload | None]] = getattr(
                self, "on_" + client_event.value
            )
            with call_context(getattr(message, "call_id", None)):
                return (await handler(socket, message)) or {}

        return await self._acked(run(), event, sid)

    # -- the sign-in behind each socket --------------------------------------

    async def _close(self, sid: str, why: AuthError) -> None:
        socket = self._sockets.get(sid)
        if socket is None:
            return
        logger.info("socket %s of %s: session ended (%s)", sid, socket.identity.subject, why.code)
        await self.emit(ServerEvent.SESSION_ENDED.value, why.to_wire(), to=sid)
        await self.server.end_socket(sid, NAMESPACE)

    async def close(self) -> None:
        """Stop the expiry timers and the session-ending tasks (the app is shutting down)."""
        await self._sessions.close()

    async def _dispatch(self, sid: str, event: str, args: tuple[Any, ...]) -> Payload:
        socket = self._sockets.get(sid)
        if socket is None:
            raise InvalidMessageError("this socket is not signed in")
        if not socket.take():
            raise RateLimitedError("too many messages; slow down")
        self._sessions.check(socket)
        if not isinstance(event, str):
            raise InvalidMessageError("an event's name must be a string", field="event")
        try:
            client_event = ClientEvent(event)
        except ValueError:
            raise InvalidMessageError(f"unknown event {event[:64]!r}", field="event") from None
        if len(args) > 1:
            raise InvalidMessageError("send one object per event", field="$")
        message = parse(SCHEMAS[client_event], args[0] if args else None)
        handler: Callable[[SocketSession, Any], Awaitable[Payload | None]] = getattr(
            self, "on_" + client_event.value
        )
        call_id = getattr(message, "call_id", None) or socket.identity.call_id
        with call_context(call_id):
            if client_event in RELAYED and call_id:
                cluster = self._switchboard.cluster
                owner = await cluster.owner_of(call_id, adopt=client_event in ADOPTING)
                if owner is not None:
                    return await relay(cluster, owner, socket, client_event, args[0])
            return (await handler(socket, message)) or {}

    # -- events ------------------------------------------------------------

    async def on_get_state(self, socket: SocketSession, message: GetState) -> Payload:
        return await self._switchboard.connections.state_for(socket.identity)

    async def on_refresh_token(self, socket: SocketSession, message: GetState) -> Payload:
        if socket.identity.role is Role.CUSTOMER:
            call = self._switchboard.visible_call(socket.identity, socket.identity.call_id or "")
            if call.state is CallState.ENDED:
                raise CallStateError("the call has ended; its token is not renewed")
        token = self._authority.refresh(socket.identity)
        socket.identity = self._authority.verify(token)
        self._sessions.expire_at(socket.sid, socket.identity)
        return {"token": token, "expires_at": socket.identity.expires_at}

    async def on_request_call(self, socket: SocketSession, message: RequestCall) -> Payload:
        return await self._switchboard.customer_desk.request(
            socket.identity, message.media, message.language, socket.source, name=message.name
        )

    async def on_cancel_call(self, socket: SocketSession, message: CancelCall) -> None:
        await self._switchboard.customer_desk.cancel(socket.identity)

    async def on_set_availability(self, socket: SocketSession, message: SetAvailability) -> Payload:
        return {
            "agent": await self._switchboard.agent_desk.set_availability(
                socket.identity, message.status
            )
        }

    async def on_accept_call(self, socket: SocketSession, message: AcceptCall) -> Payload:
        call = await self._switchboard.agent_desk.accept(socket.identity, message.call_id)
        return {"call": call_payload(call)}

    async def on_decline_call(self, socket: SocketSession, message: DeclineCall) -> None:
        await self._switchboard.agent_desk.decline(socket.identity, message.call_id)

    async def on_join_call(self, socket: SocketSession, message: CallRef) -> Payload:
        return await self._switchboard.media_signaling.join(socket.identity, message.call_id)

    async def on_send_answer(self, socket: SocketSession, message: SendAnswer) -> None:
        await self._switchboard.media_signaling.answer(
            socket.seat,
            message.call_id,
            message.peer_id,
            message.offer_id,
            message.description.sdp,
        )

    async def on_add_ice_candidate(self, socket: SocketSession, message: AddIceCandidate) -> None:
        candidate = message.candidate
        await self._switchboard.media_signaling.add_ice_candidate(
            socket.seat,
            message.call_id,
            peer_id=message.peer_id,
            candidate=candidate.candidate if candidate else None,
            sdp_mid=candidate.sdpMid if candidate else None,
            index=candidate.sdpMLineIndex if candidate else None,
        )

    async def on_start_screen_share(self, socket: SocketSession, message: CallRef) -> Payload:
        return await self._switchboard.media_signaling.start_screen_share(
            socket.identity, message.call_id
        )

    async def on_stop_screen_share(self, socket: SocketSession, message: CallRef) -> None:
        await self._switchboard.media_signaling.stop_screen_share(socket.identity, message.call_id)

    async def on_set_track_state(self, socket: SocketSession, message: SetTrackState) -> None:
        await self._switchboard.media_signaling.set_track_state(
            socket.identity, message.call_id, message.kind, message.enabled
        )

    async def on_hang_up(self, socket: SocketSession, message: CallRef) -> None:
        await self._switchboard.call_controls.hang_up(socket.identity, message.call_id)

    async def on_tag_call(self, socket: SocketSession, message: TagCall) -> Payload:
        return {
            "tags": await self._switchboard.call_controls.tag(
                socket.identity, message.call_id, message.tags
            )
        }

    async def on_pause_recording(self, socket: SocketSession, message: CallRef) -> Payload:
        return await self._switchboard.call_controls.set_recording(
            socket.identity, message.call_id, paused=True, source=socket.source
        )

    async def on_resume_recording(self, socket: SocketSession, message: CallRef) -> Payload:
        return await self._switchboard.call_controls.set_recording(
            socket.identity, message.call_id, paused=False, source=socket.source
        )

    async def on_hold_call(self, socket: SocketSession, message: CallRef) -> Payload:
        return await self._switchboard.call_controls.set_hold(
            socket.identity, message.call_id, held=True
        )

    async def on_resume_call(self, socket: SocketSession, message: CallRef) -> Payload:
        return await self._switchboard.call_controls.set_hold(
            socket.identity, message.call_id, held=False
        )

    async def on_report_quality(self, socket: SocketSession, message: ReportQuality) -> Payload:
        report = message.model_dump(exclude_none=True, exclude={"call_id"})
        await self._switchboard.call_controls.report_quality(
            socket.identity, message.call_id, report
        )
        return {}

    async def on_watch_call(self, socket: SocketSession, message: CallRef) -> Payload:
        view = await self._switchboard.supervisor_desk.watch(socket.seat, message.call_id)
        await self.enter_room(socket.sid, watch_room(message.call_id))
        return view

    async def on_unwatch_call(self, socket: SocketSession, message: CallRef) -> Payload:
        """Stop watching; a monitoring session on the call ends with it."""
        await self._switchboard.supervisor_desk.unwatch(socket.seat, message.call_id)
        await self.leave_room(socket.sid, watch_room(message.call_id))
        return {}

    async def on_monitor_call(self, socket: SocketSession, message: MonitorCall) -> Payload:
        joined = await self._switchboard.supervisor_desk.monitor(
            socket.seat, message.call_id, message.mode
        )
        # Monitoring includes watching: the transcript, quality and the call's news.
        await self.enter_room(socket.sid, watch_room(message.call_id))
        return joined

    async def on_set_monitor_mode(self, socket: SocketSession, message: SetMonitorMode) -> Payload:
        return await self._switchboard.supervisor_desk.set_mode(
            socket.seat, message.call_id, message.mode
        )

    async def on_stop_monitoring(self, socket: SocketSession, message: CallRef) -> None:
        await self._switchboard.supervisor_desk.stop(socket.seat, message.call_id)

    # -- what the notifier asks -------------------------------------------

    def has_socket(self, sid: str) -> bool:
        return sid in self._sockets

    @property
    def clustered(self) -> bool:
        """Whether a socket may be on another node (emits reach it through Redis)."""
        return self._switchboard.cluster.many

    def staff_online(self) -> bool:
        return self._staff_sockets > 0
