"""Who is told of a monitoring session: the agent and the watchers always, the customer
only of a barge.

Following ``media.monitor``: the agent always knows who is monitoring and how
(``monitor_updated``, also to the supervisors watching the call); the customer hears of a
supervisor only when they barge in (``participant_updated``) and when they stop
(``participant_left``), and never otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.identity import Role
from callcenter.states import CallState
from callcenter.values import CallValue, MonitorValue
from media.monitor import MonitorMode
from node.events import ServerEvent
from node.notifier import Notifier, Payload

from .payloads import barging_payload, monitor_payload


def monitors_of(call: CallValue) -> list[dict[str, object]]:
    """Who monitors the call and how, as the agent and the watchers see them."""
    return [monitor_payload(m) for m in call.monitors]


class MonitoringNews:
    """Tells the call's parties and staff of a session's start, switch or end.

    Args:
        notifier: the node's notifier, read when news goes out (the app wires it late).
        changed: the floor's prompt that something it shows changed.
    """

    def __init__(self, notifier: Callable[[], Notifier], changed: Callable[[], None]) -> None:
        self._notifier = notifier
        self._changed = changed

    async def announce(
        self,
        call: CallValue,
        monitor: MonitorValue,
        *,
        was: MonitorMode | None,
        ended: bool = False,
    ) -> None:
        """Tell the agent and staff who monitors now; tell the customer only of a barge."""
        notifier = self._notifier()
        if call.state is not CallState.ENDED:
            barging = monitor.mode is MonitorMode.BARGE and not ended
            if barging and was is not MonitorMode.BARGE:
                await notifier.to_call(
                    call.call_id,
                    ServerEvent.PARTICIPANT_UPDATED,
                    {"call_id": call.call_id, "participant": barging_payload(monitor)},
                )
            elif was is MonitorMode.BARGE and not barging:
                await notifier.to_call(
                    call.call_id,
                    ServerEvent.PARTICIPANT_LEFT,
                    {
                        "call_id": call.call_id,
                        "participant_id": monitor.participant_id,
                        "role": Role.SUPERVISOR.value,
                        "name": monitor.name,
                    },
                )
            await self.tell_staff(call)
        self._changed()

    async def tell_staff(self, call: CallValue) -> None:
        """The agent and the watchers get the whole list of who monitors, and how."""
        notifier = self._notifier()
        payload: Payload = {"call_id": call.call_id, "monitors": monitors_of(call)}
        if call.agent is not None:
            await notifier.to_participant(
                call.call_id, call.agent.participant_id, ServerEvent.MONITOR_UPDATED, payload
            )
        await notifier.to_watchers(call.call_id, ServerEvent.MONITOR_UPDATED, payload)
