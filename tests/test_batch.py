"""Batch scoring: the CLI's outputs, errors as rows, parallel order, resume after SIGKILL, score_frame."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from empathy_score.batch import ROW_COLUMNS, completed_sources, iter_tasks, run_tasks
from empathy_score.cli import main
from empathy_score.taxonomy import BANDS

FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path(__file__).parent / "data"


def _archive(path: Path, n: int, *, bad_every: int = 0) -> list[str]:
    """A JSONL archive of n conversations built from the fixtures (ids unique), some lines bad on purpose."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
    keys = []
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            if bad_every and i % bad_every == bad_every - 1:
                fh.write('{"id": "broken", "text": \n')
            else:
                fh.write(json.dumps({"id": f"call-{i:05d}", "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n")
            keys.append(f"{path}:{i + 1}")
    return keys


def _no_process_with(marker: str, within: float) -> bool:
    """True once no process has ``marker`` in its environment (Linux /proc; True elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    deadline = time.monotonic() + within
    while True:
        alive = []
        for d in proc.iterdir():
            if d.name.isdigit():
                try:
                    if marker.encode() in (d / "environ").read_bytes():
                        alive.append(d.name)
                except OSError:
                    continue
        if not alive or time.monotonic() > deadline:
            return not alive
        time.sleep(0.25)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_cli_writes_every_record_once_with_errors_as_rows(tmp_path: Path) -> None:
    archive = tmp_path / "archive.jsonl"
    keys = _archive(archive, 20, bad_every=7)
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(archive), "--out", str(out), "--no-progress"]) == 0
    rows = _rows(out)
    assert [r["source"] for r in rows] == keys
    errors = [r for r in rows if r["error"]]
    assert len(errors) == 2 and all("invalid JSON" in r["error"] and "line" in r["error"] for r in errors)
    good = [r for r in rows if not r["error"]]
    assert all(r["band"] in BANDS and abs(r["p_low"] + r["p_medium"] + r["p_high"] - 1) < 1e-3 for r in good)
    assert set(rows[0]) == set(ROW_COLUMNS)


def test_cli_csv_and_parquet_outputs(tmp_path: Path) -> None:
    out_csv = tmp_path / "s.csv"
    assert main(["score", str(DATA), "--out", str(out_csv)]) == 0
    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and list(rows[0]) == list(ROW_COLUMNS)
    assert all(r["band"] in BANDS for r in rows if not r["error"])
    pq = pytest.importorskip("pyarrow.parquet")
    out_pq = tmp_path / "s.parquet"
    assert main(["score", str(DATA), "--out", str(out_pq)]) == 0
    table = pq.read_table(out_pq)
    assert table.num_rows == len(rows)
    assert table.column("source").to_pylist() == [r["source"] for r in rows]


def test_parallel_rows_equal_sequential_rows(tmp_path: Path) -> None:
    archive = tmp_path / "a.jsonl"
    _archive(archive, 24, bad_every=5)
    seq = [r for chunk in run_tasks(iter_tasks([archive]), chunk_size=4) for r in chunk]
    par = [r for chunk in run_tasks(iter_tasks([archive]), jobs=2, chunk_size=4) for r in chunk]
    assert par == seq


def test_resume_cuts_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    out.write_text('{"source": "a", "band": "low"}\n{"source": "b", "ba', encoding="utf-8")
    assert completed_sources(out) == {"a"}
    assert out.read_text(encoding="utf-8") == '{"source": "a", "band": "low"}\n'


@pytest.mark.parametrize("suffix,jobs", [(".jsonl", 1), (".csv", 2)])
def test_resume_after_sigkill_gives_every_record_exactly_once(tmp_path: Path, suffix: str, jobs: int) -> None:
    archive = tmp_path / "archive.jsonl"
    keys = _archive(archive, 240, bad_every=50)
    out = tmp_path / f"scores{suffix}"
    cmd = [sys.executable, "-m", "empathy_score.cli", "score", str(archive), "--out", str(out), "--jobs", str(jobs),
           "--no-progress"]
    marker = f"EMPATHY_SCORE_TEST_RUN={uuid.uuid4().hex}"
    env = {**os.environ, marker.split("=")[0]: marker.split("=")[1]}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 3:  # a chunk (or part of one) is on disk
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(completed_sources(out))
    assert 0 < before < len(keys)
    assert _no_process_with(marker, within=15.0), "worker processes outlived the killed run"
    assert subprocess.run(cmd + ["--resume"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300).returncode == 0
    if suffix == ".jsonl":
        sources = [r["source"] for r in _rows(out)]
    else:
        with open(out, newline="", encoding="utf-8") as fh:
            sources = [r["source"] for r in csv.DictReader(fh)]
    assert sorted(sources) == sorted(keys)
    assert len(sources) == len(set(sources))


def test_score_frame_keeps_index_and_reports_bad_rows() -> None:
    pd = pytest.importorskip("pandas")
    from empathy_score import score_frame

    texts = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
    df = pd.DataFrame({"call": texts + [17, "   "], "agent": list("ab" * 4)}, index=list(range(10, 18)))
    out = score_frame(df, text_col="call")
    assert list(out.index) == list(df.index) and list(out.columns) == list(ROW_COLUMNS)
    assert out["band"].iloc[:6].isin(BANDS).all()
    assert out["error"].iloc[:6].isna().all()
    assert "not text" in out["error"].iloc[6] and "row '16'" in out["error"].iloc[6]
    assert "empty" in out["error"].iloc[7]
    turns = pd.DataFrame({"turns": [[{"speaker": "Agent", "text": "Sorry about that, I'll fix it now."},
                                     {"speaker": "Customer", "text": "Thanks!"}]]})
    assert score_frame(turns, turns_col="turns")["n_apology"].iloc[0] == 1
    with pytest.raises(KeyError, match="text_col"):
        score_frame(df, text_col="nope")


def test_score_many_in_processes_matches_in_process() -> None:
    from empathy_score import score_many

    paths = sorted(FIXTURES.glob("*.txt")) + ["Agent: hello\nCustomer: hi", "no speakers"]
    seq = list(score_many(paths, errors="yield", batch_size=3))
    par = list(score_many(paths, errors="yield", batch_size=3, n_jobs=2))
    assert [getattr(r, "band", str(r)) for r in seq] == [getattr(r, "band", str(r)) for r in par]
    assert isinstance(seq[-1], Exception)
    with pytest.raises(Exception, match="no speaker"):
        list(score_many(paths[-1:]))


def test_help_explains_inputs_and_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    text = capsys.readouterr().out
    for word in ("--resume", "--jobs", ".parquet", "JSONL", "error"):
        assert word in text
