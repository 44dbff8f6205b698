"""Behaviour detection with evidence, hold etiquette, emotion handling and customer sentiment.

Raw pattern hits (:mod:`empathy_score.matching`) become :class:`Evidence` here, by rules that keyword
matching alone gets wrong:

- each turn is matched with the patterns of its own language (mixed-language calls are common);
- agent behaviours count only in agent turns, customer cues only in customer turns;
- an exception pattern (``!apology`` for "sorry, could you repeat that?") cancels the hits it overlaps;
- a close preceding negation cancels negatable behaviours ("I'm not going to apologise");
- hold reason and duration count only in a turn that asks for or announces the hold;
- a customer's frustration or urgency is *addressed* when one of the agent's next two replies (a reply is
  the run of agent turns before the customer speaks again, holds included) shows empathy, acknowledgement
  or apology.
"""

from __future__ import annotations

import bisect

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .matching import Hit, get_matcher
from .taxonomy import AGENT_BEHAVIORS, BEHAVIORS, CONTACT_REASONS, CUSTOMER_CUES
from .transcript import Transcript, Turn

__all__ = ["Evidence", "HoldEtiquette", "Analysis", "analyze", "EMPATHY_RESPONSES", "CUE_WEIGHTS"]

EMPATHY_RESPONSES = frozenset({"empathy", "acknowledgement", "apology"})
EMOTION_CUES = frozenset({"customer_frustration", "customer_urgency"})
# How customer cues and signals move a turn's sentiment, on the same scale as the lexicon weights (-3..3).
CUE_WEIGHTS: Mapping[str, float] = {
    "customer_frustration": -2.0,
    "customer_gratitude": 2.0,
    "customer_repetition": -1.0,
    "_churn": -2.0,
    "_profanity": -1.0,
    "_resolved": 1.5,
    "_unresolved": -1.5,
}
SENTIMENT_SCALE = 3.0  # tanh(score / scale) maps a turn's summed valence to -1..1
REPLIES_TO_ADDRESS = 2


@dataclass(frozen=True, slots=True)
class Evidence:
    """One detected behaviour: its name, turn, character offsets inside the turn's text, and the text."""

    behavior: str
    turn: int
    start: int
    end: int
    text: str
    role: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "behavior": self.behavior,
            "turn": self.turn,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "role": self.role,
        }


@dataclass(frozen=True, slots=True)
class HoldEtiquette:
    """How one hold was handled: asked for, reason and duration given, thanked afterwards."""

    after_turn: int
    requested: bool
    reason_given: bool
    duration_given: bool
    thanked: bool
    seconds: float | None = None
    explicit: bool = True

    @property
    def unexplained(self) -> bool:
        """A hold with no request, no reason and no duration."""
        return not (self.requested or self.reason_given or self.duration_given)

    @property
    def score(self) -> float:
        """Share of the four etiquette steps that were done (0..1)."""
        return (self.requested + self.reason_given + self.duration_given + self.thanked) / 4

    def to_dict(self) -> dict[str, Any]:
        return {
            "after_turn": self.after_turn,
            "requested": self.requested,
            "reason_given": self.reason_given,
            "duration_given": self.duration_given,
            "thanked": self.thanked,
            "unexplained": self.unexplained,
            "seconds": self.seconds,
            "explicit": self.explicit,
        }


