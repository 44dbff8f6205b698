"""The CSAT model: behaviour features (optionally with customer-text n-grams) -> calibrated band probabilities.

A :class:`CsatModel` holds a fitted scaler, an optional TF-IDF vectoriser, a calibrated scikit-learn
classifier for the band and a classifier for the contact reason. It explains a prediction by occlusion
(each feature set to its training mean, the change in the predicted band's probability) and coaches by
re-scoring with each missing positive behaviour added.

Persistence: ``model.joblib`` plus ``model.json`` (library and dependency versions, SHA-256 of the joblib
file, training-data hash, feature names, bands, cross-validated and held-out metrics). joblib files are
pickles, which can run code when loaded: :func:`load_model` checks the hash *before* unpickling and refuses
files outside the bundled model unless ``trusted=True``.

When the model is of a kind :mod:`empathy_score._predict` covers, ``save`` also writes ``predictor.npz``
(plain arrays, its SHA-256 in ``model.json``) and a loaded model predicts from it with NumPy alone, bitwise
as scikit-learn would: a scoring process then never imports scikit-learn (~70 MB and a second of start-up).
The scikit-learn objects (``band_clf``, ``reason_clf``, ``scaler``) load from ``model.joblib`` on first use.
"""

from __future__ import annotations

import copy
import hashlib
import json
import platform
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ._predict import Predictor
from .detect import Analysis
from .errors import ModelError
from .features import FEATURE_NAMES, customer_text, to_analysis, transcript_features
from .taxonomy import BANDS, CONTACT_REASONS, POSITIVE_BEHAVIORS

__all__ = ["CsatModel", "load_model", "default_model", "MODEL_FILE", "CARD_FILE", "bundled_model_dir", "card_summary"]

MODEL_FILE = "model.joblib"
CARD_FILE = "model.json"
PREDICTOR_FILE = "predictor.npz"
_LAZY = ("band_clf", "reason_clf", "scaler", "tfidf")  # the scikit-learn parts, loaded on first use
FORMAT_VERSION = 1
# Behaviours whose addition coaching tries, and the feature flips that adding each implies.
COACHABLE = tuple(b for b in POSITIVE_BEHAVIORS if b not in ("hold_reason", "hold_duration", "hold_thanks", "hold_request"))


def _feature_matrix(analyses: Sequence[Analysis], names: Sequence[str] = FEATURE_NAMES,
                    rows: Sequence[Mapping[str, float]] | None = None) -> np.ndarray:
    """Feature values of ``analyses`` as a matrix, columns in ``names`` order (``rows``: values already computed)."""
    if rows is None:
        rows = [transcript_features(a) for a in analyses]
    return np.array([[r[n] for n in names] for r in rows], dtype=float).reshape(len(rows), len(names))


