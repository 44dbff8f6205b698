"""CSV with one row per turn (grouped into conversations), and WebVTT / SRT subtitles with speaker tags."""

from __future__ import annotations

import csv
import io
import re
from typing import Iterator

from ..errors import TranscriptError, excerpt
from ._build import RawEvent, RawItem, RawTurn, classify_event, parse_duration
from ._records import Conversation, _seconds, event_or_turn

__all__ = ["read_csv_conversations", "read_subtitles", "looks_like_csv"]

_CSV_ID = ("conversation_id", "conversation", "call_id", "chat_id", "contact_id", "transcript_id", "ticket_id", "id")
_CSV_SPEAKER = ("speaker", "role", "participant", "speaker_role", "from", "author", "sender", "party", "author_type",
                "sender_type", "participant_type")
_CSV_TEXT = ("text", "message", "utterance", "content", "transcript", "body")
_CSV_START = ("start", "start_time", "start_seconds", "begin", "offset", "timestamp", "time")
_CSV_END = ("end", "end_time", "end_seconds", "stop")
_CSV_LANG = ("lang", "language", "language_code")


# csv.Sniffer's quote-guessing regex is quadratic in the sample: sniff a header prefix only.
_SNIFF_CHARS = 2048
_DELIMITERS = ",;\t|"


def _sniff_dialect(first: str) -> type[csv.Dialect] | csv.Dialect:
    """The dialect of a header line; raises csv.Error when none is found."""
    return csv.Sniffer().sniff(first[:_SNIFF_CHARS], delimiters=_DELIMITERS)


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    low = [h.strip().lower().replace(" ", "_") for h in header]
    for n in names:
        if n in low:
            return low.index(n)
    return None


def looks_like_csv(text: str) -> bool:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    # cheap necessary conditions before the sniffer: a delimiter, and a text and a speaker column name
    low = first.lower()
    if (not any(d in first for d in _DELIMITERS) or not any(n in low for n in _CSV_TEXT)
            or not any(n.split("_")[0] in low for n in _CSV_SPEAKER)):
        return False
    try:
        header = next(csv.reader([first], _sniff_dialect(first)))
    except csv.Error:  # no dialect, or a malformed or oversized header field
        return False
    return _find(header, _CSV_TEXT) is not None and _find(header, _CSV_SPEAKER) is not None


