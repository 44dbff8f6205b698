"""Concurrency and privacy guarantees of scoring."""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path

import pytest

from empathy_score import TranscriptError, parse_transcript, score_transcript
from empathy_score.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
TEXTS = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]


def _key(r: object) -> tuple:
    return (r.band, tuple(sorted(r.probabilities.items())), r.evidence, r.contact_reason)  # type: ignore[attr-defined]


def test_eight_threads_give_the_sequential_results() -> None:
    expected = [_key(score_transcript(t)) for t in TEXTS]
    work = [i % len(TEXTS) for i in range(48)]
    got: dict[int, tuple] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def run(slot: int) -> None:
        try:
            barrier.wait()
            for n, i in enumerate(work):
                if n % 8 == slot:
                    got[n] = _key(score_transcript(TEXTS[i]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [got[n] for n in range(len(work))] == [expected[i] for i in work]


SECRET = "Zebulon-Quartz-7731"


def test_transcript_text_never_reaches_logs_warnings_or_the_terminal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    text = f"Customer: my account {SECRET} is locked and I am furious\nAgent: I'm sorry, I'll unlock it now."
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score_transcript(text)
        (tmp_path / "call.txt").write_text(text, encoding="utf-8")
        assert main(["score", str(tmp_path / "call.txt"), "--out", str(tmp_path / "s.jsonl")]) == 0
    out, err = capfd.readouterr()
    assert SECRET not in caplog.text
    assert all(SECRET not in str(w.message) for w in caught)
    assert SECRET not in out and SECRET not in err


def test_errors_quote_only_a_short_excerpt() -> None:
    junk = "x" * 200_000 + SECRET
    with pytest.raises(TranscriptError) as info:
        parse_transcript('{"turns": "' + junk + '"}', format="json")
    assert len(str(info.value)) < 500


def test_thousands_of_hits_in_one_turn_are_not_quadratic() -> None:
    """A pasted log or a hostile input can hold thousands of hits and exceptions in one turn; resolving them
    pairwise took 17 s for 8,000 of them. The bound is generous (shared CI machine); it takes under a second."""
    import time

    from empathy_score import analyze

    parse_transcript("Agent: sorry")  # languages set up outside the timing
    analyze(parse_transcript("Agent: sorry, what? sorry"))
    text = "Agent: " + "sorry " * 8000 + "\nCustomer: " + "thanks for nothing " * 2000
    t0 = time.perf_counter()
    a = analyze(parse_transcript(text))
    took = time.perf_counter() - t0
    assert took < 10.0, f"{took:.1f} s"
    assert a.evidence  # the hits were resolved, not dropped
