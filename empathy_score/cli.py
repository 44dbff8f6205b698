"""Command line: ``empathy-score score|explain|train``."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from .errors import EmpathyScoreError

__all__ = ["main"]

def _examples() -> list[Path]:
    root = Path(str(resources.files("empathy_score").joinpath("examples")))
    return sorted(p for p in root.iterdir() if p.suffix == ".txt")


def _cmd_score(args: argparse.Namespace) -> int:
    from .batch import Progress, completed_sources, count_tasks, iter_tasks, open_writer, run_tasks

    paths: list[Any] = list(args.inputs)
    if args.examples:
        paths.extend(_examples())
    if not paths:
        raise SystemExit("empathy-score score: give files or folders to score, or --examples (see --help)")
    if args.resume and not args.out:
        raise SystemExit("empathy-score score: --resume needs --out (the file to resume)")
    if args.jobs < 1:
        raise SystemExit("empathy-score score: --jobs must be at least 1")
    done = completed_sources(args.out) if args.resume else set()
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    total = count_tasks(paths, format=args.format) if show else None
    progress = Progress(total, enabled=show)
    progress.done = 0
    tasks = (t for t in iter_tasks(paths, format=args.format, lang=args.lang) if t[0] not in done)
    if done:
        progress.total = None if total is None else max(0, total - len(done))
        print(f"resuming: {len(done):,} transcripts already in {args.out}", file=sys.stderr)
    writer = open_writer(args.out, append=args.resume)
    n = errors = 0
    try:
        for rows in run_tasks(tasks, model_path=args.model, trusted=args.trust_model, jobs=args.jobs):
            rows = [r for r in rows if r["source"] not in done]
            writer.write(rows)
            n += len(rows)
            errors += sum(1 for r in rows if r["error"] is not None)
            progress.update(len(rows))
    finally:
        writer.close()
        progress.close()
    print(f"scored {n - errors:,} transcripts, {errors:,} errors" + (f" -> {args.out}" if args.out else ""),
          file=sys.stderr)
    return 0 if n or done else 1


def _cmd_explain(args: argparse.Namespace) -> int:
    from .model import default_model, load_model
    from .scoring import score_transcript

    model = load_model(args.model, trusted=args.trust_model) if args.model else default_model()
    r = score_transcript(args.file, lang=args.lang, model=model)
    assert r.analysis is not None
    by_turn: dict[int, list[Any]] = {}
    for e in r.evidence:
        by_turn.setdefault(e.turn, []).append(e)
    for t in r.analysis.transcript.turns:
        text = t.text
        for e in sorted(by_turn.get(t.index, []), key=lambda e: -e.start):
            text = text[: e.start] + "[" + text[e.start : e.end] + "]{" + e.behavior + "}" + text[e.end :]
        print(f"{t.index:>3} {t.role:<8} {text}")
    print()
    print("band:", r.band, " ".join(f"{k}={v:.2f}" for k, v in r.probabilities.items()))
    print("contact reason:", r.contact_reason, "| empathy:", r.empathy)
    print("pillars:", ", ".join(f"{k} {v}" for k, v in r.pillars.items()))
    print("dimensions:", ", ".join(f"{k} {v}" for k, v in r.dimensions.items()))
    print("what pushed P(" + r.band + ") most:")
    for x in r.explanation:
        print(f"  {x['contribution']:+.3f}  {x['feature']} = {x['value']}")
    if r.coaching:
        print("would raise P(high) most:", ", ".join(f"{c['behavior']} (+{c['p_high_gain']:.2f})" for c in r.coaching))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .features import to_analysis
    from .training import ablation, evaluate_model, load_labelled, train

    def say(m: str) -> None:
        print(m, file=sys.stderr)

    data = load_labelled(args.data, args.label, args.bands, args.labels)
    holdout: set[str] = set()
    if args.holdout:
        holdout = set(json.loads(Path(args.holdout).read_text(encoding="utf-8"))["test_ids"])
    say(f"analysing {len(data.ids)} transcripts")
    analyses = [to_analysis(s, lang) for s, lang in zip(data.sources, data.langs)]
    keep = [i for i, rid in enumerate(data.ids) if rid not in holdout]
    test = [i for i, rid in enumerate(data.ids) if rid in holdout]
    model = train(
        [analyses[i] for i in keep],
        [data.labels[i] for i in keep],
        reasons=[data.reasons[i] for i in keep],
        groups=[data.groups[i] for i in keep],
        ids=[data.ids[i] for i in keep],
        bands=args.bands,
        progress=say,
    )
    if test:
        say(f"evaluating on {len(test)} held-out transcripts")
        model.card["test"] = evaluate_model(
            model, [analyses[i] for i in test], [data.labels[i] for i in test], [data.langs[i] for i in test],
            reasons=[data.reasons[i] for i in test],
        )
        if args.ablation:
            say("ablation: behaviour features only, n-grams only, both")
            model.card["ablation"] = ablation(
                [analyses[i] for i in keep], [data.labels[i] for i in keep],
                [analyses[i] for i in test], [data.labels[i] for i in test],
                groups=[data.groups[i] for i in keep], test_langs=[data.langs[i] for i in test],
            )
    out = model.save(args.out)
    test_scores = model.card.get("test", {})
    print(json.dumps({"model": str(out), "estimator": model.card["estimator"],
                      "test": {k: v.get("macro_f1") for k, v in test_scores.items()},
                      "test_ece": test_scores.get("overall", {}).get("ece")}, indent=2))
    return 0


_DESCRIPTION = """\
Read customer-support transcripts (calls and chats; English, Spanish, Finnish), find how the agent handled the
human side of the contact (acknowledgement, empathy, apology, hold etiquette, follow-up, ownership, blame,
effort pushed onto the customer...) and predict the CSAT band the customer is likely to give (low/medium/high).
"""
_EXAMPLES = """\
examples:
  empathy-score score --examples                      score the bundled example transcripts
  empathy-score score calls/ --out scores.csv         every transcript under calls/, one CSV row each
  empathy-score score archive.jsonl --out s.jsonl --jobs 2 --resume
                                                      a big archive in 2 processes; rerun to resume
  empathy-score explain call.txt                      evidence marked in the text, and why this band
  empathy-score train data/ --label csat --out my-model   your own model from your survey results
