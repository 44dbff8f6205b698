"""Plain-text transcripts: ``Speaker: text`` lines, optional timestamps, hold markers, continuation lines."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from ._build import RawEvent, RawItem, RawTurn, classify_event, is_session_line, label_role, parse_duration

__all__ = ["read_text_items", "looks_like_text_transcript"]

_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s*(?:Z|UTC|[+-]\d{2}:?\d{2}))?"
# a clock time with dots ("9.14", the Finnish way) only in brackets or after "klo": bare, it could be a price
_TS_DOT = r"\d{1,2}\.\d{2}(?:\.\d{2})?"
_BARE_DOT = re.compile(rf"^\s*(?P<dot>{_TS_DOT})\s+(?=\S)")
# inside brackets, a weekday may come first: "[Mon 3:42 PM]", "[ma 9.14]", "[mié., 10:02]"
_DAY = (
    r"(?i:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day)?|wednesday|saturday|tuesday|thursday"
    r"|lun|mar|mi[eé]|jue|vie|s[aá]b|dom|lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo"
    r"|ma|ti|ke|to|pe|la|su|maanantai|tiistai|keskiviikko|torstai|perjantai|lauantai|sunnuntai)\.?,?\s+"
)
_DATE = r"(?:\d{4}-\d{2}-\d{2}[ T]|\d{1,2}[./]\d{1,2}[./]\d{2,4},?\s+)"
_PREFIX = re.compile(
    rf"^\s*(?:[\[(]\s*(?:{_DAY})?{_DATE}?(?:klo\s+)?(?:(?P<ts1>{_TS})|(?P<dot1>{_TS_DOT}))\s*[\])]"
    rf"|{_DATE}?(?:klo\s+(?:(?P<ts3>{_TS})|(?P<dot2>{_TS_DOT}))|(?P<ts2>{_TS})))\s*(?:[-–—|>]\s*)?"
)
_SPEAKER = re.compile(r"^(?P<speaker>@?[^\W\d_][^:：\n]{0,59}?)\s*[:：](?:\s+|$)(?P<text>.*)$", re.DOTALL)
_MARKER_START = tuple("([{*-.…<=#_~>")
_BRACKETED = re.compile(r"[\[({<*]+[^\])}>]*[\])}>*]+")
_CLOSERS = "])}>*"
_WHOLE_OPEN = "[({<*=~#-"
_WHOLE_CLOSE = "])}>*=~#-"
_LABEL_PARENS = re.compile(r"\([^()]*\)")
_MAX_SPEAKER_WORDS = 5


@dataclass(slots=True)
class _Line:
    lineno: int
    raw: str
    ts: float | None
    speaker: str | None
    text: str


def _seconds(ts: str | None) -> float | None:
    if not ts:
        return None
    m = re.match(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,](\d{1,3}))?\s*([AaPp])?", ts)
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    if m.group(3) is not None:
        h, mi, s = a, b, int(m.group(3))
    elif m.group(5):
        h, mi, s = a, b, 0
    else:
        h, mi, s = 0, a, b
    if m.group(5):
        ampm = m.group(5).lower()
        h = h % 12 + (12 if ampm == "p" else 0)
    frac = float("0." + m.group(4)) if m.group(4) else 0.0
    return h * 3600 + mi * 60 + s + frac


def _dotted_seconds(ts: str) -> float:
    """A dotted clock time ("9.14", "09.14.30") is hours and minutes, then seconds."""
    parts = [int(p) for p in ts.split(".")]
    return float(parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0))


def _speaker_match(rest: str) -> re.Match[str] | None:
    """The ``Speaker: text`` match of ``rest`` if its label is a valid one and the colon is not a URL's."""
    sm = _SPEAKER.match(rest.strip())
    if sm and _valid_label(sm.group("speaker")) and not sm.group("text").startswith("//"):
        return sm
    return None


def _valid_label(label: str) -> bool:
    words = _LABEL_PARENS.sub(" ", label).split()
    if not words or len(words) > _MAX_SPEAKER_WORDS:
        return False
    if any(ch in label for ch in "?!\"“”") or label.lower().startswith(("http", "www")):
        return False
    return True


