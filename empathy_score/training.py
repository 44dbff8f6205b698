"""Training: from labelled transcripts to a calibrated :class:`~empathy_score.model.CsatModel`.

``train(transcripts, labels)`` is the Python entry point; ``empathy-score train DATA --label FIELD`` the
command-line one. Estimators are chosen by grouped cross-validation (groups keep one writer's or one agent's
calls together), and probabilities are calibrated (sigmoid, isotonic or temperature scaling; one model or
five fold copies: whichever is best calibrated, by cross-validated ECE, in its worst language; see
:func:`choose_calibration`). Numeric survey scores are mapped
to bands by ``--bands`` (default ``1-2:low,3:medium,4-5:high``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from scipy import sparse

from .detect import Analysis
from .errors import EmpathyScoreError, TranscriptError
from ._predict import lexicon_vote
from .features import FEATURE_NAMES, MODEL_FEATURE_NAMES, customer_text, to_analysis, transcript_features
from .model import CsatModel
from .taxonomy import BANDS, CONTACT_REASONS

__all__ = [
    "train",
    "parse_bands",
    "to_band",
    "load_labelled",
    "LabelledSet",
    "choose_calibration",
    "expected_calibration_error",
    "evaluate_model",
    "DEFAULT_BANDS",
]

DEFAULT_BANDS = "1-2:low,3:medium,4-5:high"
# A candidate using customer-text n-grams must beat the behaviour-features model by this much macro-F1 in
# cross-validation to be chosen: n-grams learn the wording of the training corpus, features generalise.
NGRAM_MARGIN = 0.02


def parse_bands(spec: str) -> list[tuple[float, float, str]]:
    """``"1-2:low,3:medium,4-5:high"`` -> ranges; raises ``ValueError`` naming the bad part."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            rng, band = part.split(":")
            lo, _, hi = rng.partition("-")
            out.append((float(lo), float(hi or lo), band.strip()))
        except ValueError:
            raise ValueError(f"bad band range {part!r}; expected e.g. '1-2:low'") from None
        if band.strip() not in BANDS:
            raise ValueError(f"unknown band {band.strip()!r} in {part!r}; expected one of {', '.join(BANDS)}")
    return out


def to_band(value: Any, ranges: Sequence[tuple[float, float, str]]) -> str:
    """A band from a band name or a numeric score."""
    if isinstance(value, str) and value.strip().lower() in BANDS:
        return value.strip().lower()
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"label {value!r} is neither a band ({', '.join(BANDS)}) nor a number") from None
    for lo, hi, band in ranges:
        if lo <= x <= hi:
            return band
    raise ValueError(f"score {x:g} falls in no band range")


@dataclass
class LabelledSet:
    """Transcripts with their labels, as read from a file or folder."""

    ids: list[str]
    sources: list[Any]
    labels: list[str]
    langs: list[str | None]
    reasons: list[str | None]
    groups: list[str]
    records: list[dict[str, Any]]


