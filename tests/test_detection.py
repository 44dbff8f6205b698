from __future__ import annotations

from pathlib import Path

import pytest

from empathy_score import parse_transcript
from empathy_score.detect import analyze
from empathy_score.evaluate import evaluate_detectors

FIXTURES = Path(__file__).parent / "fixtures"


def _found(lang: str, n: int) -> tuple[set[tuple[str, int]], object]:
    a = analyze(parse_transcript(FIXTURES / f"{lang}_transcript_{n}.txt"))
    return {(e.behavior, e.turn) for e in a.evidence}, a


@pytest.mark.parametrize("lang", ["en", "es", "fi"])
def test_fixture_2_findings(lang: str) -> None:
    found, a = _found(lang, 2)
    for expected in [
        ("customer_frustration", 0),
        ("customer_urgency", 0),
        ("hold_request", 1),
        ("hold_reason", 1),
        ("hold_duration", 1),
        ("hold_thanks", 2),
        ("expectation_setting", 2),
        ("follow_up_offer", 2),
        ("apology", 4),
        ("empathy", 4),
    ]:
        assert expected in found, expected
    assert a.empathy == "needed_and_given"  # type: ignore[attr-defined]
    hold = a.holds[0]  # type: ignore[attr-defined]
    assert hold.requested and hold.reason_given and hold.duration_given and hold.thanked


@pytest.mark.parametrize("lang", ["en", "es", "fi"])
def test_fixture_1_findings(lang: str) -> None:
    found, a = _found(lang, 1)
    assert ("ownership", 1) in found
    assert ("hold_request", 1) in found
    assert ("effort_push", 2) in found
    behaviours = {b for b, _ in found}
    assert "hold_reason" not in behaviours and "hold_thanks" not in behaviours
    hold = a.holds[0]  # type: ignore[attr-defined]
    assert hold.requested and not hold.reason_given and not hold.thanked


@pytest.mark.parametrize(
    "text,role,behavior,present",
    [
        ("Sorry, could you repeat that?", "agent", "apology", False),
        ("I'm not going to apologise for our policy.", "agent", "apology", False),
        ("I'm really sorry about the double charge.", "agent", "apology", True),
        ("Thanks for nothing.", "customer", "customer_gratitude", False),
        ("Great, that works now, thank you!", "customer", "customer_gratitude", True),
        ("Sorry, I'm new to this.", "customer", "apology", False),
        ("You should have read the email properly.", "agent", "blaming_customer", True),
        ("Call back otherwise.", "agent", "effort_push", True),
    ],
)
def test_hard_cases(text: str, role: str, behavior: str, present: bool) -> None:
    t = parse_transcript([{"role": role, "text": text}], lang="en")
    got = {e.behavior for e in analyze(t).evidence}
    assert (behavior in got) is present


@pytest.mark.parametrize(
    "text,present",
    [
        # crediting the agent ("thanks to you") is gratitude; crediting a thing, or denying the credit, is not
        ("No nyt se toimii, teidän ansiosta!", True),
        ("Sun ansiostasi ehdin vielä palaveriin.", True),
        ("Toimii. Ansiosta.", True),
        ("Ei kyllä teidän ansiosta toimi vieläkään.", False),
        ("Hinta nousi päivityksen ansiosta.", False),
    ],
)
def test_finnish_credit_is_gratitude(text: str, present: bool) -> None:
    t = parse_transcript([{"role": "customer", "text": text}], lang="fi")
    got = {e.behavior for e in analyze(t).evidence}
    assert ("customer_gratitude" in got) is present


@pytest.mark.parametrize("lang", ["en", "es", "fi"])
def test_detection_set_thresholds(lang: str) -> None:
    s = evaluate_detectors(lang)
    assert s.n >= 150
    assert s.precision() >= 0.90, s.precision()
    assert s.recall() >= 0.80, s.recall()


def test_evidence_offsets_point_into_turn_text() -> None:
    a = analyze(parse_transcript(FIXTURES / "en_transcript_2.txt"))
    for e in a.evidence:
        assert a.transcript.turns[e.turn].text[e.start : e.end] == e.text
