"""Structured conversations: generic JSON turn lists and the exports of contact-centre platforms.

Supported platform shapes (written from their public schema documentation):

- Amazon Transcribe Call Analytics / Contact Lens output: ``{"Transcript": [{"ParticipantRole": "AGENT",
  "Content": "...", "BeginOffsetMillis": 0, "EndOffsetMillis": 900}, ...], "LanguageCode": "en-US", ...}``;
- Google Contact Center AI Insights conversation: ``{"name": ".../conversations/ID", "languageCode": "en-US",
  "transcript": {"transcriptSegments": [{"text": "...", "segmentParticipant": {"role": "HUMAN_AGENT"},
  "channelTag": 2, "words": [{"startOffset": "1.2s", "endOffset": "1.5s", ...}]}]}, "callMetadata":
  {"customerChannel": 1, "agentChannel": 2}}``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from ..errors import TranscriptError
from ._build import RawEvent, RawItem, RawTurn, classify_event, normalise_role, parse_duration
from ._text import read_text_items

__all__ = ["Conversation", "conversations_from_json", "SPEAKER_KEYS", "TEXT_KEYS"]

SPEAKER_KEYS = ("speaker", "role", "participant", "participant_role", "from", "author", "sender", "name", "who")
TEXT_KEYS = ("text", "content", "message", "utterance", "body", "transcript", "value")
START_KEYS = ("start", "start_time", "begin", "start_seconds", "offset", "timestamp", "time")
END_KEYS = ("end", "end_time", "end_seconds", "stop")
TURNS_KEYS = (
    "turns", "messages", "utterances", "transcript", "dialog", "dialogue", "conversation", "lines", "segments", "comments"
)
ID_KEYS = ("id", "conversation_id", "call_id", "chat_id", "contact_id", "transcript_id", "ticket_id")
LANG_KEYS = ("lang", "language", "language_code", "languageCode", "LanguageCode")
EVENT_KEYS = ("event", "type", "kind")
# an event record whose type names no kind of its own ("type": "event"): its text tells the kind
_GENERIC_EVENTS = ("event", "system_event", "status", "notification")
# a speaker given as an object: {"name": "Sam Patel", "role": "agent"}
_NAME_KEYS = ("name", "display_name", "displayName", "id")
# how deep a conversation may sit under wrapper objects ({"data": {"conversation": {"messages": [...]}}})
_MAX_WRAP = 3

# A conversation found in structured input: (id, items, lang, metadata, warnings).
Conversation = tuple[str | None, list[RawItem], str | None, dict[str, Any], list[str]]


def _get(d: Mapping[str, Any], keys: Sequence[str]) -> Any:
    lower = {k.lower(): k for k in d if isinstance(k, str)}
    for k in keys:
        real = lower.get(k.lower())
        if real is not None and d[real] is not None:
            return d[real]
    return None


def _seconds(value: Any) -> float | None:
    """Seconds in a time value (number, "1.5s", "[h:]mm:ss[.f]", {"seconds", "nanos"}), else ``None``.

    Values too large for a float (an integer of 400 digits, hours of 5,000 digits) are unreadable too.
    """
    try:
        return _seconds_or_raise(value)
    except (ValueError, OverflowError):
        return None


def _seconds_or_raise(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        s = value.strip()
        m = re.fullmatch(r"(\d+(?:\.\d+)?)s", s)
        if m:
            return float(m.group(1))
        m = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:[.,]\d+)?)", s)
        if m:
            return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3).replace(",", "."))
        try:
            return float(s)
        except ValueError:
            return None
    if isinstance(value, Mapping):  # protobuf Duration; its fields are plain numbers, never nested
        secs, nanos = value.get("seconds"), value.get("nanos")
        secs_f = 0.0 if isinstance(secs, Mapping) else _seconds(secs) or 0.0
        nanos_f = 0.0 if isinstance(nanos, Mapping) else _seconds(nanos) or 0.0
        return secs_f + nanos_f / 1e9
    return None


def _turn_from_dict(rec: Mapping[str, Any], where: str, index: int) -> RawItem | None:
    """The turn or event of one record; ``None`` for a message with no words (an empty row, as in CSV)."""
    ev = _get(rec, EVENT_KEYS)
    text = _get(rec, TEXT_KEYS)
    speaker = _get(rec, SPEAKER_KEYS)
    if isinstance(ev, str) and ev.lower() in ("hold", "hold_end", "transfer", "system", *_GENERIC_EVENTS):
        kind = ev.lower()
        if kind in _GENERIC_EVENTS:
            kind = classify_event(str(text or "")) or "system"
        return RawEvent(
            kind,  # type: ignore[arg-type]
            str(text or ev),
            _seconds(_get(rec, ("duration", "duration_seconds"))),
            index,
        )
    if text is None:
        raise TranscriptError(
            f"turn {index} has no text; expected one of the keys {', '.join(TEXT_KEYS)}", source=where
        )
    if not isinstance(text, str):
        raise TranscriptError(f"turn {index}: text must be a string, got {type(text).__name__}", source=where)
    if not text.strip():
        return None
    if speaker is None:
        raise TranscriptError(
            f"turn {index} has no speaker; expected one of the keys {', '.join(SPEAKER_KEYS)}", source=where
        )
    role = _get(rec, ("role", "participant_role"))
    if isinstance(speaker, Mapping):
        name = _get(speaker, _NAME_KEYS)
        if role is None:
            role = _get(speaker, ("role", "participant_role"))
        kind = _get(speaker, ("type",))
        if role is None and isinstance(kind, str) and _known_role(kind):
            role = kind  # a platform's participant type ("admin", "user"); one we do not know is left to inference
        if name is None and role is None:
            raise TranscriptError(
                f"turn {index}: the speaker object has none of the keys {', '.join(_NAME_KEYS)}, role, type",
                source=where,
            )
        speaker = name if name is not None else role
        role_hint = str(role) if isinstance(role, str) else None
    else:
        role_hint = str(role) if isinstance(role, str) and role is not speaker else None
    speaker_s = str(speaker)
    if role_hint is None and speaker_s.lower() in ("agent", "customer", "system", "end_user", "human_agent"):
        role_hint = speaker_s
    return RawTurn(
        speaker_s,
        text.strip(),
        _seconds(_get(rec, START_KEYS)),
        _seconds(_get(rec, END_KEYS)),
        index,
        role_hint,
    )


def _known_role(value: str) -> bool:
    try:
        normalise_role(value)
    except TranscriptError:
        return False
    return True


def _items_from_list(turns: Sequence[Any], where: str) -> list[RawItem]:
    items: list[RawItem] = []
    for i, rec in enumerate(turns):
        if not isinstance(rec, Mapping):
            raise TranscriptError(
                f"turn {i} is a {type(rec).__name__}; expected an object with speaker and text", source=where
            )
        item = _turn_from_dict(rec, where, i)
        if item is not None:
            items.append(item)
    return items


def _transcribe(doc: Mapping[str, Any], where: str) -> Conversation:
    items: list[RawItem] = []
    for i, seg in enumerate(doc["Transcript"]):
        if not isinstance(seg, Mapping):
            raise TranscriptError(f"Transcript[{i}] is not an object", source=where)
        role = str(seg.get("ParticipantRole") or seg.get("ParticipantId") or "unknown")
        content = seg.get("Content")
        if not isinstance(content, str):
            raise TranscriptError(f"Transcript[{i}] has no Content string", source=where)
        begin, end = (_millis(seg.get(k)) for k in ("BeginOffsetMillis", "EndOffsetMillis"))
        items.append(
            RawTurn(
                role.title(),
                content,
                begin,
                end,
                i,
                role,
            )
        )
    meta: dict[str, Any] = {"platform": "amazon_transcribe"}
    for key in ("JobName", "AccountId", "Channel", "ContentMetadata"):
        if key in doc:
            meta[key] = doc[key]
    cid = doc.get("JobName") or doc.get("ContactId")
    lang = doc.get("LanguageCode")
    return (str(cid) if cid else None, items, str(lang) if lang else None, meta, [])


def _millis(value: Any) -> float | None:
    secs = _seconds(value) if isinstance(value, (int, float)) else None
    return secs / 1000 if secs is not None else None


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float))


_CCAI_ROLE = {"HUMAN_AGENT": "agent", "AUTOMATED_AGENT": "system", "END_USER": "customer", "ANY_AGENT": "agent"}


def _ccai(doc: Mapping[str, Any], where: str) -> Conversation:
    segs = doc["transcript"]["transcriptSegments"]
    meta_call = doc.get("callMetadata") or {}
    channel_roles: dict[Any, str] = {}
    if isinstance(meta_call, Mapping):  # channel numbers; a list or object there names no channel
        if "agentChannel" in meta_call and _hashable(meta_call["agentChannel"]):
            channel_roles[meta_call["agentChannel"]] = "agent"
        if "customerChannel" in meta_call and _hashable(meta_call["customerChannel"]):
            channel_roles[meta_call["customerChannel"]] = "customer"
    items: list[RawItem] = []
    for i, seg in enumerate(segs):
        if not isinstance(seg, Mapping) or not isinstance(seg.get("text"), str):
            raise TranscriptError(f"transcriptSegments[{i}] has no text", source=where)
        part = seg.get("segmentParticipant") or {}
        role = _CCAI_ROLE.get(str(part.get("role", "")), None) if isinstance(part, Mapping) else None
        if role is None and _hashable(seg.get("channelTag")):
            role = channel_roles.get(seg.get("channelTag"))
        words = seg.get("words")
        if not isinstance(words, list):
            words = []
        start = _seconds(words[0].get("startOffset")) if words and isinstance(words[0], Mapping) else None
        end = _seconds(words[-1].get("endOffset")) if words and isinstance(words[-1], Mapping) else None
        label = {"agent": "Agent", "customer": "Customer", "system": "System"}.get(role or "", f"Channel {seg.get('channelTag', '?')}")
        items.append(RawTurn(label, seg["text"], start, end, i, role))
    name = doc.get("name")
    cid = str(name).rsplit("/", 1)[-1] if name else None
    meta = {"platform": "google_ccai_insights"}
    if doc.get("agentId"):
        meta["agent_id"] = doc["agentId"]
    if doc.get("medium"):
        meta["channel"] = str(doc["medium"]).lower()
    lang = doc.get("languageCode")
    return (cid, items, str(lang) if lang else None, meta, [])


def _is_transcribe(doc: Mapping[str, Any]) -> bool:
    t = doc.get("Transcript")
    return isinstance(t, list) and (not t or (isinstance(t[0], Mapping) and "Content" in t[0]))


def _is_ccai(doc: Mapping[str, Any]) -> bool:
    t = doc.get("transcript")
    return isinstance(t, Mapping) and isinstance(t.get("transcriptSegments"), list)


def _wrapped(doc: Mapping[str, Any], turns: Any) -> Mapping[str, Any] | None:
    """The conversation object inside a wrapper, if ``doc`` is one: {"conversation": {"messages": [...]}} or
    {"data": {...}} with a single object value that has turns."""
    if isinstance(turns, Mapping):
        return turns
    if turns is not None:
        return None
    inner = [v for v in doc.values() if isinstance(v, Mapping) and (_get(v, TURNS_KEYS) is not None or _is_ccai(v))]
    return inner[0] if len(inner) == 1 else None


def _one_conversation(doc: Mapping[str, Any], where: str, depth: int = 0) -> Conversation:
    if _is_transcribe(doc):
        return _transcribe(doc, where)
    if _is_ccai(doc):
        return _ccai(doc, where)
    cid = _get(doc, ID_KEYS)
    lang = _get(doc, LANG_KEYS)
    turns = _get(doc, TURNS_KEYS)
    inner = _wrapped(doc, turns) if depth < _MAX_WRAP else None
    if inner is not None:
        icid, items, ilang, imeta, notes = _one_conversation(inner, where, depth + 1)
        outer = {k: v for k, v in doc.items() if isinstance(k, str) and not isinstance(v, Mapping)
                 and k.lower() not in {x.lower() for x in (*ID_KEYS, *LANG_KEYS)}}
        return (icid if icid is not None else (str(cid) if cid is not None else None), items,
                ilang or (str(lang) if lang else None), {**outer, **imeta}, notes)
    reserved = {k.lower() for k in (*ID_KEYS, *LANG_KEYS, *TURNS_KEYS, "text")}
    meta = {k: v for k, v in doc.items() if isinstance(k, str) and k.lower() not in reserved}
    meta_nested = doc.get("metadata")
    if isinstance(meta_nested, Mapping):
        meta.pop("metadata", None)
        meta.update(meta_nested)
    notes: list[str] = []
    if isinstance(turns, list):
        items = _items_from_list(turns, where)
    else:
        text = turns if isinstance(turns, str) else _get(doc, ("text", "body", "content"))
        if not isinstance(text, str):
            raise TranscriptError(
                "conversation object has no turns; expected a list under one of "
                f"{', '.join(TURNS_KEYS)}, or the transcript as a string under 'text'",
                source=where,
            )
        items, notes = read_text_items(text)
    return (str(cid) if cid is not None else None, items, str(lang) if lang else None, meta, notes)


def conversations_from_json(data: Any, where: str) -> list[Conversation]:
    """Every conversation in a decoded JSON document (a turn list is one conversation)."""
    if isinstance(data, Mapping):
        return [_one_conversation(data, where)]
    if isinstance(data, list):
        if not data:
            raise TranscriptError("empty JSON list: no turns", source=where)
        if all(isinstance(x, Mapping) for x in data):
            if any(_get(x, TURNS_KEYS) is not None and not isinstance(_get(x, TURNS_KEYS), str) or _is_transcribe(x) or _is_ccai(x) for x in data):
                return [_one_conversation(x, f"{where}[{i}]") for i, x in enumerate(data)]
            return [(None, _items_from_list(data, where), None, {}, [])]
        raise TranscriptError("JSON list must hold turn objects or conversation objects", source=where)
    raise TranscriptError(f"expected a JSON object or list, got {type(data).__name__}", source=where)


def event_or_turn(speaker: str, text: str, line: int, start: float | None, end: float | None) -> RawItem:
    """A CSV/subtitle row with no speaker but a marker text becomes an event."""
    if not speaker.strip():
        kind = classify_event(text) or "system"
        return RawEvent(kind, text, parse_duration(text), line)  # type: ignore[arg-type]
    return RawTurn(speaker.strip(), text.strip(), start, end, line)