def _records_from_file(path: Path) -> Iterable[dict[str, Any]]:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TranscriptError(f"invalid JSON ({exc.msg})", source=str(path), line=lineno) from None
                rec["_where"] = f"{path}, line {lineno}"
                yield rec
    elif path.suffix.lower() in (".csv", ".tsv"):
        with open(path, newline="", encoding="utf-8") as fh:
            header = fh.readline()
            fh.seek(0)
            # only the delimiter is guessed, from the header; quoting stays standard ("" inside quoted fields),
            # which a guess from one line would get wrong for transcripts with quotes and line breaks
            try:
                delimiter = csv.Sniffer().sniff(header, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            reader = csv.DictReader(fh, delimiter=delimiter)
            start = 2
            for row in reader:
                row["_where"] = f"{path}, line {start}"
                start = reader.line_num + 1
                yield dict(row)
    else:
        raise TranscriptError("expected a .jsonl or .csv file of labelled transcripts", source=str(path))


def load_labelled(
    data: str | Path, label: str = "band", bands: str = DEFAULT_BANDS, labels_glob: str | None = None
) -> LabelledSet:
    """Read labelled transcripts from a JSONL/CSV file or a folder.

    Each record has an ``id``, the ``label`` field (band or numeric score) and either the transcript inline
    (``text``, ``turns`` or ``transcript``) or a transcript file in the folder whose name (without suffix)
    is the id. Optional fields: ``lang``, ``contact_reason``, and ``group`` (or ``agent_id``) for grouped
    cross-validation. A record with a bad label or no transcript raises, naming the file and line.
    In a folder, ``labels_glob`` (e.g. ``"labels/*.jsonl"``) says which files hold the labels; by default every
    ``.jsonl``/``.csv`` file in it does.
    """
    ranges = parse_bands(bands)
    root = Path(data)
    if root.is_dir():
        found = root.glob(labels_glob) if labels_glob else root.rglob("*")
        label_files = sorted(p for p in found if p.suffix.lower() in (".jsonl", ".csv") and p.is_file())
        if not label_files:
            raise TranscriptError(f"no label files ({labels_glob or '*.jsonl, *.csv'}) in the folder", source=str(root))
        by_stem: dict[str, Path] = {}
        for p in root.rglob("*"):
            if p.is_file() and p.suffix.lower() not in (".jsonl", ".csv"):
                by_stem.setdefault(p.stem, p)
        records = [r for f in label_files for r in _records_from_file(f)]
    elif root.is_file():
        by_stem = {}
        records = list(_records_from_file(root))
    else:
        raise TranscriptError("no such file or folder", source=str(root))
    out = LabelledSet([], [], [], [], [], [], [])
    for rec in records:
        where = rec.pop("_where", str(root))
        if label not in rec or rec[label] in (None, ""):
            raise TranscriptError(f"record has no {label!r} field", source=where)
        try:
            band = to_band(rec[label], ranges)
        except ValueError as exc:
            raise TranscriptError(str(exc), source=where) from None
        rid = str(rec.get("id") or rec.get("conversation_id") or where)
        src: Any = None
        for key in ("turns", "text", "transcript", "messages"):
            if rec.get(key):
                src = {"id": rid, key: rec[key]} if not isinstance(rec[key], str) else rec[key]
                break
        if src is None:
            path = by_stem.get(rid)
            if path is None:
                raise TranscriptError(f"no transcript for id {rid!r} (inline or as a file named {rid}.*)", source=where)
            src = path
        reason = rec.get("contact_reason") or None
        out.ids.append(rid)
        out.sources.append(src)
        out.labels.append(band)
        out.langs.append(rec.get("lang") or None)
        out.reasons.append(reason if reason in CONTACT_REASONS else None)
        out.groups.append(str(rec.get("group") or rec.get("agent_id") or rid.rsplit("-", 1)[0]))
        out.records.append(rec)
    if not out.ids:
        raise TranscriptError("no labelled records found", source=str(root))
    return out


def expected_calibration_error(proba: np.ndarray, y_idx: np.ndarray, bins: int = 10) -> float:
    """Top-label expected calibration error with equal-width confidence bins."""
    conf = proba.max(axis=1)
    pred = proba.argmax(axis=1)
    correct = (pred == y_idx).astype(float)
    ece = 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


# ---- candidates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    text: bool
    features: bool
    make: Callable[[], Any]


def _logreg(c: float) -> Callable[[], Any]:
    return lambda: LogisticRegression(C=c, max_iter=5000, class_weight="balanced")


def _hgb(**params: Any) -> Callable[[], Any]:
    base = dict(max_depth=3, learning_rate=0.06, max_iter=250, l2_regularization=1.0, class_weight="balanced",
                random_state=0)
    base.update(params)
    return lambda: HistGradientBoostingClassifier(**base)


# Calibration setups tried by cross-validated ECE (see choose_calibration): the method, and whether the model
# is five calibrated fold copies averaged ("ensemble") or one classifier fitted on all rows with its map fitted
# on 5-fold out-of-fold scores ("single": a fifth of the cost per prediction call). Ties go to the earlier entry.
# Temperature scaling (scikit-learn >= 1.8) rescales all bands together; sigmoid and isotonic fit one map per
# band and renormalise.
CALIBRATIONS: tuple[str, ...] = ("sigmoid/single", "isotonic/single", "sigmoid/ensemble", "isotonic/ensemble",
                                  "temperature/single", "temperature/ensemble")


# A single model costs a fifth of an ensemble per prediction; it is kept unless an ensemble calibrates better by
# more than this (cross-validated ECE, worst language).
CALIBRATION_MARGIN = 0.005
_MIN_LANGUAGE_ROWS = 30  # languages with fewer labelled rows are too few for their own ECE (10 bins)


def _ece_by_language(proba: np.ndarray, y_idx: np.ndarray, langs: np.ndarray) -> dict[str, float]:
    return {str(lang): round(expected_calibration_error(proba[langs == lang], y_idx[langs == lang]), 4)
            for lang in sorted(set(langs.tolist())) if (langs == lang).sum() >= _MIN_LANGUAGE_ROWS}


def choose_calibration(results: dict[str, dict[str, Any]]) -> str:
    """The calibration setup to ship, from each setup's cross-validated ``ece`` and ``ece_by_language``.

    Probabilities must be calibrated in every language, not just on average: a setup is scored by its worst
    language's ECE (its overall ECE when no language has enough rows). Among the setups within
    :data:`CALIBRATION_MARGIN` of the best score, a single model wins over an ensemble (a fifth of the cost of a
    prediction); then the lower score, then the order of :data:`CALIBRATIONS`.
    """

    def score(k: str) -> float:
        by_lang = results[k].get("ece_by_language") or {}
        return max(by_lang.values()) if by_lang else float(results[k]["ece"])

    best = min(score(k) for k in results)
    near = [k for k in results if score(k) <= best + CALIBRATION_MARGIN]
    return min(near, key=lambda k: (not k.endswith("/single"), score(k), CALIBRATIONS.index(k)))


def _calibrated(clf: Any, setup: str) -> CalibratedClassifierCV:
    method, _, kind = setup.partition("/")
    if method not in ("sigmoid", "isotonic", "temperature") or kind not in ("single", "ensemble", ""):
        raise ValueError(f"unknown calibration {setup!r}; expected one of {', '.join(CALIBRATIONS)}")
    return CalibratedClassifierCV(clf, method=method, cv=StratifiedKFold(5, shuffle=True, random_state=0),
                                  ensemble=kind != "single")


def _soft_vote(c: float) -> Callable[[], Any]:
    """The shallow boosted model and a logistic regression, their probabilities averaged: the trees find
    interactions of situation and behaviour, the linear model is smoother where the trees have few rows."""
    boosted, linear = _hgb(max_depth=2, learning_rate=0.05, max_iter=400), _logreg(c)
    return lambda: VotingClassifier([("boosted", boosted()), ("linear", linear())], voting="soft")


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("logreg_C0.1", False, True, _logreg(0.1)),
    Candidate("logreg_C0.3", False, True, _logreg(0.3)),
    Candidate("logreg_C1", False, True, _logreg(1.0)),
    Candidate("hist_gradient_boosting", False, True, _hgb()),
    Candidate("hist_gradient_boosting_d2", False, True, _hgb(max_depth=2, learning_rate=0.05, max_iter=400)),
    Candidate("hist_gradient_boosting_leaf20", False, True,
              _hgb(max_depth=None, max_leaf_nodes=8, min_samples_leaf=20, learning_rate=0.05, max_iter=300)),
    Candidate("soft_vote_d2+logreg_C0.1", False, True, _soft_vote(0.1)),
    Candidate("soft_vote_d2+logreg_C0.3", False, True, _soft_vote(0.3)),
    Candidate("logreg_C0.3+ngrams", True, True, _logreg(0.3)),
    Candidate("logreg_C1+ngrams", True, True, _logreg(1.0)),
)
ABLATION = {
    "behaviour_features": Candidate("logreg_C0.3", False, True, _logreg(0.3)),
    "ngrams_only": Candidate("logreg_C1 ngrams", True, False, _logreg(1.0)),
    "both": Candidate("logreg_C0.3+ngrams", True, True, _logreg(0.3)),
}


