"""Who has a socket open on this node: agents by subject, call parties by participant id.

Sockets are a node's own (a page is connected to one node), so the counts live here, not
in the registry; the registry holds what the whole call centre sees (an agent's state, a
party's ``connected``). A count that falls to 0 starts the rejoin grace.
"""

from __future__ import annotations

from collections import Counter


class Presence:
    """Open sockets per agent and per call party, on this node."""

    def __init__(self) -> None:
        self._agents: Counter[str] = Counter()
        self._parties: Counter[str] = Counter()

    def agent_connected(self, subject: str) -> int:
        """One more socket of this agent; how many are open now."""
        self._agents[subject] += 1
        return self._agents[subject]

    def agent_disconnected(self, subject: str) -> int:
        """One socket of this agent closed; how many are still open."""
        return _drop(self._agents, subject)

    def agent_online(self, subject: str) -> bool:
        return self._agents[subject] > 0

    def online_agents(self) -> set[str]:
        """Agents with a socket open here."""
        return {subject for subject, count in self._agents.items() if count > 0}

    def party_connected(self, participant_id: str) -> int:
        self._parties[participant_id] += 1
        return self._parties[participant_id]

    def party_disconnected(self, participant_id: str) -> int:
        return _drop(self._parties, participant_id)

    def party_online(self, participant_id: str) -> bool:
        return self._parties[participant_id] > 0

    def keys(self) -> tuple[str, ...]:
        """Everyone connected here, as the node directory lists them (``NodeValue.present``):
        parties by participant id, agents as ``agent:<subject>``."""
        return (*self._parties, *(agent_key(subject) for subject in self._agents))

    def forget_party(self, participant_id: str) -> None:
        """The call ended: its parties' counts go (a late close finds nothing)."""
        self._parties.pop(participant_id, None)


def agent_key(subject: str) -> str:
    return f"agent:{subject}"


def _drop(counts: Counter[str], key: str) -> int:
    left = max(0, counts[key] - 1)
    if left:
        counts[key] = left
    else:
        counts.pop(key, None)
    return left
