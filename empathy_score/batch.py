"""Batch scoring of archives: flat result rows, ordered parallel work, resumable output files.

The pieces the CLI (``empathy-score score``), :func:`~empathy_score.score_frame` and the Spark integration
share:

- :data:`ROW_COLUMNS` and :func:`result_row` / :func:`error_row`: one flat row per transcript, the same in
  JSONL, CSV, Parquet and DataFrames. A transcript that cannot be read or scored becomes a row whose
  ``error`` says why; no record is dropped.
- :func:`iter_tasks`: the work in an archive (files, folders, JSONL of conversations streamed line by line),
  each task with a ``source`` key unique in the run (``path``, ``path:line`` or ``path#n``), which is what
  ``--resume`` matches on.
- :func:`run_tasks`: scores tasks in chunks (one batched model call per chunk), in worker processes when
  asked, yielding rows in input order while keeping a bounded number of chunks in flight, so memory stays
  flat however long the archive.
- :func:`open_writer` / :func:`completed_sources`: output files that a crash cannot leave with a half row
  (JSONL and CSV are appended whole chunks at a time, and a torn last line is cut off on resume; Parquet is a
  folder of part files, each written to a temporary name and renamed).
"""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .errors import EmpathyScoreError, TranscriptError, excerpt
from .parsing import iter_sources, parse_transcript, read_transcripts
from .taxonomy import BEHAVIORS, BANDS, DIMENSIONS, PILLARS

__all__ = [
    "ROW_COLUMNS",
    "result_row",
    "error_row",
    "Task",
    "iter_tasks",
    "run_tasks",
    "open_writer",
    "completed_sources",
    "Progress",
    "count_tasks",
]

ROW_COLUMNS: tuple[str, ...] = (
    ("id", "source", "lang", "band")
    + tuple(f"p_{b}" for b in BANDS)
    + ("contact_reason", "empathy", "turns", "holds")
    + tuple(f"dim_{d}" for d in DIMENSIONS)
    + tuple(f"pillar_{p}" for p in PILLARS)
    + tuple(f"n_{b}" for b in BEHAVIORS)
    + ("error",)
)

# A task: (source key, kind, payload). kind "file": payload is (path, format, lang); "record": payload is
# (decoded JSON or text, where, lang); "error": payload is the TranscriptError.
Task = tuple[str, str, Any]


def _clean(value: Any) -> Any:
    """Strings without line breaks, so that a row is always one line in JSONL and CSV."""
    if isinstance(value, str):
        return value.replace("\r", " ").replace("\n", " ")
    return value


def result_row(result: Any, source: str) -> dict[str, Any]:
    """The flat row of a :class:`~empathy_score.ScoreResult`."""
    counts = result.behavior_counts()
    row: dict[str, Any] = {
        "id": _clean(result.id if result.id is not None else source),
        "source": _clean(source),
        "lang": result.lang,
        "band": result.band,
    }
    for b in BANDS:
        row[f"p_{b}"] = round(float(result.probabilities.get(b, 0.0)), 4)
    row["contact_reason"] = result.contact_reason
    row["empathy"] = result.empathy
    row["turns"] = len(result.analysis.transcript.turns) if result.analysis is not None else None
    row["holds"] = len(result.holds)
    for d in DIMENSIONS:
        row[f"dim_{d}"] = float(result.dimensions[d])
    for p in PILLARS:
        row[f"pillar_{p}"] = float(result.pillars[p])
    for b in BEHAVIORS:
        row[f"n_{b}"] = int(counts.get(b, 0))
    row["error"] = None
    return row


def error_row(source: str, error: BaseException | str, id: str | None = None) -> dict[str, Any]:
    """The row of a transcript that could not be read or scored: every result column empty."""
    row: dict[str, Any] = {c: None for c in ROW_COLUMNS}
    row["id"] = _clean(id if id is not None else source)
    row["source"] = _clean(source)
    msg = str(error) if isinstance(error, EmpathyScoreError) else f"{type(error).__name__}: {excerpt(str(error))}"
    row["error"] = _clean(msg)
    return row


