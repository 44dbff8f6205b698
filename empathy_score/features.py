"""Features of a transcript for the CSAT model, and a scikit-learn transformer that computes them.

Real data showed that a behaviour's mere presence points the wrong way (agents apologise *because* the
customer is angry), so features describe the situation and the outcome as well as the behaviours, and
behaviours relative to the need for them:

- situation: the customer's state at the start (frustration, urgency, sentiment), the contact reason;
- outcome: the customer's state at the end (thanks, relief, anger, giving up), resolution signals;
- behaviours: presence of each agent behaviour and customer cue;
- need: empathy needed-and-given versus needed-and-missing, emotion addressed, apology with or without cause;
- holds and structure: hold etiquette, unexplained and long holds, transfers, turn counts, talk share.
- context: how the customer closes (sentiment of the last turns before squashing, praise, resignation or credit
  given to the agent from ``lang/<code>/closing.tsv``, exclamations, emoji), and the human dimension given the
  outcome (warmth and coldness crossed with resolution: the outcome sets the floor, the human dimension decides
  average or top).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .aggregates import hold_score
from .detect import SENTIMENT_SCALE, Analysis, analyze
from .errors import LanguageError
from .lang import ensure_language, phrase_regex, read_tsv
from .taxonomy import AGENT_BEHAVIORS, CONTACT_REASONS, CUSTOMER_CUES
from .transcript import Transcript

__all__ = ["FEATURE_NAMES", "MODEL_FEATURE_NAMES", "STYLE_FEATURES", "transcript_features", "TranscriptFeaturizer", "to_analysis", "customer_text"]

_OUTCOME = (
    "sentiment_start",
    "sentiment_end",
    "sentiment_last",
    "sentiment_min",
    "sentiment_mean",
    "sentiment_shift",
    "customer_gratitude_end",
    "customer_frustration_end",
    "customer_frustration_start",
    "customer_urgency_start",
    "customer_resolved_end",
    "customer_unresolved_end",
    "customer_unresolved_any",
    "customer_churn_any",
    "customer_profanity_any",
    "agent_resolved_any",
    "agent_unresolved_any",
    "last_speaker_customer",
)
_NEED = (
    "empathy_needed_and_given",
    "empathy_needed_and_missing",
    "emotion_addressed_rate",
    "emotion_unaddressed",
    "apology_with_cause",
    "apology_without_cause",
    "apology_count_log",
    "negative_behaviors",
    "frustrated_and_unresolved",
    "frustrated_and_resolved",
)
_HOLDS = (
    "holds",
    "holds_unexplained",
    "hold_etiquette",
    "holds_thanked_rate",
    "hold_seconds_log",
    "holds_over_3_min",
)
# Outcome in the customer's own closing turns, situation, and the human dimension given the outcome
# (LABELING.md: the business outcome sets the floor, the human dimension decides between average and top).
_CONTEXT = (
    "calm_start",
    "outcome",
    "sentiment_prelast",
    "sentiment_last3_min",
    "sentiment_late_mean",
    "negative_late_share",
    "valence_last_raw",
    "valence_end_raw",
    "valence_prelast_raw",
    "habit_thanks",
    "closing_praise",
    "closing_resigned",
    "closing_credit",
    "cust_end_exclaim",
    "cust_last_question",
    "cust_end_pos_emoji",
    "cust_neg_emoji_any",
    "warmth_kinds",
    "coldness",
    "quality",
    "resolved_x_quality",
    "resolved_x_cold",
    "unresolved_x_quality",
    "calm_x_resolved",
    "needed_given_x_resolved",
    "needed_missing_x_resolved",
)
_STRUCTURE = (
    "turns_log",
    "agent_talk_share",
    "agent_questions_log",
    "transfers",
    "customer_turns_log",
)
FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"has_{b}" for b in AGENT_BEHAVIORS)
    + tuple(f"cue_{c}" for c in CUSTOMER_CUES)
    + _OUTCOME
    + _NEED
    + _HOLDS
    + _CONTEXT
    + _STRUCTURE
    + tuple(f"reason_{r}" for r in CONTACT_REASONS)
)
# Length and talk-share describe how a call was written or transcribed more than how the customer was served:
# in a written corpus they mirror the writers' habits (short calls written as happy ones, angry customers given
# long turns), and real data showed that a model must rest on situation, outcome and behaviour relative to need.
# They stay in the features (reports, notebooks) but the bundled model is trained without them.
STYLE_FEATURES: tuple[str, ...] = ("turns_log", "customer_turns_log", "agent_talk_share")
MODEL_FEATURE_NAMES: tuple[str, ...] = tuple(n for n in FEATURE_NAMES if n not in STYLE_FEATURES)


def to_analysis(item: Any, lang: str | None = None) -> Analysis:
    """An :class:`Analysis` from an analysis, a transcript, or anything :func:`parse_transcript` reads."""
    if isinstance(item, Analysis):
        return item
    if not isinstance(item, Transcript):
        from .parsing import parse_transcript

        item = parse_transcript(item, lang=lang)
    return analyze(item)


# agent behaviours that make up the human dimension (LABELING.md, step 2), and the ones that pull it down
_WARM = ("acknowledgement", "empathy", "ownership", "follow_up_offer", "expectation_setting", "personalization",
         "gratitude", "goodwill_gesture", "warm_transfer", "resolution_check")
_COLD = ("blame_shifting", "blaming_customer", "effort_push", "dismissal")
_POS_EMOJI = re.compile("[\U0001F44D\U0001F44C\U0001F64F\U0001F60A\U0001F642\U0001F603\U0001F604\U0001F601\u263A"
                        "\u2764\U0001F389\U0001F64C\U0001F60D\U0001F917]|:-?\\)|:D")
_NEG_EMOJI = re.compile("[\U0001F621\U0001F620\U0001F624\U0001F612\U0001F644\U0001F611\U0001F610\U0001F61E\U0001F622"
                        "\U0001F62D\U0001F92C\U0001F44E]|:-?\\(")


@lru_cache(maxsize=None)
def _closing_regex(lang: str, kind: str) -> re.Pattern[str] | None:
    """Phrases of ``kind`` (praise / resigned / credit) in ``lang/<lang>/closing.tsv``, as one regex; None if none."""
    try:
        code = ensure_language(lang or "")
    except LanguageError:
        return None
    phrases = [p for k, p in read_tsv(code, "closing.tsv") if k == kind]
    return phrase_regex(phrases) if phrases else None


def _raw_valence(v: float) -> float:
    """A turn's summed valence before the tanh squashing of ``detect`` (gratitude plus praise no longer saturates)."""
    v = max(min(v, 0.999), -0.999)
    return SENTIMENT_SCALE * math.atanh(v)


