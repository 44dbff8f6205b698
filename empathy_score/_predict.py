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

__all__ = ["FORMAT", "Forest", "Predictor", "softmax"]

FORMAT = 1
_HGB, _VOTE, _LOGREG, _CONSTANT = 0, 1, 2, 3
_TEMPERATURE, _ISOTONIC = 0, 1
_BLOCK_CELLS = 1 << 13  # (row, tree) pairs per step of a walk (more fall out of the CPU cache: slower)
_TREE_PARTS = ("roots", "feature", "threshold", "missing_left", "left", "right", "value")

Trees = list[tuple[np.ndarray, ...]]  # per class: the _TREE_PARTS arrays


def softmax(X: np.ndarray) -> np.ndarray:
    """``sklearn.utils.extmath.softmax`` for NumPy arrays, the same operations in the same order."""
    X = np.array(X, copy=True)
    X -= np.max(X, axis=1).reshape(-1, 1)
    np.exp(X, out=X)
    X /= np.sum(X, axis=1).reshape(-1, 1)
    return X


class Forest:
    """The boosted trees of every member of a model walked as one forest: a segment per (tree set, class).

    Every (row, tree) pair descends together, one level per step (a leaf points to itself, so rows already
    there stay); then each segment's baseline and its trees' leaves are added left to right, as scikit-learn's
    loop adds them (shorter segments padded with zeros, which leave a sum unchanged). One walk for all members
    instead of one per member and class: for one transcript, NumPy's per-call cost is most of a walk's time.
    """

    def __init__(self, sets: list[tuple[Trees, np.ndarray]], depth: int) -> None:
        segments = [(trees_k, base[k]) for trees, base in sets for k, trees_k in enumerate(trees)]
        self.depth = depth
        self.n_segments = len(segments)
        parts: list[list[np.ndarray]] = [[] for _ in _TREE_PARTS]
        offset = 0
        for (roots, feature, threshold, missing_left, left, right, value), _ in segments:
            for j, arr in enumerate((roots + offset, feature, threshold, missing_left, left + offset,
                                     right + offset, value)):
                parts[j].append(arr)
            offset += len(feature)
        (self.roots, self.feature, self.threshold, self.missing_left, self.left, self.right,
         self.value) = (np.concatenate(p) if p else np.zeros(0) for p in parts)
        counts = [len(trees_k[0]) for trees_k, _ in segments]
        n_trees = sum(counts)
        width = max(counts, default=0)
        # column of each segment's t-th tree in the leaf matrix; padding reads a zero column past the end
        # (None when every segment has as many trees: the leaf matrix is then reshaped, not gathered)
        self.columns: np.ndarray | None = None
        if any(c != width for c in counts):
            self.columns = np.full((self.n_segments, width), n_trees, dtype=np.intp)
            start = 0
            for s, c in enumerate(counts):
                self.columns[s, :c] = np.arange(start, start + c)
                start += c
        self.width = width
        self.baseline = np.array([b for _, b in segments], dtype=np.float64)
        # rows walked together: enough to share NumPy's per-call cost, few enough for the arrays to stay in cache
        self.block = max(1, _BLOCK_CELLS // max(1, n_trees))

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw scores of a float64 matrix, one column per segment."""
        n = X.shape[0]
        if n <= self.block:
            return self._raw(X)
        out = np.empty((n, self.n_segments))
        for i in range(0, n, self.block):
            out[i:i + self.block] = self._raw(X[i:i + self.block])
        return out

    def _raw(self, X: np.ndarray) -> np.ndarray:
        n, n_trees = X.shape[0], len(self.roots)
        node = np.broadcast_to(self.roots, (n, n_trees)).copy()
        rows = np.arange(n)[:, None]
        for _ in range(self.depth):
            x = X[rows, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        terms = np.empty((n, self.n_segments, self.width + 1))
        terms[:, :, 0] = self.baseline
        if self.columns is None:
            terms[:, :, 1:] = self.value[node].reshape(n, self.n_segments, self.width)
        else:
            leaves = np.zeros((n, n_trees + 1))
            leaves[:, :n_trees] = self.value[node]
            terms[:, :, 1:] = leaves[:, self.columns]
        return np.cumsum(terms, axis=2)[:, :, -1]


# A member's response from the input rows and the forest's raw scores of those rows.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _get(arrays: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    try:
        return arrays[key]
    except KeyError:
        raise ValueError(f"predictor arrays: {key!r} is missing") from None


class _ForestBuilder:
    """Collects the tree sets of a model's members; each gets its columns of the one forest's output."""

    def __init__(self) -> None:
        self.sets: list[tuple[Trees, np.ndarray]] = []
        self.depth = 0
        self.width = 0

    def add(self, arrays: Mapping[str, np.ndarray], prefix: str) -> slice:
        n_classes = int(_get(arrays, prefix + "n_classes"))
        trees = [tuple(_get(arrays, f"{prefix}c{k}_{part}") for part in _TREE_PARTS) for k in range(n_classes)]
        self.sets.append((trees, _get(arrays, prefix + "baseline")))
        self.depth = max(self.depth, int(_get(arrays, prefix + "depth")))
        cols = slice(self.width, self.width + n_classes)
        self.width += n_classes
        return cols

    def forest(self) -> Forest | None:
        return Forest(self.sets, self.depth) if self.sets else None


def _trees_scorer(forest: _ForestBuilder, arrays: Mapping[str, np.ndarray], prefix: str, proba: bool) -> Scorer:
    cols = forest.add(arrays, prefix)
    if proba:  # HistGradientBoostingClassifier.predict_proba: its loss's inverse link, softmax
        return lambda X, raw: softmax(raw[:, cols])
    return lambda X, raw: raw[:, cols]  # its decision_function


def _logreg_scorer(arrays: Mapping[str, np.ndarray], prefix: str) -> Callable[[np.ndarray], np.ndarray]:
    coef, intercept = _get(arrays, prefix + "coef"), _get(arrays, prefix + "intercept")
    # LogisticRegression.predict_proba (multinomial): softmax of X @ coef.T + intercept
    return lambda X: softmax(X @ coef.T + intercept)


def _member_scorer(forest: _ForestBuilder, arrays: Mapping[str, np.ndarray], prefix: str) -> Scorer:
    kind = int(_get(arrays, prefix + "kind"))
    if kind == _HGB:
        return _trees_scorer(forest, arrays, prefix, proba=False)
    if kind != _VOTE:
        raise ValueError(f"predictor arrays: unknown member kind {kind} at {prefix!r}")
    parts: list[Scorer] = []
    for j in range(int(_get(arrays, prefix + "n_voters"))):
        vp = f"{prefix}v{j}_"
        vkind = int(_get(arrays, vp + "kind"))
        if vkind == _HGB:
            parts.append(_trees_scorer(forest, arrays, vp, proba=True))
        elif vkind == _LOGREG:
            linear = _logreg_scorer(arrays, vp)
            parts.append(lambda X, raw, linear=linear: linear(X))
        else:
            raise ValueError(f"predictor arrays: unknown voter kind {vkind} at {vp!r}")
    weights = arrays.get(prefix + "weights")
    # VotingClassifier.predict_proba: the voters' probabilities stacked, then their (weighted) average
    return lambda X, raw: np.average(np.asarray([f(X, raw) for f in parts]), axis=0, weights=weights)


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


def calibrated_mean(members: list[tuple[Scorer, Calibrator]], X: np.ndarray, raw: np.ndarray,
                    n_classes: int) -> np.ndarray:
    """``CalibratedClassifierCV.predict_proba``: each member's response through its calibration map, then
    the members' mean (``raw``: the model's forest's output for ``X``)."""
    mean = np.zeros((X.shape[0], n_classes))
    for scorer, calibrate in members:
        mean += calibrate(scorer(X, raw))
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
        trees = _ForestBuilder()
        self.members = [(_member_scorer(trees, arrays, f"band{i}_"), self._calibrator(arrays, f"band{i}_", n_classes))
                        for i in range(int(_get(arrays, "band_n_members")))]
        if not self.members:
            raise ValueError("predictor arrays: no band model members")
        self.forest = trees.forest()  # every member's trees, walked once per call
        self.reason_classes = [str(c) for c in _get(arrays, "reason_classes")]
        kind = int(_get(arrays, "reason_kind"))
        if kind == _LOGREG:
            self._reason: Callable[[np.ndarray], np.ndarray] = _logreg_scorer(arrays, "reason_")
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
        X = np.ascontiguousarray(Xs)
        raw = self.forest.raw(X) if self.forest is not None else np.zeros((X.shape[0], 0))
        return calibrated_mean(self.members, X, raw, len(self.band_classes))

    def reason_proba(self, Xs: np.ndarray) -> np.ndarray:
        """Reason probabilities of scaled rows, columns in :attr:`reason_classes` order."""
        return self._reason(np.ascontiguousarray(Xs))
