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

__all__ = ["detect_language", "turn_language_scores", "DEFAULT_LANG"]

DEFAULT_LANG = "en"
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# Characters used by one supported language and not the others. A hit is worth this many function words.
_CHAR_WEIGHT = 2.0
_SPECIAL_CHARS: Mapping[str, str] = {"fi": "äöå", "es": "ñ¿¡áéíóú"}
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


def turn_language_scores(text: str) -> dict[str, float]:
    """Evidence for each supported language in ``text`` (higher is stronger)."""
    distinct = _distinct_words()
    lowered = text.lower()
    scores = {code: 0.0 for code in distinct}
    for word in _WORD.findall(lowered):
        for code, words in distinct.items():
            if word in words:
                scores[code] += 1.0
    for code, chars in _SPECIAL_CHARS.items():
        if code in scores:
            scores[code] += _CHAR_WEIGHT * sum(lowered.count(c) for c in chars)
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
    total: Counter[str] = Counter()
    for text in texts:
        for code, score in turn_language_scores(text).items():
            total[code] += score
    return best_language(total, default) if total else default
