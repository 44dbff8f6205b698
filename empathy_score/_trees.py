"""Prediction of a fitted ``HistGradientBoostingClassifier`` with all its trees walked at once in NumPy.

scikit-learn predicts tree by tree, one Python-level call per tree and class: a 300-round, 3-class model makes
900 calls per prediction whatever the number of rows, which dominates the latency of scoring one transcript.
Here every tree of a class is one block of a flat node table, and all (row, tree) pairs descend together, one
level per step. The result is bitwise the same as scikit-learn's ``_raw_predict``: the same comparisons
(``x <= threshold``, missing values follow ``missing_go_to_left``) and the leaf values added in the same order,
starting from the baseline (tested against scikit-learn on the corpus).

:func:`install` puts the walker on each boosted model inside a (calibrated) classifier, as an instance attribute
that shadows ``_raw_predict``; :func:`uninstall` removes it, so that saved models hold scikit-learn objects only.
Models with categorical splits keep scikit-learn's own path.

:func:`calibrated_proba` predicts a temperature-calibrated ensemble of such models (or of soft votes of
such a model and a logistic regression) without scikit-learn's per-member input checks (a dozen array
validations and target-type checks per call, which cost more than the trees for one transcript); it computes
what ``CalibratedClassifierCV.predict_proba`` computes, step by step.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression

__all__ = ["TreeWalker", "install", "uninstall", "calibrated_proba"]

_ATTR = "_raw_predict"


class TreeWalker:
    """``_raw_predict`` of one fitted boosted model, vectorised over rows and trees."""

    def __init__(self, est: HistGradientBoostingClassifier) -> None:
        self.est = est
        self.baseline = np.asarray(est._baseline_prediction).reshape(-1)
        per_class: list[tuple[np.ndarray, ...]] = []
        depth = 0
        for k in range(est.n_trees_per_iteration_):
            nodes = [it[k].nodes for it in est._predictors]
            if any(n["is_categorical"].any() for n in nodes):
                raise ValueError("categorical splits are not supported")
            sizes = np.array([len(n) for n in nodes])
            offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            table = np.concatenate(nodes)
            shift = np.repeat(offsets, sizes)
            leaf = table["is_leaf"].astype(bool)
            own = np.arange(len(table))
            # a leaf points to itself, so that rows already there stay while the others descend
            left = np.where(leaf, own, table["left"].astype(np.int64) + shift)
            right = np.where(leaf, own, table["right"].astype(np.int64) + shift)
            feature = np.where(leaf, 0, table["feature_idx"]).astype(np.intp)
            per_class.append((offsets.astype(np.intp), feature, table["num_threshold"].astype(np.float64),
                              table["missing_go_to_left"].astype(bool), left, right, table["value"]))
            depth = max(depth, int(table["depth"].max()))
        self.per_class = per_class
        self.depth = depth

    def __call__(self, X: Any, n_threads: int | None = None) -> np.ndarray:
        return self.raw(self.est._preprocess_X(X, reset=False))

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw predictions for an already validated float64 matrix."""
        n = X.shape[0]
        raw = np.zeros((n, len(self.per_class)), dtype=self.baseline.dtype, order="F")
        rows = np.arange(n)[:, None]
        for k, (roots, feature, threshold, missing_left, left, right, value) in enumerate(self.per_class):
            node = np.broadcast_to(roots, (n, len(roots))).copy()
            for _ in range(self.depth):
                x = X[rows, feature[node]]
                go_left = np.where(np.isnan(x), missing_left[node], x <= threshold[node])
                node = np.where(go_left, left[node], right[node])
            # baseline, then each tree's leaf in turn: cumsum adds left to right, as scikit-learn's loop does
            terms = np.concatenate((np.full((n, 1), self.baseline[k]), value[node]), axis=1)
            raw[:, k] = np.cumsum(terms, axis=1)[:, -1]
        return raw


def _boosted(clf: Any) -> Iterator[HistGradientBoostingClassifier]:
    """The boosted models inside ``clf``: itself, the voters of a VotingClassifier, the estimators of a
    CalibratedClassifierCV (and the voters inside those)."""
    if isinstance(clf, HistGradientBoostingClassifier):
        yield clf
        return
    if isinstance(clf, VotingClassifier):
        for est in getattr(clf, "estimators_", ()) or ():
            yield from _boosted(est)
    for cc in getattr(clf, "calibrated_classifiers_", ()) or ():
        est = getattr(cc, "estimator", None)
        if isinstance(est, (HistGradientBoostingClassifier, VotingClassifier)):
            yield from _boosted(est)


