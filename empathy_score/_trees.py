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

:func:`export` writes a calibrated model of such trees (and of soft votes of them with logistic
regressions) as the arrays :class:`empathy_score._predict.Predictor` predicts from with NumPy alone, without
scikit-learn's per-member input checks (a dozen array validations and target-type checks per call, which cost
more than the trees for one transcript).
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression

from ._predict import _CONSTANT, _HGB, _ISOTONIC, _LOGREG, _TEMPERATURE, _TREE_PARTS, _VOTE, FORMAT, Forest

__all__ = ["TreeWalker", "install", "uninstall", "export"]

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
        self.forest = Forest([(per_class, self.baseline)], depth)

    def __call__(self, X: Any, n_threads: int | None = None) -> np.ndarray:
        return self.raw(self.est._preprocess_X(X, reset=False))

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw predictions for an already validated float64 matrix."""
        return self.forest.raw(X)


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


def _export_trees(est: HistGradientBoostingClassifier, n_classes: int, prefix: str, out: dict[str, np.ndarray]) -> bool:
    try:
        walker = TreeWalker(est)
    except (ValueError, AttributeError, KeyError):
        return False
    if len(walker.per_class) != n_classes or len(est.classes_) != n_classes or hasattr(est, "feature_names_in_"):
        return False
    out[prefix + "kind"] = np.array(_HGB)
    out[prefix + "n_classes"] = np.array(n_classes)
    out[prefix + "baseline"] = walker.baseline
    out[prefix + "depth"] = np.array(walker.depth)
    for k, arrays in enumerate(walker.per_class):
        for part, arr in zip(_TREE_PARTS, arrays):
            out[f"{prefix}c{k}_{part}"] = arr
    return True


def _export_logreg(est: Any, n_classes: int, prefix: str, out: dict[str, np.ndarray]) -> bool:
    if (not isinstance(est, LogisticRegression) or len(est.classes_) != n_classes or n_classes < 3
            or hasattr(est, "feature_names_in_") or est.coef_.shape[0] != n_classes):
        return False
    out[prefix + "kind"] = np.array(_LOGREG)
    out[prefix + "coef"] = est.coef_
    out[prefix + "intercept"] = est.intercept_
    return True


def _export_calibration(cc: Any, est: Any, n_classes: int, prefix: str, out: dict[str, np.ndarray]) -> bool:
    from sklearn.isotonic import IsotonicRegression

    cals: Any = getattr(cc, "calibrators", ())
    method = getattr(cc, "method", None)
    if method == "temperature":
        if len(cals) != 1 or not hasattr(cals[0], "beta_"):
            return False
        out[prefix + "method"] = np.array(_TEMPERATURE)
        out[prefix + "beta"] = np.array(float(cals[0].beta_))
        return True
    if method != "isotonic" or len(cals) != n_classes or est is None:
        return False
    # one map per band, in the order of the member's classes, which must be the calibrated model's own
    if [str(c) for c in est.classes_] != [str(c) for c in cc.classes]:
        return False
    out[prefix + "method"] = np.array(_ISOTONIC)
    for k, cal in enumerate(cals):
        if not isinstance(cal, IsotonicRegression) or cal.out_of_bounds != "clip":
            return False
        out[f"{prefix}iso{k}_x"] = np.asarray(cal.X_thresholds_, dtype=np.float64)
        out[f"{prefix}iso{k}_y"] = np.asarray(cal.y_thresholds_, dtype=np.float64)
        out[f"{prefix}iso{k}_bounds"] = np.array([cal.X_min_, cal.X_max_], dtype=np.float64)
    return True


def export(band_clf: Any, reason_clf: Any, scaler: Any) -> dict[str, np.ndarray] | None:
    """The arrays :class:`empathy_score._predict.Predictor` predicts from, or ``None`` for a model of a kind
    it does not cover (that model then predicts with scikit-learn)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.preprocessing import StandardScaler

    from .training import _ConstantReason

    if (not isinstance(scaler, StandardScaler) or not scaler.with_mean or not scaler.with_std
            or getattr(scaler, "mean_", None) is None or getattr(scaler, "scale_", None) is None):
        return None
    if not isinstance(band_clf, CalibratedClassifierCV) or getattr(band_clf, "method", None) not in ("temperature", "isotonic"):
        return None
    n_classes = len(band_clf.classes_)
    if n_classes < 3:
        return None
    out: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "scaler_mean": np.asarray(scaler.mean_, dtype=np.float64),
        "scaler_scale": np.asarray(scaler.scale_, dtype=np.float64),
        "band_classes": np.asarray([str(c) for c in band_clf.classes_]),
    }
    members = getattr(band_clf, "calibrated_classifiers_", None) or ()
    for i, cc in enumerate(members):
        prefix = f"band{i}_"
        est = getattr(cc, "estimator", None)
        if not _export_calibration(cc, est, n_classes, prefix, out):
            return None
        if isinstance(est, HistGradientBoostingClassifier):
            if not _export_trees(est, n_classes, prefix, out):
                return None
        elif isinstance(est, VotingClassifier) and est.voting == "soft" and len(est.classes_) == n_classes:
            out[prefix + "kind"] = np.array(_VOTE)
            voters = getattr(est, "estimators_", None) or []
            out[prefix + "n_voters"] = np.array(len(voters))
            if est._weights_not_none is not None:
                out[prefix + "weights"] = np.asarray(est._weights_not_none, dtype=np.float64)
            for j, voter in enumerate(voters):
                vp = f"{prefix}v{j}_"
                if isinstance(voter, HistGradientBoostingClassifier):
                    ok = _export_trees(voter, n_classes, vp, out)
                else:
                    ok = _export_logreg(voter, n_classes, vp, out)
                if not ok:
                    return None
        else:
            return None
    if not members:
        return None
    out["band_n_members"] = np.array(len(members))
    if isinstance(reason_clf, LogisticRegression):
        out["reason_classes"] = np.asarray([str(c) for c in reason_clf.classes_])
        if not _export_logreg(reason_clf, len(reason_clf.classes_), "reason_", out):
            return None
    elif isinstance(reason_clf, _ConstantReason):
        out["reason_kind"] = np.array(_CONSTANT)
        out["reason_classes"] = np.asarray([str(c) for c in reason_clf.classes_])
        if reason_clf.cols is not None:
            out["reason_cols"] = np.asarray(reason_clf.cols, dtype=np.int64)
    else:
        return None
    return out
