"""generate_archive: deterministic synthetic archives built from the written corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from empathy_score.archive import generate_archive

CORPUS = Path(__file__).resolve().parents[1] / "models" / "corpus"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="needs the corpus of a repository checkout")


def test_same_seed_same_archive_other_seed_other_archive() -> None:
    a = list(generate_archive(60, corpus_dir=CORPUS, seed=3))
    b = list(generate_archive(60, corpus_dir=CORPUS, seed=3))
    c = list(generate_archive(60, corpus_dir=CORPUS, seed=4))
    assert a == b
    assert [r["text"] for r in a] != [r["text"] for r in c]


def test_n_records_with_keys_ids_and_languages() -> None:
    recs = list(generate_archive(300, corpus_dir=CORPUS))
    assert len(recs) == 300
    assert [r["id"] for r in recs] == [f"call-{i:07d}" for i in range(300)]
    for r in recs:
        assert set(r) == {"id", "text", "lang", "agent", "team"}
        assert r["text"].strip() and r["agent"] and r["team"]
    assert {r["lang"] for r in recs} == {"en", "es", "fi"}
    assert list(generate_archive(0, corpus_dir=CORPUS)) == []


def test_metadata_is_consistent() -> None:
    recs = list(generate_archive(400, corpus_dir=CORPUS, seed=11))
    team_of: dict[str, str] = {}
    lang_of: dict[str, str] = {}
    for r in recs:
        assert team_of.setdefault(r["agent"], r["team"]) == r["team"], "an agent belongs to one team"
        assert lang_of.setdefault(r["agent"], r["lang"]) == r["lang"], "an agent works in one language"
    assert len(team_of) > len(set(team_of.values())) > 1


def test_turn_bounds_are_respected() -> None:
    for r in generate_archive(50, corpus_dir=CORPUS, seed=5, turns=(18, 22)):
        n = sum(1 for line in r["text"].splitlines() if line.strip())
        assert 18 <= n <= 22, (r["id"], n)


def test_empty_or_missing_corpus_raises_at_the_call(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "notes.md").write_text("not a transcript", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="no transcripts"):
        generate_archive(5, corpus_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no such corpus folder"):
        generate_archive(5, corpus_dir=tmp_path / "missing")


@pytest.mark.parametrize("kwargs", [{"n": -1}, {"n": 5, "turns": (2, 4)}, {"n": 5, "turns": (10, 4)}])
def test_bad_arguments_raise_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate_archive(corpus_dir=CORPUS, **kwargs)  # type: ignore[arg-type]


def test_every_generated_transcript_parses() -> None:
    """Figures are varied but time stamps (times and dates opening a line) are kept, so each record reads."""
    from empathy_score.parsing import parse_transcript

    for seed in (7, 11):
        for rec in generate_archive(400, corpus_dir=CORPUS, seed=seed, turns=(4, 60)):
            assert parse_transcript(rec["text"]).turns, rec["id"]
