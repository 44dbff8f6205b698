"""empathy-score: how well did the agent serve the human side of a support contact, and what CSAT follows."""

from __future__ import annotations

from .errors import EmpathyScoreError, LanguageError, ModelError, TranscriptError
from .parsing import parse_transcript, read_transcripts
from .transcript import Event, Transcript, Turn

__version__ = "0.1.0"

__all__ = [
    "EmpathyScoreError",
    "Event",
    "LanguageError",
    "ModelError",
    "Transcript",
    "TranscriptError",
    "Turn",
    "__version__",
    "parse_transcript",
    "read_transcripts",
]
