"""The default matching engine against the plain spaCy ``Matcher`` reference, hit for hit.

The default engine (anchor index, tries and a replay of spaCy's matcher state machine over lexeme rows) exists
for speed only: on every input it must give exactly the hits of the reference, which runs every token pattern
through one spaCy ``Matcher`` over the full pipeline.
"""

from __future__ import annotations

import csv
import json
from dataclasses import astuple
from pathlib import Path

import pytest

from empathy_score.matching import LanguageMatcher, compile_compact, get_matcher
from empathy_score.nlp import get_nlp
from empathy_score.parsing import parse_transcript

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "empathy_score"


def _utterances(lang: str) -> list[str]:
    texts = [json.loads(ln)["text"] for ln in (PKG / "data" / "detection" / f"{lang}.jsonl").read_text(
        encoding="utf-8").splitlines() if ln.strip()]
    with open(ROOT / "tests" / "lang" / lang / "canonical.tsv", encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) >= 3 and not row[0].startswith("#") and row[0] != "behavior":
                texts.append(row[2])
    return texts


def _transcript_turns(lang: str, limit: int) -> list[list[str]]:
    out = []
    for path in sorted((ROOT / "models" / "corpus" / lang).glob("*.txt"))[:limit]:
        tr = parse_transcript(path)
        turns = [t.text for t in tr.turns if (t.lang or tr.lang) == lang]
        if turns:
            out.append(turns)
    return out


def _tuples(result):
    return [sorted(astuple(h) for h in hits) for hits in result]


@pytest.mark.parametrize("lang", ["en", "es", "fi"])
def test_fast_engine_equals_spacy_matcher(lang):
    fast = get_matcher(lang)
    reference = LanguageMatcher(lang, engine="spacy")
    texts = _utterances(lang)
    # the reference costs about 15 ms per token with every pattern in one Matcher, so it sees every fifth
    # utterance, in batches (one document each, which also exercises turn boundaries), a few single
    # utterances for the one-text path and a few whole transcripts; the full corpus is compared offline
    texts = texts[::5]
    inputs = [[t] for t in texts[:5]] + [texts[i: i + 17] for i in range(0, len(texts), 17)]
    if (ROOT / "models" / "corpus" / lang).is_dir():
        inputs += _transcript_turns(lang, 2)
    n_hits = 0
    for batch in inputs:
        got, want = _tuples(fast.match(batch)), _tuples(reference.match(batch))
        assert got == want, f"{lang}: engines differ on {batch[:2]!r}..."
        n_hits += sum(len(h) for h in want)
    assert n_hits > len(texts) // 2  # the comparison covered real matches, not empty lists


def test_engine_name_is_checked():
    with pytest.raises(ValueError, match="engine"):
        LanguageMatcher("en", engine="regex")


def test_compact_groups_nest():
    nlp = get_nlp("en")
    variants = compile_compact("let me (confirm|check (i've|i have)? (got|understood))", nlp)
    words = {" ".join(str(t.get("LOWER", t.get("OP"))) for t in v) for v in variants}
    flat = " / ".join(sorted(words))
    assert "confirm" in flat and "understood" in flat and "(" not in flat


@pytest.mark.parametrize("bad", ["(a|b", "a|b)", "happen(s)? next", "((a) b"])
def test_compact_rejects_malformed_groups(bad):
    with pytest.raises(ValueError):
        compile_compact(bad, get_nlp("en"))


def _full_lemma(table, text):
    from empathy_score.nlp import lookup_lemma

    return lookup_lemma(table, text)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_lemma_subset_decides_pattern_lemmas_like_the_full_table(lang):
    from empathy_score.matching import _lemma_values
    from empathy_score.nlp import _lemma_data, lemma_lookup_subset

    full = _lemma_data(lang)
    assert full
    matcher = get_matcher(lang)
    want = set(_lemma_values([("k", compile_compact(r["match"], matcher.nlp)[0], "") for r in
                              [{"match": "~be"}, {"match": "~go"}, {"match": "~sentir"}]]) or ())
    # hard cases: a wanted lemma that is also a form with another lemma, and a form whose cased entry differs
    forms = [k for k, v in full.items() if k != v and k.isalpha()][:3]
    want |= set(forms)
    cased = [k for k in full if k != k.lower() and k.lower() in full and full[k] != full[k.lower()]][:3]
    want |= {full[k.lower()] for k in cased}
    subset = lemma_lookup_subset(lang, want)
    assert subset is not None and 0 < len(subset) < len(full) // 10
    texts = list(full) + [k.capitalize() for k in list(full)[::7]] + [k.upper() for k in list(full)[::11]]
    texts += ["zzqx", "Zzqx", *forms, *(f.capitalize() for f in forms), *cased]
    for text in texts:
        a, b = _full_lemma(full, text), _full_lemma(subset, text)
        assert (a in want) == (b in want), text
        if a in want:
            assert a == b, text


