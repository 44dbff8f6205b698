"""Score a pandas DataFrame of transcripts (pandas is an extra: ``pip install 'empathy-score[pandas]'``)."""

from __future__ import annotations

from typing import Any, Iterator

from .batch import ROW_COLUMNS, error_row, result_row

__all__ = ["score_frame"]


def _require_pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("score_frame needs pandas: pip install 'empathy-score[pandas]'") from None
    return pd


def check_columns(columns: Any, *, text_col: str | None, turns_col: str | None, id_col: str | None,
                  lang_col: str | None) -> None:
    """The column arguments of :func:`score_frame` and :func:`~empathy_score.spark.score_spark`: exactly one of
    ``text_col`` / ``turns_col``, and every named column present."""
    if (text_col is None) == (turns_col is None):
        raise ValueError("give exactly one of text_col= or turns_col=")
    named = (("text_col", text_col), ("turns_col", turns_col), ("id_col", id_col), ("lang_col", lang_col))
    for name, c in named:
        if c is not None and c not in columns:
            raise KeyError(f"{name}={c!r} is not a column of the DataFrame (columns: {list(columns)[:20]})")


def score_frame(
    df: Any,
    *,
    text_col: str | None = None,
    turns_col: str | None = None,
    id_col: str | None = None,
    lang: str | None = None,
    lang_col: str | None = None,
    model: Any = None,
    n_jobs: int = 1,
    batch_size: int = 64,
) -> Any:
    """Score every row of ``df``; returns a DataFrame with one row per input row, on the same index.

    Give ``text_col`` (transcript text in any format :func:`~empathy_score.parse_transcript` reads) or
    ``turns_col`` (a list of turn dicts such as ``{"speaker": "Agent", "text": "..."}`` per row). ``id_col``
    names the id column (default: the index). ``lang`` forces one language; ``lang_col`` gives one per row.
    The columns are :data:`~empathy_score.batch.ROW_COLUMNS`: band, probabilities, contact reason,
    dimensions, pillars, behaviour counts; a row that cannot be read or scored keeps its place with the
    reason in ``error``.
    """
    pd = _require_pandas()
    from .scoring import score_many

    check_columns(df.columns, text_col=text_col, turns_col=turns_col, id_col=id_col, lang_col=lang_col)
    col = text_col if text_col is not None else turns_col
    ids = df[id_col].astype(str).tolist() if id_col else [str(i) for i in df.index]
    langs = df[lang_col].tolist() if lang_col else [lang] * len(df)
    values = df[col].tolist()

    from .errors import TranscriptError
    from .parsing import parse_transcript

    parsed: list[Any] = []
    for rid, value, lg in zip(ids, values, langs):
        lg = lg if isinstance(lg, str) and lg else None
        where = f"row {rid!r}"
        try:
            if text_col is not None:
                if not isinstance(value, str):
                    raise TranscriptError(f"{text_col} is {type(value).__name__}, not text", source=where)
                parsed.append(parse_transcript(value, lang=lg, id=rid))
            else:
                if hasattr(value, "tolist"):
                    value = value.tolist()
                if not isinstance(value, list):
                    raise TranscriptError(f"{turns_col} is {type(value).__name__}, not a list of turns", source=where)
                parsed.append(parse_transcript({"id": rid, "turns": value}, lang=lg))
        except TranscriptError as exc:
            if exc.source != where:
                exc = TranscriptError(exc.reason, source=where, line=exc.line, hint=exc.hint)
            parsed.append(exc)
    ok = [t for t in parsed if not isinstance(t, Exception)]
    results: Iterator[Any] = score_many(ok, model=model, n_jobs=n_jobs, batch_size=batch_size, errors="yield")
    rows = []
    for rid, item in zip(ids, parsed):
        res = item if isinstance(item, Exception) else next(results)
        if isinstance(res, Exception):
            rows.append(error_row(rid, res, rid))
        else:
            row = result_row(res, rid)
            row["id"] = rid
            rows.append(row)
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS), index=df.index)
