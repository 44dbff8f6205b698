"""The public vocabulary: behaviour, cue, pillar, dimension, contact-reason and band names.

These names are used verbatim by detectors, evidence, features, docs and tests.
"""

from __future__ import annotations

__all__ = [
    "POSITIVE_BEHAVIORS",
    "NEGATIVE_BEHAVIORS",
    "AGENT_BEHAVIORS",
    "CUSTOMER_CUES",
    "BEHAVIORS",
    "HOLD_BEHAVIORS",
    "NEGATABLE",
    "PILLARS",
    "DIMENSIONS",
    "CONTACT_REASONS",
    "BANDS",
    "EMPATHY_STATUSES",
    "role_of_behavior",
]

POSITIVE_BEHAVIORS: tuple[str, ...] = (
    "acknowledgement",
    "empathy",
    "apology",
    "hold_request",
    "hold_reason",
    "hold_duration",
    "hold_thanks",
    "follow_up_offer",
    "ownership",
    "expectation_setting",
    "personalization",
    "gratitude",
    "goodwill_gesture",
    "warm_transfer",
    "resolution_check",
)
NEGATIVE_BEHAVIORS: tuple[str, ...] = ("blame_shifting", "blaming_customer", "effort_push", "dismissal")
AGENT_BEHAVIORS: tuple[str, ...] = POSITIVE_BEHAVIORS + NEGATIVE_BEHAVIORS
CUSTOMER_CUES: tuple[str, ...] = (
    "customer_frustration",
    "customer_urgency",
    "customer_repetition",
    "customer_gratitude",
)
BEHAVIORS: tuple[str, ...] = AGENT_BEHAVIORS + CUSTOMER_CUES
HOLD_BEHAVIORS: tuple[str, ...] = ("hold_request", "hold_reason", "hold_duration", "hold_thanks")

# Behaviours that a preceding negation ("I won't apologise", "no lo siento") cancels.
NEGATABLE: frozenset[str] = frozenset(
    {
        "acknowledgement",
        "empathy",
        "apology",
        "hold_thanks",
        "follow_up_offer",
        "ownership",
        "gratitude",
        "goodwill_gesture",
        "warm_transfer",
        "customer_gratitude",
        "customer_urgency",
    }
)

PILLARS: tuple[str, ...] = (
    "personalization",
    "integrity",
    "expectations",
    "resolution",
    "time_and_effort",
    "empathy",
)
DIMENSIONS: tuple[str, ...] = ("business", "human", "hidden")
# Seed 004's order, which is also the urgency order.
CONTACT_REASONS: tuple[str, ...] = ("outage", "billing", "defect", "how_to", "feedback")
BANDS: tuple[str, ...] = ("low", "medium", "high")
EMPATHY_STATUSES: tuple[str, ...] = ("needed_and_given", "needed_and_missing", "not_applicable")


def role_of_behavior(name: str) -> str:
    """``"agent"`` for agent behaviours, ``"customer"`` for customer cues; raises on an unknown name."""
    if name in AGENT_BEHAVIORS:
        return "agent"
    if name in CUSTOMER_CUES:
        return "customer"
    raise ValueError(f"unknown behaviour {name!r}; expected one of {', '.join(BEHAVIORS)}")
