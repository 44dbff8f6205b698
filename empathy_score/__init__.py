"""empathy-score: how well did the agent serve the human side of a support contact, and what CSAT follows."""

from __future__ import annotations

from .errors import EmpathyScoreError, LanguageError, ModelError, TranscriptError
from .parsing import parse_transcript, read_transcripts
from .transcript import Event, Transcript, Turn


def __getattr__(name: str) -> object:
    """Heavier parts (detection, model, training) import on first use, keeping ``import empathy_score`` light."""
    lazy = {
        "score_transcript": ("scoring", "score_transcript"),
        "score_many": ("scoring", "score_many"),
        "score_frame": ("frame", "score_frame"),
        "ScoreResult": ("scoring", "ScoreResult"),
        "analyze": ("detect", "analyze"),
        "Evidence": ("detect", "Evidence"),
        "load_model": ("model", "load_model"),
        "train": ("training", "train"),
        "TranscriptFeaturizer": ("featurizer", "TranscriptFeaturizer"),
    }
    if name in lazy:
        import importlib

        mod, attr = lazy[name]
        return getattr(importlib.import_module(f".{mod}", __name__), attr)
    raise AttributeError(f"module 'empathy_score' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
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
