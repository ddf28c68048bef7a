"""Conversation characteristics measured on calls whose truth is known.

Guards (real aiortc peers through the server, each party's microphone a scripted
timeline of espeak-ng speech with pauses and overlaps placed to the millisecond):
- each party's talk time is within 0.3 s of the script, and so is the call's
  non-talk time and its longest silence;
- every scripted interruption is found (who talked over whom, for how long) and
  none is invented;
- loudness: a customer speaking 10 dB quieter measures about 10 dB quieter;
- with a speech model (Korean here), talk speed in words per minute comes from the
  transcript; a Bengali call, which has no model, gets the same timing and
  loudness, and says it has no words;
- the figures are in the recording's files and meta, in the API, and the search
  finds calls by their interruptions and their silence.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import Server, ServerFactory, api_request, connect_call
from tests.conversation.script import Line, Script, render
from tests.support import SpeechTrack

TOLERANCE_MS = 300
QUIET = 0.316  # the customer's gain: 10 dB below the agent

KOREAN = [
    Line("customer", "안녕하세요 주문한 휴대폰이 아직 안 왔어요", 0.0, QUIET),
    Line("agent", "불편을 드려 죄송합니다 주문 번호를 확인해 보겠습니다", 4.5),
    # The customer talks over the agent, 1.5 s into their answer.
    Line("customer", "오늘 꼭 받아야 해요", 6.0, QUIET),
    # Then 5 s of silence: the agent looks the order up.
    Line("agent", "확인했습니다 내일 오후에 도착합니다", 14.5),
    Line("customer", "그럼 배송비는 환불해 주시나요 아니면", 18.0, QUIET),
    # The agent cuts in before the customer has finished.
    Line("agent", "네 환불해 드리겠습니다", 19.5),
]
BENGALI = [
    Line("customer", "আমার অর্ডার এখনো আসেনি", 0.0, QUIET),
    Line("agent", "দুঃখিত আমি আপনার অর্ডার দেখছি", 3.5),
    Line("customer", "আমার আজকেই দরকার", 4.8, QUIET),
    Line("agent", "আপনার পণ্য কাল আসবে", 12.0),
]


async def scripted_call(server: Server, script: Script) -> dict[str, Any]:
    """Play the script through a call, hang up, and read the finished recording."""
    mics = {who: SpeechTrack(path, cued=True) for who, path in script.wavs.items()}
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: mics["customer"]},
        agent_sources={SourceKind.MICROPHONE: mics["agent"]},
    )
    await asyncio.sleep(1.0)  # media flowing both ways
    for mic in mics.values():
        mic.cue(0.2)
    await asyncio.gather(*(asyncio.wait_for(m.spoken.wait(), 60) for m in mics.values()))
    await asyncio.sleep(0.5)
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, detail, _ = await api_request(
        server, "GET", f"/api/recordings/{pair.call_id}", reviewer
    )
    assert status == 200, detail
    return detail


async def check_contact(server: Server, detail: dict[str, Any]) -> None:
    """The call's contact record got the recording's MOS and how the customer ended."""
    await server.switchboard.contacts.settle()
    contact = await server.switchboard.contacts.store.get(detail["recording"]["call_id"])
    assert contact is not None
    assert contact.mos_average == detail["recording"]["quality"]["mos_average"] is not None
    ending = detail["conversation"]["parties"]["customer"]["sentiment"]["end"]
    assert contact.customer_end_sentiment == (ending["label"] if ending else None)


def check_against(script: Script, measured: dict[str, Any]) -> None:
    parties = measured["parties"]
    for who in ("agent", "customer"):
        truth, got = script.talk_ms(who), parties[who]["talk_ms"]
        assert abs(got - truth) <= TOLERANCE_MS, (who, got, truth)
        share = got / measured["duration_ms"]
        assert parties[who]["talk_share"] == pytest.approx(share, abs=0.001)
    # Nobody talked for the rest of the call (connecting, the pauses, hanging up).
    truth_non_talk = measured["duration_ms"] - sum(e - s for s, e in script.talking)
    assert abs(measured["non_talk_ms"] - truth_non_talk) <= TOLERANCE_MS
    longest = measured["longest_silence"]
    assert abs(longest["ms"] - script.longest_silence_ms()) <= TOLERANCE_MS, longest
    # Every interruption of the script, in order, by whom over whom, and no other.
    scripted = script.interruptions()
    found = measured["interruptions"]
    assert [(i["by"], i["over"]) for i in found] == [(by, over) for by, over, _, _ in scripted]
    offset = found[0]["at_ms"] - scripted[0][2]  # where the script started on the call clock
    for got, (_, _, at_ms, ms) in zip(found, scripted, strict=True):
        assert abs(got["at_ms"] - offset - at_ms) <= 100
        assert abs(got["ms"] - ms) <= TOLERANCE_MS
    assert abs(measured["overlap_ms"] - script.overlap_ms()) <= TOLERANCE_MS
    # The customer spoke 10 dB below the agent.
    difference = parties["agent"]["level_db"] - parties["customer"]["level_db"]
    assert 8 <= difference <= 12, difference


async def test_a_transcribed_call_is_measured_as_scripted(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    script = render(KOREAN, "ko", tmp_path)
    assert len(script.interruptions()) == 2  # the script itself is what this test says
    server = await start_server(transcribe_languages={"bn": "ko"})
    detail = await scripted_call(server, script)
    measured = detail["conversation"]
    print(json.dumps({k: v for k, v in measured.items() if k != "spurts"}, indent=1))
    check_against(script, measured)
    await check_contact(server, detail)
    for who in ("agent", "customer"):
        party = measured["parties"][who]
        assert party["words"] and party["words_per_minute"] > 0
        assert party["words_per_minute"] == round(party["words"] * 60_000 / party["talk_ms"])


async def test_a_bengali_call_without_a_speech_model_gets_timing_and_loudness(
    server: Server, tmp_path: Path
) -> None:
    script = render(BENGALI, "bn", tmp_path)
    assert len(script.interruptions()) == 1
    detail = await scripted_call(server, script)
    assert detail["recording"]["transcription"]["state"] == "unavailable"
    measured = detail["conversation"]
    print(json.dumps({k: v for k, v in measured.items() if k != "spurts"}, indent=1))
    check_against(script, measured)
    await check_contact(server, detail)
    for who in ("agent", "customer"):
        assert measured["parties"][who]["words_per_minute"] is None
        assert measured["parties"][who]["sentiment"] == {"quarters": [None] * 4, "end": None}
    # A reviewer finds it by its interruption and its silence, and only by what it had.
    reviewer = server.token(Role.REVIEWER, "Rina")
    silence_s = measured["longest_silence"]["ms"] // 1000
    for query, found in (
        ("min_interruptions=1", True),
        ("min_interruptions=2", False),
        (f"min_silence={silence_s}", True),
        (f"min_silence={silence_s + 1}", False),
    ):
        status, listing, _ = await api_request(server, "GET", f"/api/recordings?{query}", reviewer)
        assert status == 200, listing
        calls = [r["call_id"] for r in listing["recordings"]]
        assert calls == ([detail["recording"]["call_id"]] if found else []), query
    assert detail["recording"]["conversation"]["interruption_count"] == 1
    # What measuring it cost is on /metrics (the analytics benchmark reads it).
    admin = server.token(Role.ADMIN, "Admin")
    status, metrics, _ = await api_request(server, "GET", "/metrics", admin)
    assert status == 200
    [line] = [
        x for x in metrics.decode().splitlines() if x.startswith("kotha_talk_cpu_seconds_total")
    ]
    assert 0 < float(line.split()[1]) < 5, line  # two microphones for ~15 s
