from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from empathy_score.cli import main
from empathy_score.errors import ModelError
from empathy_score.model import bundled_model_dir, load_model
from empathy_score.scoring import score_many, score_transcript
from empathy_score.taxonomy import BANDS, CONTACT_REASONS, DIMENSIONS, PILLARS

FIXTURES = Path(__file__).parent / "fixtures"


def test_score_result_shape_and_json() -> None:
    r = score_transcript(FIXTURES / "es_transcript_2.txt")
    assert r.band in BANDS
    assert set(r.probabilities) == set(BANDS)
    assert abs(sum(r.probabilities.values()) - 1.0) < 1e-6
    assert r.contact_reason in CONTACT_REASONS
    assert set(r.pillars) == set(PILLARS) and all(0 <= v <= 10 for v in r.pillars.values())
    assert set(r.dimensions) == set(DIMENSIONS) and all(0 <= v <= 10 for v in r.dimensions.values())
    assert r.explanation and all("contribution" in x for x in r.explanation)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["band"] == r.band and d["evidence"]


def test_score_many_keeps_input_order() -> None:
    paths = sorted(FIXTURES.glob("*.txt"))
    results = list(score_many(paths))
    singles = [score_transcript(p, explain=False) for p in paths]
    assert [r.band for r in results] == [r.band for r in singles]
    for batched, single in zip(results, singles):
        for band in BANDS:
            assert batched.probabilities[band] == pytest.approx(single.probabilities[band], abs=1e-9)


def test_model_outside_package_needs_trust(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), copy)
    with pytest.raises(ModelError, match="trusted=True"):
        load_model(copy)
    assert load_model(copy, trusted=True).bands == tuple(BANDS)


def test_tampered_model_is_refused_before_unpickling(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), copy)
    with open(copy / "model.joblib", "ab") as fh:
        fh.write(b"\x00tampered")
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(copy, trusted=True)


def test_cli_scores_examples(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    assert main(["score", "--examples", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 6
    assert all(r["error"] is None and r["band"] in BANDS for r in rows)


def test_cli_bad_file_becomes_an_error_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("no speakers here at all\n", encoding="utf-8")
    good = FIXTURES / "en_transcript_1.txt"
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(bad), str(good), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2
    assert "no speaker turns" in rows[0]["error"]
    assert rows[1]["band"] in BANDS