@dataclass(frozen=True)
class Analysis:
    """Everything detected in one transcript; the input of features, aggregates and explanations."""

    transcript: Transcript
    evidence: tuple[Evidence, ...]
    holds: tuple[HoldEtiquette, ...]
    empathy: str
    emotion_cues: int
    emotion_addressed: int
    turn_sentiment: tuple[float | None, ...]
    signals: Mapping[str, float] = field(default_factory=dict)
    reason_scores: Mapping[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Evidence count per behaviour, every taxonomy name present (0 when absent)."""
        c = Counter(e.behavior for e in self.evidence)
        return {b: c.get(b, 0) for b in BEHAVIORS}

    def turns_with(self, behavior: str) -> list[int]:
        return sorted({e.turn for e in self.evidence if e.behavior == behavior})

    @property
    def sentiment_start(self) -> float:
        return float(self.signals.get("sentiment_start", 0.0))

    @property
    def sentiment_end(self) -> float:
        return float(self.signals.get("sentiment_end", 0.0))

    @property
    def sentiment_shift(self) -> float:
        return self.sentiment_end - self.sentiment_start

    @property
    def emotion_addressed_rate(self) -> float | None:
        return None if self.emotion_cues == 0 else self.emotion_addressed / self.emotion_cues

    def to_dict(self) -> dict[str, Any]:
        return {
            "evidence": [e.to_dict() for e in self.evidence],
            "counts": self.counts(),
            "holds": [h.to_dict() for h in self.holds],
            "empathy": self.empathy,
            "emotion_cues": self.emotion_cues,
            "emotion_addressed": self.emotion_addressed,
            "sentiment_start": round(self.sentiment_start, 4),
            "sentiment_end": round(self.sentiment_end, 4),
            "sentiment_shift": round(self.sentiment_shift, 4),
        }


class _Spans:
    """Static character spans, answering "does any span overlap [start, end)?" in O(log n).

    A turn can hold thousands of hits (a pasted log, a hostile input): checking every hit against every
    exception was quadratic. Sorted by start, the spans that begin before ``end`` are a prefix; one of them
    overlaps exactly when the largest end in that prefix passes ``start``.
    """

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans.sort()
        self.starts = [a for a, _ in spans]
        self.max_end: list[int] = []
        top = -1
        for _, b in spans:
            top = b if b > top else top
            self.max_end.append(top)

    def overlaps(self, start: int, end: int) -> bool:
        k = bisect.bisect_left(self.starts, end)
        return k > 0 and self.max_end[k - 1] > start


class _DisjointSpans:
    """Non-overlapping spans kept in order, with insertion: the greedy "longest hit wins" choice."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        k = bisect.bisect_left(self.starts, end)  # spans at k.. start at or after ``end``
        return k > 0 and self.ends[k - 1] > start  # disjoint and sorted: only the one before can reach in

    def add(self, start: int, end: int) -> None:
        k = bisect.bisect_left(self.starts, start)
        self.starts.insert(k, start)
        self.ends.insert(k, end)


def _resolve_turn_hits(turn: Turn, hits: list[Hit]) -> tuple[list[Hit], list[Hit]]:
    """(behaviour hits kept for this turn, signal hits) after exceptions, negation and role rules."""
    allowed = AGENT_BEHAVIORS if turn.role == "agent" else CUSTOMER_CUES if turn.role == "customer" else ()
    by_exception: dict[str, list[tuple[int, int]]] = {}
    for h in hits:
        if h.label.startswith("!"):
            by_exception.setdefault(h.label[1:], []).append((h.start, h.end))
    exceptions = {label: _Spans(spans) for label, spans in by_exception.items()}
    kept: list[Hit] = []
    signals: list[Hit] = []
    for h in hits:
        if h.label.startswith("!"):
            continue
        if h.label.startswith("_"):
            signals.append(h)
            continue
        if h.label not in allowed or h.negated:
            continue
        exc = exceptions.get(h.label)
        if exc is not None and exc.overlaps(h.start, h.end):
            continue
        kept.append(h)
    # one evidence per stretch of text and behaviour: the longest hit wins
    kept.sort(key=lambda h: (h.label, -(h.end - h.start), h.start))
    chosen: list[Hit] = []
    taken: dict[str, _DisjointSpans] = {}
    for h in kept:
        spans = taken.setdefault(h.label, _DisjointSpans())
        if not spans.overlaps(h.start, h.end):
            spans.add(h.start, h.end)
            chosen.append(h)
    labels = {h.label for h in chosen}
    if "hold_request" not in labels:
        chosen = [h for h in chosen if h.label not in ("hold_reason", "hold_duration")]
    else:
        # "it will take two minutes" inside a hold request states the hold's length, not what happens next
        durations = _Spans([(h.start, h.end) for h in chosen if h.label == "hold_duration"])
        chosen = [h for h in chosen if h.label != "expectation_setting" or not durations.overlaps(h.start, h.end)]
    chosen.sort(key=lambda h: (h.start, h.label))
    # signals cancelled by their own exceptions ("if it doesn't work"), or inside sarcastic thanks
    sarcasm = exceptions.get("customer_gratitude")
    signals = [
        s
        for s in signals
        if not ((s.label in exceptions and exceptions[s.label].overlaps(s.start, s.end))
                or (sarcasm is not None and sarcasm.overlaps(s.start, s.end)))
    ]
    return chosen, signals


def _replies(transcript: Transcript) -> list[list[int]]:
    """Agent replies: runs of consecutive agent turns, split only by customer turns."""
    runs: list[list[int]] = []
    current: list[int] = []
    for t in transcript.turns:
        if t.role == "agent":
            current.append(t.index)
        elif t.role == "customer":
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _hold_etiquette(transcript: Transcript, labels_by_turn: list[set[str]]) -> list[HoldEtiquette]:
    turns = transcript.turns
    holds: list[HoldEtiquette] = []
    explicit_after: list[tuple[int, float | None]] = []
    last_after: int | None = None
    for ev in transcript.events:
        if ev.kind != "hold":
            if ev.kind == "hold_end":
                continue
            continue
        if last_after == ev.after_turn and explicit_after:
            # consecutive markers of one hold ("*** on hold ***" then "[HOLD 00:02:00]")
            prev_after, prev_secs = explicit_after[-1]
            secs = ev.duration if prev_secs is None else prev_secs + (ev.duration or 0.0)
            explicit_after[-1] = (prev_after, secs)
            continue
        explicit_after.append((ev.after_turn, ev.duration))
        last_after = ev.after_turn

    def agent_before(i: int) -> int | None:
        for j in range(i, max(i - 2, -1), -1):
            if turns[j].role == "agent":
                return j
        return None

    def agent_after(i: int) -> int | None:
        for j in range(i + 1, min(i + 3, len(turns))):
            if turns[j].role == "agent":
                return j
        return None

    covered: set[int] = set()
    for after, secs in explicit_after:
        before = agent_before(after) if after >= 0 else None
        nxt = agent_after(after)
        req = before is not None and "hold_request" in labels_by_turn[before]
        if before is not None:
            covered.add(before)
        holds.append(
            HoldEtiquette(
                after_turn=after,
                requested=req,
                reason_given=req and before is not None and "hold_reason" in labels_by_turn[before],
                duration_given=req and before is not None and "hold_duration" in labels_by_turn[before],
                thanked=nxt is not None and "hold_thanks" in labels_by_turn[nxt],
                seconds=secs,
                explicit=True,
            )
        )
    # chats: an announced hold with no marker, followed by the agent's return
    for t in turns:
        if t.role != "agent" or t.index in covered or "hold_request" not in labels_by_turn[t.index]:
            continue
        nxt = agent_after(t.index)
        labels = labels_by_turn[t.index]
        holds.append(
            HoldEtiquette(
                after_turn=t.index,
                requested=True,
                reason_given="hold_reason" in labels,
                duration_given="hold_duration" in labels,
                thanked=nxt is not None and "hold_thanks" in labels_by_turn[nxt],
                seconds=None,
                explicit=False,
            )
        )
    holds.sort(key=lambda h: h.after_turn)
    return holds


def _turn_sentiment(hits: Iterable[Hit], labels: Iterable[str], n_tokens: int) -> float:
    score = 0.0
    for h in hits:
        if h.label == "_sentiment":
            score += -0.5 * h.weight if h.negated else h.weight
        elif h.label in CUE_WEIGHTS:
            score += CUE_WEIGHTS[h.label]
    for lab in labels:
        score += CUE_WEIGHTS.get(lab, 0.0)
    return math.tanh(score / SENTIMENT_SCALE)


def analyze(transcript: Transcript) -> Analysis:
    """Detect behaviours and cues in a parsed transcript and derive hold, emotion and sentiment signals."""
    turns = transcript.turns
    by_lang: dict[str, list[Turn]] = {}
    for t in turns:
        by_lang.setdefault(t.lang or transcript.lang, []).append(t)
    raw: dict[int, list[Hit]] = {}
    for lang, group in by_lang.items():
        results = get_matcher(lang).match([t.text for t in group])
        for t, hits in zip(group, results):
            raw[t.index] = hits

    evidence: list[Evidence] = []
    labels_by_turn: list[set[str]] = []
    sentiments: list[float | None] = []
    signal_hits: list[list[Hit]] = []
    for t in turns:
        kept, sig = _resolve_turn_hits(t, raw.get(t.index, []))
        labels_by_turn.append({h.label for h in kept})
        signal_hits.append(sig)
        for h in kept:
            evidence.append(Evidence(h.label, t.index, h.start, h.end, t.text[h.start : h.end], t.role))
        if t.role == "customer":
            sentiments.append(_turn_sentiment(sig, [h.label for h in kept], len(t.text.split())))
        else:
            sentiments.append(None)

    # emotion addressed
    replies = _replies(transcript)
    cue_turns = [t.index for t in turns if t.role == "customer" and labels_by_turn[t.index] & EMOTION_CUES]
    addressed = 0
    for ci in cue_turns:
        following = [r for r in replies if r[0] > ci][:REPLIES_TO_ADDRESS]
        if any(labels_by_turn[i] & EMPATHY_RESPONSES for r in following for i in r):
            addressed += 1
    if not cue_turns:
        empathy_status = "not_applicable"
    elif addressed:
        empathy_status = "needed_and_given"
    else:
        empathy_status = "needed_and_missing"

    holds = _hold_etiquette(transcript, labels_by_turn)
    signals = _signals(transcript, signal_hits, sentiments, labels_by_turn)
    reasons = _reason_scores(transcript, signal_hits)
    return Analysis(
        transcript=transcript,
        evidence=tuple(evidence),
        holds=tuple(holds),
        empathy=empathy_status,
        emotion_cues=len(cue_turns),
        emotion_addressed=addressed,
        turn_sentiment=tuple(sentiments),
        signals=signals,
        reason_scores=reasons,
    )


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _signals(
    transcript: Transcript,
    signal_hits: list[list[Hit]],
    sentiments: list[float | None],
    labels_by_turn: list[set[str]],
) -> dict[str, float]:
    turns = transcript.turns
    cust = [t.index for t in turns if t.role == "customer"]
    agent = [t.index for t in turns if t.role == "agent"]
    cs = [sentiments[i] for i in cust]
    cs_f = [s for s in cs if s is not None]
    out: dict[str, float] = {}
    out["sentiment_start"] = _mean(cs_f[:2]) if cs_f else 0.0
    tail = cs_f[-2:]
    out["sentiment_end"] = _mean(tail) if tail else 0.0
    out["sentiment_last"] = cs_f[-1] if cs_f else 0.0
    out["sentiment_min"] = min(cs_f) if cs_f else 0.0
    out["sentiment_mean"] = _mean(cs_f)
    last_cust = cust[-2:]
    first_cust = cust[:2]

    def count(label: str, idx: Iterable[int]) -> float:
        return float(sum(1 for i in idx for h in signal_hits[i] if h.label == label and not h.negated))

    for label in ("_resolved", "_unresolved", "_churn", "_profanity"):
        name = label[1:]
        out[f"customer_{name}_end"] = count(label, last_cust)
        out[f"customer_{name}_any"] = count(label, cust)
    out["agent_resolved_any"] = count("_resolved", agent)
    out["agent_unresolved_any"] = count("_unresolved", agent)
    out["customer_gratitude_end"] = float(sum("customer_gratitude" in labels_by_turn[i] for i in last_cust))
    out["customer_frustration_end"] = float(sum("customer_frustration" in labels_by_turn[i] for i in last_cust))
    out["customer_frustration_start"] = float(sum("customer_frustration" in labels_by_turn[i] for i in first_cust))
    out["customer_urgency_start"] = float(sum("customer_urgency" in labels_by_turn[i] for i in first_cust))
    out["last_speaker_customer"] = 1.0 if turns and turns[-1].role == "customer" else 0.0
    return out


def _reason_scores(transcript: Transcript, signal_hits: list[list[Hit]]) -> dict[str, float]:
    scores = {r: 0.0 for r in CONTACT_REASONS}
    seen_customer = 0
    for t in transcript.turns:
        w = 1.0
        if t.role == "customer":
            seen_customer += 1
            w = 2.0 if seen_customer <= 2 else 1.0
        else:
            w = 0.5
        for h in signal_hits[t.index]:
            if h.label == "_reason" and h.reason in scores and not h.negated:
                scores[h.reason] += w
    return scores
