"""Measure the detectors on the labelled detection sets shipped in ``empathy_score/data/detection/``.

Run ``python -m empathy_score.evaluate detectors`` to print precision and recall per behaviour and language.
Each set is a JSONL file of single utterances written by our team, with gold behaviour labels and marked
hard negatives (repairs, negations, sarcasm, customer apologies...).
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Sequence

from .detect import analyze
from .lang import available_languages
from .taxonomy import BEHAVIORS
from .transcript import Transcript, Turn

__all__ = ["DetectionScores", "load_detection_set", "evaluate_detectors", "split_of", "SPLITS", "main"]


@dataclass
class DetectionScores:
    """Counts and derived precision/recall for one language's detection set."""

    lang: str
    n: int = 0
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    hard_negatives: int = 0
    hard_negatives_clean: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def _ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    def precision(self, behavior: str | None = None) -> float:
        if behavior is None:
            return self._ratio(sum(self.tp.values()), sum(self.tp.values()) + sum(self.fp.values()))
        return self._ratio(self.tp[behavior], self.tp[behavior] + self.fp[behavior])

    def recall(self, behavior: str | None = None) -> float:
        if behavior is None:
            return self._ratio(sum(self.tp.values()), sum(self.tp.values()) + sum(self.fn.values()))
        return self._ratio(self.tp[behavior], self.tp[behavior] + self.fn[behavior])

    def to_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "utterances": self.n,
            "precision": round(self.precision(), 4),
            "recall": round(self.recall(), 4),
            "hard_negatives": self.hard_negatives,
            "per_behavior": {
                b: {
                    "tp": self.tp[b],
                    "fp": self.fp[b],
                    "fn": self.fn[b],
                    "precision": round(self.precision(b), 4),
                    "recall": round(self.recall(b), 4),
                }
                for b in BEHAVIORS
                if self.tp[b] + self.fp[b] + self.fn[b]
            },
        }


SPLITS = ("all", "dev", "heldout")


def split_of(item_id: str) -> str:
    """``dev`` (used to tune patterns) or ``heldout`` (only ever scored), by a stable hash of the id."""
    return "dev" if zlib.crc32(item_id.encode("utf-8")) % 2 == 0 else "heldout"


def load_detection_set(lang: str, split: str = "all") -> list[dict[str, Any]]:
    """The labelled utterances for ``lang``; ``split`` selects the dev or held-out half."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = resources.files("empathy_score").joinpath("data", "detection", f"{lang}.jsonl")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if split == "all" or split_of(str(row["id"])) == split:
                rows.append(row)
    return rows


def evaluate_detectors(
    lang: str, rows: Sequence[dict[str, Any]] | None = None, split: str = "all"
) -> DetectionScores:
    """Run the detectors on every utterance of the set and count hits against the gold labels."""
    scores = DetectionScores(lang)
    for row in rows if rows is not None else load_detection_set(lang, split):
        role = row["role"]
        turn = Turn(0, role.title(), role, row["text"], lang=lang)
        got = {e.behavior for e in analyze(Transcript((turn,), lang=lang)).evidence}
        gold = set(row.get("behaviors") or [])
        scores.n += 1
        for b in got & gold:
            scores.tp[b] += 1
        for b in got - gold:
            scores.fp[b] += 1
        for b in gold - got:
            scores.fn[b] += 1
        if row.get("hard_negative"):
            scores.hard_negatives += 1
            scores.hard_negatives_clean += not (got - gold)
        if got != gold:
            scores.errors.append({"id": row.get("id"), "text": row["text"], "gold": sorted(gold), "got": sorted(got)})
    return scores


def _print_scores(s: DetectionScores, out: Any) -> None:
    print(f"\n== {s.lang}: {s.n} utterances, {s.hard_negatives} hard negatives "
          f"({s.hard_negatives_clean} with no false alarm)", file=out)
    print(f"{'behaviour':<22}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}", file=out)
    for b in BEHAVIORS:
        if s.tp[b] + s.fp[b] + s.fn[b] == 0:
            continue
        print(f"{b:<22}{s.tp[b]:>5}{s.fp[b]:>5}{s.fn[b]:>5}{s.precision(b):>11.2f}{s.recall(b):>8.2f}", file=out)
    print(f"{'overall (micro)':<22}{sum(s.tp.values()):>5}{sum(s.fp.values()):>5}{sum(s.fn.values()):>5}"
          f"{s.precision():>11.3f}{s.recall():>8.3f}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m empathy_score.evaluate", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    det = sub.add_parser("detectors", help="precision and recall of the behaviour detectors")
    det.add_argument("--lang", action="append", help="language code (repeatable; default: all)")
    det.add_argument("--split", choices=SPLITS, default="all", help="dev half, held-out half, or all")
    det.add_argument("--errors", action="store_true", help="also list every utterance that was got wrong")
    det.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    langs = args.lang or list(available_languages())
    results = [evaluate_detectors(lang, split=args.split) for lang in langs]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    for r in results:
        _print_scores(r, sys.stdout)
        if args.errors:
            for e in r.errors:
                print(f"  {e['id']}: gold={e['gold']} got={e['got']} :: {e['text'][:110]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
