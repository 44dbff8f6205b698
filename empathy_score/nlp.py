"""One cached spaCy pipeline per language: ``spacy.blank(lang)``, a lookup lemmatizer, a sentencizer.

Nothing is downloaded: lemma tables come from the installed ``spacy-lookups-data`` package where it has one
for the language (English and Spanish), and Finnish patterns match on forms instead. Pipelines are built
lazily, once per process, under a lock, and are safe to share between threads for ``nlp(text)`` calls.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from .lang import ensure_language

__all__ = ["get_nlp", "has_lemmas", "LEMMATIZER_FACTORY"]

LEMMATIZER_FACTORY = "empathy_score_lookup_lemmatizer"
_LOCK = threading.Lock()
_CACHE: dict[str, Language] = {}
_LEMMA_CACHE = 100_000  # surface forms whose lemma is remembered, per pipeline


class LowercaseLookupLemmatizer:
    """Sets ``token.lemma_`` from a lookup table, trying the lowercase form too ("Siento" -> "sentir").

    Without a table (Finnish) the lemma is the lowercase form, so lemma patterns degrade to form patterns.

    spaCy's own lookup mode looks up the text as written, which misses sentence-initial words; transcripts are
    full of them. Results are cached per surface form.
    """

    def __init__(self, table: Any) -> None:
        self.table = table
        self._cache: dict[int, str] = {}

    def __call__(self, doc: Doc) -> Doc:
        cache = self._cache
        table = self.table
        for token in doc:
            orth = token.orth
            lemma = cache.get(orth)
            if lemma is None:
                text = token.text
                lower = text.lower()
                lemma = table.get(text) or table.get(lower) or lower
                if len(cache) < _LEMMA_CACHE:
                    cache[orth] = lemma
            token.lemma_ = lemma
        return doc

    def lemma_for(self, orth: int, text: str) -> str:
        """The lemma ``__call__`` gives a token with this ORTH id and text (same cache)."""
        lemma = self._cache.get(orth)
        if lemma is None:
            table = self.table
            lower = text.lower()
            lemma = table.get(text) or table.get(lower) or lower
            if len(self._cache) < _LEMMA_CACHE:
                self._cache[orth] = lemma
        return lemma


@lru_cache(maxsize=None)
def _lemma_table(lang: str) -> Any:
    try:
        from spacy.lookups import load_lookups

        lookups = load_lookups(lang, ["lemma_lookup"], strict=True)
    except (ValueError, ImportError, OSError):
        return None
    return lookups.get_table("lemma_lookup")


@Language.factory(LEMMATIZER_FACTORY, default_config={})
def _make_lemmatizer(nlp: Language, name: str) -> LowercaseLookupLemmatizer:
    table = _lemma_table(nlp.lang)
    if table is None:
        table = {}
    return LowercaseLookupLemmatizer(table)


def has_lemmas(lang: str) -> bool:
    """Whether spacy-lookups-data has a lemma table for ``lang``."""
    return _lemma_table(ensure_language(lang)) is not None


def get_nlp(lang: str) -> Language:
    """The shared pipeline for ``lang`` ("en", "es", "fi", or a regional code such as "es-MX")."""
    code = ensure_language(lang)
    nlp = _CACHE.get(code)
    if nlp is not None:
        return nlp
    with _LOCK:
        nlp = _CACHE.get(code)
        if nlp is None:
            nlp = _build(code)
            _CACHE[code] = nlp
    return nlp


def _build(code: str) -> Language:
    nlp = spacy.blank(code)
    nlp.add_pipe(LEMMATIZER_FACTORY)
    nlp.add_pipe("sentencizer")
    return nlp


def pipeline_info(lang: str) -> dict[str, Any]:
    """What the pipeline for ``lang`` holds, for model cards and debugging."""
    nlp = get_nlp(lang)
    return {"lang": nlp.lang, "pipes": list(nlp.pipe_names), "spacy": spacy.__version__}


__all__ += ["pipeline_info", "LowercaseLookupLemmatizer"]
