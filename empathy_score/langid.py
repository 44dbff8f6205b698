"""Language identification for turns and transcripts, with no model to download.

Each supported language is scored by the function words it owns (spaCy's stop-word lists, minus words shared
with another supported language), by the words of our own lexicons, and by characters that only it uses.
Short or ambiguous turns take the transcript's language.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from functools import lru_cache
from typing import Iterable, Mapping

from .lang import available_languages, read_tsv

__all__ = ["detect_language", "language_of_scores", "turn_language_scores", "DEFAULT_LANG"]

DEFAULT_LANG = "en"
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# Characters used by one supported language and not the others. A hit is worth this many function words.
_CHAR_WEIGHT = 2.0
_SPECIAL_RX: Mapping[str, re.Pattern[str]] = {"fi": re.compile("[äöå]"), "es": re.compile("[ñ¿¡áéíóú]")}
# A turn's language must beat the runner-up by this margin, else it takes the transcript's language.
MIN_MARGIN = 1.0


@lru_cache(maxsize=1)
def _distinct_words() -> dict[str, frozenset[str]]:
    langs = available_languages()
    vocab: dict[str, set[str]] = {}
    for code in langs:
        words: set[str] = set()
        try:
            mod = importlib.import_module(f"spacy.lang.{code}.stop_words")
            words |= {w.lower() for w in getattr(mod, "STOP_WORDS", set())}
        except ImportError:
            pass
        for _role, phrase in read_tsv(code, "role_cues.tsv"):
            words |= {w.rstrip("*") for w in phrase.split() if len(w.rstrip("*")) > 2}
        vocab[code] = {w for w in words if len(w) > 1}
    counts = Counter(w for ws in vocab.values() for w in ws)
    return {code: frozenset(w for w in ws if counts[w] == 1) for code, ws in vocab.items()}


@lru_cache(maxsize=1)
def _word_language() -> dict[str, str]:
    """Each distinct word -> the one language that owns it."""
    return {w: code for code, words in _distinct_words().items() for w in words}


def turn_language_scores(text: str) -> dict[str, float]:
    """Evidence for each supported language in ``text`` (higher is stronger)."""
    owner = _word_language().get
    lowered = text.lower()
    scores = dict.fromkeys(_distinct_words(), 0.0)
    for word in _WORD.findall(lowered):
        code = owner(word)
        if code is not None:
            scores[code] += 1.0
    for code, rx in _SPECIAL_RX.items():
        if code in scores:
            scores[code] += _CHAR_WEIGHT * len(rx.findall(lowered))
    return scores


def best_language(scores: Mapping[str, float], fallback: str) -> str:
    """The top-scoring language if it leads clearly, else ``fallback``."""
    if not scores:
        return fallback
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    top, top_score = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    if top_score - runner >= MIN_MARGIN:
        return top
    return fallback


def detect_language(texts: Iterable[str], default: str = DEFAULT_LANG) -> str:
    """The main language of a set of texts (a transcript's turns)."""
    return language_of_scores((turn_language_scores(t) for t in texts), default)


def language_of_scores(per_text: Iterable[Mapping[str, float]], default: str = DEFAULT_LANG) -> str:
    """:func:`detect_language` from the texts' :func:`turn_language_scores`, already computed."""
    total: Counter[str] = Counter()
    for scores in per_text:
        for code, score in scores.items():
            total[code] += score
    return best_language(total, default) if total else default
