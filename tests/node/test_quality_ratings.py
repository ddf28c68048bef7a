"""A party's rating says what is wrong: a camera's trouble is not a voice's.

Guards (issue 13, item 1): "MOS 4.4 Poor" was shown when only the video was uneven, and the
agent was told to check their headset. The voice rating goes with the MOS and the voice's
alerts; the video has its own rating with the video alert's words.
"""

from __future__ import annotations

from node.quality_monitor import _rating, _video_rating
from quality.alerts import AlertRules
from quality.sample import Direction, StreamSample


def camera(jitter_ms: float) -> StreamSample:
    return StreamSample(
        "p1", "customer", Direction.INBOUND, "video", "camera", 0.0, 90, jitter_ms=jitter_ms
    )


def test_uneven_video_is_the_videos_rating_not_the_voices() -> None:
    rules = AlertRules()
    for _ in range(3):
        rules.update(camera(150.0))
    alerts = rules.active
    assert [a.media for a in alerts] == ["video"]
    voice = [a.message for a in alerts if a.media != "video"]
    assert _rating(4.4, voice) == ("good", "")
    video = _video_rating([camera(150.0)], alerts)
    assert video is not None and video["rating"] == "poor"
    assert "video" in video["reason"] and "150 ms" in video["reason"]


def test_a_clean_camera_is_rated_good_and_no_camera_is_not_rated() -> None:
    assert _video_rating([camera(3.0)], []) == {"rating": "good", "reason": ""}
    assert _video_rating([], []) is None


def microphone(jitter_ms: float) -> StreamSample:
    return StreamSample(
        "p1", "customer", Direction.INBOUND, "audio", "microphone", 0.0, 50, jitter_ms=jitter_ms
    )


def test_a_trouble_the_camera_started_rates_the_voice_once_the_microphone_joins_it() -> None:
    rules = AlertRules()
    for _ in range(3):
        rules.update(camera(150.0))
    for _ in range(3):
        rules.update(camera(150.0))
        rules.update(microphone(80.0))
    [alert] = rules.active
    assert alert.media == "video"  # announced by the camera...
    assert alert.touches("audio") and alert.touches("video")  # ...and now the voice's too
    voice = [a.message for a in rules.active if a.touches("audio")]
    assert _rating(4.4, voice)[0] == "poor"
    video = _video_rating([camera(150.0)], rules.active)
    assert video is not None and video["rating"] == "poor"
