"""The shipped corpus passes its own checks: coverage, diversity, length not giving the band away."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "models" / "check_corpus.py"


def test_corpus_checks_pass() -> None:
    if not SCRIPT.exists():
        pytest.skip("the corpus is not part of this checkout")
    spec = importlib.util.spec_from_file_location("check_corpus", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    report, problems = mod.check()
    assert problems == []
    assert report["max_shared_line_fraction"] <= 0.30
    assert report["review_agreement"]["all"]["kappa"] > 0.6