_THREADS_LOCK = threading.Lock()
_threads_depth = 0
_threads_limiter: Any = None
_controller: Any = None  # threadpoolctl's view of the loaded libraries, made once (inspecting them costs ms)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run scikit-learn's OpenMP code (gradient-boosting prediction) on one thread while inside.

    A prediction here is a few dozen rows: OpenMP's thread start-up costs more than it saves, and on a busy
    machine (or with several scoring processes) its threads wait on each other, which made a batch
    prediction over a hundred times slower. Parallelism comes from processes (``n_jobs``) instead. Nested
    and concurrent uses share one limit, lifted when the last one leaves, so the caller's own OpenMP setting
    comes back unchanged.
    """
    global _threads_depth, _threads_limiter, _controller
    with _THREADS_LOCK:
        if _threads_depth == 0:
            if _controller is None:
                from threadpoolctl import ThreadpoolController

                _controller = ThreadpoolController()
            _threads_limiter = _controller.limit(limits=1, user_api="openmp")
        _threads_depth += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_depth -= 1
            if _threads_depth == 0:
                _threads_limiter.restore_original_limits()
                _threads_limiter = None


@dataclass
class CsatModel:
    """A trained band model and reason model with what is needed to explain them."""

    band_clf: Any
    reason_clf: Any
    scaler: Any
    tfidf: Any | None
    baseline: np.ndarray
    bands: tuple[str, ...] = BANDS
    reasons: tuple[str, ...] = CONTACT_REASONS
    feature_names: tuple[str, ...] = FEATURE_NAMES
    text_weight: float = 1.0
    card: dict[str, Any] = field(default_factory=dict)
    use_features: bool = True

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails: a model loaded with its predictor has not read its
        # scikit-learn objects yet
        source = self.__dict__.get("_joblib_path")
        if name not in _LAZY or source is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        expected, actual = self.card.get("sha256"), _sha256(source)
        if expected != actual:
            raise ModelError(f"{source}: SHA-256 {actual[:12]}… differs from {expected and expected[:12]}… in "
                             f"{CARD_FILE} (changed since the model was loaded); refusing to load it")
        full = _load_joblib(source)
        for attr in _LAZY:
            self.__dict__.setdefault(attr, getattr(full, attr))
        return self.__dict__[name]

    @property
    def predictor(self) -> Predictor | None:
        """The NumPy-only form this model predicts with: read from ``predictor.npz``, or exported from the
        fitted objects on first use; ``None`` for a kind it does not cover (scikit-learn predicts)."""
        if "_predictor" not in self.__dict__:
            from . import _trees

            arrays = _trees.export(self.band_clf, self.reason_clf, self.scaler) if self.tfidf is None else None
            self.__dict__["_predictor"] = Predictor(arrays) if arrays is not None else None
        predictor: Predictor | None = self.__dict__["_predictor"]
        return predictor

    # ---- design matrices -------------------------------------------------------------------------
    def design(self, analyses: Sequence[Any], feats: np.ndarray | None = None) -> Any:
        """The classifier's input for these analyses or transcripts (``feats`` overrides the behaviour
        features)."""
        analyses = [to_analysis(a) for a in analyses]
        X = _feature_matrix(analyses, self.feature_names) if feats is None else feats
        predictor = self.predictor
        if predictor is not None:
            return predictor.scale(X)  # a predictor exists only for behaviour-feature models
        Xs = self.scaler.transform(X)
        if self.tfidf is None:
            return Xs
        from scipy import sparse

        T = self.tfidf.transform([customer_text(a) for a in analyses]) * self.text_weight
        if not getattr(self, "use_features", True):
            return T
        return sparse.hstack([sparse.csr_matrix(Xs), T], format="csr")

    def _proba(self, design: Any) -> np.ndarray:
        predictor = self.predictor
        if predictor is not None:
            p, classes = predictor.band_proba(design), predictor.band_classes
        else:
            from . import _trees

            _trees.install(self.band_clf)  # same numbers as scikit-learn's tree-by-tree path, ~10x less per call
            with single_threaded():
                p = self.band_clf.predict_proba(design)
            classes = list(self.band_clf.classes_)
        order = [classes.index(b) for b in self.bands]
        return np.asarray(p[:, order], dtype=float)

    def predict_proba(self, analyses: Sequence[Any]) -> np.ndarray:
        """Band probabilities, columns in :attr:`bands` order, rows summing to 1; takes analyses or anything
        :func:`~empathy_score.parse_transcript` reads."""
        return self._proba(self.design(analyses))

    def predict_reason(self, analyses: Sequence[Any]) -> list[dict[str, float]]:
        """Contact-reason probabilities per transcript, keyed by :attr:`reasons`."""
        return self._reasons(self.design(analyses))

    def _reasons(self, design: Any) -> list[dict[str, float]]:
        predictor = self.predictor
        if predictor is not None:
            p, classes = predictor.reason_proba(design), predictor.reason_classes
        else:
            with single_threaded():
                p = self.reason_clf.predict_proba(design)
            classes = list(self.reason_clf.classes_)
        return [{r: float(row[classes.index(r)]) if r in classes else 0.0 for r in self.reasons} for row in p]

    def predict_with_features(
        self, analyses: Sequence[Analysis]
    ) -> tuple[list[dict[str, float]], np.ndarray, list[dict[str, float]]]:
        """(feature values, band probabilities, reason probabilities) of analysed transcripts, computing the
        features and the classifiers' input once for both models."""
        rows = [transcript_features(a) for a in analyses]
        design = self.design(analyses, _feature_matrix(analyses, self.feature_names, rows))
        return rows, self._proba(design), self._reasons(design)

    # ---- explanation and coaching ----------------------------------------------------------------
    def explain(self, a: Analysis, band: str, top: int = 8) -> list[dict[str, Any]]:
        """The features that pushed P(band) most, with signed contributions (occlusion to training mean)."""
        return self.explain_and_coach([a], [band], top=top)[0][0]

    def coach(self, a: Analysis, top: int = 3) -> list[dict[str, Any]]:
        """Missing behaviours that would raise P(high) most, found by re-scoring with each one added."""
        return self.explain_and_coach([a], ["high"], top_coaching=top)[0][1]

    def explain_and_coach(
        self, analyses: Sequence[Analysis], bands: Sequence[str], proba: np.ndarray | None = None, *,
        top: int = 8, top_coaching: int = 3,
    ) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """(explanation of ``band``, coaching) for each analysis, from one model call for them all.

        The explanation occludes each feature in turn (sets it to its training mean) and reports how much
        P(band) falls; coaching re-scores with each missing coachable behaviour added and reports the rise in
        P(high). ``proba`` (the analyses' own band probabilities, if already known) saves their rows.
        A model call costs about the same for one row as for hundreds (the trees dominate), so every variant
        of every transcript goes into one matrix.
        """
        names = list(self.feature_names)
        n_feat = len(names)
        hi = self.bands.index("high")
        rows: list[np.ndarray] = []
        owners: list[Analysis] = []
        plans = []
        for a in analyses:
            x = _feature_matrix([a], names)
            base = len(rows)
            occluded = np.repeat(x, n_feat, axis=0)
            occluded[np.arange(n_feat), np.arange(n_feat)] = self.baseline
            rows.extend(occluded)
            tried = []
            for b in COACHABLE:
                col = names.index(f"has_{b}")
                if x[0, col] > 0:
                    continue
                v = x[0].copy()
                v[col] = 1.0
                if b in ("empathy", "apology", "acknowledgement") and x[0, names.index("empathy_needed_and_missing")]:
                    v[names.index("empathy_needed_and_missing")] = 0.0
                    v[names.index("empathy_needed_and_given")] = 1.0
                    v[names.index("emotion_addressed_rate")] = 1.0
                rows.append(v)
                tried.append(b)
            own = None
            if proba is None:
                own = len(rows)
                rows.append(x[0])
            owners.extend([a] * (len(rows) - base))
            plans.append((x, base, tried, own))
        P = self._proba(self.design(owners, np.array(rows))) if rows else np.zeros((0, len(self.bands)))
        out = []
        for n, (band, (x, base, tried, own)) in enumerate(zip(bands, plans)):
            p_own = P[own] if own is not None else np.asarray(proba)[n]  # type: ignore[index]
            k = self.bands.index(band)
            contrib = p_own[k] - P[base: base + n_feat, k]
            explanation = []
            for i in np.argsort(-np.abs(contrib))[:top]:
                if abs(contrib[i]) < 1e-4:
                    break
                explanation.append({"feature": names[i], "value": round(float(x[0, i]), 4),
                                    "contribution": round(float(contrib[i]), 4)})
            gains = P[base + n_feat: base + n_feat + len(tried), hi] - p_own[hi]
            ranked = sorted(zip(tried, gains), key=lambda kv: -kv[1])
            coaching = [{"behavior": b, "p_high_gain": round(float(g), 4)} for b, g in ranked[:top_coaching] if g > 0.005]
            out.append((explanation, coaching))
        return out

    # ---- persistence -----------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``model.joblib`` and ``model.json`` into ``directory`` (created if needed), and
        ``predictor.npz`` when the model is of a kind that predicts without scikit-learn."""
        import joblib

        from . import _trees

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        path = d / MODEL_FILE
        plain = copy.copy(self)
        for attr in _LAZY:
            setattr(plain, attr, getattr(self, attr))  # read from the joblib file if not yet loaded
        for attr in ("_predictor", "_joblib_path"):
            plain.__dict__.pop(attr, None)
        _trees.uninstall(plain.band_clf)  # the file holds scikit-learn's objects only
        joblib.dump(plain, path, compress=3)
        predictor = self.predictor
        predictor_path = d / PREDICTOR_FILE
        if predictor is not None:
            # with the training means that explanations occlude to
            arrays = dict(predictor.arrays, feature_baseline=np.asarray(self.baseline, dtype=np.float64))
            np.savez_compressed(predictor_path, **arrays)  # type: ignore[arg-type]
        else:
            predictor_path.unlink(missing_ok=True)
        card = dict(self.card)
        card.pop("predictor_sha256", None)
        if predictor is not None:
            card["predictor_sha256"] = _sha256(predictor_path)
        card.update(
            {
                "format_version": FORMAT_VERSION,
                "sha256": _sha256(path),
                "bands": list(self.bands),
                "reasons": list(self.reasons),
                "feature_names": list(self.feature_names),
                "text_ngrams": self.tfidf is not None,
                "versions": _versions(),
            }
        )
        (d / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return d


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    """Versions of the library and its dependencies, read from the installed distributions' metadata
    (importing scikit-learn just to read its version would cost a scoring process ~70 MB)."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    def of(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "unknown"

    return {
        "empathy_score": __version__,
        "scikit-learn": of("scikit-learn"),
        "spacy": of("spacy"),
        "numpy": np.__version__,
        "joblib": of("joblib"),
        "python": platform.python_version(),
    }


