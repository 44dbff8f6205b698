from __future__ import annotations

import os

import pytest

import empathy_score


def test_all_is_pinned() -> None:
    assert sorted(empathy_score.__all__) == sorted(
        [
            "EmpathyScoreError",
            "Event",
            "Evidence",
            "ScoreResult",
            "TranscriptFeaturizer",
            "analyze",
            "load_model",
            "score_many",
            "score_frame",
            "score_transcript",
            "train",
            "LanguageError",
            "ModelError",
            "Transcript",
            "TranscriptError",
            "Turn",
            "__version__",
            "parse_transcript",
            "read_transcripts",
        ]
    )


def test_every_exported_name_exists() -> None:
    for name in empathy_score.__all__:
        assert getattr(empathy_score, name) is not None, name


def test_ci_uses_the_installed_package() -> None:
    if os.environ.get("EMPATHY_SCORE_CI_INSTALLED") != "1":
        pytest.skip("only meaningful in CI, where the package is installed non-editable")
    assert "site-packages" in (empathy_score.__file__ or "")