# ----------------------------------------------------------------------------------------------- input


def iter_tasks(paths: Iterable[str | os.PathLike[str]], *, format: str = "auto",
               lang: str | None = None) -> Iterator[Task]:
    """The transcripts in files and folders (recursively), as tasks; JSONL files are streamed by line."""
    for path in iter_sources(paths):
        key = str(path)
        if not path.exists():
            yield key, "error", TranscriptError("no such file", source=key)
        elif format == "jsonl" or (format == "auto" and path.suffix.lower() in (".jsonl", ".ndjson")):
            yield from _jsonl_tasks(path, lang)
        else:
            yield key, "file", (key, format, lang)


def _jsonl_tasks(path: Path, lang: str | None) -> Iterator[Task]:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        yield str(path), "error", TranscriptError(f"cannot open ({exc.strerror})", source=str(path))
        return
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            key = f"{path}:{lineno}"
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except (UnicodeDecodeError, ValueError) as exc:
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 JSON"
                yield key, "error", TranscriptError(f"invalid JSON ({msg})", source=str(path), line=lineno)
                continue
            except RecursionError:
                yield key, "error", TranscriptError("JSON nested too deeply", source=str(path), line=lineno)
                continue
            yield key, "record", (data, f"{path}, line {lineno}", lang)


def count_tasks(paths: Iterable[str | os.PathLike[str]], *, format: str = "auto") -> int:
    """How many tasks :func:`iter_tasks` will yield (counts JSONL lines without parsing them)."""
    n = 0
    for path in iter_sources(paths):
        if path.is_file() and (format == "jsonl" or (format == "auto" and path.suffix.lower() in (".jsonl", ".ndjson"))):
            with open(path, "rb") as fh:
                n += sum(1 for line in fh if line.strip())
        else:
            n += 1
    return n


# ----------------------------------------------------------------------------------------------- work


def _transcripts_of(task: Task) -> list[tuple[str, Any]]:
    """(source key, Transcript or error) for each conversation of one task."""
    key, kind, payload = task
    if kind == "error":
        return [(key, payload)]
    if kind == "record":
        data, where, lang = payload
        try:
            return [(key, parse_transcript(data, lang=lang))]
        except TranscriptError as exc:
            return [(key, TranscriptError(exc.reason, source=where, hint=exc.hint))]
    path, fmt, lang = payload
    items = list(read_transcripts(path, format=fmt, lang=lang, errors="yield"))
    if len(items) == 1:
        return [(key, items[0])]
    return [(f"{key}#{i}", item) for i, item in enumerate(items, start=1)]


def score_chunk(tasks: Sequence[Task], model: Any) -> list[dict[str, Any]]:
    """Rows for a chunk of tasks: parse, analyse, then one batched model call."""
    from .detect import analyze
    from .scoring import score_analyses

    slots: list[tuple[str, Any]] = []
    for task in tasks:
        try:
            slots.extend(_transcripts_of(task))
        except EmpathyScoreError as exc:
            slots.append((task[0], exc))
    rows: list[dict[str, Any] | None] = [None] * len(slots)
    analyses, where = [], []
    for i, (key, item) in enumerate(slots):
        if isinstance(item, BaseException):
            rows[i] = error_row(key, item)
            continue
        try:
            analyses.append(analyze(item))
            where.append(i)
        except EmpathyScoreError as exc:
            rows[i] = error_row(key, exc, item.id)
    if analyses:
        try:
            results = score_analyses(analyses, model, explain=False)
        except EmpathyScoreError:
            results = []
            for a in analyses:  # find the one that fails; score the rest
                try:
                    results.extend(score_analyses([a], model, explain=False))
                except EmpathyScoreError as exc:
                    results.append(exc)
        for i, res in zip(where, results):
            key = slots[i][0]
            rows[i] = error_row(key, res, slots[i][1].id) if isinstance(res, BaseException) else result_row(res, key)
    return [r for r in rows if r is not None]


_WORKER_MODEL: Any = None