def install(clf: Any) -> int:
    """Give each supported boosted model in ``clf`` the vectorised walker; returns how many got it."""
    done = 0
    for est in _boosted(clf):
        if isinstance(vars(est).get(_ATTR), TreeWalker):
            done += 1
            continue
        try:
            walker = TreeWalker(est)
        except (ValueError, AttributeError, KeyError):
            continue  # an unknown layout or categorical splits: scikit-learn's own path
        setattr(est, _ATTR, walker)
        done += 1
    return done


def uninstall(clf: Any) -> None:
    for est in _boosted(clf):
        if isinstance(vars(est).get(_ATTR), TreeWalker):
            delattr(est, _ATTR)


def _walker(est: Any, n_classes: int) -> TreeWalker | None:
    """The walker installed on a multiclass boosted model of ``n_classes`` classes, else ``None``."""
    walker = getattr(est, "__dict__", {}).get(_ATTR)
    if not isinstance(walker, TreeWalker) or len(walker.per_class) != n_classes or len(est.classes_) != n_classes:
        return None
    return walker


def _scorer(est: Any, n_classes: int, width: int) -> Callable[[np.ndarray], np.ndarray] | None:
    """What ``est``'s response method (decision function, else probabilities) returns for a validated matrix
    of ``width`` columns, computed as scikit-learn computes it; ``None`` for an estimator of another kind."""
    if isinstance(est, HistGradientBoostingClassifier):
        walker = _walker(est, n_classes)
        if walker is None or est.n_features_in_ != width or hasattr(est, "feature_names_in_"):
            return None
        return walker.raw  # its decision_function
    if not isinstance(est, VotingClassifier) or est.voting != "soft" or len(est.classes_) != n_classes:
        return None
    parts: list[Callable[[np.ndarray], np.ndarray]] = []
    for voter in getattr(est, "estimators_", ()) or ():
        if isinstance(voter, HistGradientBoostingClassifier):
            raw = _scorer(voter, n_classes, width)
            if raw is None:
                return None
            parts.append(lambda X, raw=raw, loss=voter._loss: loss.predict_proba(raw(X)))
        elif isinstance(voter, LogisticRegression) and voter.n_features_in_ == width and len(voter.classes_) == n_classes:
            parts.append(voter.predict_proba)  # cheap: one product, its own few checks
        else:
            return None
    if not parts:
        return None
    weights = est._weights_not_none
    # VotingClassifier.predict_proba: the voters' probabilities stacked, then their (weighted) average
    return lambda X: np.average(np.asarray([f(X) for f in parts]), axis=0, weights=weights)


def _temperature_members(clf: Any, width: int) -> list[tuple[Callable[[np.ndarray], np.ndarray], float]] | None:
    """(scorer, beta) of each member of a temperature-calibrated ensemble of walked multiclass models (or of
    soft votes with one), or ``None`` when ``clf`` is anything else."""
    from sklearn.calibration import CalibratedClassifierCV

    if not isinstance(clf, CalibratedClassifierCV) or getattr(clf, "method", None) != "temperature":
        return None
    members = []
    n_classes = len(clf.classes_)
    if n_classes < 3:
        return None
    for cc in getattr(clf, "calibrated_classifiers_", None) or ():
        cals = getattr(cc, "calibrators", ())
        if getattr(cc, "method", None) != "temperature" or len(cals) != 1 or not hasattr(cals[0], "beta_"):
            return None
        scorer = _scorer(getattr(cc, "estimator", None), n_classes, width)
        if scorer is None:
            return None
        members.append((scorer, float(cals[0].beta_)))
    return members or None


def calibrated_proba(clf: Any, X: Any) -> np.ndarray | None:
    """``clf.predict_proba(X)`` for a temperature-calibrated ensemble of walked boosted models (``None`` when
    ``clf`` or ``X`` is of another kind: the caller then asks scikit-learn).

    Per member: the raw scores (its ``decision_function``), read as logits unless they look like
    probabilities (the same test scikit-learn applies), times the member's fitted ``beta_``, through softmax;
    then the members' mean. Tested equal to scikit-learn's result on the corpus.
    """
    from sklearn.utils.extmath import softmax

    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype != np.float64:
        return None
    members = _temperature_members(clf, X.shape[1])
    if members is None:
        return None
    X = np.ascontiguousarray(X)
    mean = np.zeros((X.shape[0], len(clf.classes_)))
    for scorer, beta in members:
        logits = scorer(X)
        if np.all((logits >= 0) & (logits <= 1)) and np.all(np.isclose(logits.sum(axis=1), 1.0)):
            logits = np.log(logits + 1e-12)
        proba = softmax(beta * logits)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        mean += proba
    mean /= len(members)
    return mean
