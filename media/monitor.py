"""Supervisor monitoring: who hears a monitoring supervisor, and who knows they are there.

A supervisor who monitors a call is a hidden member of its room. They always
receive every other member's media; what they send goes where their mode says:

============  ====================  ==================  =========================
mode          customer hears them   agent hears them    other supervisors hear
============  ====================  ==================  =========================
``listen``    no                    no                  no
``whisper``   no                    yes (the coached)   yes
``barge``     yes                   yes                 yes
============  ====================  ==================  =========================

Whispering needs no mixing: the coached participant's peer carries the
supervisor's microphone on an m-line of its own from the moment monitoring
starts, closed until they whisper, so a switch is a flag on the server and
takes effect with the next packet. Everyone else gets that m-line only once
they can hear it (a customer, at the first barge), so until then nothing the
server sends them, no SDP included, shows that anyone is listening.
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class MonitorMode(StrEnum):
    """How a monitoring supervisor takes part (Amazon Connect: silent monitor, barge)."""

    LISTEN = "listen"  # hears both parties; nobody hears them
    WHISPER = "whisper"  # coaches: only the agent (and other supervisors) hear them
    BARGE = "barge"  # joins the conversation: everyone hears them

    @property
    def speaks(self) -> bool:
        """Whether anything the supervisor sends may reach anyone (or the recording)."""
        return self is not MonitorMode.LISTEN


def hears(speaker: MonitorMode | None, *, coached: bool, listener_monitors: bool) -> bool:
    """Whether a listener hears a speaker whose monitoring mode is ``speaker``.

    Args:
        speaker: the speaker's mode; ``None`` for a party of the call (always heard).
        coached: the listener is the one a whisper is for (the call's agent).
        listener_monitors: the listener is a monitoring supervisor too.
    """
    if speaker is None or speaker is MonitorMode.BARGE:
        return True
    if speaker is MonitorMode.WHISPER:
        return coached or listener_monitors
    return False


def prepared(speaker: MonitorMode | None, *, coached: bool, listener_monitors: bool) -> bool:
    """Whether the listener's peer carries the speaker's m-line (heard now, or may be at once).

    The coached agent and other supervisors get it from the start, closed, so a
    whisper needs no renegotiation; a customer gets it only when they can hear.
    """
    return (
        coached
        or listener_monitors
        or hears(speaker, coached=coached, listener_monitors=listener_monitors)
    )