def test_lemma_subset_of_no_lemmas_is_empty_and_languages_without_table_have_none():
    from empathy_score.nlp import lemma_lookup_subset

    assert lemma_lookup_subset("es", []) == {}
    assert lemma_lookup_subset("fi", ["olla"]) is None


def test_pipeline_lemmatizer_loads_its_table_on_first_use():
    import spacy

    from empathy_score.nlp import LEMMATIZER_FACTORY

    nlp = spacy.blank("es")
    lemmatizer = nlp.add_pipe(LEMMATIZER_FACTORY)
    assert lemmatizer._table is None  # building a pipeline (as scoring does) costs no table
    doc = nlp("Siento mucho la espera")
    assert doc[0].lemma_ == "sentir"
    assert lemmatizer._table is not None


def test_lemma_subset_keeps_cased_entries_that_override_a_wanted_lowercase(monkeypatch):
    import empathy_score.nlp as nlp_module

    # the real tables have no such pair; a user's table may: "Saw" (a tool, as written) against "saw" -> "see"
    full = {"Saw": "Saw", "saw": "see", "seen": "see", "better": "good", "Lead": "Lead", "lead": "lead"}
    monkeypatch.setattr(nlp_module, "_lemma_data", lambda lang: dict(full))
    monkeypatch.setattr(nlp_module, "has_lemmas", lambda lang: True)
    want = {"see", "better", "lead"}
    subset = nlp_module.lemma_lookup_subset("en", want)
    for text in [*full, "SAW", "Seen", "BETTER", "Better", "LEAD", "other"]:
        a, b = _full_lemma(full, text), _full_lemma(subset, text)
        assert (a in want) == (b in want), text
        if a in want:
            assert a == b, text


def test_bounded_automaton_regrows_with_the_same_results(monkeypatch):
    """With tiny budgets the lazily built automaton is dropped and regrown many times, mid-document too;
    the hits are those of a matcher whose automaton kept everything."""
    import empathy_score.matching as matching

    inputs = _transcript_turns("en", 6) + [[t] for t in _utterances("en")[:40]]
    want = [_tuples(get_matcher("en").match(batch)) for batch in inputs]
    monkeypatch.setattr(matching, "_DFA_TRANSITIONS", 40)
    monkeypatch.setattr(matching, "_DFA_STATES", 15)
    monkeypatch.setattr(matching, "_CACHE_LIMIT", 25)
    small = LanguageMatcher("en")
    got = [_tuples(small.match(batch)) for batch in inputs]
    assert got == want
    dfa = small.index.dfa
    assert dfa.flushes > 5
    assert len(dfa.states) <= 16 and dfa.n_trans <= 41
    assert len(small._rows) <= 26
    assert sum(len(h) for batch in want for h in batch) > 50


def test_literal_regex_tests_answer_as_the_regex_does():
    """Regexes that only list words and prefixes are tested with a set and ``startswith``: same answers."""
    import re

    from empathy_score.matching import _literal_regex_values, _regex_tester

    words = {w for lang in ("en", "es", "fi") for t in _utterances(lang)[:300] for w in t.lower().split()}
    words |= {"", "a", "ei", "eikä", "frustrat", "frustrated", "xfrustrated", "sin", "sinfín", ".", "...", "?"}
    checked = 0
    for lang in ("en", "es", "fi"):
        for rx in get_matcher(lang).index.compiler._regexes:
            if _literal_regex_values(rx) is None:
                continue
            test, search = _regex_tester(rx), re.compile(rx).search
            for w in words:
                assert test(w) == (search(w) is not None), (rx[:60], w)
            checked += 1
    assert checked > 100


def test_matching_new_words_does_not_grow_any_vocabulary(monkeypatch):
    """Word forms documents bring go with the matcher's private tokenizer copy, replaced here every ten
    documents: neither the pipeline's vocabulary nor the matcher's grows, and repeated runs give the same hits."""
    import empathy_score.matching as matching
    from empathy_score.nlp import get_nlp

    monkeypatch.setattr(matching, "_TOKENIZER_DOCS", 10)
    m = get_matcher("en")
    m.match(["warm-up so that the pipeline's lazy tables exist"])
    shared = len(get_nlp("en").vocab.strings)
    texts = [f"Order ZX{n}Q{n * 7} was charged twice, I'm really sorry about that, refund ref R{n}-{n * 13}."
             for n in range(100)]
    first = [_tuples(m.match([t])) for t in texts]
    assert len(get_nlp("en").vocab.strings) == shared
    # at most the last ten documents' forms are held, not the 100 documents' (~680 strings)
    fresh = len(matching.LanguageMatcher._private_tokenizer(m).vocab.strings)
    assert len(m._tok_nlp.vocab.strings) <= fresh + 250
    assert [_tuples(m.match([t])) for t in texts] == first
    assert all(any(h[0] == "apology" for h in hits[0]) for hits in first)
