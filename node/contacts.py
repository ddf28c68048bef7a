"""The call centre's contacts: every call's story kept for the floor's numbers.

``Switchboard.commit`` tells :meth:`Contacts.observe` what each change of the
registry wrote, with the values it read (on the loop, at once: nothing is
awaited there). The moments found (a call queued, answered, ended or abandoned;
an agent leaving a state) are written in order by one owned task to the
contact store (SQLite under the data folder on one node, Redis on many), and
told to this node's listeners (the webhooks). The recording's analytics and
the customer's rating are added to the contact later. The floor's live figures
and the reports are computed from the store (``analytics.figures``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from analytics.contact import contact_of
from analytics.figures import Figures, Group, figures_of, grouped
from analytics.redis_store import RedisContactStore
from analytics.store import ContactStore, SqliteContactStore
from analytics.transitions import AgentSpan, ContactEvent, agent_span, call_moments
from callcenter.lifecycle import Change
from callcenter.registry import Draft
from callcenter.states import AgentState
from callcenter.values import AgentValue, CallValue

from .config import Config
from .shop_webhooks import ShopWebhooks

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_S = 1.0  # a store out of reach: the moment is written again after this
TRIM_EVERY_S = 3600.0  # contacts past their retention are forgotten this often
STOP_TIMEOUT_S = 10.0  # at shutdown, what is pending is written for at most this long
LIVE_WINDOW_S = 15 * 60
LIVE_CACHE_S = 1.0  # the floor's figures are read from the store at most this often

ContactListener = Callable[[ContactEvent], None]


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    """A call's recording was finished: what it tells its contact."""

    call_id: str
    values: dict[str, Any]
    meta: dict[str, Any]


def recording_facts(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What a finished recording's meta adds to its contact: the MOS, how the customer
    ended (their sentiment at the end, where it was scored)."""
    quality = meta.get("quality") or {}
    parties = (meta.get("conversation") or {}).get("parties") or {}
    ending = ((parties.get("customer") or {}).get("sentiment") or {}).get("end") or {}
    names = [m.get("category") for m in meta.get("categories") or [] if isinstance(m, dict)]
    return {
        "mos_average": quality.get("mos_average"),
        "customer_end_sentiment": ending.get("label"),
        "categories": tuple(dict.fromkeys(str(n) for n in names if n)),
    }


@dataclass(frozen=True, slots=True)
class Written:
    """What one change of the registry wrote, and the values it read before."""

    calls_read: dict[str, CallValue | None]
    calls: dict[str, CallValue]
    agents_read: dict[str, AgentValue | None]
    agents: dict[str, AgentValue]


def with_writes(change: Change[T]) -> Callable[[Draft], tuple[T, Written, bool]]:
    """``change`` as the registry runs it, also returning what it wrote and what it read
    first (the moments are told from both), and whether it wrote the queue."""

    def apply(draft: Draft) -> tuple[T, Written, bool]:
        result = change.apply(draft)
        written = Written(
            {i: draft.read_call(i) for i in draft.call_writes},
            dict(draft.call_writes),
            {s: draft.read_agent(s) for s in draft.agent_writes},
            dict(draft.agent_writes),
        )
        return result, written, draft.writes_queue

    return apply


def open_contact_store(config: Config) -> ContactStore:
    """Redis when the call centre's state is there (every node's reports the same), else
    SQLite in this node's data folder."""
    if config.redis_url:
        return RedisContactStore.from_url(config.redis_url, prefix=config.redis_prefix)
    return SqliteContactStore(config.contacts_path)


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """The floor's numbers now: today (in the centre's time zone) and the last 15 minutes."""

    at: float
    today: Figures
    last_15_min: Figures
    agents: list[Group]

    def to_wire(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "today": self.today.to_wire(),
            "last_15_min": self.last_15_min.to_wire(),
            "agents": [g.to_wire() for g in self.agents],
        }