def read_csv_conversations(text: str, where: str) -> Iterator[Conversation | TranscriptError]:
    """Conversations of a turn-per-row CSV, in file order; rows of one conversation must be contiguous.

    A malformed row spoils only its own conversation, which is yielded as a :class:`TranscriptError`.
    """
    body = text.lstrip("\ufeff")
    first = body.split("\n", 1)[0]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = _sniff_dialect(first)
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(body, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise TranscriptError("empty CSV: no header row", source=where, line=1) from None
    except csv.Error as exc:
        raise _malformed(exc, where, reader.line_num) from None
    i_text, i_speaker = _find(header, _CSV_TEXT), _find(header, _CSV_SPEAKER)
    if i_text is None or i_speaker is None:
        raise TranscriptError(
            f"CSV header {excerpt(', '.join(header))} lacks a speaker or text column",
            source=where,
            line=1,
            hint=f"expected a speaker column ({', '.join(_CSV_SPEAKER)}) and a text column ({', '.join(_CSV_TEXT)})",
        )
    i_id, i_start, i_end, i_lang = (_find(header, n) for n in (_CSV_ID, _CSV_START, _CSV_END, _CSV_LANG))
    seen: set[str] = set()
    cur_id: str | None = None
    items: list[RawItem] = []
    lang: str | None = None
    error: TranscriptError | None = None
    started = False

    def flush() -> Conversation | TranscriptError:
        if error is not None:
            return error
        return (cur_id, list(items), lang, {}, [])

    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit(): the rest cannot be read
            raise _malformed(exc, where, reader.line_num) from None
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        cid = row[i_id].strip() if i_id is not None and i_id < len(row) else None
        if started and cid != cur_id:
            yield flush()
            items, lang, error = [], None, None
        if cid is not None and cid != cur_id and cid in seen:
            raise TranscriptError(
                f"rows of conversation {excerpt(cid)} are not contiguous",
                source=where,
                line=line,
                hint="sort the file by conversation id so that each conversation's rows are together",
            )
        if cid is not None:
            seen.add(cid)
        cur_id, started = cid, True
        if error is not None:
            continue
        if len(row) != len(header):
            error = TranscriptError(
                f"row has {len(row)} fields, header has {len(header)}"
                + (f" (conversation {excerpt(cid)})" if cid else ""),
                source=where,
                line=line,
            )
            continue
        if i_lang is not None and row[i_lang].strip():
            lang = row[i_lang].strip()
        start = _seconds(row[i_start]) if i_start is not None else None
        end = _seconds(row[i_end]) if i_end is not None else None
        content = row[i_text]
        if not content.strip() and row[i_speaker].strip():
            continue
        items.append(event_or_turn(row[i_speaker], content, line, start, end))
    if started:
        yield flush()
    else:
        raise TranscriptError("CSV has a header but no rows", source=where, line=2)


def _malformed(exc: csv.Error, where: str, line: int) -> TranscriptError:
    return TranscriptError(f"malformed CSV: {exc}", source=where, line=max(line, 1))


_TIMING = re.compile(
    r"^\s*(?P<a>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<b>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
# Names and tags stop at "<" as well as ">" and the name takes the spaces after the first one (it is
# stripped): "[^>]+" ran to the end of the cue from every unclosed "<v " or "<", quadratic in the cue.
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s([^<>]+)>(.*?)(?:</v>|$)", re.DOTALL)
_TAG = re.compile(r"</?[^<>]+>")
_SRT_SPEAKER = re.compile(r"^\s*(?:\[([^\]]{1,60})\]|([^\W\d_][^:\n]{0,59}?)\s*:)\s*(.*)$", re.DOTALL)


def read_subtitles(text: str, where: str) -> list[RawItem]:
    """Items of a WebVTT or SRT file: each cue with a speaker tag is a turn; untagged cues continue the last."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").lstrip("\ufeff"))
    items: list[RawItem] = []
    last: RawTurn | None = None
    line_no = 1
    for block in blocks:
        lines = block.split("\n")
        block_line = line_no
        line_no += len(lines) + 1
        idx = next((i for i, ln in enumerate(lines) if _TIMING.match(ln)), None)
        if idx is None:
            continue  # header, NOTE, STYLE or REGION blocks
        timing = _TIMING.match(lines[idx])
        assert timing is not None
        start, end = _seconds(timing.group("a").replace(",", ".")), _seconds(timing.group("b").replace(",", "."))
        payload = "\n".join(lines[idx + 1 :]).strip()
        if not payload:
            continue
        lineno = block_line + idx + 1
        voices = _VOICE.findall(payload)
        if voices:
            for speaker, said in voices:
                last = RawTurn(speaker.strip(), _TAG.sub("", said).strip(), start, end, lineno)
                items.append(last)
            continue
        clean = _TAG.sub("", payload).strip()
        m = _SRT_SPEAKER.match(clean)
        # a bracketed cue with nothing after it names an event ("[MUSIC ON HOLD]") before it names a speaker
        kind = classify_event(clean) if clean.startswith(("(", "[", "*")) and not (m and m.group(3).strip()) else None
        if kind:
            duration = parse_duration(clean)
            if duration is None and kind == "hold" and start is not None and end is not None:
                duration = max(end - start, 0.0)  # the cue spans the hold
            items.append(RawEvent(kind, clean, duration, lineno))
            last = None
        elif m and (m.group(1) or m.group(2)):
            last = RawTurn((m.group(1) or m.group(2)).strip(), m.group(3).strip(), start, end, lineno)
            items.append(last)
        elif last is not None:
            last.text = f"{last.text}\n{clean}"
            last.end = end
        else:
            raise TranscriptError(
                "subtitle cue has no speaker tag",
                source=where,
                line=lineno,
                hint="expected '<v Agent>text' in WebVTT or 'Agent: text' in SRT",
            )
    if not items:
        raise TranscriptError("no subtitle cues with text found", source=where)
    return items
