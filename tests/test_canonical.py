"""Canonical sentences per behaviour and language (tests/lang/<code>/canonical.tsv).

Each row is one sentence placed as a turn of the given role in a minimal transcript: a neutral turn of the other
role first, then the sentence. Hold requests (with their reason and duration) are followed by a hold event, and
hold thanks follow one, as in a real call. The row's behaviour must (``expect=yes``) or must not (``expect=no``)
be among the evidence of the sentence's turn. Rows with an ``xfail`` reason are known detector gaps.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from empathy_score import parse_transcript
from empathy_score.detect import analyze
from empathy_score.taxonomy import AGENT_BEHAVIORS, CUSTOMER_CUES

LANG_DIR = Path(__file__).parent / "lang"
LANGS = ("en", "es", "fi")

NEUTRAL = {
    "en": {"customer": "Hi, I'm calling about my account.", "agent": "How can I help you today?"},
    "es": {"customer": "Hola, llamo por un tema de mi cuenta.", "agent": "¿En qué le puedo ayudar?"},
    "fi": {"customer": "Hei, soitan mun tilistä.", "agent": "Miten voin auttaa?"},
}
HOLD_AFTER = frozenset({"hold_request", "hold_reason", "hold_duration"})
HOLD_BEFORE = frozenset({"hold_thanks"})


class Row(NamedTuple):
    lang: str
    behavior: str
    role: str
    text: str
    expect: bool
    xfail: str


def _load(lang: str) -> list[Row]:
    path = LANG_DIR / lang / "canonical.tsv"
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    rows = []
    for rec in reader:
        expect = rec["expect"].strip()
        assert expect in ("yes", "no"), f"{path}: bad expect {expect!r} in {rec}"
        assert rec["role"] in ("agent", "customer"), f"{path}: bad role in {rec}"
        rows.append(
            Row(lang, rec["behavior"], rec["role"], rec["text"], expect == "yes", (rec.get("xfail") or "").strip())
        )
    return rows


def _params() -> list[Any]:
    params = []
    for lang in LANGS:
        counter: dict[str, int] = {}
        for row in _load(lang):
            counter[row.behavior] = counter.get(row.behavior, 0) + 1
            marks = [pytest.mark.xfail(reason=row.xfail, strict=True)] if row.xfail else []
            rid = f"{lang}-{row.behavior}-{counter[row.behavior]}"
            params.append(pytest.param(row, id=rid, marks=marks))
    return params


def _transcript(row: Row) -> list[dict[str, Any]]:
    other = "customer" if row.role == "agent" else "agent"
    turns: list[dict[str, Any]] = [{"role": other, "text": NEUTRAL[row.lang][other]}]
    if row.behavior in HOLD_BEFORE:
        turns.append({"event": "hold", "text": "on hold", "duration": 60})
    turns.append({"role": row.role, "text": row.text})
    if row.behavior in HOLD_AFTER:
        turns.append({"event": "hold", "text": "on hold", "duration": 60})
    return turns


@pytest.mark.parametrize("row", _params())
def test_canonical_sentence(row: Row) -> None:
    t = parse_transcript(_transcript(row), lang=row.lang)
    turn = len(t.turns) - 1
    assert t.turns[turn].text == row.text and t.turns[turn].role == row.role
    found = sorted({e.behavior for e in analyze(t).evidence if e.turn == turn})
    if row.expect:
        assert row.behavior in found, f"{row.behavior} not found in {row.text!r}; found {found}"
    else:
        assert row.behavior not in found, f"{row.behavior} wrongly found in {row.text!r}; found {found}"


@pytest.mark.parametrize("lang", LANGS)
def test_canonical_covers_taxonomy(lang: str) -> None:
    rows = _load(lang)
    names = set(AGENT_BEHAVIORS) | set(CUSTOMER_CUES)
    assert {r.behavior for r in rows} <= names
    for name in names:
        pos = sum(1 for r in rows if r.behavior == name and r.expect)
        neg = sum(1 for r in rows if r.behavior == name and not r.expect)
        assert pos >= 3, (name, pos)
        assert neg >= 1, (name, neg)
