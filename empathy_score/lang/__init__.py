"""Per-language data: each supported language is a folder ``lang/<code>/`` of data files, no code.

Adding a language means adding a folder with the same files (see the English one); nothing else changes.

Files (all UTF-8, ``#`` lines are comments and say who wrote them):

- ``speakers.tsv``: speaker-label phrases and the role they stand for;
- ``events.tsv``: keywords that make a marker line a hold, transfer or system event (``session``: a system
  event that counts even on an unbracketed line of its own);
- ``role_cues.tsv``: phrases that suggest who is speaking when labels do not say;
- ``behaviors.jsonl``: behaviour and cue patterns for spaCy's matchers;
- ``sentiment.tsv``: a small valence lexicon for customer sentiment.
"""

from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

from ..errors import LanguageError

__all__ = [
    "available_languages",
    "read_tsv",
    "read_jsonl",
    "phrase_regex",
    "ensure_language",
]

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """Codes of the languages that have a data folder, sorted."""
    root = resources.files(__name__)
    return tuple(
        sorted(
            p.name
            for p in root.iterdir()
            if p.is_dir() and not p.name.startswith("_") and p.joinpath("speakers.tsv").is_file()
        )
    )


def ensure_language(lang: str) -> str:
    """Normalise ``lang`` ("es-MX" -> "es") and check it is supported."""
    code = lang.strip().lower().replace("_", "-").split("-")[0]
    if code not in available_languages():
        raise LanguageError(
            f"language {lang!r} is not supported; expected one of {', '.join(available_languages())}"
        )
    return code


def _data_path(lang: str, name: str) -> Any:
    return resources.files(__name__).joinpath(lang, name)


@lru_cache(maxsize=None)
def read_tsv(lang: str, name: str, columns: int = 2) -> tuple[tuple[str, ...], ...]:
    """Rows of ``lang/<lang>/<name>``, comments and blank lines skipped; each row has ``columns`` fields."""
    path = _data_path(lang, name)
    if not path.is_file():
        return ()
    rows: list[tuple[str, ...]] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = tuple(f.strip() for f in line.split("\t"))
        if len(fields) != columns or not all(fields):
            raise LanguageError(
                f"lang/{lang}/{name}, line {lineno}: expected {columns} tab-separated fields, "
                f"got {len(fields)}"
            )
        rows.append(fields)
    return tuple(rows)


@lru_cache(maxsize=None)
def read_jsonl(lang: str, name: str) -> tuple[dict[str, Any], ...]:
    """Records of ``lang/<lang>/<name>`` (JSON lines; lines starting with ``#`` or ``//`` are comments)."""
    path = _data_path(lang, name)
    if not path.is_file():
        return ()
    records: list[dict[str, Any]] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "//")):
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LanguageError(f"lang/{lang}/{name}, line {lineno}: invalid JSON ({exc.msg})") from exc
        if not isinstance(rec, dict):
            raise LanguageError(f"lang/{lang}/{name}, line {lineno}: expected a JSON object")
        rec.setdefault("_line", lineno)
        records.append(rec)
    return tuple(records)


def _phrase_to_regex(phrase: str) -> str:
    words = phrase.split()
    parts = []
    for w in words:
        if w.endswith("*"):
            parts.append(re.escape(w[:-1]) + r"\w*")
        else:
            parts.append(re.escape(w))
    return r"\s+".join(parts)


def phrase_regex(phrases: Iterable[str], *, lowercased: bool = False) -> re.Pattern[str]:
    """One case-insensitive regex matching any of ``phrases`` as whole words, longest first.

    A trailing ``*`` on a word matches any ending ("transfer*" matches "transferred").
    ``lowercased=True``: the regex is for text the caller has lowercased; it then needs no case folding, which
    makes a long alternation several times faster (a word-boundary anchor lets the engine skip positions too).
    """
    uniq = sorted({p.lower() for p in phrases if p.strip()}, key=lambda p: (-len(p), p))
    if not uniq:
        return re.compile(r"(?!x)x")
    body = "|".join(_phrase_to_regex(p) for p in uniq)
    if lowercased:
        # before a word character, \b is the same test as (?<!\w)
        start = r"\b" if all(re.match(r"\w", p) for p in uniq) else r"(?<!\w)"
        return re.compile(rf"{start}(?:{body})(?!\w)")
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)
