"""Prediction of an exported model with NumPy alone: no scikit-learn (nor SciPy) import when scoring.

Importing scikit-learn costs a scoring process ~70 MB (it imports most of SciPy) and a second of start-up,
while a prediction needs only a few array operations: the scaler's centring and scaling, the walked boosted
trees, a logistic regression's product, softmax, the temperature calibration and the members' mean.
:func:`empathy_score._trees.export` writes those arrays when a model is saved (``predictor.npz``, read
without pickle) for the model kinds it knows; :class:`Predictor` computes from them, operation for operation,
what scikit-learn's ``predict_proba`` computes, so the probabilities are bitwise the same (tested against
scikit-learn on the corpus). The fitted scikit-learn objects stay in ``model.joblib`` and load on first use.

Supported: a ``StandardScaler``; a temperature- or isotonic-calibrated ``CalibratedClassifierCV`` (one
member or an ensemble) whose members are multiclass ``HistGradientBoostingClassifier`` models or soft votes of such a
model and ``LogisticRegression`` models; a reason model that is a multiclass ``LogisticRegression`` or the
lexicon's own vote.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

__all__ = ["FORMAT", "Predictor", "softmax", "walk"]

FORMAT = 1
_HGB, _VOTE, _LOGREG, _CONSTANT = 0, 1, 2, 3
_TEMPERATURE, _ISOTONIC = 0, 1
_TREE_PARTS = ("roots", "feature", "threshold", "missing_left", "left", "right", "value")

Trees = list[tuple[np.ndarray, ...]]  # per class: the _TREE_PARTS arrays


def softmax(X: np.ndarray) -> np.ndarray:
    """``sklearn.utils.extmath.softmax`` for NumPy arrays, the same operations in the same order."""
    X = np.array(X, copy=True)
    X -= np.max(X, axis=1).reshape(-1, 1)
    np.exp(X, out=X)
    X /= np.sum(X, axis=1).reshape(-1, 1)
    return X


def walk(trees: Trees, baseline: np.ndarray, depth: int, X: np.ndarray) -> np.ndarray:
    """Raw scores of a boosted model for a float64 matrix: every (row, tree) pair descends together, one
    level per step; then the baseline and each tree's leaf are added left to right, as scikit-learn's loop
    adds them."""
    n = X.shape[0]
    raw = np.zeros((n, len(trees)), dtype=baseline.dtype, order="F")
    rows = np.arange(n)[:, None]
    for k, (roots, feature, threshold, missing_left, left, right, value) in enumerate(trees):
        node = np.broadcast_to(roots, (n, len(roots))).copy()
        for _ in range(depth):
            x = X[rows, feature[node]]
            go_left = np.where(np.isnan(x), missing_left[node], x <= threshold[node])
            node = np.where(go_left, left[node], right[node])
        terms = np.concatenate((np.full((n, 1), baseline[k]), value[node]), axis=1)
        raw[:, k] = np.cumsum(terms, axis=1)[:, -1]
    return raw


Scorer = Callable[[np.ndarray], np.ndarray]


def _get(arrays: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    try:
        return arrays[key]
    except KeyError:
        raise ValueError(f"predictor arrays: {key!r} is missing") from None


def _trees_scorer(arrays: Mapping[str, np.ndarray], prefix: str, proba: bool) -> Scorer:
    n_classes = int(_get(arrays, prefix + "n_classes"))
    trees = [tuple(_get(arrays, f"{prefix}c{k}_{part}") for part in _TREE_PARTS) for k in range(n_classes)]
    baseline = _get(arrays, prefix + "baseline")
    depth = int(_get(arrays, prefix + "depth"))
    if proba:  # HistGradientBoostingClassifier.predict_proba: its loss's inverse link, softmax
        return lambda X: softmax(walk(trees, baseline, depth, X))
    return lambda X: walk(trees, baseline, depth, X)  # its decision_function


def _logreg_scorer(arrays: Mapping[str, np.ndarray], prefix: str) -> Scorer:
    coef, intercept = _get(arrays, prefix + "coef"), _get(arrays, prefix + "intercept")
    # LogisticRegression.predict_proba (multinomial): softmax of X @ coef.T + intercept
    return lambda X: softmax(X @ coef.T + intercept)


def _member_scorer(arrays: Mapping[str, np.ndarray], prefix: str) -> Scorer:
    kind = int(_get(arrays, prefix + "kind"))
    if kind == _HGB:
        return _trees_scorer(arrays, prefix, proba=False)
    if kind != _VOTE:
        raise ValueError(f"predictor arrays: unknown member kind {kind} at {prefix!r}")
    parts: list[Scorer] = []
    for j in range(int(_get(arrays, prefix + "n_voters"))):
        vp = f"{prefix}v{j}_"
        vkind = int(_get(arrays, vp + "kind"))
        if vkind == _HGB:
            parts.append(_trees_scorer(arrays, vp, proba=True))
        elif vkind == _LOGREG:
            parts.append(_logreg_scorer(arrays, vp))
        else:
            raise ValueError(f"predictor arrays: unknown voter kind {vkind} at {vp!r}")
    weights = arrays.get(prefix + "weights")
    # VotingClassifier.predict_proba: the voters' probabilities stacked, then their (weighted) average
    return lambda X: np.average(np.asarray([f(X) for f in parts]), axis=0, weights=weights)


Calibrator = Callable[[np.ndarray], np.ndarray]


def temperature(beta: float) -> Calibrator:
    """A member's temperature map: its response read as logits unless it looks like probabilities
    (scikit-learn's test, then ``log(p + 1e-12)``), times ``beta``, through softmax."""

    def calibrate(logits: np.ndarray) -> np.ndarray:
        if np.all((logits >= 0) & (logits <= 1)) and np.all(np.isclose(logits.sum(axis=1), 1.0)):
            logits = np.log(logits + 1e-12)
        proba = softmax(beta * logits)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    return calibrate


def _interp(x: np.ndarray, y: np.ndarray, lo_hi: tuple[float, float], t: np.ndarray) -> np.ndarray:
    """``IsotonicRegression(out_of_bounds="clip").predict``: clipped to the training range, then SciPy's
    linear ``interp1d``, which for float64 points within range is ``np.interp``."""
    t = np.clip(t, lo_hi[0], lo_hi[1])
    if len(y) == 1:
        return y.repeat(t.shape)
    return np.interp(t, x, y)


def isotonic(curves: list[tuple[np.ndarray, np.ndarray, tuple[float, float]]]) -> Calibrator:
    """A member's per-band isotonic maps, then the rows renormalised (uniform where all maps give 0)."""
    n_classes = len(curves)

    def calibrate(pred: np.ndarray) -> np.ndarray:
        proba = np.zeros((pred.shape[0], n_classes))
        for k, (x, y, bounds) in enumerate(curves):
            proba[:, k] = _interp(x, y, bounds, pred[:, k])
        denominator = np.sum(proba, axis=1)[:, np.newaxis]
        uniform = np.full_like(proba, 1 / n_classes)
        proba = np.divide(proba, denominator, out=uniform, where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    return calibrate


def calibrated_mean(members: list[tuple[Scorer, Calibrator]], X: np.ndarray, n_classes: int) -> np.ndarray:
    """``CalibratedClassifierCV.predict_proba``: each member's response through its calibration map, then
    the members' mean."""
    mean = np.zeros((X.shape[0], n_classes))
    for scorer, calibrate in members:
        mean += calibrate(scorer(X))
    mean /= len(members)
    return mean


def lexicon_vote(X: np.ndarray, cols: list[int] | None, n: int) -> np.ndarray:
    """The reason model of a model trained without reason labels: softmax of the lexicon's reason columns
    ``cols`` of ``X`` (uniform over ``n`` reasons when the input has no feature columns)."""
    if cols is None:
        return np.full((X.shape[0], n), 1.0 / n)
    sub = X[:, cols]
    sub = np.exp(sub - sub.max(axis=1, keepdims=True))
    return np.asarray(sub / sub.sum(axis=1, keepdims=True))


class Predictor:
    """Band and reason probabilities of an exported model from its arrays."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._arrays = dict(arrays)
        fmt = int(_get(arrays, "format"))
        if fmt != FORMAT:
            raise ValueError(f"predictor arrays: format {fmt}, this library reads format {FORMAT}")
        self.mean = _get(arrays, "scaler_mean")
        self.scale_ = _get(arrays, "scaler_scale")
        self.band_classes = [str(c) for c in _get(arrays, "band_classes")]
        n_classes = len(self.band_classes)
        self.members = [(_member_scorer(arrays, f"band{i}_"), self._calibrator(arrays, f"band{i}_", n_classes))
                        for i in range(int(_get(arrays, "band_n_members")))]
        if not self.members:
            raise ValueError("predictor arrays: no band model members")
        self.reason_classes = [str(c) for c in _get(arrays, "reason_classes")]
        kind = int(_get(arrays, "reason_kind"))
        if kind == _LOGREG:
            self._reason: Scorer = _logreg_scorer(arrays, "reason_")
        elif kind == _CONSTANT:
            raw_cols, n = arrays.get("reason_cols"), len(self.reason_classes)
            cols = None if raw_cols is None else [int(c) for c in raw_cols]
            self._reason = lambda X: lexicon_vote(X, cols, n)
        else:
            raise ValueError(f"predictor arrays: unknown reason model kind {kind}")

    @staticmethod
    def _calibrator(arrays: Mapping[str, np.ndarray], prefix: str, n_classes: int) -> Calibrator:
        method = int(_get(arrays, prefix + "method"))
        if method == _TEMPERATURE:
            return temperature(float(_get(arrays, prefix + "beta")))
        if method == _ISOTONIC:
            curves = []
            for k in range(n_classes):
                bounds = _get(arrays, f"{prefix}iso{k}_bounds")
                curves.append((_get(arrays, f"{prefix}iso{k}_x"), _get(arrays, f"{prefix}iso{k}_y"),
                               (float(bounds[0]), float(bounds[1]))))
            return isotonic(curves)
        raise ValueError(f"predictor arrays: unknown calibration method {method} at {prefix!r}")

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays it was built from (what ``predictor.npz`` holds)."""
        return self._arrays

    def __reduce__(self) -> tuple[type, tuple[dict[str, np.ndarray]]]:
        return Predictor, (self._arrays,)  # rebuilt from its arrays (its functions are closures)

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    def scale(self, X: np.ndarray) -> np.ndarray:
        """``StandardScaler.transform``: a float64 copy, centred, then scaled."""
        X = np.array(X, dtype=np.float64, copy=True)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected a matrix of {self.n_features} feature columns, got shape {X.shape}")
        X -= self.mean
        X /= self.scale_
        return X

    def band_proba(self, Xs: np.ndarray) -> np.ndarray:
        """Calibrated band probabilities of scaled rows, columns in :attr:`band_classes` order."""
        return calibrated_mean(self.members, np.ascontiguousarray(Xs), len(self.band_classes))

    def reason_proba(self, Xs: np.ndarray) -> np.ndarray:
        """Reason probabilities of scaled rows, columns in :attr:`reason_classes` order."""
        return self._reason(np.ascontiguousarray(Xs))
