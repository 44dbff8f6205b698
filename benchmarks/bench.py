"""Benchmark: latency, cost relative to spaCy's tokenizer, throughput, memory of a long CLI run.

Run from a checkout with the package installed (``pip install .``):

    python benchmarks/bench.py                 # everything, with defaults sized for a 2-core machine
    python benchmarks/bench.py --only latency,ratio --n 300
    python benchmarks/bench.py --rss-n 100000  # the CLI memory run on 100,000 transcripts

Not a test: it prints figures measured in one run, so that ratios compare like with like on a shared,
noisy machine. The archive is generated from the team-written corpus in ``models/corpus`` (calls and chats,
en/es/fi, 4-60 turns): each generated transcript takes a written one and varies it (names and figures
changed, turns dropped or repeated, lengths stretched or cut), so the text is realistic while the archive can
be as large as needed. Scoring figures are for the bundled model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "models" / "corpus"


def generate(n: int, *, seed: int = 7, turns: tuple[int, int] = (4, 60)) -> Iterator[dict[str, Any]]:
    """n varied transcripts as JSONL-ready dicts {"id", "text"}."""
    from empathy_score.archive import generate_archive

    try:
        records = generate_archive(n, corpus_dir=CORPUS, seed=seed, turns=turns)
    except FileNotFoundError:
        raise SystemExit(f"no corpus under {CORPUS}: run from a checkout of the repository") from None
    for i, rec in enumerate(records):
        yield {"id": f"bench-{i:07d}", "text": rec["text"]}


def chats_of_about(n: int, turns: int, seed: int = 11) -> list[dict[str, Any]]:
    return list(generate(n, seed=seed, turns=(turns - 2, turns + 2)))


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def bench_latency(texts: list[str]) -> dict[str, Any]:
    from empathy_score import score_transcript
    from empathy_score.model import default_model

    default_model()
    for t in texts[:5]:
        score_transcript(t, explain=False)
    out: dict[str, Any] = {}
    for explain in (False, True):
        lat = []
        for t in texts:
            t0 = time.perf_counter()
            score_transcript(t, explain=explain)
            lat.append(time.perf_counter() - t0)
        key = "with_explanation" if explain else "without_explanation"
        out[key] = {"p50_ms": round(1000 * _pct(lat, 0.5), 2), "p99_ms": round(1000 * _pct(lat, 0.99), 2),
                    "mean_ms": round(1000 * statistics.mean(lat), 2)}
    return out


def bench_ratio(texts: list[str]) -> dict[str, Any]:
    """Our whole scoring (parse, analyse, features, model) over spaCy's make_doc on the same turn texts."""
    from empathy_score.nlp import get_nlp
    from empathy_score.parsing import parse_transcript
    from empathy_score.scoring import score_many

    parsed = [parse_transcript(t) for t in texts]
    nlps = {code: get_nlp(code) for code in ("en", "es", "fi")}
    list(score_many(texts[:20]))  # warm: matchers and model loaded
    rounds = []
    for _ in range(3):
        t0 = time.perf_counter()
        for tr in parsed:
            for turn in tr.turns:
                nlps.get(turn.lang, nlps["en"]).make_doc(turn.text)
        tok = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _r in score_many(texts, batch_size=64):
            pass
        full = time.perf_counter() - t0
        rounds.append((full / tok, tok, full))
    ratio, tok, full = sorted(rounds)[1]
    return {"transcripts": len(texts), "make_doc_ms_per_transcript": round(1000 * tok / len(texts), 3),
            "scoring_ms_per_transcript": round(1000 * full / len(texts), 3), "ratio": round(ratio, 2),
            "target": "<= 3"}


def bench_throughput(texts: list[str], jobs: list[int]) -> dict[str, Any]:
    """Transcripts per second, steady state: counted from the first result on, so that the one-off start of
    worker processes (each loads the model and sets up the languages' patterns) is reported apart."""
    from empathy_score.scoring import score_many

    out: dict[str, Any] = {}
    list(score_many(texts[:30]))  # this process's caches, for jobs=1
    for j in jobs:
        t0 = time.perf_counter()
        first = None
        n = 0
        batch = 32
        for _ in score_many(texts, n_jobs=j, batch_size=batch):
            n += 1
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        assert first is not None
        steady = (n - batch) / (end - first) if end > first else float("nan")  # results after the first chunk
        out[f"jobs_{j}"] = {"transcripts_per_s": round(steady, 1), "per_core": round(steady / j, 1),
                            "startup_s": round(first - t0, 1), "total_s": round(end - t0, 1)}
    if len(jobs) > 1:
        a, b = out[f"jobs_{jobs[0]}"]["transcripts_per_s"], out[f"jobs_{jobs[-1]}"]["transcripts_per_s"]
        out["scaling"] = round(b / a, 2)
    out["target"] = ">= 1000/s per core on ~20-turn chats, near-linear scaling"
    return out


