"""Dimensions (business, human, hidden) and the six pillars, each 0–10, from an :class:`Analysis`.

A transparent formula, not a learned one: every term is written below, and each pillar is clipped to 0–10
(the seed's rule that a pillar scores at most 10). ``[x]`` means 1 if behaviour x was shown at least once.

- ``personalization`` = 10 · min(1, 0.6·[personalization] + 0.4·[acknowledgement])
- ``integrity`` = 6 + 4·[ownership] − 4·[blame_shifting] − 4·[blaming_customer] − 3·[dismissal]
- ``expectations`` = 10 · (0.5·[expectation_setting] + 0.25·[follow_up_offer] + 0.25·H), where H is the
  mean hold-etiquette score (share of request, reason, duration, thanks done per hold), 1 with no hold
- ``resolution`` = 5 + 3·resolved + 2·[resolution_check] − 4·unresolved − 2·churn, where *resolved* is the
  customer confirming it works or the agent reporting the fix, *unresolved* is the customer saying it still
  does not work in their last two turns, *churn* the customer threatening to leave
- ``time_and_effort`` = 10 − 3·[effort_push] − 2·(unexplained holds) − 1·min(2, repetition cues)
  − 2·[holds totalling over 5 minutes]
- ``empathy``: needed and given: 6 + 2·[apology] + 2·[empathy]; needed and missing: 2 + 2·[apology];
  not applicable: 7 + 1.5·[empathy] + 1.5·[acknowledgement]; then − 3·[dismissal]

Dimensions: ``business`` = 0.75·resolution + 0.25·time_and_effort; ``human`` = mean(empathy,
personalization, integrity); ``hidden`` = mean(expectations, time_and_effort, 10·H).
"""

from __future__ import annotations

from typing import Mapping

from .detect import Analysis

__all__ = ["pillars", "dimensions", "hold_score", "LONG_HOLD_SECONDS"]

LONG_HOLD_SECONDS = 300.0


def _clip(x: float) -> float:
    return round(max(0.0, min(10.0, x)), 2)


def hold_score(a: Analysis) -> float:
    """Mean hold-etiquette score over the holds (1.0 when there was no hold)."""
    if not a.holds:
        return 1.0
    return sum(h.score for h in a.holds) / len(a.holds)


def pillars(a: Analysis) -> dict[str, float]:
    c = a.counts()

    def has(b: str) -> float:
        return 1.0 if c[b] else 0.0

    s = a.signals
    h = hold_score(a)
    resolved = 1.0 if (s.get("customer_resolved_end", 0) or s.get("agent_resolved_any", 0)) else 0.0
    unresolved = 1.0 if s.get("customer_unresolved_end", 0) else 0.0
    churn = 1.0 if s.get("customer_churn_any", 0) else 0.0
    unexplained = sum(1 for x in a.holds if x.unexplained)
    hold_secs = sum(x.seconds or 0.0 for x in a.holds)
    if a.empathy == "needed_and_given":
        emp = 6 + 2 * has("apology") + 2 * has("empathy")
    elif a.empathy == "needed_and_missing":
        emp = 2 + 2 * has("apology")
    else:
        emp = 7 + 1.5 * has("empathy") + 1.5 * has("acknowledgement")
    return {
        "personalization": _clip(10 * min(1.0, 0.6 * has("personalization") + 0.4 * has("acknowledgement"))),
        "integrity": _clip(
            6 + 4 * has("ownership") - 4 * has("blame_shifting") - 4 * has("blaming_customer") - 3 * has("dismissal")
        ),
        "expectations": _clip(10 * (0.5 * has("expectation_setting") + 0.25 * has("follow_up_offer") + 0.25 * h)),
        "resolution": _clip(5 + 3 * resolved + 2 * has("resolution_check") - 4 * unresolved - 2 * churn),
        "time_and_effort": _clip(
            10
            - 3 * has("effort_push")
            - 2 * unexplained
            - min(2, c["customer_repetition"])
            - 2 * (hold_secs > LONG_HOLD_SECONDS)
        ),
        "empathy": _clip(emp - 3 * has("dismissal")),
    }


def dimensions(a: Analysis, p: Mapping[str, float] | None = None) -> dict[str, float]:
    p = pillars(a) if p is None else p
    return {
        "business": _clip(0.75 * p["resolution"] + 0.25 * p["time_and_effort"]),
        "human": _clip((p["empathy"] + p["personalization"] + p["integrity"]) / 3),
        "hidden": _clip((p["expectations"] + p["time_and_effort"] + 10 * hold_score(a)) / 3),
    }
