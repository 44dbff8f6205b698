"""Compile a language's pattern file into spaCy matchers, and find raw hits in turn texts.

Pattern records (``lang/<code>/behaviors.jsonl``) follow spaCy's span-ruler shape ``{"label", "pattern",
"id"}``: a string pattern goes to the ``PhraseMatcher`` (lowercase), a list of token dicts to the ``Matcher``.
A string pattern with a word ending in ``*`` ("pahoittel*") becomes token patterns matching that prefix.

A record may instead give ``"match"``, a compact pattern that is compiled to token patterns: space-separated
elements, each a ``|``-separated set of alternatives (an alternative may be several words: "i'm|we are");
``(a|b)?`` makes an element optional; ``~lemma`` matches a lemma; ``pre*`` a prefix; ``..N`` skips 0 to N
tokens; ``#num`` a number; ``#name`` a capitalised word; ``#punct`` punctuation; ``#end`` the end of the text
or a sentence-final mark. Example: ``"(i'm|we're|i am) (so|really)? sorry"``.

Labels:

- a behaviour or cue name (``apology``): a positive pattern;
- ``!name`` (``!apology``): an exception; a hit overlapping a ``name`` hit in the same turn cancels it
  ("sorry, could you repeat that?");
- ``_negation``: a negation word; it cancels a negatable behaviour that starts within ``NEGATION_WINDOW``
  tokens after it in the same clause;
- ``_sentiment`` with ``weight`` (-3..3): valence lexicon for customer sentiment;
- ``_reason`` with ``reason``: a contact-reason cue; ``_resolved``, ``_unresolved``, ``_churn`` and
  ``_profanity``: outcome signals.

Finding (here) is kept apart from interpreting (:mod:`empathy_score.detect`).
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass
from typing import Any, Sequence

import spacy
from spacy.attrs import IDS, IDX, LENGTH, ORTH, SENT_START
from spacy.matcher import Matcher, PhraseMatcher
from spacy.pipeline import Sentencizer
from spacy.schemas import validate_token_pattern
from spacy.strings import get_string_id
from spacy.tokens import Doc

from .errors import LanguageError
from .lang import ensure_language, read_jsonl
from .nlp import LEMMATIZER_FACTORY, LowercaseLookupLemmatizer, get_nlp, lemma_lookup_subset, lookup_lemma
from .taxonomy import BEHAVIORS, NEGATABLE

__all__ = ["Hit", "LanguageMatcher", "get_matcher", "compile_compact", "SIGNAL_LABELS", "NEGATION_WINDOW"]

NEGATION_WINDOW = 3
SIGNAL_LABELS = frozenset({"_negation", "_sentiment", "_reason", "_resolved", "_unresolved", "_churn", "_profanity"})
_SEPARATOR = "\n\n\n"
_TOKEN_ATTRS = {
    "ORTH", "TEXT", "LOWER", "LEMMA", "NORM", "IS_PUNCT", "IS_DIGIT", "IS_ALPHA", "LIKE_NUM", "IS_SENT_START",
    "OP", "IS_SPACE", "SHAPE", "LENGTH", "IS_TITLE", "IS_UPPER", "IS_LOWER", "PREFIX", "SUFFIX",
}


@dataclass(frozen=True, slots=True)
class Hit:
    """A raw pattern hit inside one text: character offsets are relative to that text."""

    label: str
    start: int
    end: int
    token_start: int
    token_end: int
    rule: str
    weight: float = 0.0
    reason: str | None = None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class _Rule:
    label: str
    rule: str
    weight: float
    reason: str | None


_MAX_EXPANSIONS = 4096
_EXACT_LIMIT = 256


def _alt_tokens(alt: str, nlp: Any) -> list[dict[str, Any]]:
    """Token dicts for one alternative of a compact element."""
    if alt.startswith("~"):
        return [{"LEMMA": w.lower()} for w in alt[1:].split("+")]
    if alt == "#num":
        return [{"LIKE_NUM": True}]
    if alt == "#name":
        return [{"IS_TITLE": True, "IS_ALPHA": True}]
    if alt == "#punct":
        return [{"IS_PUNCT": True}]
    if alt == "#end":
        return [{"LOWER": {"IN": [".", "!", "?", "…", "...", "\n"]}}]
    out: list[dict[str, Any]] = []
    for tok in nlp.make_doc(alt.replace("*", "\u2217")):
        text = tok.text.replace("\u2217", "*")
        if text.endswith("*") and len(text) > 1:
            out.append({"LOWER": {"REGEX": "^" + re.escape(text[:-1].lower())}})
        else:
            out.append({"LOWER": text.lower()})
    return out


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside parentheses; unbalanced parentheses raise ``ValueError``."""
    parts: list[str] = []
    depth = 0
    cur = ""
    for ch in text.strip():
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("')' without a matching '('")
        if ch == sep and depth == 0:
            if cur:
                parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth:
        raise ValueError("'(' without a matching ')'")
    if cur:
        parts.append(cur)
    return parts


def _split_elements(match: str) -> list[str]:
    return _split_top(match, " ")


def _merge_single(token_alts: list[list[dict[str, Any]]]) -> dict[str, Any] | None:
    """One token dict for alternatives that are each a single word, lemma or prefix; else ``None``."""
    if not all(len(t) == 1 and len(t[0]) == 1 for t in token_alts):
        return None
    attrs = {next(iter(t[0])) for t in token_alts}
    if attrs == {"LEMMA"}:
        return {"LEMMA": {"IN": [t[0]["LEMMA"] for t in token_alts]}}
    if attrs != {"LOWER"}:
        return None
    values = [t[0]["LOWER"] for t in token_alts]
    if all(isinstance(v, str) for v in values):
        return {"LOWER": {"IN": values}}
    parts = []
    for v in values:
        if isinstance(v, str):
            parts.append(re.escape(v) + "$")
        elif "REGEX" in v:
            parts.append(v["REGEX"][1:])
        else:
            parts.extend(re.escape(x) + "$" for x in v["IN"])
    return {"LOWER": {"REGEX": "^(?:" + "|".join(parts) + ")"}}