def _memory_tree_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) summed over a process and all its descendants (Linux /proc): the CLI, the forkserver and the
    workers it forks (which are the forkserver's children, not the CLI's). Summed RSS counts a page shared by
    several processes (libraries, what workers inherit from the forkserver) once per process; PSS splits it
    between them, so the PSS sum is the memory the tree really holds."""
    rss = pss = 0
    stack, seen = [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
            try:
                for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
            except OSError:
                pass
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return rss, pss


def bench_cli_rss(n: int, jobs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive.jsonl"
        with open(archive, "w", encoding="utf-8") as fh:
            for rec in generate(n, seed=3):
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        out = Path(tmp) / "scores.jsonl"
        cmd = [sys.executable, "-m", "empathy_score.cli", "score", str(archive), "--out", str(out), "--jobs", str(jobs),
               "--no-progress"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        samples: list[tuple[float, int, int]] = []

        def watch() -> None:
            while proc.poll() is None:
                samples.append((time.perf_counter() - t0, *_memory_tree_kb(proc.pid)))
                time.sleep(0.5)

        th = threading.Thread(target=watch, daemon=True)
        th.start()
        _, err = proc.communicate()
        th.join()
        dt = time.perf_counter() - t0
        rows = sum(1 for _ in open(out, encoding="utf-8")) if out.exists() else 0
    def peak(col: int, until: float = float("inf")) -> float:
        return round(max((s[col] for s in samples if s[0] <= until), default=0) / 1024, 1)

    return {"transcripts": n, "rows_written": rows, "jobs": jobs, "seconds": round(dt, 1),
            "peak_rss_mb": peak(1), "peak_rss_mb_first_quarter": peak(1, dt / 4),
            "peak_pss_mb": peak(2), "peak_pss_mb_first_quarter": peak(2, dt / 4),
            "target": "< 400 MB and flat", "stderr_tail": err.strip().splitlines()[-1:] if err else []}


def bench_adversarial(size: int = 50_000) -> dict[str, Any]:
    """Time the parsers and the matcher on shapes that break naive regular expressions."""
    from empathy_score.detect import analyze
    from empathy_score.errors import TranscriptError
    from empathy_score.parsing import parse_transcript

    shapes = {
        "one_long_line": "Agent: " + "sorry " * (size // 6),
        "repeated_prefixes": "Agent: " * (size // 7),
        "timestamps": "[00:00:01] " * (size // 11),
        "colons": "a:" * (size // 2),
        "spaces": "Customer:" + " " * size + "x",
        "digits": "Agent: " + "1" * size,
    }
    out = {}
    for name, text in shapes.items():
        t0 = time.perf_counter()
        try:
            analyze(parse_transcript(text))
        except TranscriptError:
            pass
        out[name] = round(time.perf_counter() - t0, 3)
    return {"chars": size, "seconds": out, "every_regex": bench_every_regex(size)}


def bench_every_regex(size: int) -> dict[str, Any]:
    """Every regular expression of the package (found by the hardening test) on every adversarial string."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.test_hardening_parsers import _adversarial, _all_patterns, _run
    except ImportError as exc:  # the test dependencies (hypothesis) are not installed
        return {"skipped": f"needs the test dependencies: {exc}"}
    patterns = _all_patterns()
    texts = _adversarial(size)
    worst: list[tuple[float, str]] = []
    for where, pattern, how in patterns:
        took = max(_run(pattern, how, t) for t in texts.values())
        worst.append((took, f"{where} {pattern.pattern[:50]!r}"))
    worst.sort(reverse=True)
    return {"patterns": len(patterns), "strings": len(texts), "max_seconds": round(worst[0][0], 4),
            "slowest": [{"seconds": round(t, 4), "pattern": w} for t, w in worst[:3]], "bound_in_tests_s": 2.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="latency,ratio,throughput,rss,adversarial")
    ap.add_argument("--n", type=int, default=500, help="transcripts for latency and ratio")
    ap.add_argument("--chats", type=int, default=5000,
                    help="~20-turn chats for throughput (enough that steady state outlasts the workers' start-up)")
    ap.add_argument("--rss-n", type=int, default=20_000, help="transcripts for the CLI memory run")
    ap.add_argument("--jobs", default="1,2")
    args = ap.parse_args(argv)
    parts = set(args.only.split(","))
    jobs = [int(j) for j in args.jobs.split(",")]
    info = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}
    print(json.dumps({"machine": info}))
    texts = [r["text"] for r in generate(args.n)]
    if "latency" in parts:
        print(json.dumps({"latency": bench_latency(texts)}), flush=True)
    if "ratio" in parts:
        print(json.dumps({"ratio_to_tokenizer": bench_ratio(texts)}), flush=True)
    if "throughput" in parts:
        chats = [r["text"] for r in chats_of_about(args.chats, 20)]
        print(json.dumps({"throughput_20_turn": bench_throughput(chats, jobs)}), flush=True)
    if "rss" in parts:
        print(json.dumps({"cli_memory": bench_cli_rss(args.rss_n, jobs[-1])}), flush=True)
    if "adversarial" in parts:
        print(json.dumps({"adversarial": bench_adversarial()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