def bundled_model_dir() -> Path:
    """Folder of the model that ships inside the package."""
    return Path(str(resources.files("empathy_score").joinpath("model")))


def load_model(path: str | Path | None = None, *, trusted: bool = False) -> CsatModel:
    """Load a model directory (or its ``model.joblib``); ``None`` loads the bundled model.

    Raises :class:`ModelError` when the files are missing, when the file's SHA-256 differs from its
    ``model.json`` (checked before unpickling), or when a model outside the package is loaded without
    ``trusted=True``. Warns when library versions differ from those the model was trained with.
    """
    bundled = bundled_model_dir()
    d = bundled if path is None else Path(path)
    if d.is_file():
        d = d.parent
    model_path, card_path = d / MODEL_FILE, d / CARD_FILE
    if not model_path.is_file() or not card_path.is_file():
        raise ModelError(f"{d}: expected {MODEL_FILE} and {CARD_FILE} in the model folder")
    if not trusted and d.resolve() != bundled.resolve():
        raise ModelError(
            f"{d}: model files are pickles and can run code when loaded; pass trusted=True "
            "(CLI: --trust-model) only for a model you trained or got from a source you trust"
        )
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{card_path}: unreadable model card ({exc})") from None
    expected = card.get("sha256")
    actual = _sha256(model_path)
    if expected != actual:
        raise ModelError(
            f"{model_path}: SHA-256 {actual[:12]}… differs from {expected and expected[:12]}… in {CARD_FILE}; "
            "refusing to load a modified model file"
        )
    now = _versions()
    trained = card.get("versions", {})
    for lib in ("scikit-learn", "empathy_score"):
        if trained.get(lib) and trained.get(lib) != now.get(lib):
            warnings.warn(
                f"model trained with {lib} {trained.get(lib)}, running {now.get(lib)}; predictions may differ",
                UserWarning,
                stacklevel=2,
            )
    predictor_path = d / PREDICTOR_FILE
    if card.get("predictor_sha256") and predictor_path.is_file():
        actual = _sha256(predictor_path)
        if actual != card["predictor_sha256"]:
            raise ModelError(
                f"{predictor_path}: SHA-256 {actual[:12]}… differs from {card['predictor_sha256'][:12]}… in "
                f"{CARD_FILE}; refusing to load a modified model file"
            )
        try:
            with np.load(predictor_path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            baseline = arrays.pop("feature_baseline", None)
            predictor = Predictor(arrays)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{predictor_path}: unreadable predictor ({exc})") from None
        return _lazy_model(card, predictor, baseline, model_path)
    model = _load_joblib(model_path)
    model.card = card
    return model


def _load_joblib(path: Path) -> CsatModel:
    import joblib

    model = joblib.load(path)
    if not isinstance(model, CsatModel):
        raise ModelError(f"{path}: not an empathy-score model")
    return model


def _lazy_model(card: dict[str, Any], predictor: Predictor, baseline: np.ndarray | None, joblib_path: Path) -> CsatModel:
    """A model that predicts with ``predictor`` and reads its scikit-learn objects from ``joblib_path`` when
    they are first asked for."""
    names = tuple(card.get("feature_names") or ())
    if not names or baseline is None or baseline.shape != (len(names),) or predictor.n_features != len(names):
        raise ModelError(f"{joblib_path.parent}: the predictor's columns do not match the feature names in {CARD_FILE}")
    model = object.__new__(CsatModel)
    model.__dict__.update(
        baseline=baseline, bands=tuple(card.get("bands") or BANDS), reasons=tuple(card.get("reasons") or CONTACT_REASONS),
        feature_names=names, text_weight=1.0, card=card, use_features=True, tfidf=None,
        _predictor=predictor, _joblib_path=joblib_path,
    )
    return model


_DEFAULT: CsatModel | None = None
_DEFAULT_LOCK = threading.Lock()


def default_model() -> CsatModel:
    """The bundled model, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = load_model(None)
    return _DEFAULT


def card_summary(card: Mapping[str, Any]) -> dict[str, Any]:
    """The headline figures of a model card."""
    return {k: card.get(k) for k in ("trained_at", "estimator", "text_ngrams", "cv", "test") if k in card}
