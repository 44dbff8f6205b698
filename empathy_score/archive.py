"""A synthetic archive of support contacts, generated from a folder of written transcripts.

:func:`generate_archive` takes the transcripts of a corpus folder laid out as ``<corpus_dir>/<lang>/*.txt``
(the repository's ``models/corpus``) and varies them: each generated transcript starts from a written one,
drops or repeats lines, splices in the middle part of another transcript of the same language to stretch it,
and changes names and figures. The text stays realistic while the archive can be as large as needed, which is
what benchmarks and worked examples of batch analysis need. Each record also carries synthetic ``agent`` and
``team`` metadata, so that results can be grouped the way a contact centre groups them.

Everything is deterministic for a given ``seed`` and corpus.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, Iterator

__all__ = ["ARCHIVE_LANGS", "generate_archive"]

ARCHIVE_LANGS: tuple[str, ...] = ("en", "es", "fi")
_NAMES = ["Ana", "Mikko", "Laura", "James", "Sofía", "Aino", "Pedro", "Emma", "Juha", "Lucía", "Omar",
          "Kaisa"]
_FOLDERS = ", ".join(f"{lang}/" for lang in ARCHIVE_LANGS)
_TEAMS = ("Team Aurora", "Team Boreal", "Team Coral", "Team Delta")
_AGENT_NAMES = {
    "en": ["Alex", "Chloe", "Daniel", "Grace", "Henry", "Isla", "Jack", "Olivia", "Ryan", "Sophie"],
    "es": ["Alba", "Carlos", "Elena", "Javier", "Marta", "Nicolás", "Paula", "Raúl", "Sara", "Tomás"],
    "fi": ["Eero", "Hanna", "Ilkka", "Johanna", "Lauri", "Minna", "Otto", "Riikka", "Sanna", "Ville"],
}
_AGENTS_PER_LANG = 6


def _written(corpus_dir: Path) -> list[tuple[str, list[str], str]]:
    """(lang, non-empty lines, file stem) of every transcript, in a fixed order."""
    out = []
    for lang in ARCHIVE_LANGS:
        for p in sorted((corpus_dir / lang).glob("*.txt")):
            lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
            if lines:
                out.append((lang, lines, p.stem))
    return out


def _roster(rng: random.Random, stems: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """Each written transcript's (agent, team): a few agents per language, spread over the teams."""
    agents: dict[str, list[tuple[str, str]]] = {}
    slot = 0
    for lang in ARCHIVE_LANGS:
        names = rng.sample(_AGENT_NAMES[lang], _AGENTS_PER_LANG)
        agents[lang] = []
        for name in names:
            agents[lang].append((name, _TEAMS[slot % len(_TEAMS)]))
            slot += 1
    return {(lang, stem): rng.choice(agents[lang]) for lang, stem in stems}


_FIGURE = re.compile(r"\b\d{2,}\b")


def _new_figure(m: re.Match[str], rng: random.Random) -> str:
    """A new random figure for an amount, order number... but a time stamp's digits are kept (they must
    still read as times). The draw is made either way, so that the rest of the archive does not shift."""
    value = rng.randint(10, 9999)
    s, i, j = m.string, m.start(), m.end()
    if (i > 0 and s[i - 1] == ":") or s[j : j + 1] == ":":
        return m.group()
    if _in_timestamp(s, i):  # a date at the start of a line ("[2024-06-12 09:14] ..."): keep it a date
        return m.group()
    return str(value)


_LINE_DATE = re.compile(r"\[?\d{1,4}([-/.])\d{1,2}\1\d{1,4}[ T,]")


def _in_timestamp(s: str, i: int) -> bool:
    """Whether position ``i`` lies in a date that opens its line (the time stamp of a turn)."""
    line_start = s.rfind("\n", 0, i) + 1
    m = _LINE_DATE.match(s, line_start)
    return m is not None and line_start <= i < m.end()


