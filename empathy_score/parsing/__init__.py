"""Read support transcripts in the common export formats into :class:`~empathy_score.transcript.Transcript` s.

Formats: ``text`` (``Speaker: text`` lines), ``json`` (a turn list, a conversation object, a list of
conversations, or a platform export: Amazon Transcribe Call Analytics / Contact Lens, Google CCAI Insights),
``jsonl`` (one conversation per line), ``csv`` (one row per turn, grouped by conversation id), ``vtt`` and
``srt`` (subtitles with speaker tags). ``format="auto"`` picks one from the file name and the content.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Mapping, Union

from ..errors import LanguageError, TranscriptError, excerpt
from ..lang import available_languages
from ..transcript import Transcript
from ._build import build_transcript
from ._records import Conversation, conversations_from_json
from ._tabular import looks_like_csv, read_csv_conversations, read_subtitles
from ._text import looks_like_text_transcript, read_text_items

__all__ = [
    "parse_transcript",
    "read_transcripts",
    "FORMATS",
    "DEFAULT_MAX_CHARS",
    "Source",
]

FORMATS = ("auto", "text", "json", "jsonl", "csv", "vtt", "srt")
Format = Literal["auto", "text", "json", "jsonl", "csv", "vtt", "srt"]
DEFAULT_MAX_CHARS = 10_000_000
Source = Union[str, bytes, os.PathLike, Mapping[str, Any], list]

_EXT = {
    ".txt": "text", ".log": "text", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".tsv": "csv", ".vtt": "vtt", ".srt": "srt",
}


def _decode(data: bytes, where: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise TranscriptError(f"invalid UTF-16 at byte {exc.start}", source=where) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    if b"\x00" in data[:4096]:
        raise TranscriptError(
            "binary data, not text (NUL bytes)", source=where, hint="expected a UTF-8 text export"
        )
    controls = sum(1 for b in data[:4096] if b < 9 or 13 < b < 32)
    if controls > 8:
        raise TranscriptError(
            "binary data, not text (control bytes)", source=where, hint="expected a UTF-8 text export"
        )
    for enc in ("cp1252", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        warnings.warn(
            f"{where}: not valid UTF-8 (first bad byte at {bad_at}); read as {enc}",
            UnicodeWarning,
            stacklevel=4,
        )
        return text
    raise TranscriptError(f"undecodable bytes at {bad_at}", source=where)  # pragma: no cover


def _load(source: Source, max_chars: int) -> tuple[Any, str, str | None]:
    """(content, where, file-extension format hint); content is text, or decoded JSON for dict/list input."""
    if isinstance(source, (Mapping, list)):
        return source, "<object>", "object"
    if isinstance(source, bytes):
        if len(source) > max_chars * 4:
            raise TranscriptError(f"input of {len(source)} bytes is over the limit", source="<bytes>")
        return _decode(source, "<bytes>"), "<bytes>", None
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and len(source) < 1024 and _is_file(source)
    ):
        path = Path(source)  # type: ignore[arg-type]
        where = str(path)
        if not path.is_file():
            raise TranscriptError("no such file", source=where)
        size = path.stat().st_size
        if size > max_chars * 4:
            raise TranscriptError(
                f"file of {size} bytes is over the limit of {max_chars} characters",
                source=where,
                hint="raise max_chars, or split the file",
            )
        return _decode(path.read_bytes(), where), where, _EXT.get(path.suffix.lower())
    if isinstance(source, str):
        return source, "<string>", None
    raise TranscriptError(
        f"cannot read a {type(source).__name__}; expected text, bytes, a path, a dict or a list of dicts"
    )


def _is_file(s: str) -> bool:
    try:
        return os.path.isfile(s)
    except (OSError, ValueError):
        return False


def _sniff(text: str, hint: str | None) -> str:
    if hint and hint != "text":
        return hint
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    lines = head.split("\n", 3)
    if len(lines) > 1 and lines[0].strip().isdigit() and "-->" in lines[1]:
        return "srt"
    if head[:1] in "[{":
        try:
            json.loads(head)
            return "json"
        except RecursionError:  # JSON nested too deeply: the JSON reader says so
            return "json"
        except ValueError:
            first = head.split("\n", 1)[0]
            try:
                json.loads(first)
                return "jsonl"
            except RecursionError:
                return "jsonl"
            except ValueError:
                pass
    if hint == "text":
        return "text"
    if looks_like_csv(head) and not looks_like_text_transcript(head):
        return "csv"
    return "text"


def _conversations(
    source: Source, fmt: str, max_chars: int, speakers: Iterable[str] = ()
) -> tuple[str, Iterator[Conversation | TranscriptError]]:
    content, where, hint = _load(source, max_chars)
    if hint == "object":
        return where, iter(conversations_from_json(content, where))
    text: str = content
    if len(text) > max_chars:
        raise TranscriptError(
            f"input of {len(text)} characters is over the limit of {max_chars}",
            source=where,
            hint="pass a larger max_chars if this is intended",
        )
    if not text.strip():
        raise TranscriptError("empty input", source=where, hint="expected a transcript")
    if fmt not in FORMATS:
        raise TranscriptError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", source=where)
    kind = _sniff(text, hint) if fmt == "auto" else fmt
    if kind == "text":
        items, notes = read_text_items(text, speakers=speakers)
        return where, iter([(None, items, None, {}, notes)])
    if kind in ("vtt", "srt"):
        return where, iter([(None, read_subtitles(text, where), None, {}, [])])
    if kind == "csv":
        return where, read_csv_conversations(text, where)
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"invalid JSON: {exc.msg}", source=where, line=exc.lineno) from None
        except RecursionError:
            raise TranscriptError("JSON nested too deeply", source=where) from None
        except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
            raise TranscriptError(f"invalid JSON: {exc}", source=where) from None
        return where, iter(conversations_from_json(data, where))
    if kind == "jsonl":
        return where, _jsonl(text, where)
    raise TranscriptError(f"unknown format {kind!r}", source=where)  # pragma: no cover


def _jsonl(text: str, where: str) -> Iterator[Conversation | TranscriptError]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            convs = conversations_from_json(data, f"{where}, line {lineno}")
        except json.JSONDecodeError as exc:
            yield TranscriptError(f"invalid JSON ({exc.msg}): {excerpt(line)}", source=where, line=lineno)
            continue
        except RecursionError:
            yield TranscriptError("JSON nested too deeply", source=where, line=lineno)
            continue
        except TranscriptError as exc:
            yield TranscriptError(exc.reason, source=where, line=lineno, hint=exc.hint)
            continue
        except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
            yield TranscriptError(f"invalid JSON: {exc}", source=where, line=lineno)
            continue
        for conv in convs:
            yield _with_line(conv, lineno)


def _with_line(conv: Conversation, lineno: int) -> Conversation:
    cid, items, lang, meta, notes = conv
    return (cid, items, lang, {**meta, "_line": lineno}, notes)


def _finish(
    conv: Conversation,
    where: str,
    *,
    lang: str | None,
    roles: Mapping[str, str] | None,
    metadata: Mapping[str, Any] | None,
) -> Transcript:
    cid, items, conv_lang, meta, notes = conv
    line = meta.pop("_line", None)
    src = where if line is None else f"{where}, line {line}"
    merged = {**meta, **(metadata or {})}
    tid = cid if cid is not None else merged.pop("id", None)
    try:
        return build_transcript(
            items,
            source=src,
            lang=lang or conv_lang,
            roles=roles,
            id=str(tid) if tid is not None else None,
            metadata=merged,
            warnings=notes,
        )
    except TranscriptError:
        raise
    except LanguageError:  # a language code from the data itself; quoted short, it may be anything
        raise TranscriptError(
            f"language {excerpt(str(lang or conv_lang))} is not supported",
            source=src,
            hint=f"expected one of {', '.join(available_languages())}, or pass lang=",
        ) from None
    except (ValueError, TypeError) as exc:
        raise TranscriptError(excerpt(str(exc), 200), source=src) from None


def parse_transcript(
    source: Source,
    format: str = "auto",
    lang: str | None = None,
    roles: Mapping[str, str] | None = None,
    *,
    id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Transcript:
    """Parse one conversation.

    ``source`` is transcript text, a path, bytes, a dict (one conversation) or a list of turn dicts.
    ``lang`` forces the language of every turn (otherwise detected per transcript and per turn);
    ``roles`` maps speaker labels to ``agent``/``customer``/``system`` and overrides inference.
    Raises :class:`~empathy_score.errors.TranscriptError` naming the source and line on bad input, including
    input that holds several conversations (use :func:`read_transcripts` for those).
    """
    if isinstance(source, Transcript):
        return source
    where, convs = _conversations(source, format, max_chars, roles or ())
    first = next(convs, None)
    if first is None:
        raise TranscriptError("no conversation found", source=where)
    if isinstance(first, TranscriptError):
        raise first
    extra = next(convs, None)
    if extra is not None:
        raise TranscriptError(
            "input holds more than one conversation",
            source=where,
            hint="use read_transcripts() to iterate over them",
        )
    result = _finish(first, where, lang=lang, roles=roles, metadata=metadata)
    if id is not None:
        from dataclasses import replace

        result = replace(result, id=id)
    return result


def read_transcripts(
    source: Source,
    format: str = "auto",
    lang: str | None = None,
    roles: Mapping[str, str] | None = None,
    *,
    errors: Literal["raise", "yield"] = "raise",
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Iterator[Union[Transcript, TranscriptError]]:
    """Iterate over every conversation in ``source`` (JSONL, CSV of turns, a JSON list of conversations...).

    With ``errors="yield"`` a conversation that cannot be read is yielded as its
    :class:`~empathy_score.errors.TranscriptError` and iteration goes on, so no record is silently lost.
    """
    if errors not in ("raise", "yield"):
        raise ValueError(f"errors must be 'raise' or 'yield', got {errors!r}")
    try:
        where, convs = _conversations(source, format, max_chars, roles or ())
    except TranscriptError as exc:
        if errors == "raise":
            raise
        yield exc
        return
    while True:
        try:
            conv = next(convs)
        except StopIteration:
            return
        except TranscriptError as exc:
            if errors == "raise":
                raise
            yield exc
            return
        if isinstance(conv, TranscriptError):
            if errors == "raise":
                raise conv
            yield conv
            continue
        try:
            yield _finish(conv, where, lang=lang, roles=roles, metadata=None)
        except TranscriptError as exc:
            if errors == "raise":
                raise
            yield exc


def iter_sources(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Files under the given paths (folders recursively), in sorted order."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in _EXT)
        else:
            yield path


__all__ += ["iter_sources"]
