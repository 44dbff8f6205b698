"""The vectorised tree walker gives scikit-learn's boosted-model predictions bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from empathy_score import _trees, load_model
from empathy_score.model import default_model

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "models" / "corpus"


def _corpus_design(n: int = 120) -> np.ndarray:
    from empathy_score.archive import generate_archive

    model = default_model()
    texts = [rec["text"] for rec in generate_archive(n, corpus_dir=CORPUS, seed=5)]
    X = model.design(texts)
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=float)


def test_walker_equals_scikit_learn_on_the_bundled_model() -> None:
    model = default_model()
    boosted = list(_trees._boosted(model.band_clf))
    if not boosted:
        pytest.skip("the bundled model has no boosted trees")
    X = _corpus_design()
    rng = np.random.default_rng(0)
    noisy = X + rng.normal(scale=2.0, size=X.shape)
    noisy[rng.random(X.shape) < 0.1] = np.nan  # missing values take the trees' missing-value branches
    for est in boosted:
        walker = _trees.TreeWalker(est)
        for data in (X, noisy, X[:1]):
            # the class's own method, not an installed walker, is the reference
            expected = HistGradientBoostingClassifier._raw_predict(est, data)
            got = walker(data)
            assert got.shape == expected.shape
            assert np.array_equal(got, expected), "walker differs from scikit-learn"


def test_installed_walker_gives_the_same_probabilities_and_is_not_saved(tmp_path: Path) -> None:
    model = default_model()
    X = _corpus_design(40)
    _trees.uninstall(model.band_clf)
    plain = model.band_clf.predict_proba(X)
    n = _trees.install(model.band_clf)
    assert n == len(list(_trees._boosted(model.band_clf)))
    assert np.array_equal(model.band_clf.predict_proba(X), plain)
    model.save(tmp_path / "m")
    reloaded = load_model(tmp_path / "m", trusted=True)
    for est in _trees._boosted(reloaded.band_clf):
        assert "_raw_predict" not in vars(est), "a walker was pickled into the model file"
    assert np.array_equal(reloaded.band_clf.predict_proba(X), plain)


def test_categorical_splits_keep_scikit_learns_path() -> None:
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.integers(0, 4, 300), rng.normal(size=300)]).astype(float)
    y = (X[:, 0] % 2).astype(int) + (X[:, 1] > 0)
    est = HistGradientBoostingClassifier(categorical_features=[0], max_iter=20, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="categorical"):
        _trees.TreeWalker(est)
    assert _trees.install(est) == 0
    assert "_raw_predict" not in vars(est)


def test_walker_on_a_small_multiclass_model_with_missing_values() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 5))
    X[rng.random(X.shape) < 0.2] = np.nan  # trains missing-value directions into the splits
    y = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) > 0
    y = y.astype(int) + (np.isnan(X[:, 2])).astype(int)
    est = HistGradientBoostingClassifier(max_iter=40, max_depth=None, max_leaf_nodes=15, random_state=0).fit(X, y)
    Xt = rng.normal(size=(200, 5))
    Xt[rng.random(Xt.shape) < 0.3] = np.nan
    assert np.array_equal(_trees.TreeWalker(est)(Xt), HistGradientBoostingClassifier._raw_predict(est, Xt))
    p_plain = est.predict_proba(Xt)
    _trees.install(est)
    assert np.array_equal(est.predict_proba(Xt), p_plain)


def _calibrated(method: str, *, vote: bool = False, ensemble: bool = True) -> tuple[object, np.ndarray]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 6))
    y = np.array(["low", "medium", "high"])[(X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8)]
    est: object = HistGradientBoostingClassifier(max_iter=25, random_state=0)
    if vote:  # logistic regression takes no missing values
        est = VotingClassifier([("hgb", est), ("lr", LogisticRegression(C=0.1))], voting="soft", weights=[2, 1])
    else:
        X[rng.random(X.shape) < 0.05] = np.nan
    clf = CalibratedClassifierCV(est, method=method, cv=3, ensemble=ensemble).fit(X, y)
    return clf, X


def test_calibrated_fast_path_equals_scikit_learn() -> None:
    clf, X = _calibrated("temperature")
    expected = clf.predict_proba(X)  # scikit-learn's own path: no walker installed yet
    assert _trees.install(clf) == 3
    for data in (X, X[:1], X * 3.0):
        got = _trees.calibrated_proba(clf, data)
        assert got is not None
        assert np.array_equal(got, clf.predict_proba(data))
    assert np.array_equal(_trees.calibrated_proba(clf, X), expected)
    # the bundled model, when it is of this kind, on corpus-like rows
    model = default_model()
    _trees.install(model.band_clf)
    Xb = _corpus_design(60)
    fast = _trees.calibrated_proba(model.band_clf, Xb)
    if fast is not None:
        assert np.array_equal(fast, model.band_clf.predict_proba(Xb))


@pytest.mark.parametrize("ensemble", [True, False])
def test_calibrated_fast_path_equals_scikit_learn_for_a_soft_vote(ensemble: bool) -> None:
    clf, X = _calibrated("temperature", vote=True, ensemble=ensemble)
    expected = clf.predict_proba(X)
    assert _trees.install(clf) == (3 if ensemble else 1)
    for data in (X, X[:1], X * 3.0):
        got = _trees.calibrated_proba(clf, data)
        assert got is not None
        assert np.array_equal(got, clf.predict_proba(data))
    assert np.array_equal(_trees.calibrated_proba(clf, X), expected)
    _trees.uninstall(clf)
    assert _trees.calibrated_proba(clf, X) is None  # the walkers are gone: scikit-learn's path


def test_calibrated_fast_path_declines_other_models_and_inputs() -> None:
    clf, X = _calibrated("sigmoid")
    _trees.install(clf)
    assert _trees.calibrated_proba(clf, X) is None  # per-class calibration: scikit-learn's path
    tclf, X = _calibrated("temperature")
    assert _trees.calibrated_proba(tclf, X) is None  # no walker installed
    _trees.install(tclf)
    assert _trees.calibrated_proba(tclf, X.astype(np.float32)) is None
    assert _trees.calibrated_proba(tclf, X[:, :3]) is None
