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

from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from .errors import LanguageError
from .lang import ensure_language, read_jsonl
from .nlp import get_nlp
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


def _split_elements(match: str) -> list[str]:
    elements: list[str] = []
    depth = 0
    cur = ""
    for ch in match.strip():
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == " " and depth == 0:
            if cur:
                elements.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        elements.append(cur)
    return elements


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
    """Token patterns for a compact pattern string (see the module docstring)."""
    variants: list[list[dict[str, Any]]] = [[]]
    for el in _split_elements(match):
        optional = False
        if el.startswith("(") and (el.endswith(")?") or el.endswith(")")):
            optional = el.endswith("?")
            el = el[1:-2] if optional else el[1:-1]
        if el.startswith("..") and el[2:].isdigit():
            for v in variants:
                v.append({"OP": f"{{0,{int(el[2:])}}}"})
            continue
        alts = [a for a in el.split("|") if a]
        token_alts = [_alt_tokens(a, nlp) for a in alts]
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
    return [v for v in variants if any("OP" not in t or t["OP"] not in ("?",) for t in v)]


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


class _AnchorIndex:
    """Token patterns grouped by a selective required token (the anchor).

    Running thousands of patterns at every token is slow. Each pattern is filed under its most selective
    required token; a document runs only the groups whose anchor occurs in it, on a window around each
    occurrence wide enough for the whole pattern. Results equal those of one matcher holding every pattern.
    """

    def __init__(self, vocab: Any, pending: list[tuple[str, list[dict[str, Any]], str]]) -> None:
        self.by_word: dict[str, list[int]] = {}
        self.by_lemma: dict[str, list[int]] = {}
        self.by_prefix: dict[str, list[tuple[str, int]]] = {}
        self.groups: list[tuple[Any, int, int]] = []  # (matcher, tokens before anchor, tokens from anchor on)
        self.always: Any = None
        self.n_patterns = len(pending)
        groups: dict[tuple[Any, ...], list[tuple[str, list[dict[str, Any]], str, int, int]]] = {}
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
            groups.setdefault(sig, []).append((key, variant, where, before, after))
        for (words, lemmas, prefixes), members in groups.items():
            gid = len(self.groups)
            m = self._matcher(vocab, [(k, v, w) for k, v, w, _, _ in members])
            self.groups.append((m, max(b for *_, b, _ in members), max(a for *_, a in members)))
            for w in words:
                self.by_word.setdefault(w, []).append(gid)
            for lm in lemmas:
                self.by_lemma.setdefault(lm, []).append(gid)
            for p in prefixes:
                self.by_prefix.setdefault(p[:3], []).append((p, gid))
        if loose:
            self.always = self._matcher(vocab, loose)
        self._prefix_lengths = sorted({len(k) for k in self.by_prefix})

    @staticmethod
    def _matcher(vocab: Any, members: list[tuple[str, list[dict[str, Any]], str]]) -> Any:
        m = Matcher(vocab, validate=True)
        for key, variant, where in members:
            try:
                m.add(key, [variant])
            except (ValueError, KeyError) as exc:
                raise LanguageError(f"{where}: invalid token pattern ({exc})") from None
        return m

    def run(self, doc: Doc) -> list[tuple[int, int, int]]:
        positions: dict[int, list[int]] = {}
        by_word, by_lemma, by_prefix = self.by_word, self.by_lemma, self.by_prefix
        plens = self._prefix_lengths
        for i, tok in enumerate(doc):
            w = tok.lower_
            for gid in by_word.get(w, ()):
                positions.setdefault(gid, []).append(i)
            lemma = tok.lemma_
            if lemma and lemma != w:
                for gid in by_lemma.get(lemma, ()):
                    positions.setdefault(gid, []).append(i)
            elif lemma:
                for gid in by_lemma.get(w, ()):
                    positions.setdefault(gid, []).append(i)
            if by_prefix:
                for n in plens:
                    for p, gid in by_prefix.get(w[:n], ()):
                        if w.startswith(p):
                            positions.setdefault(gid, []).append(i)
        found: set[tuple[int, int, int]] = set()
        n = len(doc)
        for gid, idx in positions.items():
            matcher, before, after = self.groups[gid]
            start = end = -1
            for i in sorted(set(idx)):
                lo, hi = max(0, i - before), min(n, i + after)
                if lo <= end:
                    end = max(end, hi)
                    continue
                if end >= 0:
                    found.update((k, s + start, e + start) for k, s, e in matcher(doc[start:end]))
                start, end = lo, hi
            if end >= 0:
                found.update((k, s + start, e + start) for k, s, e in matcher(doc[start:end]))
        if self.always is not None:
            found.update(self.always(doc))
        return sorted(found, key=lambda x: (x[1], x[2]))


class LanguageMatcher:
    """All patterns of one language, compiled once; thread-safe for matching."""

    def __init__(self, lang: str) -> None:
        self.lang = ensure_language(lang)
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
        self.index = _AnchorIndex(vocab, self._pending)
        self._pending = []

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
        doc = self.nlp(joined)
        with self._lock:
            raw = self.index.run(doc) + (list(self.phrases(doc)) if len(self.phrases) else [])
        out: list[list[Hit]] = [[] for _ in texts]
        for key, start, end in raw:
            rule = self.rules[key]
            span = doc[start:end]
            cs, ce = span.start_char, span.end_char
            i = bisect.bisect_right(offsets, cs) - 1
            base = offsets[i]
            if ce > base + len(texts[i]):
                continue  # crosses a turn boundary
            out[i].append(Hit(rule.label, cs - base, ce - base, start, end, rule.rule, rule.weight, rule.reason))
        for n, hits in enumerate(out):
            hits.sort(key=lambda h: (h.start, -h.end))
            not_neg = [h for h in hits if h.label == "!_negation"]
            negations = [h for h in hits if h.label == "_negation" and not any(_overlap(h, x) for x in not_neg)]
            if negations:
                out[n] = [self._negate(doc, h, negations) for h in hits]
        return out

    @staticmethod
    def _negate(doc: Doc, hit: Hit, negations: list[Hit]) -> Hit:
        """``hit`` marked negated when a negation word precedes it closely in the same clause."""
        if hit.label not in NEGATABLE and hit.label != "_sentiment":
            return hit
        for neg in negations:
            if neg.token_end > hit.token_start or hit.token_start - neg.token_end > NEGATION_WINDOW:
                continue
            between = doc[neg.token_end : hit.token_start]
            if any(t.is_punct or t.is_space for t in between):
                continue
            return Hit(hit.label, hit.start, hit.end, hit.token_start, hit.token_end, hit.rule, hit.weight,
                       hit.reason, True)
        return hit


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