def _merge_by_length(token_alts: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """One sequence per length, each position merged: compact but may over-generate slightly."""
    by_len: dict[int, list[list[dict[str, Any]]]] = {}
    for t in token_alts:
        by_len.setdefault(len(t), []).append(t)
    out: list[list[dict[str, Any]]] = []
    for group in by_len.values():
        columns = [_merge_single([[alt[i]] for alt in group]) for i in range(len(group[0]))]
        if all(c is not None for c in columns):
            out.append([c for c in columns if c is not None])
        else:
            out.extend(group)
    return out


def _cluster_alternatives(token_alts: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Multi-word alternatives as few token sequences as possible, without over-generating.

    Alternatives of equal length that differ in one position only ("sick of" / "tired of") share one
    sequence with a merged token at that position; anything else stays a sequence of its own.
    """
    clusters: list[tuple[list[list[dict[str, Any]]], int | None]] = []
    for alt in token_alts:
        placed = False
        for n, (members, col) in enumerate(clusters):
            rep = members[0]
            if len(rep) != len(alt) or len(alt) < 2:
                continue
            diff = [i for i in range(len(alt)) if alt[i] != rep[i]]
            if len(diff) == 1 and (col is None or diff[0] == col):
                members.append(alt)
                clusters[n] = (members, diff[0])
                placed = True
                break
        if not placed:
            clusters.append(([alt], None))
    out: list[list[dict[str, Any]]] = []
    for members, col in clusters:
        if col is None or len(members) == 1:
            out.append(members[0])
            continue
        merged = _merge_single([[m[col]] for m in members])
        if merged is None:
            out.extend(members)
        else:
            out.append([merged if i == col else dict(t) for i, t in enumerate(members[0])])
    return out


def compile_compact(match: str, nlp: Any) -> list[list[dict[str, Any]]]:
    """Token patterns for a compact pattern string (see the module docstring).

    Groups nest: ``"(we|i) (really|(so very))? sorry"``. Unbalanced parentheses raise ``ValueError``.
    """
    variants = _compile_sequence(match, nlp)
    return [v for v in variants if any("OP" not in t or t["OP"] not in ("?",) for t in v)]


def _alternative_variants(alt: str, nlp: Any) -> list[list[dict[str, Any]]]:
    """Token sequences for one alternative: a word or phrase, or a nested compact sequence."""
    if "(" in alt and " " not in alt.strip() and not alt.startswith("("):
        raise ValueError(f"group glued to a word in {alt!r}: write it as its own element, e.g. 'happen (s)?'"
                         " becomes '(happen|happens)'")
    if "(" in alt or (" " in alt.strip() and any(m in alt for m in ("~", "#", ".."))):
        return _compile_sequence(alt, nlp)
    return [_alt_tokens(alt, nlp)]


def _compile_sequence(match: str, nlp: Any) -> list[list[dict[str, Any]]]:
    variants: list[list[dict[str, Any]]] = [[]]
    for el in _split_elements(match):
        optional = False
        if el.startswith("(") and (el.endswith(")?") or el.endswith(")")) and _encloses(el):
            optional = el.endswith("?")
            el = el[1:-2] if optional else el[1:-1]
        if el.startswith("..") and el[2:].isdigit():
            for v in variants:
                v.append({"OP": f"{{0,{int(el[2:])}}}"})
            continue
        token_alts = [seq for a in _split_top(el, "|") for seq in _alternative_variants(a, nlp)]
        if not token_alts:
            raise ValueError(f"empty element in {match!r}")
        for seq in token_alts:
            for tok in seq:
                if tok.get("LOWER") in ("(", ")"):
                    raise ValueError(f"stray parenthesis in {el!r}")
        merged = _merge_single(token_alts)
        if merged is not None:
            if optional:
                merged["OP"] = "?"
            for v in variants:
                v.append(dict(merged))
            continue
        if len(token_alts) == 1 and len(token_alts[0]) == 1 and not optional:
            for v in variants:
                v.append(dict(token_alts[0][0]))
            continue
        choices = _cluster_alternatives(token_alts)
        if len(variants) * len(choices) > _EXACT_LIMIT:
            choices = _merge_by_length(token_alts)
        choices += [[]] if optional else []
        variants = [v + [dict(t) for t in c] for v in variants for c in choices]
        if len(variants) > _MAX_EXPANSIONS:
            raise ValueError(f"compact pattern expands to more than {_MAX_EXPANSIONS} variants")
    return variants


def _encloses(el: str) -> bool:
    """Whether the '(' opening ``el`` is closed by its last ')' (not "(a|b) (c|d)" glued, nor "(a)b")."""
    depth = 0
    body = el[:-1] if el.endswith("?") else el
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(body) - 1:
                return False
    return True


def _star_to_tokens(pattern: str) -> list[dict[str, Any]]:
    tokens: list[dict[str, Any]] = []
    for word in pattern.split():
        if word.endswith("*") and len(word) > 1:
            tokens.append({"LOWER": {"REGEX": "^" + re.escape(word[:-1].lower())}})
        else:
            tokens.append({"LOWER": word.lower()})
    return tokens


_COMMON = frozenset(
    {",", ".", "!", "?", "-", "'", "'s", "n't", "nt", "'m", "'re", "'ll", "'ve", "'d", "a", "an", "the", "i", "you",
     "u", "we", "it", "is", "are", "to", "for", "of", "and", "or", "on", "in", "at", "be", "that", "this", "me",
     "my", "your", "so", "no", "not", "do", "have", "can", "will", "el", "la", "los", "las", "de", "que", "y", "en",
     "un", "una", "lo", "le", "se", "me", "te", "es", "por", "con", "su", "tu", "mi", "ja", "on", "ei", "se", "että",
     "olen", "on", "mä", "sä", "te", "me", "kun", "jos"}
)
_SPAN_CAP = 12  # "*" counts as at most this many tokens when sizing a window


def _token_values(tok: dict[str, Any]) -> tuple[set[str], set[str], set[str]] | None:
    """(lowercase words, lemmas, lowercase prefixes) one required token matches, or None if unindexable."""
    if tok.get("OP") in ("?", "*", "!") or str(tok.get("OP", "")).startswith("{0"):
        return None
    words: set[str] = set()
    lemmas: set[str] = set()
    prefixes: set[str] = set()
    for attr, target in (("LOWER", words), ("LEMMA", lemmas)):
        v = tok.get(attr)
        if isinstance(v, str):
            target.add(v)
        elif isinstance(v, dict) and "IN" in v:
            target.update(v["IN"])
        elif isinstance(v, dict) and "REGEX" in v and attr == "LOWER":
            body = v["REGEX"]
            if not body.startswith("^"):
                return None
            body = body[1:]
            if body.startswith("(?:") and body.endswith(")"):
                body = body[3:-1]
            for part in body.split("|"):
                raw = re.sub(r"\\(.)", r"\1", part)
                if any(c in raw for c in "()[]*+?{}.") and not raw.endswith("$"):
                    return None
                if raw.endswith("$"):
                    words.add(raw[:-1])
                else:
                    prefixes.add(raw)
        elif v is not None:
            return None
    if not (words or lemmas or prefixes):
        return None
    return words, lemmas, prefixes


def _width(tok: dict[str, Any]) -> int:
    op = str(tok.get("OP", ""))
    if op in ("*", "+"):
        return _SPAN_CAP
    m = re.fullmatch(r"\{(\d*),?(\d*)\}", op)
    if m:
        return int(m.group(2) or m.group(1) or _SPAN_CAP)
    return 1


# ---------------------------------------------------------------------------------------------------------------
# Fast token-pattern engine.
#
# spaCy's Matcher is exact but costly to call hundreds of times per document. The engine below gives the same
# results in the same order: it finds candidate matches with small tries walked outwards from each anchor
# occurrence (dict dispatch on word hashes), then replays spaCy's own state machine (``find_matches``) on just
# those candidates, so that the matches and their order equal what a Matcher call on the same window returns.
# Token attributes are read from one row per distinct word form (lexeme attributes and our lookup lemma are
# functions of the form), plus a per-token sentence-start column. Anything the engine does not model (an
# attribute, a predicate or an operator it does not know, or an anchor it cannot prove it sees) leaves its
# group on spaCy's Matcher, exactly as before.
# ---------------------------------------------------------------------------------------------------------------

_ZERO, _ONE, _ZERO_ONE, _ZERO_PLUS = 0, 1, 2, 3
# spaCy's transition actions (matcher.pyx ``get_action``)
_REJECT, _MATCH, _ADVANCE, _MATCH_EXTEND, _MATCH_REJECT, _MATCH_DOUBLE = 0, 1, 2, 3, 4, 5
_RETRY, _RETRY_ADVANCE, _RETRY_EXTEND = 6, 7, 8

# one row per distinct ORTH: these fixed slots, then one slot per further attribute the patterns use
_R_ORTH, _R_LOWER, _R_LEMMA, _R_ORTH_S, _R_LOWER_S, _R_LEMMA_S, _R_GIDS, _R_BREAK, _R_SENT_PUNCT, _R_PUNCT = range(10)
_R_FIXED = 10
_STRING_SLOTS = {"ORTH": _R_ORTH, "LOWER": _R_LOWER, "LEMMA": _R_LEMMA}  # string form at slot + 3
_FLAG_ATTRS = (
    "IS_ALPHA", "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_PUNCT", "IS_SPACE", "IS_TITLE", "IS_UPPER", "LIKE_URL",
    "LIKE_NUM", "LIKE_EMAIL", "IS_STOP", "IS_BRACKET", "IS_QUOTE", "IS_LEFT_PUNCT", "IS_RIGHT_PUNCT", "IS_CURRENCY",
)
_LEX_ATTRS = frozenset(_FLAG_ATTRS) | {"LENGTH", "SHAPE", "PREFIX", "SUFFIX"}
_SENT = -1  # pseudo-slot: the per-token sentence-start column
_COMPARISONS = {"==": "==", "!=": "!=", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}
_CACHE_LIMIT = 20_000  # word forms per cache (lexeme rows, ~8 MB); cleared when full, so memory stays bounded
_REGEX_CACHE_LIMIT = 5_000  # strings per REGEX test that is more than words and prefixes (one cache each)


class _Unsupported(Exception):
    """A pattern the engine does not model; its group keeps spaCy's Matcher."""


def _quantifiers(tok: dict[str, Any]) -> tuple[int, ...]:
    """The quantifiers one token spec expands to, as spaCy's ``_get_operators``."""
    spec = {k.upper(): v for k, v in tok.items() if isinstance(k, str)}
    if "OP" not in spec:
        return (_ONE,)
    op = spec["OP"]
    if not isinstance(op, str):
        raise _Unsupported
    simple = {"*": (_ZERO_PLUS,), "+": (_ONE, _ZERO_PLUS), "?": (_ZERO_ONE,), "1": (_ONE,), "!": (_ZERO,)}
    if op in simple:
        return simple[op]
    if not (op.startswith("{") and op.endswith("}")):
        raise _Unsupported
    min_max = op[1:-1]
    min_max = min_max if "," in min_max else f"{min_max},{min_max}"
    parts = min_max.split(",")
    if len(parts) != 2:
        raise _Unsupported
    n, m = parts
    if (not n.isdecimal() and not m.isdecimal()) or (n.isdecimal() and m.isdecimal() and int(n) > int(m)):
        raise _Unsupported
    if (n and not n.isdecimal()) or (m and not m.isdecimal()):
        raise _Unsupported
    head = (_ONE,) * int(n or 0)
    tail = (_ZERO_ONE,) * (int(m) - int(n or 0)) if m else (_ZERO_PLUS,)
    return head + tail


def _freeze(v: Any) -> Any:
    """A hashable key, equal for equal token specs (or values)."""
    t = type(v)
    if t is str:
        return v
    if t is dict:
        return ("{}",) + tuple(sorted(((str(k), _freeze(x)) for k, x in v.items()), key=_first))
    if t is list or t is tuple:
        if all(type(x) is str for x in v):
            return ("[]",) + tuple(v)
        return ("[]",) + tuple(_freeze(x) for x in v)
    return (t.__name__, v)


def _first(kv: tuple[str, Any]) -> str:
    return kv[0]


def _regex_tester(rx: str) -> Any:
    """A test of a token's string against ``rx``. A regex that only lists words and prefixes becomes a set
    lookup and a ``startswith``, which needs no cache; any other keeps a bounded cache of its answers."""
    literal = _literal_regex_values(rx)
    if literal is not None:
        words, prefixes = frozenset(literal[0]), tuple(sorted(literal[1]))
        if not prefixes:
            return words.__contains__

        def test_literal(s: str) -> bool:
            return s in words or s.startswith(prefixes)

        return test_literal
    search = re.compile(rx).search
    cache: dict[str, bool] = {}

    def test(s: str) -> bool:
        v = cache.get(s)
        if v is None:
            v = search(s) is not None
            if len(cache) > _REGEX_CACHE_LIMIT:
                cache.clear()
            cache[s] = v
        return v

    return test


def _any_token(R: Any, S: Any, i: int) -> bool:
    return True


class _Pred:
    """One token spec without its operator: a test ``(rows, sent_starts, i) -> bool``; for a plain word, lemma or
    form set also ``slot`` and ``values`` (hashes) so the tries can dispatch on it with one dict lookup."""

    __slots__ = ("test", "slot", "values", "wild", "uses_sent")

    def __init__(self, test: Any, slot: int | None, values: frozenset[int] | None, wild: bool, uses_sent: bool):
        self.test = test
        self.slot = slot
        self.values = values
        self.wild = wild
        self.uses_sent = uses_sent


class _SpecCompiler:
    """Token specs -> :class:`_Pred`, mirroring spaCy's ``_preprocess_pattern`` for the attributes it knows."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self.strings = vocab.strings
        self.extra: dict[str, int] = {}  # lexeme attribute -> row slot
        self._preds: dict[Any, tuple[Any, _Pred]] = {}
        self._regexes: dict[str, Any] = {}
        self.uses_sent = False

    def _slot(self, attr: str) -> int:
        if attr in _STRING_SLOTS:
            return _STRING_SLOTS[attr]
        if attr == "SENT_START":
            return _SENT
        if attr in _LEX_ATTRS:
            slot = self.extra.get(attr)
            if slot is None:
                slot = self.extra[attr] = _R_FIXED + len(self.extra)
            return slot
        raise _Unsupported

    def pred(self, tok: dict[str, Any]) -> tuple[Any, _Pred]:
        """(identity key, predicate) of one token spec, its operator left out. Equal specs get the same key
        object, so the tries built from tens of thousands of patterns hold each key once."""
        if len(tok) == 1:
            ((k, v),) = tok.items()
            # the common spec, one attribute with a string ({"LOWER": "sorry"}): its frozen form, directly
            key = ("{}", (k, v)) if type(k) is str and type(v) is str and k.upper() != "OP" else None
        else:
            key = None
        if key is None:
            key = _freeze({k: v for k, v in tok.items() if not (isinstance(k, str) and k.upper() == "OP")})
        e = self._preds.get(key)
        if e is None:
            p = self._compile(tok)
            e = self._preds[key] = (key, p)
            self.uses_sent = self.uses_sent or p.uses_sent
        return e

    def _compile(self, tok: dict[str, Any]) -> _Pred:
        if not isinstance(tok, dict):
            raise _Unsupported
        terms: list[str] = []
        consts: dict[str, Any] = {}
        dispatch: list[tuple[int, frozenset[int]]] = []
        uses_sent = False

        def const(v: Any) -> str:
            name = f"c{len(consts)}"
            consts[name] = v
            return name

        for attr, value in tok.items():
            if not isinstance(attr, str):
                raise _Unsupported
            a = attr.upper()
            if a == "OP":
                continue
            if a == "TEXT":
                a = "ORTH"
            if a == "IS_SENT_START":
                if isinstance(value, dict):
                    raise _Unsupported  # spaCy does not map predicates on IS_SENT_START
                a = "SENT_START"
            slot = self._slot(a)
            ref = "S[i]" if slot == _SENT else f"r[{slot}]"
            uses_sent = uses_sent or slot == _SENT
            if isinstance(value, str):
                h = self.strings.add(value)
                terms.append(f"{ref} == {const(h)}")
                if slot in (_R_ORTH, _R_LOWER, _R_LEMMA):
                    dispatch.append((slot, frozenset([h])))
            elif isinstance(value, bool) or isinstance(value, int):
                terms.append(f"{ref} == {const(int(value))}")
            elif isinstance(value, dict):
                for op, v in value.items():
                    if not isinstance(op, str):
                        raise _Unsupported
                    op = op.upper()
                    if op in ("IN", "NOT_IN"):
                        if not isinstance(v, list) or not all(isinstance(x, (str, int)) for x in v):
                            raise _Unsupported
                        values = frozenset(get_string_id(x) for x in v)
                        terms.append(f"{ref} {'in' if op == 'IN' else 'not in'} {const(values)}")
                        if op == "IN" and slot in (_R_ORTH, _R_LOWER, _R_LEMMA) and len(value) == 1:
                            dispatch.append((slot, values))
                    elif op == "REGEX":
                        if not isinstance(v, str) or slot not in (_R_ORTH, _R_LOWER, _R_LEMMA):
                            raise _Unsupported
                        tester = self._regexes.get(v)
                        if tester is None:
                            try:
                                tester = self._regexes[v] = _regex_tester(v)
                            except re.error:
                                raise _Unsupported from None
                        terms.append(f"{const(tester)}(r[{slot + 3}])")
                    elif op in _COMPARISONS and isinstance(v, (int, float)) and not isinstance(v, bool):
                        terms.append(f"{ref} {_COMPARISONS[op]} {const(v)}")
                    else:
                        raise _Unsupported
            else:
                raise _Unsupported
        if not terms:
            return _Pred(_any_token, None, None, True, False)
        src = "def _t(R, S, i):\n    r = R[i]\n    return " + " and ".join(f"({t})" for t in terms) + "\n"
        ns: dict[str, Any] = dict(consts)
        exec(src, ns)  # noqa: S102 - generated from validated token specs, constants passed by name
        slot, values = (dispatch[0] if len(terms) == 1 and len(dispatch) == 1 else (None, None))
        return _Pred(ns["_t"], slot, values, False, uses_sent)

    def pattern(self, variant: list[dict[str, Any]]) -> tuple[list[tuple[int, Any, _Pred]], list[int]]:
        """Expanded specs ``(quantifier, key, pred)`` of a token pattern, and where each token's specs begin."""
        if not variant:
            raise _Unsupported
        specs: list[tuple[int, Any, _Pred]] = []
        starts: list[int] = []
        for tok in variant:
            if not isinstance(tok, dict):
                raise _Unsupported
            if any(isinstance(k, str) and k == "_" for k in tok):
                raise _Unsupported
            starts.append(len(specs))
            if not tok:
                specs.append((_ONE, ("any",), _Pred(_any_token, None, None, True, False)))
                continue
            quants = _quantifiers(tok)
            key, p = self.pred(tok)
            specs.extend((q, key, p) for q in quants)
        if not specs:
            raise _Unsupported
        return specs, starts


_LEAF: dict[Any, Any] = {}  # the children of every trie leaf (never written to)
_GAP = 4  # trie-only: a run of optional wildcards ("..N", {"OP": "*"}) as one node with a skip budget
_INF = 1 << 30


class _Node:
    """A trie node: one expanded spec (or a gap); ``ends`` are the patterns whose spec sequence ends here."""

    __slots__ = ("quant", "pred", "budget", "children", "ends", "nxt", "acc", "target", "trie")

    def __init__(self, quant: int, pred: _Pred | None, budget: int = 0, trie: int = 0) -> None:
        self.quant = quant
        self.pred = pred
        self.budget = budget
        self.trie = trie
        self.children: dict[Any, _Node] = _LEAF  # replaced by a node's own dict at its first child
        self.ends: tuple[Any, ...] = ()
        self.nxt: _Disp | None = None  # where the walk goes after this node consumed a token
        # patterns complete right after this node consumed a token; None until the builder resolves the node
        self.acc: tuple[int, ...] | None = None
        self.target: _Disp | None = None  # for a gap: the nodes after it


class _Disp:
    """The nodes that may consume the next token, grouped for dispatch: by word/lemma/form hash, wildcards,
    and the rest (tested one by one). ``acc0``: patterns complete without consuming anything; ``eps``: the
    gaps entered for free, as (nodes after the gap, skip budget)."""

    __slots__ = ("by", "anys", "others", "acc0", "eps")

    def __init__(self, nodes: list[_Node], acc0: tuple[int, ...], eps: tuple[tuple[_Disp, int], ...]) -> None:
        by: dict[int, dict[int, list[_Node]]] = {}
        anys: list[_Node] = []
        others: list[_Node] = []
        for x in nodes:
            p = x.pred
            assert p is not None
            if x.quant == _ZERO or (p.slot is None and not p.wild):
                others.append(x)
            elif p.wild:
                anys.append(x)
            else:
                table = by.setdefault(p.slot, {})  # type: ignore[arg-type]
                for h in p.values:  # type: ignore[union-attr]
                    table.setdefault(h, []).append(x)
        self.by = tuple((slot, {h: tuple(xs) for h, xs in t.items()}) for slot, t in by.items())
        self.anys = tuple(anys)
        self.others = tuple(others)
        self.acc0 = acc0
        self.eps = eps

    @property
    def live(self) -> bool:
        return bool(self.by or self.anys or self.others or self.eps)


def _gapped(specs: list[tuple[int, Any, _Pred]]) -> list[tuple[int, Any, _Pred | None]]:
    """Runs of optional wildcard specs merged into gap nodes (same token sequences matched)."""
    out: list[tuple[int, Any, _Pred | None]] = []
    for q, key, p in specs:
        if p.wild and q in (_ZERO_ONE, _ZERO_PLUS):
            n = 1 if q == _ZERO_ONE else _INF
            if out and out[-1][0] == _GAP:
                n = min(out[-1][1][1] + n, _INF)
                out[-1] = (_GAP, ("gap", n), None)
            else:
                out.append((_GAP, ("gap", n), None))
        else:
            out.append((q, key, p))
    return out


class _TrieBuilder:
    """Builds tries of spec sequences and compiles them to dispatch tables (shared within a trie).

    Only a trie's root table is compiled when it is built; a node's table (where a walk goes after the node
    consumed a token) is compiled the first time a walk gets there (:meth:`resolve`). Real text reaches a
    small part of a trie of tens of thousands of patterns, so this saves most of the build time and memory.
    """

    def __init__(self) -> None:
        self.memo: dict[Any, _Disp] = {}
        self.keep: list[_Node] = []  # nodes stay alive while ids key the memo
        self.trie = 0  # tables are shared within a trie only
        self._shared: dict[Any, Any] = {}

    def shared(self, t: Any) -> Any:
        """One object for equal tuples (tens of thousands of patterns repeat few shapes)."""
        return self._shared.setdefault(t, t)

    def build(self, seqs: list[tuple[int, list[tuple[int, Any, _Pred]]]]) -> _Disp:
        """Trie of the sequences ``(pattern index, specs)``; returns the root's dispatch table."""
        self.trie += 1
        trie = self.trie
        root = _Node(_ONE, None, 0, trie)
        edges: dict[tuple[int, Any], tuple[int, Any]] = {}
        for j, specs in seqs:
            node = root
            for quant, key, pred in _gapped(specs):
                k = edges.setdefault((quant, key), (quant, key))  # one key object per distinct edge
                child = node.children.get(k)
                if child is None:
                    if node.children is _LEAF:
                        node.children = {}
                    child = node.children[k] = _Node(quant, pred, key[1] if quant == _GAP else 0, trie)
                    self.keep.append(child)
                node = child
            node.ends += (j,)
        return self.disp(list(root.children.values()), list(root.ends), trie)

    def resolve(self, x: _Node) -> None:
        """Compile where a walk goes after ``x`` consumed a token (``x.nxt``) and what completes (``x.acc``)."""
        seeds = list(x.children.values()) + ([x] if x.quant == _ZERO_PLUS else [])
        d = self.disp(seeds, [], x.trie)
        x.nxt = d if d.live else None
        x.acc = tuple(dict.fromkeys(x.ends + d.acc0))

    def gap_target(self, g: _Node) -> _Disp:
        if g.target is None:
            g.target = self.disp(list(g.children.values()), list(g.ends), g.trie)
        return g.target

    def disp(self, seeds: list[_Node], acc0: list[int], trie: int) -> _Disp:
        """Dispatch table of the nodes reachable from ``seeds`` by skipping optional specs."""
        seen: dict[int, _Node] = {}
        acc = list(acc0)
        stack = list(seeds)
        nodes: list[_Node] = []
        eps: list[tuple[_Disp, int]] = []
        while stack:
            x = stack.pop()
            if id(x) in seen:
                continue
            seen[id(x)] = x
            if x.quant == _GAP:
                t = self.gap_target(x)
                acc.extend(t.acc0)  # the gap skips nothing
                eps.append((t, x.budget))
                eps.extend(t.eps)
                continue
            nodes.append(x)
            if x.quant in (_ZERO_ONE, _ZERO_PLUS):
                acc.extend(x.ends)
                stack.extend(x.children.values())
        acc_t = tuple(dict.fromkeys(acc))
        mkey = (trie, frozenset(seen))
        d = self.memo.get(mkey)
        if d is None or d.acc0 != acc_t:
            d = _Disp(nodes, acc_t, tuple(eps))
            self.memo[mkey] = d
        return d


def _reach(front: dict[int, list[Any]], d: Any, budget: int) -> None:
    """Put ``d`` in the frontier with at least ``budget`` tokens of gap left."""
    e = front.get(id(d))
    if e is None:
        front[id(d)] = [d, budget]
    elif e[1] < budget:
        e[1] = budget


def _front(d: _Disp, budget: int = 0) -> dict[int, list[Any]]:
    """A walk frontier holding ``d`` and the gaps it enters for free."""
    front: dict[int, list[Any]] = {id(d): [d, budget]}
    for t, n in d.eps:
        _reach(front, t, n)
    return front


def _step(front: dict[int, list[Any]], R: Any, S: Any, p: int,
          builder: _TrieBuilder) -> tuple[list[_Node], dict[int, list[Any]], list[Any]]:
    """One token of a walk: (nodes that consumed token ``p``, each resolved, next frontier, gap tables that
    skipped it).

    The frontier maps each dispatch table to the largest skip budget it is reached with (a larger budget can
    do all that a smaller one can)."""
    r = R[p]
    nxt: dict[int, list[Any]] = {}
    skipped: list[Any] = []
    consumed: list[_Node] = []
    for d, budget in front.values():
        for slot, table in d.by:
            xs = table.get(r[slot])
            if xs is not None:
                consumed.extend(xs)
        if d.anys:
            consumed.extend(d.anys)
        for x in d.others:
            ok = x.pred.test(R, S, p)  # type: ignore[union-attr]
            if ok if x.quant != _ZERO else not ok:
                consumed.append(x)
        if budget:  # skip this token inside a gap
            if d.acc0:
                skipped.append(d)
            _reach(nxt, d, budget - 1)
            for t, n in d.eps:
                _reach(nxt, t, n)
    for x in consumed:
        if x.acc is None:
            builder.resolve(x)
        d = x.nxt
        if d is not None and id(d) not in nxt:
            nxt[id(d)] = [d, 0]
            for t, n in d.eps:
                _reach(nxt, t, n)
    return consumed, nxt, skipped


class _DState:
    """A walk frontier as a lazily built DFA state: transitions cached per word form (and sentence start when
    a test here reads it), as (next state or None, patterns completed by consuming the token).

    The key is the form's hash, a non-negative int; where the state reads sentence starts, its complement
    (``~orth``) at a sentence start. Unlike a (form, start) pair, an int costs no object per token or per
    cached transition."""

    __slots__ = ("front", "trans", "sent")

    def __init__(self, front: dict[int, list[Any]]) -> None:
        self.front = front
        self.trans: dict[Any, tuple[_DState | None, tuple[int, ...]]] = {}
        self.sent = any(x.pred is not None and x.pred.uses_sent for d, _ in front.values() for x in d.others)


class _Dfa:
    """The walks over one trie as a DFA built on demand. A transition gives the next state and the trie's end
    tags completed by consuming the token. ``reach``: the most tokens a walk can consume.

    Bounded, so that memory stays flat however much text goes through: when the states or the transitions
    learnt exceed their budgets, the whole automaton is dropped and regrown from the start state (as RE2 does
    with its DFA cache). Walks under way keep the states they hold; the results do not change."""

    __slots__ = ("root", "start", "states", "reach", "builder", "n_trans", "flushes")

    def __init__(self, root: _Disp, builder: _TrieBuilder, reach: int | None = None) -> None:
        self.root = root
        self.builder = builder
        self.reach = reach
        self.flushes = 0
        self._flush()

    def _flush(self) -> None:
        self.states: dict[Any, _DState] = {}
        self.n_trans = 0
        self.start = self._intern(_front(self.root))

    def _intern(self, front: dict[int, list[Any]]) -> _DState | None:
        if not front:
            return None
        key = frozenset((k, e[1]) for k, e in front.items())
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = _DState(front)
        return st

    def step(self, st: _DState, key: Any, R: Any, S: Any, p: int) -> tuple[_DState | None, tuple[Any, ...]]:
        consumed, front, skipped = _step(st.front, R, S, p, self.builder)
        acc: list[Any] = []
        for x in consumed:
            acc.extend(x.acc)
        for d in skipped:
            acc.extend(d.acc0)
        if len(self.states) > _DFA_STATES or self.n_trans > _DFA_TRANSITIONS:
            self.flushes += 1
            self._flush()  # ``st`` stays valid for the walk that holds it; it is no longer reachable
        nxt = self._intern(front)
        tr = (nxt, tuple(dict.fromkeys(acc))) if nxt is not None or acc else _DEAD
        st.trans[key] = tr
        self.n_trans += 1
        return tr


_DEAD: tuple[Any, tuple[Any, ...]] = (None, ())  # the transition of a walk that ends with nothing found
_TOKENIZER_DOCS = 4096  # documents per private tokenizer copy (their new word forms: ~15 MB)
_DFA_STATES = 20_000  # states of one language's automaton before it is dropped and regrown
_DFA_TRANSITIONS = 150_000  # transitions, all states together (~20 MB)


def _walk_starts(dfa: _Dfa, R: Any, S: Any, p: int, lo: int) -> dict[int, set[int]] | None:
    """Backward from token ``p`` (the one before the anchor): pattern -> start positions (``>= lo``)."""
    res: dict[int, set[int]] | None = None
    st = dfa.start
    while st is not None and p >= lo:
        key = R[p][_R_ORTH]
        if st.sent and S[p]:  # type: ignore[index]
            key = ~key  # see _DState
        tr = st.trans.get(key)
        if tr is None:
            tr = dfa.step(st, key, R, S, p)
        st, acc = tr
        if acc:
            if res is None:
                res = {}
            for j in acc:
                s = res.get(j)
                if s is None:
                    res[j] = {p}
                else:
                    s.add(p)
        p -= 1
    return res


def _replay(quants: tuple[int, ...], tests: tuple[Any, ...], j: int, kh: int, s: int, hi: int, R: Any, S: Any,
            events: list[tuple[Any, ...]]) -> None:
    """spaCy's ``find_matches`` for the states that pattern ``j`` starts at token ``s`` (window ends at ``hi``).

    Emits ``(step, state order key, sub, key, start, end)``: spaCy reports matches by step, then by the state's
    place in its state vector, which the key reproduces (states keep their place; a state forked at step ``t``
    goes after every surviving state, ordered by its parent's place and then fork order; fresh states of the
    next step come after those). All states of one start have the same length at a step, so two states at the
    same spec have the same future; the later one only repeats matches already reported, and is dropped.
    """
    last = len(quants) - 1
    states: dict[int, Any] = {0: (2 * s + 1, j)}
    t = s
    while t < hi:
        nxt: dict[int, Any] = {}
        forked = 2 * t + 2
        for p, key in states.items():
            branch = 0
            while True:
                q = quants[p]
                m = tests[p](R, S, t)
                if q == _ZERO:
                    m = not m
                    q = _ONE
                final = p == last
                if q == _ONE:
                    act = (_MATCH if final else _ADVANCE) if m else _REJECT
                elif q == _ZERO_PLUS:
                    act = (_MATCH_EXTEND if final else _RETRY_EXTEND) if m else (_MATCH_REJECT if final else _RETRY)
                else:
                    act = (_MATCH_DOUBLE if final else _RETRY_ADVANCE) if m else (_MATCH_REJECT if final else _RETRY)
                if act < _RETRY:
                    break
                if act != _RETRY:
                    fp = p if act == _RETRY_EXTEND else p + 1
                    fkey = (forked, key, branch)
                    branch += 1
                    old = nxt.get(fp)
                    if old is None or fkey < old:
                        nxt[fp] = fkey
                p += 1
            if act == _ADVANCE or act == _MATCH_EXTEND:
                if act == _MATCH_EXTEND:
                    if t > s:
                        events.append((t, key, 0, kh, s, t))
                    fp = p
                else:
                    fp = p + 1
                old = nxt.get(fp)
                if old is None or key < old:
                    nxt[fp] = key
            elif act == _MATCH:
                events.append((t, key, 0, kh, s, t + 1))
            elif act == _MATCH_REJECT:
                if t > s:
                    events.append((t, key, 0, kh, s, t))
            elif act == _MATCH_DOUBLE:
                if t > s:
                    events.append((t, key, 0, kh, s, t))
                events.append((t, key, 1, kh, s, t + 1))
        if not nxt:
            return
        states = nxt
        t += 1
    for p, key in states.items():  # finish_states: states that end in zero-width specs
        while quants[p] in (_ZERO_PLUS, _ZERO_ONE):
            if p == last:
                if hi > s:
                    events.append((hi, key, 0, kh, s, hi))
                break
            p += 1


def _ordered_matches(events: list[tuple[Any, ...]]) -> list[tuple[int, int, int]]:
    """Matches in spaCy's output order, duplicates dropped (spaCy dedupes on (key, start, end))."""
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    seen: set[tuple[int, int, int]] = set()
    out: list[tuple[int, int, int]] = []
    for e in events:
        m = (e[3], e[4], e[5])
        if m not in seen:
            seen.add(m)
            out.append(m)
    return out


class _FastGroup:
    """Patterns sharing an anchor, compiled for the engine: each pattern's expanded specs (for the replay) and,
    when the patterns are bounded, the specs for the index's one trie; else a forward trie from the anchor spec
    on and a backward trie over the specs before it (reversed), walked from each anchor token."""

    __slots__ = ("before", "after", "keys", "quants", "tests", "fixed", "bounded", "specs", "fwd", "back",
                 "at_anchor", "prefixed")

    def __init__(self, before: int, after: int, compiled: list[tuple[int, list[tuple[int, Any, _Pred]], int]],
                 builder: _TrieBuilder) -> None:
        self.before = before
        self.after = after
        self.keys = tuple(kh for kh, _, _ in compiled)
        same = builder.shared
        self.quants = tuple(same(tuple(q for q, _, _ in specs)) for _, specs, _ in compiled)
        self.tests = tuple(same(tuple(p.test for _, _, p in specs)) for _, specs, _ in compiled)
        # length of each pattern made of single tokens only (its one match needs no replay), else 0
        self.fixed = tuple(len(q) if all(x in (_ONE, _ZERO) for x in q) else 0 for q in self.quants)
        # bounded: no spec repeats without bound, so every match lies in its anchor token's window
        self.bounded = not any(_ZERO_PLUS in q for q in self.quants)
        self.specs: list[list[tuple[int, Any, _Pred]]] | None = None
        self.fwd: _Dfa | None = None
        self.back: _Dfa | None = None
        self.at_anchor: frozenset[int] = frozenset()
        self.prefixed: frozenset[int] = frozenset()
        if self.bounded:
            self.specs = [specs for _, specs, _ in compiled]  # taken by the index's trie
            return
        self.fwd = _Dfa(builder.build([(j, specs[a:]) for j, (_, specs, a) in enumerate(compiled)]), builder)
        back = builder.build([(j, specs[:a][::-1]) for j, (_, specs, a) in enumerate(compiled)])
        self.back = _Dfa(back, builder) if back.live else None
        self.at_anchor = frozenset(back.acc0)  # patterns that may start at the anchor itself
        self.prefixed = frozenset(j for j, (_, specs, a) in enumerate(compiled) if a > 0)

    def run(self, R: Any, S: Any, occurrences: list[int], lo: int, hi: int) -> list[tuple[int, int, int]]:
        """Matches inside ``[lo, hi)`` in the order spaCy's Matcher reports them on ``doc[lo:hi]``; every match
        there holds one of ``occurrences`` (tokens that may match the anchor spec)."""
        cands: set[tuple[int, int]] | None = None
        assert self.fwd is not None
        start = self.fwd.start
        for i in occurrences:
            # forward walk from the anchor (the DFA's cached transitions, inlined)
            js: set[int] | None = None
            st = start
            p = i
            while st is not None and p < hi:
                key = R[p][_R_ORTH]
                if st.sent and S[p]:
                    key = ~key  # see _DState
                tr = st.trans.get(key)
                if tr is None:
                    tr = self.fwd.step(st, key, R, S, p)  # type: ignore[arg-type]
                st, acc = tr
                if acc:
                    if js is None:
                        js = set(acc)
                    else:
                        js.update(acc)
                p += 1
            if js is None:
                continue
            starts = None
            if self.back is not None and not self.prefixed.isdisjoint(js):
                starts = _walk_starts(self.back, R, S, i - 1, lo)  # type: ignore[arg-type]
            at_anchor = self.at_anchor
            if cands is None:
                cands = set()
            for j in js:
                if j in at_anchor:
                    cands.add((j, i))
                if starts is not None:
                    for s in starts.get(j, ()):
                        cands.add((j, s))
        if not cands:
            return []
        return self.emit(R, S, cands, hi)

    def emit(self, R: Any, S: Any, cands: set[tuple[int, int]], hi: int) -> list[tuple[int, int, int]]:
        """The matches of the candidate (pattern, start) pairs of one window ending at ``hi``, in spaCy's order."""
        events: list[tuple[Any, ...]] = []
        keys, quants, tests, fixed = self.keys, self.quants, self.tests, self.fixed
        for j, s in cands:
            n = fixed[j]
            if n:  # the walks proved it matches [s, s + n): spaCy reports it at its last token, state unforked
                events.append((s + n - 1, (2 * s + 1, j), 0, keys[j], s, s + n))
            else:
                _replay(quants[j], tests[j], j, keys[j], s, hi, R, S, events)
        if len(events) == 1:
            e = events[0]
            return [(e[3], e[4], e[5])]
        return _ordered_matches(events)

    def scan(self, R: Any, S: Any, idx: list[int], n: int, found: set[tuple[int, int, int]]) -> None:
        """Add the matches of this group's windows around the anchor tokens ``idx`` to ``found``, in the order
        the Matcher calls on those windows would have added them."""
        before, after = self.before, self.after
        if len(idx) == 1:
            i = idx[0]
            m = self.run(R, S, idx, i - before if i > before else 0, i + after if i + after < n else n)
            if m:
                found.update(m)
            return
        start = end = -1
        occ: list[int] = []
        for i in idx:
            lo, hi = i - before, i + after
            if lo < 0:
                lo = 0
            if hi > n:
                hi = n
            if lo <= end:
                if hi > end:
                    end = hi
                occ.append(i)
                continue
            if end >= 0:
                m = self.run(R, S, occ, start, end)
                if m:
                    found.update(m)
            start, end = lo, hi
            occ = [i]
        if end >= 0:
            m = self.run(R, S, occ, start, end)
            if m:
                found.update(m)

    def entry_points(self, R: Any, S: Any, n: int) -> list[int]:
        """Tokens where a match of an unanchored group can start (its first spec consumes the token)."""
        assert self.fwd is not None
        d = self.fwd.root
        if d.anys or d.eps:
            return list(range(n))
        by, others = d.by, d.others
        out: list[int] = []
        for i in range(n):
            r = R[i]
            if any(r[slot] in table for slot, table in by):
                out.append(i)
                continue
            for x in others:
                ok = x.pred.test(R, S, i)  # type: ignore[union-attr]
                if ok if x.quant != _ZERO else not ok:
                    out.append(i)
                    break
        return out


def _literal_regex_values(regex: str) -> tuple[set[str], set[str]] | None:
    """(words, prefixes) when ``regex`` is exactly ``^lit`` / ``^(?:w1$|p1|...)`` over escaped literals, so that
    (for tokens, which never mix whitespace and other characters) it matches a word iff the word is one of
    ``words`` or starts with one of ``prefixes``; else ``None``."""
    if not regex.startswith("^"):
        return None
    body = regex[1:]
    wrapped = body.startswith("(?:") and body.endswith(")")
    if wrapped:
        body = body[3:-1]
    parts = body.split("|")
    if len(parts) > 1 and not wrapped:
        return None
    words: set[str] = set()
    prefixes: set[str] = set()
    for part in parts:
        raw = re.sub(r"\\(.)", r"\1", part)
        if part.endswith("$") and part == re.escape(raw[:-1]) + "$":
            if not raw[:-1] or any(c.isspace() for c in raw):
                return None
            words.add(raw[:-1])
        elif part == re.escape(raw):
            if any(c.isspace() for c in raw):
                return None
            prefixes.add(raw)
        else:
            return None
    return words, prefixes


def _anchor_seen(tok: dict[str, Any], sig: tuple[frozenset[str], frozenset[str], frozenset[str]]) -> bool:
    """Whether every token matching ``tok`` is found by the anchor lookup of ``sig`` (words, lemmas, prefixes)."""
    words, lemmas, prefixes = sig
    v = tok.get("LOWER")
    if isinstance(v, str):
        return v in words
    if isinstance(v, dict) and "IN" in v:
        return isinstance(v["IN"], list) and all(isinstance(x, str) and x in words for x in v["IN"])
    if isinstance(v, dict) and isinstance(v.get("REGEX"), str):
        lit = _literal_regex_values(v["REGEX"])
        if lit is not None and lit[0] <= words and lit[1] <= prefixes:
            return True
    v = tok.get("LEMMA")
    if isinstance(v, str):
        return bool(v) and v in lemmas
    if isinstance(v, dict) and "IN" in v:
        return isinstance(v["IN"], list) and all(isinstance(x, str) and x and x in lemmas for x in v["IN"])
    return False


def _legacy_matcher(vocab: Any, members: list[tuple[str, list[dict[str, Any]], str]], validate: bool = True) -> Any:
    m = Matcher(vocab, validate=validate)
    for key, variant, where in members:
        try:
            m.add(key, [variant])
        except (ValueError, KeyError) as exc:
            raise LanguageError(f"{where}: invalid token pattern ({exc})") from None
    return m


def _lemma_values(pending: list[tuple[str, list[dict[str, Any]], str]]) -> set[str] | None:
    """Every lemma the token patterns compare with, or ``None`` when one tests lemmas otherwise (a regex)."""
    out: set[str] = set()
    for _key, variant, _where in pending:
        for tok in variant:
            v = tok.get("LEMMA")
            if v is None:
                continue
            if isinstance(v, str):
                out.add(v)
            elif isinstance(v, dict) and v and set(v) <= {"IN", "NOT_IN"}:
                for values in v.values():
                    if not isinstance(values, list) or not all(isinstance(x, str) for x in values):
                        return None
                    out.update(values)
            else:
                return None
    return out


class _Validator:
    """spaCy's token-pattern schema check, run once per distinct token spec (the schema checks tokens one by
    one), so invalid pattern files still fail when the language is loaded."""

    def __init__(self) -> None:
        self._ok: set[Any] = set()

    def ok(self, variant: list[dict[str, Any]]) -> bool:
        if not variant:
            return False
        for tok in variant:
            try:
                key = _freeze(tok)
            except TypeError:
                return False
            if key in self._ok:
                continue
            if validate_token_pattern([tok]):
                return False
            self._ok.add(key)
        return True


class _AnchorIndex:
    """Token patterns grouped by a selective required token (the anchor).

    Running thousands of patterns at every token is slow. Each pattern is filed under its most selective
    required token; a document runs only the groups whose anchor occurs in it, on a window around each
    occurrence wide enough for the whole pattern. Results equal those of one matcher holding every pattern.
    Groups run on the fast engine above; a group it does not model runs on spaCy's Matcher.
    """

    def __init__(self, vocab: Any, pending: list[tuple[str, list[dict[str, Any]], str]]) -> None:
        self.by_word: dict[str, list[int]] = {}
        self.by_lemma: dict[str, list[int]] = {}
        self.by_prefix: dict[str, list[tuple[str, int]]] = {}
        # (fast group or None, spaCy matcher or None, tokens before anchor, tokens from anchor on)
        self.groups: list[tuple[_FastGroup | None, Any, int, int]] = []
        self.always: Any = None  # spaCy matcher for unanchored patterns the engine does not model
        self.always_fast: _FastGroup | None = None
        self.n_patterns = len(pending)
        self.compiler = _SpecCompiler(vocab)
        strings = vocab.strings
        validator = _Validator()
        builder = _TrieBuilder()
        groups: dict[tuple[Any, ...], list[tuple[str, list[dict[str, Any]], str, int, int, int]]] = {}
        loose: list[tuple[str, list[dict[str, Any]], str]] = []
        for key, variant, where in pending:
            best: tuple[float, int, tuple[set[str], set[str], set[str]]] | None = None
            for i, tok in enumerate(variant):
                vals = _token_values(tok)
                if vals is None:
                    continue
                words, lemmas, prefixes = vals
                cost = 100.0 * sum(1 for w in words | lemmas if w in _COMMON) + len(words) + len(lemmas)
                cost += sum(40.0 if len(p) < 3 else 2.0 for p in prefixes)
                if best is None or cost < best[0]:
                    best = (cost, i, vals)
            if best is None:
                loose.append((key, variant, where))
                continue
            _, pos, (words, lemmas, prefixes) = best
            before = sum(_width(t) for t in variant[:pos])
            after = sum(_width(t) for t in variant[pos:])
            sig = (frozenset(words), frozenset(lemmas), frozenset(prefixes))
            groups.setdefault(sig, []).append((key, variant, where, before, after, pos))
        for sig, members in groups.items():
            gid = len(self.groups)
            before = max(m[3] for m in members)
            after = max(m[4] for m in members)
            fast = self._compile(members, sig, strings, validator, builder)
            legacy = None if fast is not None else _legacy_matcher(vocab, [(k, v, w) for k, v, w, *_ in members])
            self.groups.append((fast, legacy, before, after))
            words, lemmas, prefixes = sig
            for w in words:
                self.by_word.setdefault(w, []).append(gid)
            for lm in lemmas:
                self.by_lemma.setdefault(lm, []).append(gid)
            for p in prefixes:
                self.by_prefix.setdefault(p[:3], []).append((p, gid))
        if loose:
            self.always_fast = self._compile([(k, v, w, 0, 0, 0) for k, v, w in loose], None, strings, validator, builder)
            if self.always_fast is None:
                self.always = _legacy_matcher(vocab, loose)
        self._prefix_lengths = sorted({len(k) for k in self.by_prefix})
        # one trie of every bounded engine pattern, from its first spec, its ends tagged (group, pattern)
        seqs: list[tuple[Any, list[tuple[int, Any, _Pred]]]] = []
        tagged = [(gid, g[0]) for gid, g in enumerate(self.groups)] + [(_LOOSE, self.always_fast)]
        for gid, fast in tagged:
            if fast is not None and fast.specs is not None:
                seqs.extend(((gid, j), specs) for j, specs in enumerate(fast.specs))
                fast.specs = None
        self.dfa = _Dfa(builder.build(seqs), builder, max(len(sp) for _, sp in seqs)) if seqs else None

    def _compile(self, members: list[tuple[str, list[dict[str, Any]], str, int, int, int]], sig: Any, strings: Any,
                 validator: _Validator, builder: _TrieBuilder) -> _FastGroup | None:
        """The group on the engine, or ``None`` to keep it on spaCy's Matcher."""
        compiled: list[tuple[int, list[tuple[int, Any, _Pred]], int]] = []
        for key, variant, _where, _b, _a, pos in members:
            if not validator.ok(variant):
                return None  # spaCy's Matcher raises the error
            try:
                specs, starts = self.compiler.pattern(variant)
            except _Unsupported:
                return None
            if sig is None:
                a = 0  # unanchored: tried at every token
            else:
                a = starts[pos]
                if specs[a][0] != _ONE or not _anchor_seen(variant[pos], sig):
                    return None
            compiled.append((strings.add(key), specs, a))
        return _FastGroup(max(m[3] for m in members), max(m[4] for m in members), compiled, builder)

    def gids_for(self, lower: str, lemma: str) -> tuple[int, ...]:
        """Groups whose anchor a token with this form and lemma is, in the order the lookups find them."""
        out = list(self.by_word.get(lower, ()))
        if lemma:
            out.extend(self.by_lemma.get(lemma, ()))
        by_prefix = self.by_prefix
        if by_prefix:
            for n in self._prefix_lengths:
                for p, gid in by_prefix.get(lower[:n], ()):
                    if lower.startswith(p):
                        out.append(gid)
        return tuple(out)

    def run(self, doc: Doc, R: list[tuple[Any, ...]], S: list[int] | None, annotate: Any) -> list[tuple[int, int, int]]:
        """(key, start, end) of every token-pattern match in ``doc``, sorted by position.

        ``R``: the lexeme row of each token; ``S``: sentence starts (1/0), when patterns use them; ``annotate``:
        called before a spaCy Matcher runs, to give ``doc`` the lemmas and sentence starts it reads.

        One pass over the tokens finds each group's anchor tokens and walks the DFA of all bounded patterns from
        each token. A bounded pattern's match holds a token matching its anchor spec, found as an anchor token,
        whose window holds the whole match: so the matches are those the Matcher calls on the windows found.
        They are then added in the order those calls added them (group by group, window by window, each call's
        own order); unbounded and unmodelled groups run per window as before.
        """
        n = len(R)
        positions: dict[int, list[int]] = {}
        get = positions.get
        for i, r in enumerate(R):
            g = r[_R_GIDS]
            if g:
                for gid in g:
                    idx = get(gid)
                    if idx is None:
                        positions[gid] = [i]
                    elif idx[-1] != i:
                        idx.append(i)
        by_gid: dict[int, set[tuple[int, int]]] = {}  # group -> {(pattern, start)}
        dfa = self.dfa
        if dfa is not None and dfa.start is not None:
            start = dfa.start
            reach: int = dfa.reach  # type: ignore[assignment]
            K = [r[_R_ORTH] for r in R]  # transition keys: the form, complemented at sentence starts (_DState)
            KS = [~k if s else k for k, s in zip(K, S)] if S is not None else K
            step = dfa.step
            first = start.trans.get
            for s, tr in enumerate([first(k) for k in (KS if start.sent else K)]):
                if tr is _DEAD:
                    continue
                if tr is None:
                    tr = step(start, KS[s] if start.sent else K[s], R, S, s)
                st, done = tr
                p = s
                while True:
                    if done:
                        for gid, j in done:
                            c = by_gid.get(gid)
                            if c is None:
                                by_gid[gid] = {(j, s)}
                            else:
                                c.add((j, s))
                    p += 1
                    if st is None or p >= n or p - s >= reach:
                        break
                    key = KS[p] if st.sent else K[p]
                    tr = st.trans.get(key)
                    if tr is None:
                        tr = step(st, key, R, S, p)
                    st, done = tr
        groups = self.groups
        found: set[tuple[int, int, int]] = set()
        for gid, idx in positions.items():
            fast, matcher, before, after = groups[gid]
            if fast is not None:
                if not fast.bounded:
                    fast.scan(R, S, idx, n, found)
                    continue
                c = by_gid.get(gid)
                if not c:
                    continue
                if len(idx) == 1:
                    i = idx[0]
                    m = fast.emit(R, S, c, i + after if i + after < n else n)
                    if m:
                        found.update(m)
                    continue
                wins = _windows(idx, before, after, n)
                if len(wins) == 1:
                    m = fast.emit(R, S, c, wins[0][1])
                    if m:
                        found.update(m)
                    continue
                lows = [lo for lo, _ in wins]
                per_window: dict[int, set[tuple[int, int]]] = {}
                for js in c:
                    per_window.setdefault(bisect.bisect_right(lows, js[1]) - 1, set()).add(js)
                for w in sorted(per_window):
                    m = fast.emit(R, S, per_window[w], wins[w][1])
                    if m:
                        found.update(m)
                continue
            annotate()
            start = end = -1
            for i in idx:
                lo, hi = max(0, i - before), min(n, i + after)
                if lo <= end:
                    end = max(end, hi)
                    continue
                if end >= 0:
                    found.update((k, s + start, e + start) for k, s, e in matcher(doc[start:end]))
                start, end = lo, hi
            if end >= 0:
                found.update((k, s + start, e + start) for k, s, e in matcher(doc[start:end]))
        loose = self.always_fast
        if loose is not None and n:
            if not loose.bounded:
                found.update(loose.run(R, S, loose.entry_points(R, S, n), 0, n))
            elif _LOOSE in by_gid:
                found.update(loose.emit(R, S, by_gid[_LOOSE], n))
        elif self.always is not None:
            annotate()
            found.update(self.always(doc))
        return sorted(found, key=_by_position)


def _by_position(m: tuple[int, int, int]) -> tuple[int, int]:
    return (m[1], m[2])


def _windows(idx: list[int], before: int, after: int, n: int) -> list[tuple[int, int]]:
    """The merged windows around anchor tokens ``idx`` (sorted), as one Matcher call each used to get."""
    wins: list[tuple[int, int]] = []
    end = -1
    for i in idx:
        lo = i - before if i > before else 0
        hi = i + after if i + after < n else n
        if lo <= end:
            if hi > end:
                end = hi
                wins[-1] = (wins[-1][0], end)
        else:
            wins.append((lo, hi))
            end = hi
    return wins


_LOOSE = -1  # the group id of the unanchored patterns
_MISSING = object()


class LanguageMatcher:
    """All patterns of one language, compiled once; thread-safe for matching."""

    def __init__(self, lang: str, *, engine: str = "fast") -> None:
        """``engine="spacy"`` runs every token pattern through one plain spaCy ``Matcher`` over the full
        pipeline: the slow reference that the default engine's results are tested against."""
        if engine not in ("fast", "spacy"):
            raise ValueError(f"engine must be 'fast' or 'spacy', not {engine!r}")
        self.lang = ensure_language(lang)
        self.engine = engine
        self.nlp = get_nlp(self.lang)
        vocab = self.nlp.vocab
        self.phrases = PhraseMatcher(vocab, attr="LOWER")
        self.rules: dict[int, _Rule] = {}
        self._lock = threading.Lock()
        self._pending: list[tuple[str, list[dict[str, Any]], str]] = []  # token patterns, filed by anchor below
        records = read_jsonl(self.lang, "behaviors.jsonl")
        phrase_batches: dict[str, list[Doc]] = {}
        for rec in records:
            self._add(rec, phrase_batches)
        for key, docs in phrase_batches.items():
            self.phrases.add(key, docs)
        # the reference skips spaCy's schema check: the same patterns pass it when the default engine builds
        self._reference = _legacy_matcher(vocab, self._pending, validate=False) if engine == "spacy" else None
        lemma_values = _lemma_values(self._pending)
        self.index = _AnchorIndex(vocab, self._pending if engine == "fast" else [])
        self._pending = []
        self._rows: dict[int, tuple[Any, ...]] = {}  # ORTH -> lexeme row
        self._extra = sorted(self.index.compiler.extra.items(), key=lambda kv: kv[1])
        self._uses_sent = self.index.compiler.uses_sent
        self._pipe_names = tuple(self.nlp.pipe_names)
        lemmatizer = self.nlp.get_pipe(LEMMATIZER_FACTORY) if LEMMATIZER_FACTORY in self.nlp.pipe_names else None
        sentencizer = self.nlp.get_pipe("sentencizer") if "sentencizer" in self.nlp.pipe_names else None
        self._sentencizer = sentencizer
        self._punct_chars = frozenset(getattr(sentencizer, "punct_chars", ()) or ())
        # the lexeme rows stand in for the pipeline only when it is the one get_nlp builds
        self._fast = (
            self._pipe_names == (LEMMATIZER_FACTORY, "sentencizer")
            and isinstance(lemmatizer, LowercaseLookupLemmatizer)
            and isinstance(sentencizer, Sentencizer)
            and not getattr(sentencizer, "overwrite", False)
        )
        # Rows need a token's lemma only to compare it with the patterns' lemmas: the part of the table that
        # decides those comparisons does, without holding the whole table (hundreds of MB for Spanish).
        table: Any = None
        if self._fast:
            if lemma_values is not None:
                table = lemma_lookup_subset(self.lang, lemma_values)
            else:
                table = lemmatizer.table  # type: ignore[union-attr]
        self._lemma_table: Any = table or {}
        # The fast path tokenizes with a private copy of the pipeline's tokenizer, replaced by a fresh copy
        # every _TOKENIZER_DOCS documents: the word forms documents bring (order numbers, names, typos; a few
        # KB per transcript) go with the old copy's vocabulary, so a long run does not grow without end. Rows
        # and automaton key on string hashes, which stay valid; no Doc or Token outlives a match call. (spaCy's
        # memory zones do the same in place, but tokenize ~30% slower inside a zone, and a zone frees what any
        # thread adds to the vocabulary meanwhile.)
        self._tok_bytes = self.nlp.tokenizer.to_bytes(exclude=["vocab"]) if self._fast else b""
        self._tok_nlp: Any = self._private_tokenizer() if self._fast else None
        self._tok_docs = 0

    def _private_tokenizer(self) -> Any:
        nlp = spacy.blank(self.lang)
        nlp.tokenizer.from_bytes(self._tok_bytes, exclude=["vocab"])
        return nlp

    def _row(self, orth: int, vocab: Any) -> tuple[Any, ...]:
        """The lexeme row of one word form (see ``_R_*``), read from ``vocab`` (the tokenizer copy's)."""
        text = vocab.strings[orth]
        lex = vocab[orth]
        # most forms are their own lowercase and lemma: one string and one hash object then serve each role
        lower_s = lex.lower_
        if lower_s == text:
            lower_s = text
        lemma_s = lookup_lemma(self._lemma_table, text)  # as the pipeline's lemmatizer looks it up
        if lemma_s == lower_s:
            lemma_s = lower_s
        lower = orth if lower_s is text else lex.lower
        lemma = lower if lemma_s is lower_s else vocab.strings.add(lemma_s)
        gids = self.index.gids_for(lower_s, lemma_s)
        is_punct = 1 if lex.is_punct else 0
        row: list[Any] = [
            orth, lower, lemma, text, lower_s, lemma_s, gids,
            bool(lex.is_punct or lex.is_space), text in self._punct_chars, is_punct,
        ]
        for attr, _slot in self._extra:
            if attr == "LENGTH":
                row.append(len(text))
            elif attr in ("SHAPE", "PREFIX", "SUFFIX"):
                row.append(getattr(lex, attr.lower()))
            else:
                row.append(1 if lex.check_flag(IDS[attr]) else 0)
        return tuple(row)

    def _lexeme_rows(self, doc: Doc) -> list[tuple[Any, ...]]:
        rows = self._rows
        get = rows.get
        out = []
        for orth in doc.to_array(ORTH).tolist():
            r = get(orth)
            if r is None:
                r = self._row(orth, doc.vocab)
                if len(rows) > _CACHE_LIMIT:
                    rows.clear()
                rows[orth] = r
            out.append(r)
        return out

    def _sent_starts(self, R: list[tuple[Any, ...]]) -> list[int]:
        """spaCy's Sentencizer on the rows: 1 where a sentence starts, else 0."""
        n = len(R)
        S = [0] * n
        if not n:
            return S
        S[0] = 1
        start = 0
        seen_period = False
        for i, r in enumerate(R):
            in_punct_chars = r[_R_SENT_PUNCT]
            if seen_period and not r[_R_PUNCT] and not in_punct_chars:
                S[start] = 1
                start = i
                seen_period = False
            elif in_punct_chars:
                seen_period = True
        S[start] = 1
        return S

    def _collect(self, key: str, variants: list[list[dict[str, Any]]], where: str) -> None:
        for v in variants:
            self._pending.append((key, v, where))

    def _add(self, rec: dict[str, Any], phrase_batches: dict[str, list[Doc]]) -> None:
        where = f"lang/{self.lang}/behaviors.jsonl, line {rec.get('_line')}"
        label = rec.get("label")
        pattern = rec.get("pattern")
        if not isinstance(label, str):
            raise LanguageError(f"{where}: 'label' must be a string")
        base = label.lstrip("!")
        if base not in BEHAVIORS and base not in SIGNAL_LABELS:
            raise LanguageError(f"{where}: unknown label {label!r}")
        weight = float(rec.get("weight", 0.0))
        reason = rec.get("reason")
        rule_id = str(rec.get("id") or f"{self.lang}-{label}-{rec.get('_line')}")
        key = f"{label}|{rule_id}|{weight}|{reason}"
        key_hash = self.nlp.vocab.strings.add(key)
        self.rules[key_hash] = _Rule(label, rule_id, weight, reason)
        compact = rec.get("match")
        if isinstance(compact, str):
            try:
                variants = compile_compact(compact, self.nlp)
            except (ValueError, KeyError) as exc:
                raise LanguageError(f"{where}: invalid compact pattern {compact!r} ({exc})") from None
            self._collect(key, variants, where)
        elif isinstance(pattern, str):
            if "*" in pattern:
                self._collect(key, [_star_to_tokens(pattern)], where)
            else:
                phrase_batches.setdefault(key, []).append(self.nlp.make_doc(pattern))
        elif isinstance(pattern, list) and all(isinstance(t, dict) for t in pattern):
            bad = {k for t in pattern for k in t if k not in _TOKEN_ATTRS}
            if bad:
                raise LanguageError(f"{where}: unknown token attributes {sorted(bad)}")
            self._collect(key, [pattern], where)
        else:
            raise LanguageError(f"{where}: give 'match' (compact) or 'pattern' (a string or a list of token objects)")

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def n_token_patterns(self) -> int:
        return self.index.n_patterns


    def _annotated_rows(self, doc: Doc) -> tuple[list[tuple[Any, ...]], list[int]]:
        """Rows and sentence starts read from a doc the whole pipeline ran on (a pipeline changed by the caller)."""
        R: list[tuple[Any, ...]] = []
        for tok in doc:
            lemma_s = tok.lemma_
            gids = self.index.gids_for(tok.lower_, lemma_s)
            row: list[Any] = [
                tok.orth, tok.lower, tok.lemma, tok.text, tok.lower_, lemma_s, gids,
                bool(tok.is_punct or tok.is_space), tok.text in self._punct_chars, 1 if tok.is_punct else 0,
            ]
            for attr, _slot in self._extra:
                if attr == "LENGTH":
                    row.append(len(tok.text))
                elif attr in ("SHAPE", "PREFIX", "SUFFIX"):
                    row.append(getattr(tok, attr.lower()))
                else:
                    row.append(1 if tok.check_flag(IDS[attr]) else 0)
            R.append(tuple(row))
        S = [1 if v == 1 else 0 for v in doc.to_array(SENT_START).tolist()] if len(doc) else []
        return R, S

    def match(self, texts: Sequence[str]) -> list[list[Hit]]:
        """Hits for each text, all texts processed as one document for speed."""
        if not texts:
            return []
        joined = _SEPARATOR.join(texts)
        offsets: list[int] = []
        pos = 0
        for t in texts:
            offsets.append(pos)
            pos += len(t) + len(_SEPARATOR)
        nlp = self.nlp
        if self._reference is not None:
            doc = nlp(joined)
            R, _ = self._annotated_rows(doc)
            with self._lock:
                raw = list(self._reference(doc)) + list(self.phrases(doc))
            return self._hits(texts, offsets, doc, R, raw)
        if self._fast and tuple(nlp.pipe_names) == self._pipe_names:
            with self._lock:
                if self._tok_docs >= _TOKENIZER_DOCS:
                    self._tok_nlp = self._private_tokenizer()  # the old one and its vocabulary are freed
                    self._tok_docs = 0
                self._tok_docs += 1
                return self._match_fast(texts, offsets, self._tok_nlp.make_doc(joined))
        doc = nlp(joined)
        R, S = self._annotated_rows(doc)
        with self._lock:
            raw = self.index.run(doc, R, S, _nothing)
            if len(self.phrases):
                raw += list(self.phrases(doc))
        return self._hits(texts, offsets, doc, R, raw)

    def _match_fast(self, texts: Sequence[str], offsets: list[int], doc: Doc) -> list[list[Hit]]:
        """Hits from the tokenizer's output only: lemmas and sentence starts come from the lexeme rows; the
        pipeline's components run only if a group on spaCy's Matcher needs them. Nothing of ``doc`` outlives
        the call (its vocabulary is dropped after later calls)."""
        R = self._lexeme_rows(doc)
        S = self._sent_starts(R) if self._uses_sent else None
        annotated = [False]

        def annotate() -> None:
            # the lemmas the rows hold (the same comparisons with pattern lemmas), and sentence starts
            if not annotated[0]:
                strings = doc.vocab.strings
                for tok, r in zip(doc, R):
                    strings.add(r[_R_LEMMA_S])  # a cached row's lemma may be from an older tokenizer copy
                    tok.lemma = r[_R_LEMMA]
                self._sentencizer(doc)
                annotated[0] = True

        raw = self.index.run(doc, R, S, annotate)
        if len(self.phrases):
            raw += list(self.phrases(doc))
        return self._hits(texts, offsets, doc, R, raw)

    def _hits(self, texts: Sequence[str], offsets: list[int], doc: Doc, R: list[tuple[Any, ...]],
              raw: list[tuple[int, int, int]]) -> list[list[Hit]]:
        """Raw (key, start, end) matches -> hits per text: turn-crossing ones dropped, negation applied."""
        out: list[list[Hit]] = [[] for _ in texts]
        rules = self.rules
        bisect_right = bisect.bisect_right
        n_texts = len(texts)
        spans = doc.to_array([IDX, LENGTH]).tolist() if raw else []  # (char offset, length) per token
        for key, start, end in raw:
            rule = rules[key]
            cs = spans[start][0]
            last = spans[end - 1]
            ce = last[0] + last[1]
            i = bisect_right(offsets, cs) - 1 if n_texts > 1 else 0
            base = offsets[i]
            if ce > base + len(texts[i]):
                continue  # crosses a turn boundary
            out[i].append(Hit(rule.label, cs - base, ce - base, start, end, rule.rule, rule.weight, rule.reason))
        for n, hits in enumerate(out):
            if not hits:
                continue
            hits.sort(key=lambda h: (h.start, -h.end))
            if not any(h.label == "_negation" for h in hits):
                continue
            not_neg = [h for h in hits if h.label == "!_negation"]
            negations = [h for h in hits if h.label == "_negation" and not any(_overlap(h, x) for x in not_neg)]
            if negations:
                out[n] = [self._negate(R, h, negations) for h in hits]
        return out

    @staticmethod
    def _negate(R: list[tuple[Any, ...]], hit: Hit, negations: list[Hit]) -> Hit:
        """``hit`` marked negated when a negation word precedes it closely in the same clause."""
        if hit.label not in NEGATABLE and hit.label != "_sentiment":
            return hit
        for neg in negations:
            if neg.token_end > hit.token_start or hit.token_start - neg.token_end > NEGATION_WINDOW:
                continue
            if any(R[k][_R_BREAK] for k in range(neg.token_end, hit.token_start)):
                continue  # punctuation or whitespace between: another clause
            return Hit(hit.label, hit.start, hit.end, hit.token_start, hit.token_end, hit.rule, hit.weight,
                       hit.reason, True)
        return hit


def _nothing() -> None:
    pass


def _overlap(a: Hit, b: Hit) -> bool:
    return a.start < b.end and b.start < a.end


_MATCHERS: dict[str, LanguageMatcher] = {}
_BUILD_LOCK = threading.Lock()


def get_matcher(lang: str) -> LanguageMatcher:
    """The shared compiled matcher for ``lang``."""
    code = ensure_language(lang)
    m = _MATCHERS.get(code)
    if m is None:
        with _BUILD_LOCK:
            m = _MATCHERS.get(code)
            if m is None:
                m = LanguageMatcher(code)
                _MATCHERS[code] = m
    return m
