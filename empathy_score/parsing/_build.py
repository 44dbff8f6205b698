"""From the raw items every format reader produces to a :class:`~empathy_score.transcript.Transcript`.

Readers only split their input into :class:`RawTurn` and :class:`RawEvent` items in order; roles, turn
numbering, event placement and language detection happen here, once, for every format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence, Union

from ..errors import TranscriptError, excerpt
from ..lang import available_languages, ensure_language, phrase_regex, read_tsv
from ..langid import best_language, language_of_scores, turn_language_scores
from ..transcript import Event, EventKind, Transcript, Turn

__all__ = [
    "RawTurn",
    "RawEvent",
    "RawItem",
    "build_transcript",
    "label_role",
    "classify_event",
    "is_session_line",
    "parse_duration",
    "normalise_role",
]

_ROLE_VALUES = {"agent", "customer", "unknown", "system"}
_ROLE_ALIASES = {
    "human_agent": "agent",
    "automated_agent": "system",
    "any_agent": "agent",
    "end_user": "customer",
    "custom_bot": "system",
    "supervisor": "agent",
    "bot": "system",
    # the participant types of chat and helpdesk exports
    "admin": "agent",
    "operator": "agent",
    "user": "customer",
    "visitor": "customer",
    "requester": "customer",
    "client": "customer",
}


@dataclass(slots=True)
class RawTurn:
    speaker: str
    text: str
    start: float | None = None
    end: float | None = None
    line: int | None = None
    role: str | None = None


@dataclass(slots=True)
class RawEvent:
    kind: EventKind
    text: str
    duration: float | None = None
    line: int | None = None


RawItem = Union[RawTurn, RawEvent]


def normalise_role(value: str, *, source: str | None = None, line: int | None = None) -> str:
    """Map a role name from a user or an export ("END_USER", "Agent") to ours."""
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    key = _ROLE_ALIASES.get(key, key)
    if key not in _ROLE_VALUES:
        raise TranscriptError(
            f"unknown role {excerpt(value)}; expected one of agent, customer, system, unknown",
            source=source,
            line=line,
        )
    return key


@lru_cache(maxsize=1)
def _label_table() -> tuple[re.Pattern[str], dict[str, str]]:
    roles: dict[str, str] = {}
    for code in available_languages():
        for phrase, role in read_tsv(code, "speakers.tsv"):
            roles.setdefault(phrase.lower(), role)
    return phrase_regex(roles), roles


def label_role(label: str) -> str | None:
    """The role a speaker label names ("Servicio de asistencia" -> agent), or ``None`` if it names none.

    The longest phrase found inside the label wins, so "Customer Service" is an agent.
    """
    regex, roles = _label_table()
    text = re.sub(r"[^\w\s'-]", " ", label.lower())
    best: str | None = None
    for m in regex.finditer(text):
        found = " ".join(m.group(0).split())
        if best is None or len(found) > len(best):
            best = found
    if best is None:
        return None
    return roles.get(best) or next((r for p, r in roles.items() if re.fullmatch(_star(p), best)), None)


def _star(phrase: str) -> str:
    return r"\s+".join(re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in phrase.split())


@lru_cache(maxsize=1)
def _event_phrases() -> dict[str, set[str]]:
    by_kind: dict[str, set[str]] = {}
    for code in available_languages():
        for kind, phrase in read_tsv(code, "events.tsv"):
            by_kind.setdefault(kind, set()).add(phrase)
    return by_kind


@lru_cache(maxsize=1)
def _event_regexes() -> tuple[tuple[EventKind, re.Pattern[str]], ...]:
    by_kind = _event_phrases()
    order: tuple[EventKind, ...] = ("hold_end", "transfer", "hold", "system")
    system = by_kind.get("system", set()) | by_kind.get("session", set())
    return tuple((k, phrase_regex(system if k == "system" else by_kind.get(k, ()))) for k in order)


@lru_cache(maxsize=1)
def _session_regex() -> re.Pattern[str]:
    return phrase_regex(_event_phrases().get("session", ()))


def classify_event(text: str) -> EventKind | None:
    """The kind of event a marker text names, or ``None`` when it names none."""
    for kind, regex in _event_regexes():
        if regex.search(text):
            return kind
    return None


def is_session_line(text: str) -> bool:
    """``text`` names the chat or call itself starting, ending or changing hands ("Customer left the chat")."""
    return len(text.split()) <= _SESSION_MAX_WORDS and _session_regex().search(text) is not None


# a session line is a short log entry; a longer line that mentions leaving the chat is someone speaking
_SESSION_MAX_WORDS = 8


_CLOCK = re.compile(r"(?<![\d:])(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?![\d:])")
# (?<!\d): a number is tried from its first digit only; from every digit, a long digit run was quadratic.
_UNIT = re.compile(
    r"(?<!\d)(\d+(?:[.,]\d+)?)\s*(h|hrs?|hours?|horas?|tuntia?|t|min|mins|minutes?|minutos?|minuutti[a]?|m|"
    r"s|sec|secs|seconds?|segundos?|sekuntia?|seg)(?!\w)",
    re.IGNORECASE,
)


def parse_duration(text: str) -> float | None:
    """Seconds stated in a marker ("[HOLD 00:02:30]", "on hold 3 min", "2 minutos"), else ``None``."""
    m = _CLOCK.search(text)
    if m:
        h = int(m.group(1) or 0)
        return float(h * 3600 + int(m.group(2)) * 60 + int(m.group(3)))
    total = 0.0
    found = False
    for num, unit in _UNIT.findall(text):
        value = float(num.replace(",", "."))
        u = unit.lower()
        if u.startswith(("h", "t")):
            value *= 3600
        elif u.startswith("m"):
            value *= 60
        total += value
        found = True
    return total if found else None


@lru_cache(maxsize=1)
def _role_cue_regexes() -> dict[str, re.Pattern[str]]:
    phrases: dict[str, set[str]] = {"agent": set(), "customer": set()}
    for code in available_languages():
        for role, phrase in read_tsv(code, "role_cues.tsv"):
            phrases.setdefault(role, set()).add(phrase)
    return {role: phrase_regex(p, lowercased=True) for role, p in phrases.items()}


def _agentness(texts: Sequence[str]) -> float:
    """Agent cues minus customer cues per turn: > 0 sounds like the agent."""
    if not texts:
        return 0.0
    regexes = _role_cue_regexes()
    joined = "\n".join(texts).lower()
    agent = len(regexes["agent"].findall(joined))
    customer = len(regexes["customer"].findall(joined))
    return (agent - customer) / len(texts)


FIRST_TURN_EXTRA = 2
# Weight of greeting someone by a name they have not said themselves: the agent reads the customer's name
# from the system ("Hi Noah!"), the customer learns the agent's only when told.
NAME_CUE = 1.0
_NAME = re.compile(r"[^\W\d_][^\W\d_]+")


def _addresses_unannounced(order: Sequence[tuple[str, str]], candidates: Sequence[str]) -> set[str]:
    """Candidates who, in their first two turns, call another candidate by a name (the first word of that
    speaker's label) that speaker has not yet written themselves."""
    names: dict[str, str] = {}
    for s in candidates:
        m = _NAME.match(s.strip())
        if m and m.group()[0].isupper() and len(m.group()) >= 3:
            names[s] = m.group()
    if len(names) < 2:
        return set()
    announced: set[str] = set()
    turns_seen: dict[str, int] = {}
    out: set[str] = set()
    for speaker, text in order:
        if speaker not in names:
            continue
        words = set(_NAME.findall(text))
        if names[speaker] in words:
            announced.add(speaker)
        turns_seen[speaker] = turns_seen.get(speaker, 0) + 1
        if turns_seen[speaker] > 2:
            continue
        if any(o != speaker and o not in announced and n in words for o, n in names.items()):
            out.add(speaker)
    return out


def _assign_roles(
    speakers: Sequence[str],
    texts_by_speaker: Mapping[str, list[str]],
    given: dict[str, str],
    after_transfer: frozenset[str] = frozenset(),
    order: Sequence[tuple[str, str]] = (),
) -> tuple[dict[str, str], list[str]]:
    """Complete ``given`` (speaker -> role) by inference; returns roles and notes on what was guessed.

    A speaker who first speaks right after a transfer is the agent taking the call. ``order``: the turns as
    (speaker, text) in speaking order, for the name cue (:data:`NAME_CUE`).
    """
    roles = dict(given)
    # checked once (the loop only adds agents): per speaker it was quadratic in the number of speakers
    both_known = "agent" in roles.values() and "customer" in roles.values()
    for s in speakers:
        if both_known and s not in roles and s in after_transfer:
            roles[s] = "agent"
    unknown = [s for s in speakers if s not in roles]
    notes: list[str] = []
    if not unknown:
        return roles, notes
    known = {r for r in roles.values() if r in ("agent", "customer")}
    # a speaker's first turn says most about who they are (a greeting or a problem), so it counts thrice
    scores = {
        s: _agentness(texts_by_speaker.get(s, []) + texts_by_speaker.get(s, [])[:1] * FIRST_TURN_EXTRA)
        for s in unknown
    }
    for s in _addresses_unannounced(order, unknown):
        scores[s] += NAME_CUE
    if len(unknown) == 1 and len(known) == 1:
        (s,) = unknown
        roles[s] = "customer" if "agent" in known else "agent"
        notes.append(f"role of {s!r} inferred as {roles[s]} (the other party)")
    elif len(unknown) >= 2 and not known:
        order = {s: i for i, s in enumerate(speakers)}
        ranked = sorted(unknown, key=lambda s: (-scores[s], order[s]))
        roles[ranked[0]] = "agent"
        roles[ranked[-1]] = "customer"
        for s in ranked[1:-1]:
            roles[s] = "agent" if scores[s] > 0 else "customer" if scores[s] < 0 else "unknown"
        how = "from what they said" if scores[ranked[0]] != scores[ranked[-1]] else "by order of speaking"
        notes.append(
            "roles inferred " + how + ": " + ", ".join(f"{s!r} -> {roles[s]}" for s in ranked)
        )
    else:
        for s in unknown:
            sc = scores[s]
            roles[s] = "agent" if sc > 0 else "customer" if sc < 0 else "unknown"
            if len(known) == 0 and roles[s] == "unknown":
                roles[s] = "agent" if "agent" not in roles.values() else "customer"
            notes.append(f"role of {s!r} inferred as {roles[s]}")
    return roles, notes


def build_transcript(
    items: Iterable[RawItem],
    *,
    source: str | None,
    lang: str | None = None,
    roles: Mapping[str, str] | None = None,
    id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> Transcript:
    """Number turns, place events, settle roles and languages; raise if there is no speaker turn."""
    raw = list(items)
    turns_raw = [it for it in raw if isinstance(it, RawTurn)]
    if not turns_raw:
        raise TranscriptError(
            "no speaker turns found",
            source=source,
            hint="expected lines such as 'Agent: ...' / 'Customer: ...', or records with speaker and text",
        )
    notes = list(warnings)
    forced: dict[str, str] = {}
    if roles:
        for label, role in roles.items():
            forced[label.strip().lower()] = normalise_role(role, source=source)

    speakers: list[str] = []
    texts: dict[str, list[str]] = {}
    given: dict[str, str] = {}
    for t in turns_raw:
        key = t.speaker
        if key not in texts:
            speakers.append(key)
            texts[key] = []
        texts[key].append(t.text)
        if key.strip().lower() in forced:
            given[key] = forced[key.strip().lower()]
        elif t.role:
            given.setdefault(key, normalise_role(t.role, source=source, line=t.line))
        elif key not in given:  # a label's role does not change from turn to turn: look it up once
            found = label_role(key)
            if found:
                given[key] = found
    inferred_speakers = [s for s in speakers if s not in given]
    after_transfer: set[str] = set()
    prev_transfer = False
    seen: set[str] = set()
    for it in raw:
        if isinstance(it, RawEvent):
            prev_transfer = it.kind == "transfer"
            continue
        if prev_transfer and it.speaker not in seen:
            after_transfer.add(it.speaker)
        seen.add(it.speaker)
        prev_transfer = False
    final_roles, role_notes = _assign_roles(speakers, texts, given, frozenset(after_transfer),
                                            [(t.speaker, t.text) for t in turns_raw])
    notes.extend(role_notes)

    scored: list[dict[str, float]] = []  # per raw turn, scored once for the transcript and for the turn
    if lang is not None:
        main_lang = ensure_language(lang)
    else:
        scored = [turn_language_scores(t.text) for t in turns_raw]
        main_lang = language_of_scores(scored)

    turns: list[Turn] = []
    events: list[Event] = []
    k = -1  # index of ``it`` in turns_raw
    for it in raw:
        if isinstance(it, RawEvent):
            events.append(Event(it.kind, len(turns) - 1, it.text, it.duration, it.line))
            continue
        k += 1
        role = final_roles.get(it.speaker, "unknown")
        if role == "system":
            kind = classify_event(it.text) or "system"
            events.append(
                Event(kind, len(turns) - 1, f"{it.speaker}: {it.text}", parse_duration(it.text), it.line)
            )
            continue
        turn_lang = main_lang if lang is not None else best_language(scored[k], main_lang)
        turns.append(
            Turn(
                index=len(turns),
                speaker=it.speaker,
                role=role,  # type: ignore[arg-type]
                text=it.text,
                start=it.start,
                end=it.end,
                lang=turn_lang,
                line=it.line,
            )
        )
    if not turns:
        raise TranscriptError("no speaker turns found, only system lines", source=source)
    meta = dict(metadata or {})
    return Transcript(
        turns=tuple(turns),
        events=tuple(events),
        lang=main_lang,
        id=id,
        source=source,
        metadata=meta,
        roles_inferred=bool(inferred_speakers),
        warnings=tuple(notes),
    )

