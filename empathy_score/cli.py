"""Command line: ``empathy-score score|explain|train``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Sequence

from .errors import EmpathyScoreError, TranscriptError
from .parsing import iter_sources, read_transcripts

__all__ = ["main"]

ROW_FIELDS = ("id", "source", "lang", "band", "p_low", "p_medium", "p_high", "contact_reason", "empathy", "error")


def _examples() -> list[Path]:
    root = Path(str(resources.files("empathy_score").joinpath("examples")))
    return sorted(p for p in root.iterdir() if p.suffix == ".txt")


def _inputs(args: argparse.Namespace) -> Iterator[tuple[str, Any]]:
    paths: list[Any] = list(args.inputs)
    if args.examples:
        paths.extend(_examples())
    if not paths:
        raise SystemExit("empathy-score score: give files or folders to score, or --examples")
    for path in iter_sources(paths):
        if not path.exists():
            yield str(path), TranscriptError("no such file", source=str(path))
            continue
        for item in read_transcripts(path, format=args.format, lang=args.lang, errors="yield"):
            yield str(path), item


def _row(source: str, result: Any) -> dict[str, Any]:
    if isinstance(result, Exception):
        return {"id": getattr(result, "source", None), "source": source, "error": str(result)}
    d = result.to_dict()
    row = {
        "id": d["id"] or Path(source).stem,
        "source": source,
        "lang": d["lang"],
        "band": d["band"],
        "probabilities": d["probabilities"],
        "contact_reason": d["contact_reason"],
        "empathy": d["empathy"],
        "dimensions": d["dimensions"],
        "pillars": d["pillars"],
        "behavior_counts": d["behavior_counts"],
        "error": None,
    }
    return row


def _cmd_score(args: argparse.Namespace) -> int:
    from .model import default_model, load_model
    from .scoring import score_transcript

    model = load_model(args.model, trusted=args.trust_model) if args.model else default_model()
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    writer = None
    n = errors = 0
    try:
        for source, item in _inputs(args):
            if isinstance(item, Exception):
                row = _row(source, item)
            else:
                try:
                    row = _row(source, score_transcript(item, model=model, explain=False))
                except EmpathyScoreError as exc:
                    row = _row(source, exc)
            n += 1
            errors += row.get("error") is not None
            if args.out and args.out.endswith(".csv"):
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=ROW_FIELDS, extrasaction="ignore")
                    writer.writeheader()
                probs = row.get("probabilities") or {}
                writer.writerow({**row, **{f"p_{k}": v for k, v in probs.items()}})
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if args.out:
            out.close()
    print(f"scored {n - errors} transcripts, {errors} errors", file=sys.stderr)
    return 0 if n else 1


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
    from .train import load_labelled, train

    data = load_labelled(args.data, args.label, args.bands, args.labels)
    holdout: set[str] = set()
    if args.holdout:
        holdout = set(json.loads(Path(args.holdout).read_text(encoding="utf-8"))["test_ids"])
    keep = [i for i, rid in enumerate(data.ids) if rid not in holdout]
    model = train(
        [data.sources[i] for i in keep],
        [data.labels[i] for i in keep],
        reasons=[data.reasons[i] for i in keep],
        groups=[data.groups[i] for i in keep],
        ids=[data.ids[i] for i in keep],
        bands=args.bands,
        progress=lambda m: print(m, file=sys.stderr),
    )
    if holdout:
        from .train import evaluate_model

        test = [i for i, rid in enumerate(data.ids) if rid in holdout]
        model.card["test"] = evaluate_model(
            model, [data.sources[i] for i in test], [data.labels[i] for i in test], [data.langs[i] for i in test]
        )
    out = model.save(args.out)
    print(json.dumps({"model": str(out), "estimator": model.card["estimator"], "test": model.card.get("test", {}).get("overall")}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="empathy-score",
        description="Score how well support agents served the human side of a contact, and predict CSAT.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score transcripts (files, folders, JSONL, CSV) and write one row each")
    s.add_argument("inputs", nargs="*", help="files or folders (searched recursively)")
    s.add_argument("--examples", action="store_true", help="also score the example transcripts shipped with the package")
    s.add_argument("--out", help="output file (.jsonl or .csv); default: standard output as JSON lines")
    s.add_argument("--format", default="auto", help="input format (auto, text, json, jsonl, csv, vtt, srt)")
    s.add_argument("--lang", help="force the language (en, es, fi)")
    s.add_argument("--model", help="a model folder made by 'empathy-score train' (default: the bundled model)")
    s.add_argument("--trust-model", action="store_true", help="allow loading a model folder outside the package")
    s.set_defaults(func=_cmd_score)
    e = sub.add_parser("explain", help="print a transcript with its evidence marked, and why it got its band")
    e.add_argument("file")
    e.add_argument("--lang")
    e.add_argument("--model")
    e.add_argument("--trust-model", action="store_true")
    e.set_defaults(func=_cmd_explain)
    t = sub.add_parser("train", help="train a model on labelled transcripts")
    t.add_argument("data", help="JSONL/CSV of labelled transcripts, or a folder with label files and transcripts")
    t.add_argument("--label", default="band", help="field holding the band or numeric CSAT (default: band)")
    t.add_argument("--bands", default="1-2:low,3:medium,4-5:high", help="score ranges for numeric labels")
    t.add_argument("--labels", help="in a folder: glob of the label files (default: every .jsonl/.csv file)")
    t.add_argument("--holdout", help="JSON file with {\"test_ids\": [...]} kept out of training and reported")
    t.add_argument("--out", required=True, help="model folder to write")
    t.set_defaults(func=_cmd_train)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except EmpathyScoreError as exc:
        print(f"empathy-score: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
