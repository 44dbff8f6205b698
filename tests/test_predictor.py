"""The NumPy-only predictor: the same probabilities as scikit-learn, no scikit-learn import when scoring,
and the model files it comes with checked like the joblib file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from empathy_score import _trees, load_model, score_transcript
from empathy_score.errors import ModelError
from empathy_score.model import PREDICTOR_FILE, _load_joblib, bundled_model_dir

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "models" / "corpus"
FIXTURES = ROOT / "tests" / "fixtures"


def _analyses(n: int = 80) -> list:
    from empathy_score.archive import generate_archive
    from empathy_score.features import to_analysis

    return [to_analysis(r["text"]) for r in generate_archive(n, corpus_dir=CORPUS, seed=13)]


def _sklearn_twin(model_dir: Path) -> object:
    """The same model read from its joblib file only: it predicts with scikit-learn."""
    model = _load_joblib(model_dir / "model.joblib")
    model.card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    model.__dict__["_predictor"] = None  # not exported on first use
    assert model.predictor is None
    return model


def test_bundled_model_predicts_from_its_arrays_as_scikit_learn_does() -> None:
    model = load_model()
    assert model.predictor is not None, "the bundled model should be of a kind the NumPy predictor covers"
    twin = _sklearn_twin(bundled_model_dir())
    A = _analyses()
    rows, proba, reasons = model.predict_with_features(A)
    rows2, proba2, reasons2 = twin.predict_with_features(A)
    assert rows == rows2
    assert np.array_equal(proba, proba2)  # bit for bit
    assert reasons == reasons2
    bands = ["high", "low", "medium"] * 4
    assert model.explain_and_coach(A[:12], bands) == twin.explain_and_coach(A[:12], bands)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # a model read from its joblib file alone (as one fresh from training) exports the same arrays on first use
    fresh = _load_joblib(bundled_model_dir() / "model.joblib")
    assert fresh.predictor is not None and np.array_equal(fresh.predict_proba(A), proba)


def test_scoring_with_the_bundled_model_imports_no_scikit_learn() -> None:
    code = (
        "import sys\n"
        "from empathy_score import score_transcript\n"
        f"r = score_transcript(open({str(FIXTURES / 'en_transcript_1.txt')!r}, encoding='utf-8').read())\n"
        "print(r.band, sorted(m for m in ('sklearn', 'scipy', 'joblib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] in ("low", "medium", "high")
    assert out[1:] == ["[]"]


def test_scikit_learn_parts_load_on_first_use_and_save_round_trips(tmp_path: Path) -> None:
    model = load_model()
    assert "band_clf" not in vars(model)  # not read yet
    assert type(model.band_clf).__name__ == "CalibratedClassifierCV"
    assert model.scaler is vars(model)["scaler"] and model.tfidf is None
    saved = model.save(tmp_path / "m")
    assert (saved / PREDICTOR_FILE).is_file()
    again = load_model(saved, trusted=True)
    A = _analyses(20)
    assert np.array_equal(again.predict_proba(A), load_model().predict_proba(A))
    assert again.card["predictor_sha256"] == load_model().card["predictor_sha256"]


def test_a_model_loaded_with_its_predictor_pickles_for_worker_processes() -> None:
    import pickle

    from empathy_score.scoring import score_many

    model = load_model()
    clone = pickle.loads(pickle.dumps(model))
    A = _analyses(10)
    assert clone.predictor is not None and np.array_equal(clone.predict_proba(A), model.predict_proba(A))
    texts = [FIXTURES / "en_transcript_1.txt", FIXTURES / "es_transcript_2.txt"]
    alone = [r.probabilities for r in score_many(texts, model=model)]
    assert [r.probabilities for r in score_many(texts, model=model, n_jobs=2)] == alone


def test_tampered_predictor_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), copy)
    with open(copy / PREDICTOR_FILE, "ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(copy, trusted=True)


def test_joblib_file_changed_after_loading_is_refused_on_first_use(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), copy)
    model = load_model(copy, trusted=True)
    with open(copy / "model.joblib", "ab") as fh:
        fh.write(b"\x00")
    assert model.predict_proba([FIXTURES / "en_transcript_1.txt"]).shape == (1, 3)  # the arrays, read at load
    with pytest.raises(ModelError, match="SHA-256"):
        model.band_clf


def test_models_the_predictor_does_not_cover_keep_scikit_learn(tmp_path: Path) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = np.array(["low", "medium", "high"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    scaler = StandardScaler().fit(X)
    reason = LogisticRegression().fit(X, np.array(["a", "b", "c"])[rng.integers(0, 3, 120)])
    sigmoid = CalibratedClassifierCV(LogisticRegression(), method="sigmoid", cv=3).fit(X, y)
    assert _trees.export(sigmoid, reason, scaler) is None
    temperature = CalibratedClassifierCV(LogisticRegression(), method="temperature", cv=3).fit(X, y)
    assert _trees.export(temperature, reason, scaler) is None  # a bare linear member: not a kind it covers
