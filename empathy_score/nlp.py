"""One cached spaCy pipeline per language: ``spacy.blank(lang)``, a lookup lemmatizer, a sentencizer.

Nothing is downloaded: lemma tables come from the installed ``spacy-lookups-data`` package where it has one
for the language (English and Spanish), and Finnish patterns match on forms instead. Pipelines are built
lazily, once per process, under a lock, and are safe to share between threads for ``nlp(text)`` calls.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Iterable

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from .lang import ensure_language

__all__ = ["get_nlp", "has_lemmas", "lemma_lookup_subset", "lookup_lemma", "LEMMATIZER_FACTORY"]

LEMMATIZER_FACTORY = "empathy_score_lookup_lemmatizer"
_LOCK = threading.Lock()
_TABLE_LOCK = threading.Lock()
_CACHE: dict[str, Language] = {}
_LEMMA_CACHE = 100_000  # surface forms whose lemma is remembered, per pipeline


class LowercaseLookupLemmatizer:
    """Sets ``token.lemma_`` from a lookup table, trying the lowercase form too ("Siento" -> "sentir").

    Without a table (Finnish) the lemma is the lowercase form, so lemma patterns degrade to form patterns.

    spaCy's own lookup mode looks up the text as written, which misses sentence-initial words; transcripts are
    full of them. Results are cached per surface form. The table (~150 MB for Spanish) is loaded on the first
    call, not when the pipeline is built: scoring tokenizes only and never needs it.
    """

    def __init__(self, table: Any = None, *, lang: str | None = None) -> None:
        if table is None and lang is None:
            raise ValueError("give a lemma table or the language to load one for")
        self._table = table
        self._lang = lang
        self._cache: dict[int, str] = {}

    @property
    def table(self) -> Any:
        table = self._table
        if table is None:
            with _TABLE_LOCK:
                if self._table is None:
                    self._table = _lemma_table(self._lang) or {}  # type: ignore[arg-type]
            table = self._table
        return table

    def __call__(self, doc: Doc) -> Doc:
        cache = self._cache
        table = self.table
        for token in doc:
            orth = token.orth
            lemma = cache.get(orth)
            if lemma is None:
                lemma = lookup_lemma(table, token.text)
                if len(cache) < _LEMMA_CACHE:
                    cache[orth] = lemma
            token.lemma_ = lemma
        return doc


def lookup_lemma(table: Any, text: str) -> str:
    """The lemma of ``text`` in ``table`` (a mapping), trying the lowercase form too, else the lowercase form."""
    lower = text.lower()
    return table.get(text) or table.get(lower) or lower


def _lemma_data(lang: str) -> dict[str, str] | None:
    """The raw form -> lemma table of spacy-lookups-data for ``lang`` (strings, not cached), or ``None``."""
    try:
        from spacy.util import load_language_data, registry

        if lang not in registry.lookups:
            return None
        tables = registry.lookups.get(lang)
        if "lemma_lookup" not in tables:
            return None
        return dict(load_language_data(tables["lemma_lookup"]))
    except (ImportError, OSError, ValueError):
        return None


@lru_cache(maxsize=None)
def _lemma_table(lang: str) -> Any:
    data = _lemma_data(lang)
    if data is None:
        return None
    from spacy.lookups import Table

    return Table.from_dict(data, name="lemma_lookup")


def lemma_lookup_subset(lang: str, lemmas: Iterable[str]) -> dict[str, str] | None:
    """The part of ``lang``'s lemma table that decides whether a token's lemma is one of ``lemmas``.

    Looking a token up here as the lemmatizer does (the text, then its lowercase, else the lowercase itself)
    gives a lemma in ``lemmas`` exactly when the full table would, and then the same one: an entry is kept when
    its lemma is wanted, when its key's lowercase is (so the fallback cannot invent a match), or when the entry
    of its key's lowercase is kept (so a cased entry still wins over it). Lemma patterns need nothing more,
    and the subset is a few thousand entries where the table has hundreds of thousands. ``None`` without a
    table.
    """
    want = frozenset(lemmas)
    if not want:
        return {} if has_lemmas(lang) else None
    data = _lemma_data(ensure_language(lang))
    if data is None:
        return None
    keep = {k: v for k, v in data.items() if v in want or k.lower() in want}
    for k, v in data.items():
        if k not in keep and k != k.lower() and k.lower() in keep:
            keep[k] = v
    return keep


@Language.factory(LEMMATIZER_FACTORY, default_config={})
def _make_lemmatizer(nlp: Language, name: str) -> LowercaseLookupLemmatizer:
    return LowercaseLookupLemmatizer(lang=nlp.lang)


def has_lemmas(lang: str) -> bool:
    """Whether spacy-lookups-data has a lemma table for ``lang`` (without loading it)."""
    from spacy.util import registry

    code = ensure_language(lang)
    return code in registry.lookups and "lemma_lookup" in registry.lookups.get(code)


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
