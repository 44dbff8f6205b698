"""score_spark on a real local Spark session: the same rows as in-process scoring, bad rows as error rows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs a Java runtime (java on PATH or JAVA_HOME)", allow_module_level=True)

import empathy_score  # noqa: E402
from empathy_score import ModelError, parse_transcript, score_transcript  # noqa: E402
from empathy_score.batch import ROW_COLUMNS, result_row  # noqa: E402
from empathy_score.model import CARD_FILE, MODEL_FILE, bundled_model_dir  # noqa: E402
from empathy_score.spark import _worker_model, score_spark, spark_schema  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = [
    pytest.mark.slow,
    # PySpark 4.x warns on pandas 3 when a pandas UDF is created; the conversions used here work (tested below).
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    package_root = Path(empathy_score.__file__).resolve().parents[1]
    session = (
        SparkSession.builder.master("local[2]")
        .appName("empathy-score-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "512m")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.executorEnv.PYTHONPATH", str(package_root))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _fixtures() -> list[tuple[str, str]]:
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.glob("*.txt"))]


def _turns(text: str) -> list[dict[str, str]]:
    return [{"speaker": t.speaker, "text": t.text} for t in parse_transcript(text).turns]


ENGLISH = [(name, text) for name, text in _fixtures() if name.startswith("en_")]


@pytest.fixture(scope="module")
def expected() -> dict[str, tuple[dict[str, Any], Any]]:
    """In-process rows and results, computed before Spark starts so that the Spark jobs run back to back
    (Spark stops Python workers idle for a minute, and a fresh worker pays the language set-up again)."""
    out = {}
    for name, text in _fixtures():
        res = score_transcript(text, explain=False)
        out[name] = (result_row(res, name) | {"id": name}, res)
    for name, text in ENGLISH:
        res = score_transcript({"turns": _turns(text)}, explain=False)
        out["turns:" + name] = (result_row(res, name) | {"id": name}, res)
    return out


def _assert_rows_equal(got: dict[str, Any], want: dict[str, Any]) -> None:
    for c in ROW_COLUMNS:
        if isinstance(want[c], float):
            assert got[c] == pytest.approx(want[c], abs=1e-6), (got["id"], c)
        else:
            assert got[c] == want[c], (got["id"], c)


def test_text_column_matches_in_process_scoring(expected: dict[str, Any], spark: Any) -> None:
    texts = _fixtures()
    data = texts + [("bad", "no speaker turns in here at all"), ("missing", None)]
    # Two partitions of consecutive rows: each worker sees fewer languages, so sets fewer of them up.
    df = spark.createDataFrame(spark.sparkContext.parallelize(data, 2), "conversation_id string, transcript string")
    out = score_spark(df, text_col="transcript", id_col="conversation_id", batch_size=2)
    assert out.schema == spark_schema()
    collected = out.collect()
    rows = {r["id"]: r.asDict() for r in collected}
    assert len(collected) == len(rows) == len(data)
    for name, _ in texts:
        want, res = expected[name]
        assert rows[name]["error"] is None and rows[name]["band"] == res.band
        for band, p in res.probabilities.items():  # rows carry probabilities rounded to 4 places
            assert rows[name][f"p_{band}"] == pytest.approx(round(p, 4), abs=1e-6)
        _assert_rows_equal(rows[name], want)
    assert "no speaker turns" in rows["bad"]["error"] and rows["bad"]["band"] is None
    assert "not text" in rows["missing"]["error"] and rows["missing"]["p_high"] is None


def _model_copy(folder: Path) -> Path:
    folder.mkdir()
    for name in (MODEL_FILE, CARD_FILE):
        shutil.copyfile(bundled_model_dir() / name, folder / name)
    return folder


@pytest.mark.parametrize("turn_type", ["struct<speaker:string,text:string>", "map<string,string>"])
def test_turns_column_with_a_broadcast_model(expected: dict[str, Any], spark: Any, tmp_path: Path,
                                             turn_type: str) -> None:
    data = [(name, _turns(text)) for name, text in ENGLISH] + [("no-speaker", [{"speaker": None, "text": "hi"}])]
    df = spark.createDataFrame(data, f"id string, turns array<{turn_type}>")
    model = _model_copy(tmp_path / "model")
    out = score_spark(df, turns_col="turns", id_col="id", model_path=str(model), trusted=True).collect()
    rows = {r["id"]: r.asDict() for r in out}
    assert len(out) == len(rows) == len(data)
    for name, _ in ENGLISH:
        _assert_rows_equal(rows[name], expected["turns:" + name][0])
    assert "no speaker" in rows["no-speaker"]["error"]


def test_without_id_col_each_row_gets_a_unique_id(spark: Any) -> None:
    data = [(text,) for _, text in ENGLISH] * 2
    rows = score_spark(spark.createDataFrame(data, "transcript string"), text_col="transcript").collect()
    assert len({r["id"] for r in rows}) == len(rows) == len(data)
    assert all(r["error"] is None and r["id"] == r["source"] for r in rows)


def test_model_problems_fail_on_the_driver(spark: Any, tmp_path: Path) -> None:
    df = spark.createDataFrame([("a", "Customer: hi")], "id string, text string")
    model = _model_copy(tmp_path / "model")
    with pytest.raises(ModelError, match="trusted=True"):
        score_spark(df, text_col="text", model_path=str(model))
    with open(model / MODEL_FILE, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="SHA-256"):
        score_spark(df, text_col="text", model_path=str(model), trusted=True)
    with pytest.raises(KeyError, match="nope"):
        score_spark(df, text_col="nope")


def test_worker_loads_a_broadcast_model_once_and_checks_its_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    from empathy_score import model as model_module

    files = {name: (bundled_model_dir() / name).read_bytes() for name in (MODEL_FILE, CARD_FILE)}
    key = model_module.default_model().card["sha256"]
    loads = []
    real = model_module.load_model
    monkeypatch.setattr(model_module, "load_model", lambda *a, **k: loads.append(a) or real(*a, **k))
    monkeypatch.setattr("empathy_score.spark._MODELS", {})
    first = _worker_model((key, files))
    assert _worker_model((key, files)) is first and len(loads) == 1
    tampered = dict(files, **{MODEL_FILE: files[MODEL_FILE] + b"\0"})
    with pytest.raises(ModelError, match="SHA-256"):
        _worker_model(("other", tampered))


def test_importing_the_package_does_not_need_pyspark(monkeypatch: pytest.MonkeyPatch) -> None:
    code = ("import sys; sys.modules['pyspark'] = None; import empathy_score, empathy_score.spark\n"
            "try:\n    empathy_score.spark.score_spark(None, text_col='t')\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(empathy_score.__file__).resolve().parents[1])
    assert "pip install 'empathy-score[spark]'" in out.stdout and "pyspark" in out.stdout
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ImportError, match=r"empathy-score\[spark\]"):
        spark_schema()
