"""The vectorised tree walker gives scikit-learn's boosted-model predictions bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from empathy_score import _trees, load_model
from empathy_score._predict import Predictor
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



def test_one_forest_walks_models_of_unequal_sizes_and_depths_as_each_alone() -> None:
    from empathy_score._predict import Forest

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int) + (np.nan_to_num(X[:, 1]) > 0.5)
    models = [HistGradientBoostingClassifier(max_iter=12, max_depth=2, random_state=0).fit(X, y),
              HistGradientBoostingClassifier(max_iter=30, max_depth=4, random_state=0).fit(X, y),
              HistGradientBoostingClassifier(max_iter=7, max_leaf_nodes=5, random_state=0).fit(X, y)]
    walkers = [_trees.TreeWalker(m) for m in models]
    forest = Forest([(w.per_class, w.baseline) for w in walkers], max(w.depth for w in walkers))
    assert forest.columns is not None  # unequal tree counts: the padded path
    Xt = rng.normal(size=(3 * forest.block + 2, 5))  # several blocks of rows, the last one short
    Xt[rng.random(Xt.shape) < 0.2] = np.nan
    for data in (Xt, Xt[:1]):
        raw = forest.raw(data)
        expected = np.hstack([HistGradientBoostingClassifier._raw_predict(m, data) for m in models])
        assert raw.shape == expected.shape
        assert np.array_equal(raw, expected)

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


def _exported(clf: object, X: np.ndarray, reason: object = None) -> Predictor | None:
    """``clf`` exported with an identity scaler (``X`` is what it was fitted on) and a reason model."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(np.nan_to_num(X))
    scaler.mean_, scaler.scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
    if reason is None:
        labels = np.array(["billing", "defect", "outage"])[np.arange(len(X)) % 3]
        reason = LogisticRegression().fit(np.nan_to_num(X), labels)
    arrays = _trees.export(clf, reason, scaler)
    return Predictor(arrays) if arrays is not None else None


@pytest.mark.parametrize("method", ["temperature", "isotonic"])
@pytest.mark.parametrize("vote,ensemble", [(False, True), (True, True), (True, False)])
def test_exported_predictor_equals_scikit_learn(method: str, vote: bool, ensemble: bool) -> None:
    clf, X = _calibrated(method, vote=vote, ensemble=ensemble)
    expected = clf.predict_proba(X)  # scikit-learn's own path: no walker installed yet
    assert _trees.install(clf) == (3 if ensemble else 1)
    predictor = _exported(clf, X)
    assert predictor is not None
    assert predictor.band_classes == list(clf.classes_)
    for data in (X, X[:1], X * 3.0):
        assert np.array_equal(predictor.band_proba(data), clf.predict_proba(data))
    assert np.array_equal(predictor.band_proba(X), expected)


def test_exported_reason_models_equal_the_fitted_ones() -> None:
    from sklearn.linear_model import LogisticRegression

    from empathy_score.training import _ConstantReason

    clf, X = _calibrated("temperature", vote=True)
    labels = np.array(["billing", "defect", "outage", "how_to", "feedback"])[np.arange(len(X)) % 5]
    fitted = LogisticRegression().fit(X, labels)
    for reason in (fitted, _ConstantReason([0, 1, 2, 3, 4]), _ConstantReason(None)):
        predictor = _exported(clf, X, reason)
        assert predictor is not None
        assert predictor.reason_classes == [str(c) for c in reason.classes_]
        assert np.array_equal(predictor.reason_proba(X), reason.predict_proba(X))


def test_export_declines_other_models_and_the_predictor_other_inputs() -> None:
    clf, X = _calibrated("sigmoid")
    assert _exported(clf, X) is None  # sigmoid calibration: scikit-learn's path
    rng = np.random.default_rng(1)
    Xc = np.column_stack([rng.integers(0, 4, 300), rng.normal(size=300)]).astype(float)
    from sklearn.calibration import CalibratedClassifierCV

    yc = np.array(["low", "medium", "high"])[Xc[:, 0].astype(int) % 3]
    boosted = HistGradientBoostingClassifier(categorical_features=[0], max_iter=10, random_state=0)
    cat = CalibratedClassifierCV(boosted, method="temperature", cv=3).fit(Xc, yc)
    assert _exported(cat, Xc) is None  # categorical splits: no walker
    tclf, X = _calibrated("temperature")
    predictor = _exported(tclf, X)
    assert predictor is not None
    with pytest.raises(ValueError, match="6 feature columns"):
        predictor.scale(X[:, :3])
