"""Score a Spark DataFrame of transcripts (pyspark is an extra: ``pip install 'empathy-score[spark]'``).

:func:`score_spark` runs :func:`~empathy_score.frame.score_frame` on each Arrow batch of a partition through
``DataFrame.mapInPandas``, so the rows are the same flat rows as everywhere else
(:data:`~empathy_score.batch.ROW_COLUMNS`). The model is loaded once per Python worker process and kept in a
module-level cache: the bundled model is loaded from the package installed on the executors; another model's
files are broadcast once and checked against the SHA-256 in their ``model.json`` (by
:func:`~empathy_score.model.load_model`) before they are unpickled.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

from .batch import ROW_COLUMNS, _arrow_type, error_row

__all__ = ["score_spark", "spark_schema"]

_ROW_ID = "_empathy_score_row_id"  # the id column added when the caller gives none
_SPARK_TYPES = {"double": "DoubleType", "int64": "LongType", "string": "StringType"}


def _require_spark() -> Any:
    """``pyspark.sql.types``, or an ImportError saying what to install."""
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        from pyspark.sql import types
    except ImportError as exc:
        raise ImportError(
            f"score_spark needs pyspark, pandas and pyarrow ({exc.name or exc} is missing): "
            "pip install 'empathy-score[spark]'"
        ) from None
    return types


def spark_schema() -> Any:
    """The Spark ``StructType`` of :data:`ROW_COLUMNS`, with the types of the Parquet output."""
    T = _require_spark()
    return T.StructType(
        [T.StructField(c, getattr(T, _SPARK_TYPES[str(_arrow_type(c))])(), True) for c in ROW_COLUMNS]
    )


# ----------------------------------------------------------------------------------------------- model


def _model_spec(spark: Any, model_path: str | None, trusted: bool) -> Any:
    """What the workers need to get the model: None for the bundled one, else (sha256, files or broadcast).

    A model outside the package is first loaded here with :func:`load_model`, so that a missing, untrusted or
    modified model fails on the driver with its usual error instead of in every task.
    """
    from .model import CARD_FILE, MODEL_FILE, PREDICTOR_FILE, bundled_model_dir, load_model

    if model_path is None:
        return None
    d = Path(model_path)
    d = d.parent if d.is_file() else d
    if d.resolve() == bundled_model_dir().resolve():
        return None
    key = load_model(d, trusted=trusted).card["sha256"]
    files = {name: (d / name).read_bytes() for name in (MODEL_FILE, CARD_FILE, PREDICTOR_FILE) if (d / name).is_file()}
    try:
        return key, spark.sparkContext.broadcast(files)
    except (AttributeError, NotImplementedError):  # Spark Connect has no SparkContext: ship with the task
        return key, files


_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


def _worker_model(spec: Any) -> Any:
    """The model for ``spec``, loaded at most once in this process."""
    from .model import default_model, load_model

    if spec is None:
        return default_model()
    key, payload = spec
    with _MODELS_LOCK:
        if key not in _MODELS:
            files = payload.value if hasattr(payload, "value") else payload
            folder = tempfile.mkdtemp(prefix="empathy-score-model-")
            try:
                for name, data in files.items():
                    Path(folder, name).write_bytes(data)
                model = load_model(folder, trusted=True)  # verifies the SHA-256 before unpickling
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            # a model that predicts from its arrays reads model.joblib only if asked for its scikit-learn parts
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            if model.card.get("sha256") != key:
                from .errors import ModelError

                raise ModelError(f"broadcast model has SHA-256 {model.card.get('sha256')}, expected {key}")
            _MODELS[key] = model
        return _MODELS[key]


# ----------------------------------------------------------------------------------------------- worker


def _plain_turns(value: Any) -> Any:
    """A turns cell as a list of dicts (Arrow may hand a map over as a list of key/value pairs)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, list):
        return value
    return [dict(t) if isinstance(t, list) and all(isinstance(kv, tuple) and len(kv) == 2 for kv in t) else t
            for t in value]


