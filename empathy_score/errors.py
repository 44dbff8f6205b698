"""Exception hierarchy: every error the library raises on purpose derives from :class:`EmpathyScoreError`.

Errors say what was expected, what was found and where (source, line), and quote at most a short,
truncated excerpt of the input so that transcript text does not leak into logs.
"""

from __future__ import annotations

__all__ = [
    "EmpathyScoreError",
    "TranscriptError",
    "ModelError",
    "LanguageError",
    "excerpt",
]

EXCERPT_CHARS = 40


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line, truncated rendering of ``text`` for error messages.

    At most ``limit`` characters are quoted, fewer when repr() escapes them (NUL, control, zero-width or
    direction characters take 4 to 10 characters each), so the rendering is at most about ``2 * limit`` long.
    """
    flat = " ".join(text.split())
    if len(flat) <= limit and len(repr(flat)) <= 2 * limit + 2:
        return repr(flat)
    shown = flat[: limit - 1]
    while len(repr(shown)) > 2 * limit:
        shown = shown[:-1]
    return repr(shown + "…")


class EmpathyScoreError(Exception):
    """Base class of all errors raised by empathy-score."""


class TranscriptError(EmpathyScoreError, ValueError):
    """A transcript could not be read: names the source, the line and what was expected."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.hint = hint
        self.reason = message
        where = ""
        if source is not None:
            where = str(source)
            if line is not None:
                where += f", line {line}"
        elif line is not None:
            where = f"line {line}"
        text = f"{where}: {message}" if where else message
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class ModelError(EmpathyScoreError, ValueError):
    """A model file is missing, tampered with, untrusted or incompatible."""


class LanguageError(EmpathyScoreError, ValueError):
    """A language is not supported, or its data files are malformed."""