def _init_worker(model_spec: Any) -> None:
    global _WORKER_MODEL
    from .model import CsatModel, default_model, load_model

    if model_spec is None:
        _WORKER_MODEL = default_model()
    elif isinstance(model_spec, CsatModel):
        _WORKER_MODEL = model_spec
    else:
        path, trusted = model_spec
        _WORKER_MODEL = load_model(path, trusted=trusted)


def _worker_chunk(tasks: Sequence[Task]) -> list[dict[str, Any]]:
    return score_chunk(tasks, _WORKER_MODEL)


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of ``size`` items (the last one shorter), lazily."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# Imported once by the fork server, so that the workers it forks share these modules' memory (spaCy, NumPy,
# the library) instead of each importing them again.
_PRELOAD = ["empathy_score.scoring"]


def mp_context() -> Any:
    """Worker processes start from a clean interpreter ("forkserver" where available, else "spawn"), so a
    parent holding locks or threads cannot deadlock them."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _watch_parent(parent: int, interval: float = 0.5) -> None:
    """Exit this worker when the process that started the pool is gone (killed with SIGKILL, say), instead of
    living on as an orphan holding a model in memory."""
    import threading

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(parent, 0)
            except (ProcessLookupError, PermissionError):  # gone, or its pid reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, name="empathy-score-parent-watch", daemon=True).start()


def _start_worker(parent: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    _watch_parent(parent)
    initializer(*initargs)


def ordered_map(fn: Callable[[Any], Any], chunks: Iterable[Any], *, jobs: int, initializer: Callable[..., None],
                initargs: tuple[Any, ...], window: int | None = None) -> Iterator[Any]:
    """``map(fn, chunks)`` in ``jobs`` processes, results in input order, at most ``window`` chunks in flight.

    Workers exit by themselves if this process dies, so a killed run leaves no orphans behind."""
    window = window or 2 * jobs + 1
    with ProcessPoolExecutor(jobs, mp_context=mp_context(), initializer=_start_worker,
                             initargs=(os.getpid(), initializer, initargs)) as pool:
        pending: list[Future[Any]] = []
        for chunk in chunks:
            pending.append(pool.submit(fn, chunk))
            if len(pending) >= window:
                yield pending.pop(0).result()
        while pending:
            yield pending.pop(0).result()


def run_tasks(tasks: Iterable[Task], *, model: Any = None, model_path: str | None = None, trusted: bool = False,
              jobs: int = 1, chunk_size: int = 32) -> Iterator[list[dict[str, Any]]]:
    """Score tasks; yields the rows of each chunk, chunks in input order.

    ``model`` is a loaded model (in-process) or None; worker processes load ``model_path`` (None: the bundled
    model) themselves, or receive ``model`` pickled once each.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if jobs == 1:
        from .model import default_model, load_model

        m = model or (load_model(model_path, trusted=trusted) if model_path else default_model())
        for chunk in chunks(tasks, chunk_size):
            yield score_chunk(chunk, m)
        return
    spec: Any = model if model is not None else ((model_path, trusted) if model_path else None)
    yield from ordered_map(_worker_chunk, chunks(tasks, chunk_size), jobs=jobs, initializer=_init_worker,
                           initargs=(spec,))


# ----------------------------------------------------------------------------------------------- output


def _output_kind(path: str) -> str:
    p = path.lower().rstrip("/")
    if p.endswith(".csv"):
        return "csv"
    if p.endswith(".parquet"):
        return "parquet"
    if p.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise EmpathyScoreError(f"{path}: output must end in .jsonl, .csv or .parquet")