class _Design:
    """Fits the scaler and TF-IDF on training rows and builds matrices for a candidate."""

    def __init__(self, analyses: Sequence[Analysis], feats: np.ndarray, text: bool, features: bool) -> None:
        self.text, self.features = text, features
        self.scaler = StandardScaler().fit(feats)
        self.tfidf = None
        if text:
            self.tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20000, sublinear_tf=True,
                                         lowercase=True).fit([customer_text(a) for a in analyses])

    def matrix(self, analyses: Sequence[Analysis], feats: np.ndarray) -> Any:
        parts = []
        if self.features:
            parts.append(sparse.csr_matrix(self.scaler.transform(feats)) if self.text else self.scaler.transform(feats))
        if self.text and self.tfidf is not None:
            parts.append(self.tfidf.transform([customer_text(a) for a in analyses]))
        if len(parts) == 1:
            return parts[0]
        return sparse.hstack(parts, format="csr")


def _fit_input(estimator: Any, X: Any) -> Any:
    """``X`` as ``estimator`` takes it: gradient boosting takes dense input only."""
    dense_only = isinstance(estimator, (HistGradientBoostingClassifier, VotingClassifier))
    return X.toarray() if dense_only and sparse.issparse(X) else X


def _fit_predict(cand: Candidate, A: Sequence[Analysis], F: np.ndarray, y: np.ndarray,
                 A2: Sequence[Analysis], F2: np.ndarray, calibrate: bool | str) -> np.ndarray:
    d = _Design(A, F, cand.text, cand.features)
    clf = cand.make()
    X, X2 = _fit_input(clf, d.matrix(A, F)), _fit_input(clf, d.matrix(A2, F2))
    if calibrate:
        clf = _calibrated(clf, CALIBRATIONS[0] if calibrate is True else calibrate)
    clf.fit(X, y)
    order = [list(clf.classes_).index(i) for i in range(len(BANDS))]
    return np.asarray(clf.predict_proba(X2)[:, order])