class Contacts:
    """Writes the contacts this node's changes made, and computes the figures."""

    def __init__(
        self,
        store: ContactStore,
        *,
        zone: ZoneInfo,
        target_s: float,
        retention_s: float,
        agents: Callable[[], Mapping[str, AgentValue]],
        webhooks: ShopWebhooks | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.webhooks = webhooks
        self.store = store
        self.zone = zone
        self.target_s = target_s
        self.retention_s = retention_s
        self._trimmed_at = 0.0
        self._agents = agents
        self._clock = clock
        self._pending: deque[ContactEvent | AgentSpan | RecordingFinished] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._failing = False
        self._task: asyncio.Task[None] | None = None
        self._live: LiveFigures | None = None
        self._stale = True  # a contact was written since the figures were computed
        self.listeners: list[ContactListener] = []

    # -- what the registry's changes meant -----------------------------------

    def observe(
        self,
        before_calls: Mapping[str, CallValue | None],
        calls: Mapping[str, CallValue],
        before_agents: Mapping[str, AgentValue | None],
        agents: Mapping[str, AgentValue],
    ) -> None:
        """One change's writes (and the values it read); never awaits."""
        now = self._clock()
        for call_id, call in calls.items():
            for event in call_moments(before_calls.get(call_id), call):
                self._pending.append(event)
        for subject, agent in agents.items():
            span = agent_span(before_agents.get(subject), agent, now)
            if span is not None:
                self._pending.append(span)
        if self._pending:
            self._idle.clear()
            self._wake.set()

    def start(self) -> None:
        """Start writing (the task is this object's: :meth:`stop` ends and awaits it)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="contacts")

    def recording_finished(self, meta: dict[str, Any]) -> None:
        """A recording of this node was finished: its figures go to the call's contact."""
        self._pending.append(RecordingFinished(str(meta["call_id"]), recording_facts(meta), meta))
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        """Write what was observed, in order; a store out of reach is tried again."""
        while not self._stopping or self._pending:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                if self._stopping:
                    break
                await self._wake.wait()
                continue
            item = self._pending[0]
            try:
                await self._write(item)
            except Exception:  # the store's own errors: told once, tried again
                if not self._failing:
                    logger.warning(
                        "The contact records cannot be written (the store is out of reach); "
                        "they are kept in memory and written when it is back",
                        exc_info=True,
                    )
                self._failing = True
                if self._stopping:
                    break
                await asyncio.sleep(RETRY_S)
                continue
            if self._failing:
                logger.warning("The contact records are written again")
                self._failing = False
            self._pending.popleft()
            await self._tell(item)
            if isinstance(item, ContactEvent):
                for listener in self.listeners:
                    listener(item)
        self._idle.set()

    async def _write(self, item: ContactEvent | AgentSpan | RecordingFinished) -> None:
        now = self._clock()
        if now - self._trimmed_at >= TRIM_EVERY_S:
            self._trimmed_at = now
            gone = await self.store.trim(now - self.retention_s)
            if gone:
                logger.info("Forgot %d contact records past their retention", gone)
        if isinstance(item, AgentSpan):
            await self.store.add_span(item)
            return
        if isinstance(item, RecordingFinished):
            await self.store.annotate(item.call_id, **item.values)
            self._stale = True
            return
        record = contact_of(item.call)
        if record is not None:
            await self.store.put(record)
        self._stale = True

    async def rate(self, call_id: str, score: int, comment: str | None) -> bool:
        """The customer's rating of a call, once (False: it was rated already)."""
        rated = await self.store.rate(call_id, score, comment, self._clock())
        self._stale = True
        return rated

    async def _tell(self, item: ContactEvent | AgentSpan | RecordingFinished) -> None:
        """The shop's backend, of a moment written (its own failures are its to say)."""
        if self.webhooks is None or isinstance(item, AgentSpan):
            return
        if isinstance(item, ContactEvent):
            await self.webhooks.tell_moment(item)
            return
        try:
            contact = await self.store.get(item.call_id)
        except Exception:  # the store's own errors: the event goes without them
            contact = None
        known = contact.to_record() if contact is not None else None
        await self.webhooks.tell_recording(item.meta, known, self._clock())

    async def settle(self) -> None:
        """Until everything observed so far is written (tests, a rating)."""
        if self._task is not None and not self._task.done():
            await self._idle.wait()

    async def stop(self) -> None:
        """Write what is pending (while the store answers, for at most 10 s) and end."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, STOP_TIMEOUT_S)
        except TimeoutError:
            logger.warning(
                "%d contact records were not written at shutdown (the store did not answer "
                "within %.0f s); the floor's numbers will miss those calls",
                len(self._pending),
                STOP_TIMEOUT_S,
            )

    # -- the figures ---------------------------------------------------------

    @property
    def cached_live(self) -> LiveFigures | None:
        """The figures :meth:`live` last computed (what /metrics reads)."""
        return self._live

    def now(self) -> float:
        return self._clock()

    def day_start(self, now: float) -> float:
        local = datetime.fromtimestamp(now, self.zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def _open_spans(self, now: float) -> list[AgentSpan]:
        """Each agent's state now, as a span up to now (it has not closed yet)."""
        return [
            AgentSpan(a.subject, a.name, a.state.value, a.state_since or now, now)
            for a in self._agents().values()
            if a.state is not AgentState.AWAY and (a.state_since or now) < now
        ]

    async def live(self) -> LiveFigures:
        """Today and the last 15 minutes (read from the store at most once a second)."""
        now = self._clock()
        if not self._stale and self._live is not None and now - self._live.at < LIVE_CACHE_S:
            return self._live
        self._stale = False
        since = min(self.day_start(now), now - LIVE_WINDOW_S)
        contacts = await self.store.contacts(since, now + 1)
        spans = [*await self.store.spans(since, now), *self._open_spans(now)]
        today = self.day_start(now)
        end = now + 1
        self._live = LiveFigures(
            at=now,
            today=figures_of(contacts, spans, since=today, until=end, target_s=self.target_s),
            last_15_min=figures_of(
                contacts, spans, since=now - LIVE_WINDOW_S, until=end, target_s=self.target_s
            ),
            agents=grouped(
                contacts,
                spans,
                since=today,
                until=end,
                by="agent",
                zone=self.zone,
                target_s=self.target_s,
            ),
        )
        return self._live

    async def report(self, since: float, until: float, by: str) -> tuple[Figures, list[Group]]:
        """The figures of ``since..until``, in total and by ``by``."""
        now = self._clock()
        contacts = await self.store.contacts(since, until)
        spans = await self.store.spans(since, until)
        if until > now - timedelta(seconds=1).total_seconds():
            spans += self._open_spans(now)
        totals = figures_of(contacts, spans, since=since, until=until, target_s=self.target_s)
        groups = grouped(
            contacts, spans, since=since, until=until, by=by, zone=self.zone, target_s=self.target_s
        )
        return totals, groups