def _cut_torn_tail(path: Path) -> None:
    """Drop a last line without its newline (a write cut short by a crash)."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        back = min(size, 1 << 20)
        while True:
            fh.seek(size - back)
            tail = fh.read(back)
            cut = tail.rfind(b"\n")
            if cut >= 0 or back == size:
                fh.truncate(size - back + cut + 1 if cut >= 0 else 0)
                return
            back = min(size, back * 2)


def completed_sources(path: str | os.PathLike[str]) -> set[str]:
    """The ``source`` keys already in an output file (after cutting off a torn last line)."""
    p = Path(path)
    kind = _output_kind(str(p))
    if not p.exists():
        return set()
    if kind == "parquet":
        import pyarrow.parquet as pq

        done: set[str] = set()
        for part in sorted(p.glob("part-*.parquet")):
            done.update(pq.read_table(part, columns=["source"]).column("source").to_pylist())
        return done
    _cut_torn_tail(p)
    with open(p, encoding="utf-8", newline="") as fh:
        if kind == "jsonl":
            return {json.loads(line)["source"] for line in fh if line.strip()}
        return {row["source"] for row in csv.DictReader(fh)}


class _LineWriter:
    """Appends whole chunks of rows with one ``os.write`` each."""

    def __init__(self, path: str | None, kind: str, append: bool) -> None:
        self.kind = kind
        self.fd = 1 if path is None else os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if append else os.O_TRUNC), 0o644)
        self.header = kind == "csv" and not (append and path is not None and os.path.getsize(path) > 0)

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        buf = io.StringIO()
        if self.kind == "jsonl":
            for row in rows:
                buf.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            w = csv.DictWriter(buf, fieldnames=ROW_COLUMNS, lineterminator="\n")
            if self.header:
                w.writeheader()
                self.header = False
            w.writerows(rows)
        data = buf.getvalue().encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self) -> None:
        if self.fd != 1:
            os.fsync(self.fd)
            os.close(self.fd)


class _ParquetWriter:
    """A folder of part files; each part is written under a temporary name and renamed when complete."""

    def __init__(self, path: str, append: bool, rows_per_part: int = 50_000) -> None:
        import pyarrow as pa

        self.dir = Path(path)
        self.dir.mkdir(parents=True, exist_ok=True)
        if not append:
            for old in self.dir.glob("part-*.parquet"):
                old.unlink()
        self.next = len(list(self.dir.glob("part-*.parquet")))
        self.rows: list[Mapping[str, Any]] = []
        self.per_part = rows_per_part
        self.schema = pa.schema([(c, _arrow_type(c)) for c in ROW_COLUMNS])

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= self.per_part:
            self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(list(self.rows), schema=self.schema)
        final = self.dir / f"part-{self.next:05d}.parquet"
        tmp = self.dir / f".{final.name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        self.next += 1
        self.rows = []

    def close(self) -> None:
        self._flush()


def _arrow_type(column: str) -> Any:
    import pyarrow as pa

    if column.startswith(("p_", "dim_", "pillar_")):
        return pa.float64()
    if column.startswith("n_") or column in ("turns", "holds"):
        return pa.int64()
    return pa.string()


def open_writer(path: str | None, *, append: bool = False) -> Any:
    """A writer with ``write(rows)`` and ``close()``: JSONL to standard output when ``path`` is None."""
    if path is None:
        return _LineWriter(None, "jsonl", True)
    kind = _output_kind(path)
    if kind == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise EmpathyScoreError("writing .parquet needs pyarrow: pip install 'empathy-score[pandas]'") from None
        return _ParquetWriter(path, append)
    return _LineWriter(path, kind, append)


class Progress:
    """A one-line progress display with rate and ETA on a terminal; silent otherwise."""

    def __init__(self, total: int | None, *, enabled: bool | None = None, stream: Any = None,
                 every: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total, self.done, self.every = total, 0, every
        self.t0 = self.last = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self.last >= self.every:
            self.last = now
            self.stream.write("\r" + self.line(now) + "\x1b[K")
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = max(1e-9, (now or time.monotonic()) - self.t0)
        rate = self.done / elapsed
        if self.total:
            left = max(0, self.total - self.done)
            eta = _duration(left / rate) if rate > 0 else "?"
            return f"{self.done:,}/{self.total:,} ({100 * self.done / self.total:.1f}%)  {rate:,.0f}/s  ETA {eta}"
        return f"{self.done:,}  {rate:,.0f}/s  {_duration(elapsed)} elapsed"

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"

