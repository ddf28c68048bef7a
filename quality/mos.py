"""Mean opinion score from network figures: the E-model reduction WebRTC tools use.

This is the simplified ITU-T G.107 E-model of Twilio's voice SDK (``mos.ts``):
delay and jitter become an effective latency, latency and loss lower the
R-factor from its best value, and R maps to a 1-5 MOS. A clean link scores
about 4.4, which is the best a narrowband-equivalent model gives; the figure
is for comparing calls and spotting trouble, not an absolute truth.
"""

from __future__ import annotations

R0 = 94.768  # R-factor of a perfect link
R_FLOOR = 6.52  # what loss leaves at worst, while the link still carries speech


def r_factor(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    """The E-model's transmission rating, 0-94.768 (higher is better)."""
    effective_latency = rtt_ms + 2 * jitter_ms + 10
    if effective_latency < 160:
        r = R0 - effective_latency / 40
    elif effective_latency < 1000:
        r = R0 - (effective_latency - 120) / 10
    else:
        r = 0.0
    if loss_pct <= r / 2.5:
        return max(r - 2.5 * loss_pct, R_FLOOR)
    return 0.0


def mos(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    """MOS, 1-4.5, from round-trip time and jitter (ms) and packet loss (percent)."""
    r = r_factor(rtt_ms, jitter_ms, loss_pct)
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)
