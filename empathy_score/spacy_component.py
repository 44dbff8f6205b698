"""A spaCy pipeline component that writes behaviour evidence into ``doc.spans``.

    import spacy, empathy_score.spacy_component  # the import is optional: an entry point registers it
    nlp = spacy.blank("en")
    nlp.add_pipe("empathy_behaviors")
    doc = nlp("Customer: My card was charged twice!\\nAgent: I'm so sorry, let me fix that for you.")
    spacy.displacy.render(doc, style="span", options={"spans_key": "empathy"})

The doc's text is read as a transcript (``Speaker: text`` lines, any layout :func:`parse_transcript` reads).
Text without speaker lines is taken as one turn of ``role`` (default: the agent). Each span's label is the
behaviour or cue name of :doc:`TAXONOMY`; spans that do not fall on token boundaries are widened to them.
"""

from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from .errors import TranscriptError

__all__ = ["EmpathyBehaviors", "SPANS_KEY"]

SPANS_KEY = "empathy"


class EmpathyBehaviors:
    """Detects behaviours in the doc's text and stores them as spans under ``spans_key``."""

    def __init__(self, nlp: Language, name: str, spans_key: str, role: str, lang: str | None) -> None:
        if role not in ("agent", "customer"):
            raise ValueError(f"role must be 'agent' or 'customer', got {role!r}")
        self.name, self.spans_key, self.role = name, spans_key, role
        self.lang = lang or (nlp.lang if nlp.lang in ("en", "es", "fi") else None)

    def __call__(self, doc: Doc) -> Doc:
        from .detect import analyze
        from .parsing import parse_transcript

        text = doc.text
        transcript = None
        if text.strip():
            try:
                transcript = parse_transcript(text, format="text", lang=self.lang)
            except TranscriptError:
                transcript = None
            if transcript is not None and not any(t.role in ("agent", "customer") for t in transcript.turns):
                transcript = None
            if transcript is None:
                transcript = parse_transcript({"turns": [{"role": self.role, "text": text}]}, lang=self.lang)
        spans = []
        if transcript is not None:
            analysis = analyze(transcript)
            offsets = _turn_offsets(text, [t.text for t in transcript.turns])
            for e in analysis.evidence:
                base = offsets[e.turn]
                if base is None:
                    continue
                span = doc.char_span(base + e.start, base + e.end, label=e.behavior, alignment_mode="expand")
                if span is not None:
                    spans.append(span)
        doc.spans[self.spans_key] = spans
        return doc


def _turn_offsets(text: str, turns: list[str]) -> list[int | None]:
    """Where each turn's text starts in the doc's text (None if the parser changed it, e.g. joined lines)."""
    out: list[int | None] = []
    pos = 0
    for t in turns:
        i = text.find(t, pos)
        if i < 0:
            out.append(None)
            continue
        out.append(i)
        pos = i + len(t)
    return out


@Language.factory(
    "empathy_behaviors",
    default_config={"spans_key": SPANS_KEY, "role": "agent", "lang": None},
)
def make_empathy_behaviors(nlp: Language, name: str, spans_key: str, role: str, lang: Any) -> EmpathyBehaviors:
    return EmpathyBehaviors(nlp, name, spans_key, role, lang)