def _cv_splits(y: np.ndarray, groups: Sequence[str], folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    n_groups = len(set(groups))
    if n_groups >= folds:
        return list(GroupKFold(n_splits=folds).split(np.zeros(len(y)), y, groups))
    k = max(2, min(folds, int(np.bincount(y).min())))
    return list(StratifiedKFold(k, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def _scores(y_idx: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    pred = proba.argmax(axis=1)
    return {
        "n": int(len(y_idx)),
        "accuracy": round(float(accuracy_score(y_idx, pred)), 4),
        "macro_f1": round(float(f1_score(y_idx, pred, average="macro", labels=[0, 1, 2], zero_division=0)), 4),
        "recall": {b: round(float(r), 4) for b, r in zip(BANDS, recall_score(y_idx, pred, average=None, labels=[0, 1, 2], zero_division=0))},
        "ece": round(expected_calibration_error(proba, y_idx), 4),
        "confusion": confusion_matrix(y_idx, pred, labels=[0, 1, 2]).tolist(),
    }


def _cross_validate(cand: Candidate, A: list[Analysis], F: np.ndarray, y: np.ndarray,
                    groups: Sequence[str], folds: int, calibrate: bool | str = False) -> tuple[dict[str, Any], np.ndarray]:
    proba = np.zeros((len(y), len(BANDS)))
    for tr, te in _cv_splits(y, groups, folds):
        proba[te] = _fit_predict(cand, [A[i] for i in tr], F[tr], y[tr], [A[i] for i in te], F[te], calibrate=calibrate)
    return _scores(y, proba), proba


def _data_hash(ids: Sequence[str], labels: Sequence[str], analyses: Sequence[Analysis]) -> str:
    h = hashlib.sha256()
    for i, lab, a in zip(ids, labels, analyses):
        h.update(f"{i}\t{lab}\n".encode())
        for t in a.transcript.turns:
            h.update(f"{t.role}\t{t.text}\n".encode())
    return h.hexdigest()


def train(
    transcripts: Sequence[Any],
    labels: Sequence[Any],
    *,
    lang: str | None = None,
    reasons: Sequence[str | None] | None = None,
    groups: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    bands: str = DEFAULT_BANDS,
    text_ngrams: bool | None = None,
    folds: int = 5,
    features: Sequence[str] = MODEL_FEATURE_NAMES,
    candidates: Sequence[Candidate] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CsatModel:
    """Train a calibrated CSAT model on labelled transcripts.

    ``transcripts``: anything :func:`~empathy_score.parse_transcript` reads (or parsed transcripts);
    ``labels``: bands or numeric scores (mapped with ``bands``). ``groups`` keeps related calls (one agent,
    one writer) in the same cross-validation fold. ``text_ngrams=None`` lets cross-validation decide whether
    customer-text n-grams join the behaviour features (they must win by a clear margin).
    ``features`` are the feature columns the model uses (default: all but the length and talk-share ones,
    see :data:`~empathy_score.features.STYLE_FEATURES`); ``candidates`` overrides the estimators tried.
    The returned model's ``card`` holds the cross-validated metrics of every candidate.
    """
    say = progress or (lambda _m: None)
    if len(transcripts) != len(labels):
        raise ValueError(f"{len(transcripts)} transcripts but {len(labels)} labels")
    if len(transcripts) < 30:
        raise ValueError(f"need at least 30 labelled transcripts to train, got {len(transcripts)}")
    ranges = parse_bands(bands)
    y_names = [to_band(v, ranges) for v in labels]
    missing = [b for b in BANDS if b not in y_names]
    if missing:
        raise ValueError(f"every band needs examples; none for {', '.join(missing)}")
    y = np.array([BANDS.index(b) for b in y_names])
    say(f"analysing {len(transcripts)} transcripts")
    A = [to_analysis(t, lang) for t in transcripts]
    unknown = [n for n in features if n not in FEATURE_NAMES]
    if unknown:
        raise ValueError(f"unknown feature names: {', '.join(unknown)}")
    features = tuple(features)
    F = np.array([[transcript_features(a)[n] for n in features] for a in A])
    g = list(groups) if groups is not None else [str(i) for i in range(len(A))]
    results: dict[str, Any] = {}
    pool = [c for c in (candidates or CANDIDATES) if text_ngrams is None or c.text == text_ngrams]
    if not pool:
        raise ValueError("no candidate estimator left to try")
    for cand in pool:
        say(f"cross-validating {cand.name}")
        results[cand.name], _ = _cross_validate(cand, A, F, y, g, folds)
    best_plain = max((c for c in pool if not c.text), key=lambda c: results[c.name]["macro_f1"], default=None)
    best_text = max((c for c in pool if c.text), key=lambda c: results[c.name]["macro_f1"], default=None)
    chosen = best_plain or best_text
    assert chosen is not None
    if best_plain and best_text and results[best_text.name]["macro_f1"] >= results[best_plain.name]["macro_f1"] + NGRAM_MARGIN:
        chosen = best_text
    calibration: dict[str, Any] = {}
    if len(A) >= 200:  # isotonic needs data; below this, sigmoid without a contest
        langs = np.array([a.transcript.lang for a in A])
        for setup in CALIBRATIONS:
            say(f"cross-validating {setup} calibration of {chosen.name}")
            calibration[setup], oof = _cross_validate(chosen, A, F, y, g, folds, calibrate=setup)
            calibration[setup]["ece_by_language"] = _ece_by_language(oof, y, langs)
    method = choose_calibration(calibration) if calibration else CALIBRATIONS[0]
    say(f"chosen {chosen.name} with {method} calibration; fitting the final model")
    design = _Design(A, F, chosen.text, chosen.features)
    estimator = chosen.make()
    X = _fit_input(estimator, design.matrix(A, F))
    band_clf = _calibrated(estimator, method)
    band_clf.fit(X, y_names)
    reason_clf = _train_reason(X, reasons, A, features if chosen.features else None)
    card: dict[str, Any] = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "estimator": chosen.name,
        "calibration": f"{method}: " + ("one model, its map fitted on 5-fold out-of-fold scores" if method.endswith("single")
                                        else "5 fold models, each calibrated on its held-out fold, averaged")
                       + "; chosen by cross-validated ECE in the worst-calibrated language",
        "calibration_cv": {k: {"ece": v["ece"], "ece_by_language": v["ece_by_language"], "macro_f1": v["macro_f1"]}
                           for k, v in calibration.items()},
        "n_train": len(A),
        "label_counts": dict(Counter(y_names)),
        "language_counts": dict(Counter(a.transcript.lang for a in A)),
        "bands_spec": bands,
        "data_sha256": _data_hash(list(ids) if ids is not None else [str(i) for i in range(len(A))], y_names, A),
        "features_excluded": [n for n in FEATURE_NAMES if n not in features],
        # folds are grouped only when there are enough groups (see _cv_splits); say which happened
        "cv": {"folds": folds, "grouped": groups is not None and len(set(g)) >= folds,
               "n_groups": len(set(g)) if groups is not None else None,
               "candidates": results, "ngram_margin": NGRAM_MARGIN},
    }
    model = CsatModel(
        band_clf=band_clf,
        reason_clf=reason_clf,
        scaler=design.scaler,
        tfidf=design.tfidf,
        baseline=F.mean(axis=0),
        feature_names=features,
        card=card,
        use_features=chosen.features,
    )
    return model


class _ConstantReason:
    """Reason model used when the training data has no reason labels: the lexicon's own vote (uniform when
    the model's input has no feature columns, as with an n-gram-only model)."""

    classes_ = np.array(CONTACT_REASONS)

    def __init__(self, cols: Sequence[int] | None) -> None:
        self.cols = list(cols) if cols is not None else None

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.cols is not None:
            X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        return lexicon_vote(X, self.cols, len(CONTACT_REASONS))


def _train_reason(X: Any, reasons: Sequence[str | None] | None, A: Sequence[Analysis],
                  features: Sequence[str] | None) -> Any:
    """``features``: the feature columns leading ``X`` (None when ``X`` holds n-grams only)."""
    cols = [list(features).index(f"reason_{r}") for r in CONTACT_REASONS] if features is not None else None
    if not reasons or sum(r is not None for r in reasons) < 20:
        return _ConstantReason(cols)
    idx = [i for i, r in enumerate(reasons) if r is not None]
    yr = [reasons[i] for i in idx]
    if len(set(yr)) < 2:
        return _ConstantReason(cols)
    Xr = X[idx] if not isinstance(X, np.ndarray) else X[np.array(idx)]
    return LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit(Xr, yr)


def evaluate_model(model: CsatModel, transcripts: Sequence[Any], labels: Sequence[str],
                   langs: Sequence[str | None] | None = None,
                   reasons: Sequence[str | None] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-band recall, ECE and confusion matrix, overall and per language; with
    ``reasons``, the contact-reason accuracy and macro-F1 too."""
    A = [to_analysis(t) for t in transcripts]
    proba = model.predict_proba(A)
    y = np.array([BANDS.index(b) for b in labels])
    out: dict[str, Any] = {"overall": _scores(y, proba)}
    lang_of = [l or a.transcript.lang for l, a in zip(langs or [None] * len(A), A)]
    for lang in sorted(set(lang_of)):
        m = np.array([x == lang for x in lang_of])
        out[lang] = _scores(y[m], proba[m])
    if reasons is not None:
        pred = [max(r, key=lambda k: r[k]) for r in model.predict_reason(A)]
        pairs = [(t, p) for t, p in zip(reasons, pred) if t is not None]
        if pairs:
            t, p = zip(*pairs)
            out["contact_reason"] = {
                "n": len(pairs),
                "accuracy": round(float(accuracy_score(t, p)), 4),
                "macro_f1": round(float(f1_score(t, p, average="macro", labels=list(CONTACT_REASONS), zero_division=0)), 4),
            }
    return out


def ablation(train_items: Sequence[Any], train_labels: Sequence[str], test_items: Sequence[Any],
             test_labels: Sequence[str], *, groups: Sequence[str] | None = None,
             test_langs: Sequence[str | None] | None = None) -> dict[str, Any]:
    """Test-split macro-F1 (overall and per language) of behaviour features only, n-grams only, and both."""
    out: dict[str, Any] = {}
    for name, cand in ABLATION.items():
        m = train(train_items, train_labels, groups=groups, candidates=[cand])
        ev = evaluate_model(m, test_items, test_labels, test_langs)
        out[name] = {k: v["macro_f1"] for k, v in ev.items() if isinstance(v, dict) and "macro_f1" in v}
    return out


class TrainingError(EmpathyScoreError, ValueError):
    """Training data unusable (too few records, a band with no example...)."""


__all__ += ["TrainingError", "Candidate", "CANDIDATES", "ABLATION", "ablation", "evaluate_model"]
