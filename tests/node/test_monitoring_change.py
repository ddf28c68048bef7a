"""A monitoring session's steps are told the same way to the audit log and the timeline."""

from __future__ import annotations

import pytest

from media.monitor import MonitorMode
from node.monitoring_change import MonitoringChange
from recording.timeline import EntryType


def test_an_end_tells_both_the_same_mode_and_reason_and_the_audit_how_long() -> None:
    ended = MonitoringChange(
        EntryType.MONITOR_ENDED, "c_1", "p_sumi", "sumi", "Sumi", MonitorMode.WHISPER,
        reason="page_closed", duration_s=93.449,
    )  # fmt: skip
    assert ended.audit_details() == {
        "participant_id": "p_sumi",
        "mode": "whisper",
        "reason": "page_closed",
        "duration_s": 93.4,
    }
    assert ended.timeline_fields() == {
        "participant_id": "p_sumi",
        "subject": "sumi",
        "name": "Sumi",
        "mode": "whisper",
        "reason": "page_closed",
    }


def test_a_mode_change_names_the_mode_before() -> None:
    barged = MonitoringChange(
        EntryType.MONITOR_MODE_CHANGED, "c_1", "p_sumi", "sumi", "Sumi", MonitorMode.BARGE,
        previous=MonitorMode.LISTEN,
    )  # fmt: skip
    assert barged.audit_details()["previous"] == "listen"
    assert barged.timeline_fields()["previous"] == "listen"


def test_only_a_monitoring_step_is_one() -> None:
    with pytest.raises(ValueError, match="not a step"):
        MonitoringChange(EntryType.CALL_TAGGED, "c_1", "p_sumi", "sumi", "Sumi", MonitorMode.LISTEN)
