"""Value types for a parsed transcript: :class:`Turn`, :class:`Event` and :class:`Transcript`.

A turn is one utterance line of a speaker; continuation lines without a speaker prefix belong to the turn
above. Hold markers, transfers and system lines are :class:`Event` s placed between turns. Turns are numbered
from 0 in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

__all__ = ["Role", "EventKind", "Turn", "Event", "Transcript", "ROLES", "EVENT_KINDS"]

Role = Literal["agent", "customer", "unknown"]
EventKind = Literal["hold", "hold_end", "transfer", "system"]

ROLES: tuple[Role, ...] = ("agent", "customer", "unknown")
EVENT_KINDS: tuple[EventKind, ...] = ("hold", "hold_end", "transfer", "system")


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance of one speaker."""

    index: int
    speaker: str
    role: Role
    text: str
    start: float | None = None
    end: float | None = None
    lang: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "speaker": self.speaker,
            "role": self.role,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "lang": self.lang,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened between turns: a hold, its end, a transfer or a system line.

    ``after_turn`` is the index of the last turn before the event (``-1`` when it precedes every turn).
    ``duration`` is in seconds when the export states it.
    """

    kind: EventKind
    after_turn: int
    text: str
    duration: float | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "after_turn": self.after_turn,
            "text": self.text,
            "duration": self.duration,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class Transcript:
    """A parsed conversation: turns, events, language and metadata.

    ``lang`` is the transcript's main language (detected or given); each turn also carries its own ``lang``,
    since code-switching inside a call is common. ``roles_inferred`` says whether any speaker's role was guessed
    from what they said rather than read from their label; ``warnings`` lists what the parser noticed and
    worked around.
    """

    turns: tuple[Turn, ...]
    events: tuple[Event, ...] = ()
    lang: str = "en"
    id: str | None = None
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    roles_inferred: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def agent_turns(self) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.role == "agent")

    @property
    def customer_turns(self) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.role == "customer")

    @property
    def holds(self) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind == "hold")

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages of the turns, most frequent first."""
        counts: dict[str, int] = {}
        for t in self.turns:
            if t.lang:
                counts[t.lang] = counts.get(t.lang, 0) + 1
        return tuple(sorted(counts, key=lambda k: (-counts[k], k)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "lang": self.lang,
            "metadata": dict(self.metadata),
            "roles_inferred": self.roles_inferred,
            "warnings": list(self.warnings),
            "turns": [t.to_dict() for t in self.turns],
            "events": [e.to_dict() for e in self.events],
        }

    def __len__(self) -> int:
        return len(self.turns)
