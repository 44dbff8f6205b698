"""The scikit-learn transformer: transcripts in, behaviour-feature rows out.

Apart from :mod:`empathy_score.features` so that scoring, which needs the features but not this class, never
imports scikit-learn.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .features import FEATURE_NAMES, to_analysis, transcript_features

__all__ = ["TranscriptFeaturizer"]


class TranscriptFeaturizer(TransformerMixin, BaseEstimator):
    """Turns transcripts (any form :func:`parse_transcript` reads, or :class:`Analysis`) into feature rows.

    Stateless apart from recording the feature names: ``fit`` learns nothing from the data, so it can sit
    first in any :class:`~sklearn.pipeline.Pipeline` and inside cross-validation.
    """

    def __init__(self, *, lang: str | None = None) -> None:
        self.lang = lang

    def fit(self, X: Iterable[Any], y: Any = None) -> "TranscriptFeaturizer":
        """Validate the input and record the output size; nothing is learnt from the data."""
        self._check_input(X)
        self.n_features_out_ = len(FEATURE_NAMES)
        return self

    def transform(self, X: Iterable[Any]) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_features_out_")
        rows = [transcript_features(to_analysis(x, self.lang)) for x in self._check_input(X)]
        return np.array([[r[n] for n in FEATURE_NAMES] for r in rows], dtype=float).reshape(len(rows), len(FEATURE_NAMES))

    @staticmethod
    def _check_input(X: Iterable[Any]) -> list[Any]:
        """A 1-D collection of transcripts (like a text vectorizer); a one-column 2-D array is accepted too."""
        if isinstance(X, (str, bytes)):
            raise ValueError("expected a collection of transcripts (a list or Series), got a single string; wrap it in a list")
        if hasattr(X, "ndim") and getattr(X, "ndim") == 2:
            shape = getattr(X, "shape")
            if shape[1] != 1:
                raise ValueError(f"expected one transcript per row (a 1-D collection), got a 2-D input of shape {shape}")
            X = X.iloc[:, 0] if hasattr(X, "iloc") else X[:, 0]
        items = list(X.tolist() if hasattr(X, "tolist") else X)
        if not items:
            raise ValueError("expected at least one transcript, got an empty collection")
        return items

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        return np.array(FEATURE_NAMES, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
