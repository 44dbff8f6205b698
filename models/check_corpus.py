"""Check and describe the labelled corpus: coverage, diversity, label agreement.

    python models/check_corpus.py            # report; exit status 1 if a check fails
    python models/check_corpus.py --json     # the same figures as JSON

Checks (each printed with its figure):
- every label record has a transcript and a valid band, survey, contact reason;
- size per language (en >= 400, es >= 350, fi >= 150) and hard cases >= 25%;
- diversity: no two transcripts share more than 30% of their lines (lines compared after dropping
  timestamps and speaker names, lowercased, whitespace collapsed; lines under 25 characters, such as
  greetings, are not counted); the share of distinct agent sentences is reported;
- length is not a shortcut: every band occurs among the short (4-8 turns) and the long (26+ turns) calls.
Reported: bands by language, turn-count bands by CSAT band, channels, domains, contact reasons, and
writer-versus-blind-reviewer agreement (raw and Cohen's kappa) for the batches that have a review.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent / "corpus"
BANDS = ("low", "medium", "high")
REASONS = ("outage", "billing", "defect", "how_to", "feedback")
DOMAINS = ("software", "telecom", "banking", "e-commerce", "utilities", "travel", "insurance", "b2b_saas",
           "healthcare_admin")
MIN_PER_LANG = {"en": 400, "es": 350, "fi": 150}
MAX_SHARED = 0.30
MIN_LINE = 25
_STAMP = re.compile(r"^\s*[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?[\])]?\s*")
_SPEAKER = re.compile(r"^[^:\n]{1,40}:\s+")
_SENT = re.compile(r"(?<=[.!?])\s+")


def _norm(line: str) -> str:
    line = _STAMP.sub("", line)
    line = _SPEAKER.sub("", line, count=1)
    return re.sub(r"\s+", " ", line).strip().lower()


def load(root: Path = ROOT) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    records = []
    for f in sorted((root / "labels").glob("*.jsonl")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rec = json.loads(line)
                rec["_where"] = f"{f.name}:{n}"
                records.append(rec)
    files = {p.stem: p for p in root.glob("*/*") if p.is_file() and p.parent.name in ("en", "es", "fi")}
    return records, files


def _kappa(a: list[str], b: list[str]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = collections.Counter(a), collections.Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def check(root: Path = ROOT) -> tuple[dict[str, Any], list[str]]:
    from empathy_score.parsing import parse_transcript

    records, files = load(root)
    problems: list[str] = []
    report: dict[str, Any] = {"transcripts": len(records)}
    lines: dict[str, set[str]] = {}
    agent_sentences: list[str] = []
    turns: dict[str, int] = {}
    for rec in records:
        rid = rec.get("id")
        if rid not in files:
            problems.append(f"{rec['_where']}: no transcript file for id {rid!r}")
            continue
        if rec.get("band") not in BANDS or rec.get("contact_reason") not in REASONS:
            problems.append(f"{rec['_where']}: bad band or contact_reason")
        if rec.get("domain") not in DOMAINS or rec.get("channel") not in ("voice", "chat"):
            problems.append(f"{rec['_where']}: unknown domain {rec.get('domain')!r} or channel {rec.get('channel')!r}")
        survey = rec.get("survey")
        if survey is not None and {1: "low", 2: "low", 3: "medium", 4: "high", 5: "high"}.get(survey) != rec.get("band"):
            problems.append(f"{rec['_where']}: survey {survey} does not match band {rec.get('band')}")
        text = files[rid].read_text(encoding="utf-8")
        t = parse_transcript(files[rid])
        turns[rid] = len(t.turns)
        lines[rid] = {n for n in map(_norm, text.splitlines()) if len(n) >= MIN_LINE}
        for turn in t.turns:
            if turn.role == "agent":
                agent_sentences.extend(s.strip().lower() for s in _SENT.split(turn.text) if len(s.strip()) >= 3)
    by_lang = collections.Counter(r.get("lang") for r in records)
    report["by_language"] = dict(by_lang)
    for lang, need in MIN_PER_LANG.items():
        if by_lang.get(lang, 0) < need:
            problems.append(f"{lang}: {by_lang.get(lang, 0)} transcripts, need {need}")
    report["bands_by_language"] = {
        lang: dict(collections.Counter(r["band"] for r in records if r.get("lang") == lang)) for lang in sorted(by_lang)
    }
    hard = sum(1 for r in records if r.get("hard_case"))
    report["hard_case_share"] = round(hard / len(records), 3)
    if hard / len(records) < 0.25:
        problems.append(f"hard cases {hard / len(records):.1%}, need 25%")
    report["hard_cases"] = dict(collections.Counter(r.get("hard_case") for r in records if r.get("hard_case")))
    for field in ("channel", "domain", "contact_reason"):
        report[field] = dict(collections.Counter(r.get(field) for r in records))
    report["mixed_language"] = sum(1 for r in records if r.get("mixed_language"))

    # diversity: pairs of transcripts sharing lines
    index: dict[str, list[str]] = collections.defaultdict(list)
    for rid, ls in lines.items():
        for line in ls:
            index[line].append(rid)
    shared: collections.Counter[tuple[str, str]] = collections.Counter()
    for ids in index.values():
        if 1 < len(ids) < 200:
            for a, b in itertools.combinations(sorted(ids), 2):
                shared[(a, b)] += 1
    worst = 0.0
    for (a, b), n in shared.items():
        frac = n / max(1, min(len(lines[a]), len(lines[b])))
        worst = max(worst, frac)
        if frac > MAX_SHARED:
            problems.append(f"{a} and {b} share {n} lines ({frac:.0%})")
    report["max_shared_line_fraction"] = round(worst, 3)
    report["distinct_agent_sentence_share"] = round(len(set(agent_sentences)) / max(1, len(agent_sentences)), 3)
    report["agent_sentences"] = len(agent_sentences)

    # length must not give the band away
    def bucket(n: int) -> str:
        return "04-08" if n <= 8 else "09-16" if n <= 16 else "17-25" if n <= 25 else "26+"

    by_len: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in records:
        if r.get("id") in turns:
            by_len[bucket(turns[r["id"]])][r["band"]] += 1
    report["bands_by_turn_count"] = {k: dict(v) for k, v in sorted(by_len.items())}
    for k in ("04-08", "26+"):
        missing = [b for b in BANDS if by_len[k][b] == 0]
        if missing:
            problems.append(f"no {', '.join(missing)} calls with {k} turns: length would give the band away")

    # agreement with blind reviews
    writer = {r["id"]: r for r in records}
    agree: dict[str, Any] = {}
    all_w: list[str] = []
    all_r: list[str] = []
    reasons_same = reasons_n = 0
    for f in sorted((root / "review").glob("*.jsonl")):
        rows = [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
        rows = [x for x in rows if x.get("id") in writer]
        w = [writer[x["id"]]["band"] for x in rows]
        rv = [x["band"] for x in rows]
        all_w += w
        all_r += rv
        reasons_same += sum(writer[x["id"]]["contact_reason"] == x.get("contact_reason") for x in rows)
        reasons_n += len(rows)
        agree[f.stem] = {"n": len(rows), "band_agreement": round(sum(a == b for a, b in zip(w, rv)) / len(rows), 3),
                         "kappa": round(_kappa(w, rv), 3)}
    if all_w:
        agree["all"] = {"n": len(all_w), "band_agreement": round(sum(a == b for a, b in zip(all_w, all_r)) / len(all_w), 3),
                        "kappa": round(_kappa(all_w, all_r), 3), "reason_agreement": round(reasons_same / reasons_n, 3)}
    report["review_agreement"] = agree
    return report, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    report, problems = check()
    if args.json:
        print(json.dumps({"report": report, "problems": problems}, indent=1, ensure_ascii=False))
    else:
        for k, v in report.items():
            print(f"{k}: {v}")
        print(f"\n{len(problems)} problem(s)")
        for p in problems[:50]:
            print("  -", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