def _score_rows(pdf: Any, model: Any, options: dict[str, Any]) -> Any:
    """score_frame on a chunk; if the chunk fails as a whole, each row alone, a failing row as an error row."""
    import pandas as pd

    from .frame import score_frame

    if options["turns_col"] is not None:
        pdf = pdf.assign(**{options["turns_col"]: pdf[options["turns_col"]].map(_plain_turns)})
    try:
        return score_frame(pdf, model=model, **options)
    except Exception:  # noqa: BLE001 - one bad row must not fail the Spark task; find it below
        pass
    parts = []
    for i in range(len(pdf)):
        one = pdf.iloc[i:i + 1]
        try:
            parts.append(score_frame(one, model=model, **options))
        except Exception as exc:  # noqa: BLE001
            rid = str(one[options["id_col"]].iloc[0])
            parts.append(pd.DataFrame([error_row(rid, exc, rid)], columns=list(ROW_COLUMNS), index=one.index))
    return pd.concat(parts)


def _typed(frame: Any) -> Any:
    """The frame with nullable integer and float columns, as the Spark schema expects."""
    for c in ROW_COLUMNS:
        kind = _SPARK_TYPES[str(_arrow_type(c))]
        if kind == "LongType":
            frame[c] = frame[c].astype("Int64")
        elif kind == "DoubleType":
            frame[c] = frame[c].astype("float64")
    return frame.reset_index(drop=True)


def _score_partition(options: dict[str, Any], spec: Any, batches: Iterator[Any]) -> Iterator[Any]:
    """The mapInPandas function: rows for each Arrow batch, ``batch_size`` transcripts per model call."""
    model = None
    size = options["batch_size"]
    for pdf in batches:
        if model is None:
            model = _worker_model(spec)
        for start in range(0, len(pdf), size):
            yield _typed(_score_rows(pdf.iloc[start:start + size], model, options))


# ----------------------------------------------------------------------------------------------- driver


def score_spark(
    df: Any,
    *,
    text_col: str | None = None,
    turns_col: str | None = None,
    id_col: str | None = None,
    lang: str | None = None,
    lang_col: str | None = None,
    model_path: str | None = None,
    trusted: bool = False,
    batch_size: int = 64,
) -> Any:
    """Score every row of a Spark DataFrame; returns a DataFrame with the columns of :data:`ROW_COLUMNS`.

    Give ``text_col`` (transcript text in any format :func:`~empathy_score.parse_transcript` reads) or
    ``turns_col`` (``array<struct<speaker, text>>`` or ``array<map<string, string>>``). ``id`` is the string
    of ``id_col``; without one it is a unique (not consecutive) number from
    ``monotonically_increasing_id``. ``lang`` forces one language; ``lang_col`` gives one per row.
    ``model_path`` (a model folder; ``trusted=True`` needed as for :func:`~empathy_score.load_model`) is
    broadcast to the executors; by default they use the bundled model of their installed package. A row that
    cannot be read or scored keeps its place with the reason in ``error``. Lazy, like any transformation.
    """
    schema = spark_schema()
    from pyspark.sql import functions as F

    from .frame import check_columns

    check_columns(df.columns, text_col=text_col, turns_col=turns_col, id_col=id_col, lang_col=lang_col)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if id_col is None:
        df = df.withColumn(_ROW_ID, F.monotonically_increasing_id())
        id_col = _ROW_ID
    wanted = dict.fromkeys(c for c in (id_col, text_col, turns_col, lang_col) if c is not None)
    df = df.select(*(F.col("`" + c.replace("`", "``") + "`") for c in wanted))
    spec = _model_spec(df.sparkSession, model_path, trusted)
    options = {"text_col": text_col, "turns_col": turns_col, "id_col": id_col, "lang": lang,
               "lang_col": lang_col, "batch_size": batch_size}
    return df.mapInPandas(functools.partial(_score_partition, options, spec), schema)
