"""Scoring: one call from a transcript to a CSAT band with probabilities, evidence and an explanation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .aggregates import dimensions, pillars
from .errors import EmpathyScoreError
from .detect import Analysis, Evidence, HoldEtiquette, analyze
from .model import CsatModel, default_model
from .parsing import parse_transcript
from .transcript import Transcript

__all__ = ["ScoreResult", "score_transcript", "score_many", "score_analyses"]


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one transcript; ``to_dict()`` gives plain JSON."""

    id: str | None
    band: str
    probabilities: Mapping[str, float]
    contact_reason: str
    contact_reason_probabilities: Mapping[str, float]
    evidence: tuple[Evidence, ...]
    features: Mapping[str, float]
    dimensions: Mapping[str, float]
    pillars: Mapping[str, float]
    empathy: str
    holds: tuple[HoldEtiquette, ...]
    explanation: tuple[Mapping[str, Any], ...] = ()
    coaching: tuple[Mapping[str, Any], ...] = ()
    lang: str = "en"
    warnings: tuple[str, ...] = ()
    analysis: Analysis | None = field(default=None, repr=False, compare=False)

    def behavior_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.evidence:
            counts[e.behavior] = counts.get(e.behavior, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "lang": self.lang,
            "band": self.band,
            "probabilities": {k: round(float(v), 4) for k, v in self.probabilities.items()},
            "contact_reason": self.contact_reason,
            "contact_reason_probabilities": {
                k: round(float(v), 4) for k, v in self.contact_reason_probabilities.items()
            },
            "empathy": self.empathy,
            "dimensions": dict(self.dimensions),
            "pillars": dict(self.pillars),
            "holds": [h.to_dict() for h in self.holds],
            "evidence": [e.to_dict() for e in self.evidence],
            "behavior_counts": self.behavior_counts(),
            "features": {k: round(float(v), 4) for k, v in self.features.items()},
            "explanation": [dict(x) for x in self.explanation],
            "coaching": [dict(x) for x in self.coaching],
            "warnings": list(self.warnings),
        }


def score_analyses(
    analyses: Sequence[Analysis], model: CsatModel | None = None, *, explain: bool = True
) -> list[ScoreResult]:
    """Score already-analysed transcripts in one batch (one model call for all of them)."""
    m = model or default_model()
    if not analyses:
        return []
    feature_rows, proba, reasons = m.predict_with_features(analyses)
    chosen = [m.bands[int(np.argmax(p))] for p in proba]
    extra = m.explain_and_coach(analyses, chosen, proba) if explain else [((), ())] * len(analyses)
    out = []
    for a, feats, p, r, band, (explanation, coaching) in zip(analyses, feature_rows, proba, reasons, chosen, extra):
        probs = {b: float(x) for b, x in zip(m.bands, p)}
        pil = pillars(a)
        out.append(
            ScoreResult(
                id=a.transcript.id,
                band=band,
                probabilities=probs,
                contact_reason=max(r, key=lambda k: r[k]),
                contact_reason_probabilities=r,
                evidence=a.evidence,
                features=feats,
                dimensions=dimensions(a, pil),
                pillars=pil,
                empathy=a.empathy,
                holds=a.holds,
                explanation=tuple(explanation),
                coaching=tuple(coaching),
                lang=a.transcript.lang,
                warnings=a.transcript.warnings,
                analysis=a,
            )
        )
    return out


def score_transcript(
    source: Any,
    *,
    lang: str | None = None,
    model: CsatModel | None = None,
    format: str = "auto",
    roles: Mapping[str, str] | None = None,
    explain: bool = True,
) -> ScoreResult:
    """Score one transcript: band, calibrated probabilities, evidence, dimensions, pillars, explanation.

    ``source`` is anything :func:`~empathy_score.parse_transcript` reads, or a parsed
    :class:`~empathy_score.Transcript`. ``model`` defaults to the bundled model (loaded once per process).
    """
    t = source if isinstance(source, Transcript) else parse_transcript(source, format=format, lang=lang, roles=roles)
    return score_analyses([analyze(t)], model, explain=explain)[0]


def score_many(
    sources: Iterable[Any],
    *,
    lang: str | None = None,
    model: CsatModel | None = None,
    explain: bool = False,
    batch_size: int = 64,
    n_jobs: int = 1,
    errors: str = "raise",
) -> Iterator[ScoreResult | EmpathyScoreError]:
    """Score many transcripts, yielding results in input order.

    Model calls are batched (``batch_size`` transcripts at a time). ``n_jobs > 1`` scores in that many worker
    processes (each gets the model once), still yielding in input order and keeping only a few batches in
    flight, so an endless iterable is fine. ``errors="yield"`` yields a transcript's
    :class:`~empathy_score.errors.EmpathyScoreError` in its place instead of raising, so nothing is dropped.
    """
    if errors not in ("raise", "yield"):
        raise ValueError(f"errors must be 'raise' or 'yield', got {errors!r}")
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
    from .batch import chunks as _chunks

    chunks = _chunks(((src, lang) for src in sources), batch_size)
    if n_jobs == 1:
        m = model or default_model()
        outs: Iterable[list[Any]] = (_score_chunk(c, m, explain) for c in chunks)
    else:
        from .batch import ordered_map

        outs = ordered_map(_pool_chunk, ((c, explain) for c in chunks), jobs=n_jobs, initializer=_init_pool,
                           initargs=(model,))
    for out in outs:
        for item in out:
            if isinstance(item, EmpathyScoreError) and errors == "raise":
                raise item
            yield item


def _score_chunk(chunk: Sequence[tuple[Any, str | None]], model: CsatModel, explain: bool) -> list[Any]:
    out: list[Any] = [None] * len(chunk)
    analyses, where = [], []
    for i, (src, lang) in enumerate(chunk):
        try:
            t = src if isinstance(src, Transcript) else parse_transcript(src, lang=lang)
            analyses.append(analyze(t))
            where.append(i)
        except EmpathyScoreError as exc:
            out[i] = exc
    for i, r in zip(where, score_analyses(analyses, model, explain=explain)):
        out[i] = r
    return out


_POOL_MODEL: CsatModel | None = None


def _init_pool(model: CsatModel | None) -> None:
    global _POOL_MODEL
    _POOL_MODEL = model or default_model()


def _pool_chunk(job: tuple[Sequence[tuple[Any, str | None]], bool]) -> list[Any]:
    assert _POOL_MODEL is not None
    return _score_chunk(job[0], _POOL_MODEL, job[1])