def _context_features(a: Analysis, f: dict[str, float], counts: Mapping[str, int], frustrated: bool, resolved: bool,
                      unresolved: bool) -> None:
    t = a.transcript
    s = a.signals
    cust = [x for x in t.turns if x.role == "customer"]
    sv = [a.turn_sentiment[x.index] for x in cust if a.turn_sentiment[x.index] is not None]
    calm = not frustrated and s.get("sentiment_start", 0.0) >= 0 and not s.get("customer_urgency_start")
    fixed = 1.0 if resolved and not unresolved else 0.0
    f["calm_start"] = 1.0 if calm else 0.0
    f["outcome"] = fixed - (1.0 if unresolved else 0.0)
    f["sentiment_prelast"] = sv[-2] if len(sv) >= 2 else (sv[0] if sv else 0.0)
    f["sentiment_last3_min"] = min(sv[-3:]) if sv else 0.0
    late = sv[len(sv) // 2:]
    f["sentiment_late_mean"] = sum(late) / len(late) if late else 0.0
    f["negative_late_share"] = sum(v < -0.2 for v in late) / len(late) if late else 0.0
    f["valence_last_raw"] = _raw_valence(sv[-1]) if sv else 0.0
    f["valence_end_raw"] = sum(_raw_valence(v) for v in sv[-2:])
    f["valence_prelast_raw"] = _raw_valence(sv[-2]) if len(sv) >= 2 else 0.0
    f["habit_thanks"] = 1.0 if s.get("customer_gratitude_end") and f["sentiment_prelast"] <= 0.0 else 0.0
    found = {"praise": 0, "resigned": 0, "credit": 0}
    for x in cust[-2:]:
        lang = x.lang or t.lang
        for kind in found:
            rx = _closing_regex(lang, kind)
            found[kind] += len(rx.findall(x.text)) if rx else 0
    f["closing_praise"] = math.log1p(found["praise"])
    f["closing_resigned"] = math.log1p(found["resigned"])
    # the customer credits the agent in person ("you've been so patient", "eres la primera que me lo resuelve"):
    # thanks alone closes average calls too
    f["closing_credit"] = math.log1p(found["credit"])
    last2 = "\n".join(x.text for x in cust[-2:])
    f["cust_end_exclaim"] = math.log1p(last2.count("!"))
    f["cust_last_question"] = 1.0 if cust and "?" in cust[-1].text else 0.0
    f["cust_end_pos_emoji"] = 1.0 if _POS_EMOJI.search(last2) else 0.0
    f["cust_neg_emoji_any"] = 1.0 if any(_NEG_EMOJI.search(x.text) for x in cust) else 0.0
    warmth = float(sum(1 for b in _WARM if counts[b]))
    cold = float(sum(1 for b in _COLD if counts[b]) + sum(h.unexplained for h in a.holds)
                 + (a.empathy == "needed_and_missing"))
    f["warmth_kinds"] = warmth
    f["coldness"] = cold
    f["quality"] = warmth - 2.0 * cold
    f["resolved_x_quality"] = fixed * f["quality"]
    f["resolved_x_cold"] = fixed * cold
    f["unresolved_x_quality"] = (0.0 if fixed else 1.0) * f["quality"]
    f["calm_x_resolved"] = f["calm_start"] * fixed
    f["needed_given_x_resolved"] = fixed if a.empathy == "needed_and_given" else 0.0
    f["needed_missing_x_resolved"] = fixed if a.empathy == "needed_and_missing" else 0.0


def transcript_features(a: Analysis) -> dict[str, float]:
    """The feature values of one analysed transcript, keyed by :data:`FEATURE_NAMES`."""
    t = a.transcript
    counts = a.counts()
    s = a.signals
    f: dict[str, float] = {}
    for b in AGENT_BEHAVIORS:
        f[f"has_{b}"] = 1.0 if counts[b] else 0.0
    for c in CUSTOMER_CUES:
        f[f"cue_{c}"] = math.log1p(counts[c])
    for k in _OUTCOME:
        f[k] = float(s.get(k, 0.0)) if k != "sentiment_shift" else a.sentiment_shift
    frustrated = bool(s.get("customer_frustration_start") or a.emotion_cues)
    resolved = bool(s.get("customer_resolved_end") or s.get("agent_resolved_any") or s.get("customer_gratitude_end"))
    unresolved = bool(s.get("customer_unresolved_end") or s.get("customer_churn_any"))
    cause = frustrated or bool(s.get("customer_unresolved_any")) or a.reason_scores.get("outage", 0) > 0 or a.reason_scores.get("defect", 0) > 0 or a.reason_scores.get("billing", 0) > 0
    f["empathy_needed_and_given"] = 1.0 if a.empathy == "needed_and_given" else 0.0
    f["empathy_needed_and_missing"] = 1.0 if a.empathy == "needed_and_missing" else 0.0
    rate = a.emotion_addressed_rate
    f["emotion_addressed_rate"] = 0.0 if rate is None else rate
    f["emotion_unaddressed"] = float(a.emotion_cues - a.emotion_addressed)
    f["apology_with_cause"] = 1.0 if counts["apology"] and cause else 0.0
    f["apology_without_cause"] = 1.0 if counts["apology"] and not cause else 0.0
    f["apology_count_log"] = math.log1p(counts["apology"])
    f["negative_behaviors"] = float(
        counts["blame_shifting"] + counts["blaming_customer"] + counts["effort_push"] + counts["dismissal"]
    )
    f["frustrated_and_unresolved"] = 1.0 if frustrated and unresolved else 0.0
    f["frustrated_and_resolved"] = 1.0 if frustrated and resolved and not unresolved else 0.0
    _context_features(a, f, counts, frustrated, resolved, unresolved)
    holds = a.holds
    f["holds"] = float(len(holds))
    f["holds_unexplained"] = float(sum(h.unexplained for h in holds))
    f["hold_etiquette"] = hold_score(a)
    f["holds_thanked_rate"] = (sum(h.thanked for h in holds) / len(holds)) if holds else 1.0
    secs = [h.seconds for h in holds if h.seconds]
    f["hold_seconds_log"] = math.log1p(sum(secs)) if secs else 0.0
    f["holds_over_3_min"] = float(sum(1 for x in secs if x > 180))
    agent_chars = sum(len(x.text) for x in t.turns if x.role == "agent")
    all_chars = sum(len(x.text) for x in t.turns) or 1
    f["turns_log"] = math.log1p(len(t.turns))
    f["agent_talk_share"] = agent_chars / all_chars
    f["agent_questions_log"] = math.log1p(sum(x.text.count("?") for x in t.turns if x.role == "agent"))
    f["transfers"] = float(sum(1 for e in t.events if e.kind == "transfer"))
    f["customer_turns_log"] = math.log1p(sum(1 for x in t.turns if x.role == "customer"))
    total = sum(a.reason_scores.values())
    for r in CONTACT_REASONS:
        f[f"reason_{r}"] = a.reason_scores.get(r, 0.0) / total if total else 0.0
    return f


def customer_text(a: Analysis | Transcript) -> str:
    """The customer's words, for n-gram features (the agent's are in the behaviour features)."""
    t = a.transcript if isinstance(a, Analysis) else a
    return "\n".join(x.text for x in t.turns if x.role == "customer")


def feature_dict(item: Any, lang: str | None = None) -> Mapping[str, float]:
    """Feature values of one transcript, by name."""
    return transcript_features(to_analysis(item, lang))


__all__ += ["feature_dict"]


def __getattr__(name: str) -> Any:
    # the scikit-learn transformer lives apart, so that scoring never imports scikit-learn
    if name == "TranscriptFeaturizer":
        from .featurizer import TranscriptFeaturizer

        return TranscriptFeaturizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