def generate_archive(
    n: int, *, corpus_dir: str | Path, seed: int = 7, turns: tuple[int, int] = (4, 60)
) -> Iterator[dict[str, Any]]:
    """Generate ``n`` synthetic transcripts from the written ones in ``corpus_dir``.

    ``corpus_dir`` holds one folder per language (``en``, ``es``, ``fi``) of plain-text transcripts
    (``Speaker: text`` lines), such as the repository's ``models/corpus``. Each generated transcript varies a
    written one: it is stretched to a target length drawn from ``turns`` (inclusive bounds of at least 3,
    counted in non-empty lines) by splicing in the middle part of another transcript of the same language, or
    cut down to it by keeping the opening, the closing line and a random selection in between; figures of two
    or more digits are replaced (except in time stamps such as ``8:14 PM`` or ``[00:01:12]``) and the name
    "Maria" changed. A cut that keeps no speaker turn (only a chat's system and bot lines) is drawn again.

    Yields dicts with ``id`` (``"call-0000000"``, ``"call-0000001"``, ...), ``text``, ``lang`` (the
    language folder the transcript came from; mixed-language calls keep their folder's code), and synthetic
    ``agent`` and ``team`` names: every written transcript is owned by one agent of its language, and every
    agent belongs to one team. The same ``seed`` and corpus give the same archive; the metadata is drawn
    from its own random stream, so the texts do not depend on it.

    Raises :class:`FileNotFoundError` if ``corpus_dir`` does not exist or holds no transcripts, and
    :class:`ValueError` for a negative ``n`` or bad ``turns`` bounds. Both are raised at the call, before
    the first record is requested.
    """
    if n < 0:
        raise ValueError(f"n must be zero or more, got {n}")
    lo, hi = turns
    if not 3 <= lo <= hi:
        raise ValueError(f"turns must be (low, high) with 3 <= low <= high, got {turns!r}")
    root = Path(corpus_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such corpus folder (expected {_FOLDERS} inside)")
    base = _written(root)
    if not base:
        raise FileNotFoundError(f"{root}: no transcripts found; expected .txt files in {_FOLDERS}")
    owner = _roster(random.Random(f"archive-metadata:{seed}"), [(lang, stem) for lang, _, stem in base])
    return _generate(n, base, owner, random.Random(seed), (lo, hi))


_ATTEMPTS = 5  # draws for one record whose cut keeps no speaker turn


def _vary(lines: list[str], base: list[tuple[str, list[str], str]], lang: str, rng: random.Random,
          turns: tuple[int, int]) -> tuple[str, bool]:
    """One written call stretched or cut to a target length drawn from ``turns``, figures and a name varied;
    and whether it was cut (a stretched call holds the whole written one, which reads)."""
    target = rng.randint(*turns)
    body = list(lines)
    while len(body) < target:  # stretch: splice in the middle part of a call of the same language
        other = rng.choice([b for b in base if b[0] == lang])[1]
        k = max(1, len(other) // 3)
        mid = len(body) // 2
        body[mid:mid] = other[k : 2 * k]
    cut = len(body) > target
    if cut:
        body = body[:2] + sorted(rng.sample(body[2:-1], max(0, target - 3)), key=body.index) + body[-1:]
    name = rng.choice(_NAMES)
    text = "\n".join(body)
    text = _FIGURE.sub(lambda m: _new_figure(m, rng), text)
    return text.replace("Maria", name), cut


def _generate(
    n: int,
    base: list[tuple[str, list[str], str]],
    owner: dict[tuple[str, str], tuple[str, str]],
    rng: random.Random,
    turns: tuple[int, int],
) -> Iterator[dict[str, Any]]:
    from .errors import TranscriptError
    from .parsing import parse_transcript

    for i in range(n):
        for attempt in range(_ATTEMPTS):
            lang, lines, stem = rng.choice(base)
            text, cut = _vary(lines, base, lang, rng, turns)
            if not cut or attempt == _ATTEMPTS - 1:
                break
            try:  # a cut can keep only a chat's system and bot lines: draw again
                parse_transcript(text)
                break
            except TranscriptError:
                continue
        agent, team = owner[lang, stem]
        yield {"id": f"call-{i:07d}", "text": text, "lang": lang, "agent": agent, "team": team}
