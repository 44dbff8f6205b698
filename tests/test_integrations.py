"""scikit-learn and spaCy integration: TranscriptFeaturizer as a real transformer, the spaCy component."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import spacy
import sklearn.utils.estimator_checks as checks
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import empathy_score.spacy_component  # noqa: F401  (registers the factory; installed packages also have an entry point)
from empathy_score import TranscriptFeaturizer
from empathy_score.features import FEATURE_NAMES

FIXTURES = Path(__file__).parent / "fixtures"
TEXTS = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
LABELS = ["medium", "high"] * 3  # en_1, en_2, es_1, es_2, fi_1, fi_2

# The scikit-learn checks that apply to a transformer of text collections (the others feed numeric arrays).
APPLICABLE = [
    "check_estimator_cloneable",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_repr",
    "check_estimators_unfitted",
    "check_transformer_n_iter",
    "check_mixin_order",
]


@pytest.mark.parametrize("name", APPLICABLE)
def test_sklearn_estimator_checks_that_apply(name: str) -> None:
    check = getattr(checks, name, None)
    if check is None:
        pytest.skip(f"{name} is not in this scikit-learn version")
    check("TranscriptFeaturizer", TranscriptFeaturizer())


def test_transform_shape_names_and_unfitted_error() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TranscriptFeaturizer().transform(TEXTS[:1])
    f = TranscriptFeaturizer().fit(TEXTS)
    X = f.transform(TEXTS)
    assert X.shape == (6, len(FEATURE_NAMES)) and np.isfinite(X).all()
    assert list(f.get_feature_names_out()) == list(FEATURE_NAMES)
    with pytest.raises(ValueError, match="single string"):
        f.transform(TEXTS[0])
    assert np.array_equal(f.transform(np.array(TEXTS, dtype=object).reshape(-1, 1)), X)
    assert np.array_equal(pickle.loads(pickle.dumps(f)).transform(TEXTS), X)
    assert clone(f).get_params() == f.get_params()


def test_pipeline_grid_search_and_cross_val_score() -> None:
    pipe = make_pipeline(TranscriptFeaturizer(), StandardScaler(), LogisticRegression(max_iter=1000))
    scores = cross_val_score(pipe, TEXTS, LABELS, cv=3)
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))
    grid = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=3).fit(TEXTS, LABELS)
    assert grid.best_params_["logisticregression__C"] in (0.1, 1.0)
    assert set(grid.predict(TEXTS)) <= {"medium", "high"}


def test_set_output_pandas_names_the_columns() -> None:
    pd = pytest.importorskip("pandas")
    out = TranscriptFeaturizer().set_output(transform="pandas").fit_transform(pd.Series(TEXTS))
    assert list(out.columns) == list(FEATURE_NAMES)


def test_spacy_component_writes_spans_for_displacy() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("empathy_behaviors")
    doc = nlp((FIXTURES / "en_transcript_2.txt").read_text(encoding="utf-8"))
    labels = {s.label_ for s in doc.spans["empathy"]}
    assert {"apology", "empathy", "hold_thanks", "customer_frustration"} <= labels
    for span in doc.spans["empathy"]:
        assert span.text.strip() and span.doc is doc
    html = spacy.displacy.render(doc, style="span", options={"spans_key": "empathy"})
    assert "apology" in html


def test_spacy_component_plain_text_is_one_agent_turn_and_config_works() -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("empathy_behaviors", config={"spans_key": "cx"})
    doc = nlp("Lamento mucho las molestias, ahora mismo se lo soluciono.")
    assert "apology" in {s.label_ for s in doc.spans["cx"]}
    assert list(nlp("").spans["cx"]) == []
    with pytest.raises(ValueError, match="role"):
        spacy.blank("en").add_pipe("empathy_behaviors", config={"role": "robot"})