def _split(lineno: int, raw: str) -> _Line:
    rest = raw
    ts: float | None = None
    sm: re.Match[str] | None = None
    m = _PREFIX.match(rest)
    if m:
        dotted = m.group("dot1") or m.group("dot2")
        ts = _dotted_seconds(dotted) if dotted else _seconds(m.group("ts1") or m.group("ts2") or m.group("ts3"))
        rest = rest[m.end():]
    else:
        m = _BARE_DOT.match(rest)
        # a bare dotted time counts only before a speaker label: "9.14 Asiakas: hei", not "3.50 a month"
        sm = _speaker_match(rest[m.end():]) if m else None
        if m and sm:
            ts, rest = _dotted_seconds(m.group("dot")), rest[m.end():]
    sm = sm or _speaker_match(rest)
    if sm:
        return _Line(lineno, raw, ts, sm.group("speaker").strip(), sm.group("text").strip())
    return _Line(lineno, raw, ts, None, rest.strip())


def _bracketed_parts(text: str) -> list[str]:
    """``_BRACKETED.findall(text)`` in linear time.

    A match can only end at a closing character, so the search stops after the last one: otherwise every
    opening bracket of a long unclosed run (``x((((...``) would retry the whole rest of the line.
    """
    last = max(text.rfind(c) for c in _CLOSERS)
    return _BRACKETED.findall(text, 0, last + 1) if last > 0 else []


def _whole_bracketed(text: str) -> bool:
    """The stripped line is wrapped in marker characters (``[...]``, ``*** ... ***``, ``-- ... --``)."""
    return len(text) >= 2 and "\n" not in text and text[0] in _WHOLE_OPEN and text[-1] in _WHOLE_CLOSE


def _marker_kind(text: str) -> str | None:
    """Event kind of a line with no speaker, or None if the line is ordinary speech."""
    stripped = text.strip()
    if not stripped:
        return None
    marker_like = stripped.startswith(_MARKER_START)
    for part in _bracketed_parts(stripped) if not marker_like else [stripped]:
        kind = classify_event(part)
        if kind:
            return kind
    if _whole_bracketed(stripped):
        return "system"
    return None


def _log_entry_kind(ln: _Line, body: str) -> str | None:
    """Event kind of an unbracketed speakerless line that is a log entry of its own, not the turn above going on:
    a chat-session line ("Customer left the chat"), or a line with its own timestamp that names an event
    ("[10:03:00] Call placed on hold")."""
    if is_session_line(body):
        return "system"
    return classify_event(body) if ln.ts is not None else None


def looks_like_text_transcript(text: str, sample_lines: int = 50) -> bool:
    lines = [ln for ln in text.splitlines()[:sample_lines] if ln.strip()]
    return any(_split(i, ln).speaker for i, ln in enumerate(lines))


def read_text_items(text: str, speakers: Iterable[str] = ()) -> tuple[list[RawItem], list[str]]:
    """Split a plain-text transcript into raw turns and events, with notes on what was guessed.

    ``speakers``: labels known to be speakers (the keys of a ``roles`` mapping), taken as such even when they
    appear only once.
    """
    lines = [_split(i, raw) for i, raw in enumerate(text.splitlines(), start=1)]
    counts = Counter(ln.speaker for ln in lines if ln.speaker)
    label_roles = {label: label_role(label) for label in counts}
    accepted: set[str] = set(speakers) & set(counts)
    for label, n in counts.most_common():
        if label_roles[label] or n >= 2:
            accepted.add(label)
    # counted once, not per label: recounting made 100,000 one-off labels quadratic
    non_system = sum(1 for a in accepted if label_roles[a] != "system")
    for label in counts:
        if label not in accepted and non_system < 2 and label[:1].isupper():
            accepted.add(label)
            non_system += 1  # an unaccepted label has no role, so it is not a system label

    items: list[RawItem] = []
    notes: list[str] = []
    current: RawTurn | None = None
    for ln in lines:
        if ln.speaker and ln.speaker in accepted:
            current = RawTurn(ln.speaker, ln.text, start=ln.ts, line=ln.lineno)
            items.append(current)
            continue
        body = ln.raw.strip() if ln.speaker else ln.text
        if not body:
            continue
        kind = _marker_kind(body) or _log_entry_kind(ln, body)
        if kind:
            items.append(RawEvent(kind, body, parse_duration(body) if kind == "hold" else None, ln.lineno))  # type: ignore[arg-type]
            current = None if kind != "system" else current
            continue
        if current is not None:
            current.text = f"{current.text}\n{body}" if current.text else body
            if ln.speaker:
                notes.append(
                    f"line {ln.lineno}: {ln.speaker!r} is a speaker label only once here, so the line was kept as "
                    f"text of the turn above; pass roles={{{ln.speaker!r}: ...}} if it is a speaker"
                )
        else:
            items.append(RawEvent("system", body, None, ln.lineno))
            if any(isinstance(it, RawTurn) for it in items):
                notes.append(f"line {ln.lineno}: text with no speaker kept as a system event")
    return items, notes