"""
_SCORE_EPILOG = """\
inputs: text transcripts ("Agent: ..." lines), JSON / JSONL conversations, CSV of turns (one row per turn,
grouped by conversation id), WebVTT / SRT subtitles, Amazon Transcribe Call Analytics and Google CCAI Insights
exports. Folders are searched recursively. JSONL files are streamed, so memory stays flat.

output: one row per transcript: id, source, lang, band, p_low/p_medium/p_high, contact_reason, empathy, turns,
holds, dim_* (business, human, hidden; 0-10), pillar_* (six pillars; 0-10), n_<behaviour> counts, error.
A transcript that cannot be read becomes a row with its error, and the run goes on. --resume skips the
transcripts already in --out (matched by source: path, path:line for JSONL), so an interrupted run finishes
with every transcript exactly once.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="empathy-score",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("score", help="score transcripts and write one row per transcript",
                       description="Score transcripts and write one row per transcript.", epilog=_SCORE_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("inputs", nargs="*", metavar="INPUT", help="files or folders (searched recursively)")
    s.add_argument("--examples", action="store_true", help="also score the example transcripts shipped with the package")
    s.add_argument("--out", metavar="FILE", help="output: .jsonl, .csv or .parquet (a folder of parts); default: JSON lines on standard output")
    s.add_argument("--format", default="auto", choices=["auto", "text", "json", "jsonl", "csv", "vtt", "srt"],
                   help="input format (default: from the file name and content)")
    s.add_argument("--lang", choices=["en", "es", "fi"], help="force the language (default: detected per transcript and turn)")
    s.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    s.add_argument("--resume", action="store_true", help="skip transcripts already in --out and append the rest")
    s.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar with rate and ETA (default: on when standard error is a terminal)")
    _model_args(s)
    s.set_defaults(func=_cmd_score)
    e = sub.add_parser("explain", help="print a transcript with its evidence marked, and why it got its band",
                       description="Print a transcript with its evidence marked, the band with its probabilities, "
                                   "the features that pushed it most, and coaching.")
    e.add_argument("file", metavar="FILE", help="one transcript (any input format)")
    e.add_argument("--lang", choices=["en", "es", "fi"], help="force the language")
    _model_args(e)
    e.set_defaults(func=_cmd_explain)
    t = sub.add_parser("train", help="train a model on your own labelled transcripts",
                       description="Train a calibrated CSAT model on labelled transcripts and write a model folder "
                                   "(model.joblib + model.json with versions, hashes and cross-validated metrics).")
    t.add_argument("data", help="JSONL/CSV of labelled transcripts, or a folder with label files and transcripts")
    t.add_argument("--label", default="band", help="field holding the band or numeric CSAT (default: band)")
    t.add_argument("--bands", default="1-2:low,3:medium,4-5:high", help="score ranges for numeric labels (default: %(default)s)")
    t.add_argument("--labels", metavar="GLOB", help="in a folder: glob of the label files (default: every .jsonl/.csv file)")
    t.add_argument("--holdout", metavar="SPLIT_JSON", help="JSON file with {\"test_ids\": [...]} kept out of training and reported")
    t.add_argument("--ablation", action="store_true",
                   help="with --holdout: also report behaviour features only / n-grams only / both on the held-out set")
    t.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    t.set_defaults(func=_cmd_train)
    return p


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", help="a model folder made by 'empathy-score train' (default: the bundled model)")
    p.add_argument("--trust-model", action="store_true",
                   help="allow loading a model folder outside the package (model files are pickles: trust the source)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except EmpathyScoreError as exc:
        print(f"empathy-score: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
