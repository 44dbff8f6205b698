"""Hardening of the transcript parsers against hostile input.

Every reader, given anything at all, returns a Transcript or raises TranscriptError: never another exception,
never a hang or a quadratic blow-up, and never an error message that quotes more than a short excerpt of the
input. Property-based tests (hypothesis) feed random and near-valid inputs; the hostile shapes below are the
known bad cases; the last section times every regular expression of the package on adversarial strings.

Time bounds are generous (the CI machine is shared): they catch hangs and quadratic behaviour, not slowness.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import empathy_score
from empathy_score import TranscriptError, parse_transcript, read_transcripts
from empathy_score.errors import EXCERPT_CHARS, excerpt
from empathy_score.parsing import FORMATS
from empathy_score.transcript import Transcript

# On a failure the hypothesis pytest plugin imports its patch writer, whose libcst import warns
# (DeprecationWarning from mypy_extensions): with filterwarnings=error that turns a readable failure into an
# INTERNALERROR. Import it now, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # pragma: no cover - libcst is optional
        pass

TIME_LIMIT = 10.0  # seconds, for one hostile input; the readers need well under one
MAX_MESSAGE = 500  # characters of str(TranscriptError), whatever the input
MB5 = 5 * 1024 * 1024

# Amazon Transcribe Call Analytics and Google CCAI Insights exports have no format name of their own: they
# are JSON documents recognised by their shape, read with format="json" (or "auto", or one a line: "jsonl").
PLATFORM_FORMATS = ("json", "auto", "jsonl")

fuzz = settings(
    max_examples=100,
    deadline=None,
    database=None,  # leave no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
fuzz_small = settings(fuzz, max_examples=50)
fuzz_any = settings(fuzz, max_examples=200)  # st.text() / st.binary(): cheap to draw, so more of them


@pytest.fixture(scope="module", autouse=True)
def _warm_up() -> None:
    """Load the language tables once, so that the first timed test does not pay for them."""
    parse_transcript("Agent: Hello, how can I help?\nCustomer: my invoice is wrong")


def check_error(exc: TranscriptError) -> None:
    """A TranscriptError is short and says something."""
    text = str(exc)
    assert text and exc.reason
    assert len(text) < MAX_MESSAGE, f"error message of {len(text)} characters: {text[:300]!r}..."


def outcome(source: Any, fmt: str = "auto", *, many: bool = False) -> Any:
    """Parse ``source``; a Transcript (or a list of them and errors) or a TranscriptError, checked.

    Any other exception propagates and fails the test. The only warning allowed is the UnicodeWarning of
    the documented cp1252 / latin-1 fallback for bytes that are not UTF-8.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if many:
                result: Any = list(read_transcripts(source, format=fmt, errors="yield"))
            else:
                result = parse_transcript(source, format=fmt)
        except TranscriptError as exc:
            result = exc
    for w in caught:
        assert issubclass(w.category, UnicodeWarning), f"unexpected {w.category.__name__}: {w.message}"
    for item in result if isinstance(result, list) else [result]:
        assert isinstance(item, (Transcript, TranscriptError)), type(item)
        if isinstance(item, TranscriptError):
            check_error(item)
        else:
            assert item.turns, "a Transcript has at least one turn"
    return result


def timed(fn: Callable[[], Any], limit: float = TIME_LIMIT) -> Any:
    """Run ``fn`` and assert that it took less than ``limit`` seconds."""
    t0 = time.perf_counter()
    result = fn()
    took = time.perf_counter() - t0
    assert took < limit, f"took {took:.1f} s (limit {limit} s)"
    return result


def test_excerpt_is_short_whatever_the_text() -> None:
    for text in ("", "a" * MB5, " \n\t" * 1000 + "x", "\x00" * 1000, "\u202e" * 1000, "Agent: " * 10_000):
        quoted = excerpt(text)
        assert len(quoted) <= 2 * EXCERPT_CHARS + 8  # repr escapes: at most twice the limit
        assert "\n" not in quoted


# --- 1. property-based: any text, any bytes, near-valid shapes ---------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz_any
@given(text=st.text())
def test_any_text_gives_a_transcript_or_a_transcript_error(fmt: str, text: str) -> None:
    outcome(text, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz_any
@given(data=st.binary())
def test_any_bytes_give_a_transcript_or_a_transcript_error(fmt: str, data: bytes) -> None:
    outcome(data, fmt)


@pytest.mark.parametrize("fmt", ["auto", "jsonl", "csv"])
@fuzz_small
@given(text=st.text())
def test_any_text_read_as_many_conversations(fmt: str, text: str) -> None:
    outcome(text, fmt, many=True)


JUNK = st.one_of(
    st.text(max_size=40),
    st.sampled_from([
        "", " ", "hello there", "[HOLD 00:02:30]", "*** on hold ***", "(", "((((", "[", "]", "<v Agent>",
        "</v>", "-->", "00:00:01,000 --> 00:00:02,000", "99999999:00:00.000", "\x00", "\u200b", "\u200f",
        "\u202e", "\ufeff", "\r", "\t", ":", "：", "Agent:", "//x", "http://x", "1e999", "-1", "NaN", "\"",
        "'", ",", ";",
        "on hold 3 min", "transferring you to billing", "9" * 60, "a" * 80, "\u2028", "\x85", "WEBVTT",
    ]),
)
SPEAKER = st.one_of(
    st.sampled_from([
        "Agent", "Customer", "System", "Cliente", "Asiakas", "Agente", "Bot", "Rep", "Caller", "A", "B",
        "agent",
        "Dana (agent)", "Support - Priya", "[00:00:05] Agent", "10:42 AM - Agent", "(00:03) Customer",
        "2024-01-01 10:00 Customer", "Agent Agent", "Age\u200bnt", "\u202eAgent", "Customer\u200f", "x" * 70,
    ]),
    st.text(min_size=1, max_size=12),
)
SEP = st.sampled_from([": ", ":", "：", " : ", ":\t", "", " - ", ":  "])
NEWLINE = st.sampled_from(["\n", "\r\n", "\n\n", "\r", "\n \n"])


@st.composite
def speaker_lines(draw: st.DrawFn) -> str:
    """Lines shaped like 'Speaker: text', with random junk in every part."""
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        line = draw(SPEAKER) + draw(SEP) + draw(JUNK)
        if draw(st.booleans()):
            line += draw(JUNK)
        parts.append(line + draw(NEWLINE))
    return "".join(parts)


@fuzz
@given(text=speaker_lines(), fmt=st.sampled_from(FORMATS))
def test_near_valid_speaker_lines(text: str, fmt: str) -> None:
    outcome(text, fmt)


TIMESTAMP = st.one_of(
    st.sampled_from(["00:00:01.000", "00:01,500", "1:00:00.000", "99:59.999", "00:00",
    "9" * 5000 + ":00:00.000"]),
    st.builds(
        lambda h, m, s, sep: f"{h}:{m:02d}:{s:02d}{sep}{h % 1000}",
        st.integers(0, 10**6), st.integers(0, 999), st.integers(0, 99), st.sampled_from([".", ",", ""]),
    ),
)


@st.composite
def subtitle_files(draw: st.DrawFn) -> str:
    """WebVTT / SRT shaped files: cue numbers, timings (some absurd) and tagged or untagged payloads."""
    vtt = draw(st.booleans())
    out = ["WEBVTT\n\n"] if vtt else []
    for i in range(draw(st.integers(0, 8))):
        payload = draw(st.one_of(
            st.builds(lambda s, t: f"<v {s}>{t}", SPEAKER, JUNK),
            st.builds(lambda s, t: f"{s}: {t}", SPEAKER, JUNK),
            st.builds(lambda s, t: f"[{s}] {t}", SPEAKER, JUNK),
            JUNK,
        ))
        out.append(f"{i + 1}\n{draw(TIMESTAMP)} --> {draw(TIMESTAMP)}\n{payload}\n\n")
    return "".join(out)


@fuzz
@given(text=subtitle_files(), fmt=st.sampled_from(["auto", "vtt", "srt"]))
def test_near_valid_subtitles(text: str, fmt: str) -> None:
    outcome(text, fmt)


# JSON values of every type, as they come out of json.loads (NaN and Infinity included: json accepts them).
JSON_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10**500), 10**500), st.floats(), JUNK,
    st.sampled_from(["1.5s", "00:01:02.5", "12:00", "1e999", "agent", "customer", "END_USER", "HUMAN_AGENT"]),
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ROLE = st.one_of(
    st.sampled_from(["agent", "customer", "system", "AGENT", "CUSTOMER", "END_USER", "boss", "", "bot"]),
    JSON_VALUE
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The strategy's values, or any JSON value of another type."""
    return st.one_of(strategy, JSON_VALUE)


TURN = st.fixed_dictionaries(
    {},
    optional={
        "speaker": maybe(SPEAKER), "role": ROLE, "text": maybe(JUNK), "message": maybe(JUNK),
        "start": maybe(st.floats(0, 1e6)), "end": JSON_SCALAR, "event": maybe(st.sampled_from(["hold",
        "transfer"])),
        "duration": JSON_SCALAR, "timestamp": maybe(TIMESTAMP),
        "start_time": st.fixed_dictionaries({}, optional={"seconds": JSON_VALUE, "nanos": JSON_VALUE}),
    },
)
CONVERSATION = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON_VALUE, "lang": maybe(st.sampled_from(["en", "es", "fi", "xx", "en-US"])),
        "turns": maybe(st.lists(maybe(TURN), max_size=6)), "messages": maybe(st.lists(TURN, max_size=4)),
        "text": maybe(speaker_lines()), "metadata": JSON_VALUE, "channel": JSON_VALUE,
    },
)
TRANSCRIBE = st.fixed_dictionaries(
    {"Transcript": maybe(st.lists(maybe(st.fixed_dictionaries({}, optional={
        "ParticipantRole": maybe(st.sampled_from(["AGENT", "CUSTOMER", "SUPERVISOR"])),
        "ParticipantId": JSON_VALUE,
        "Content": maybe(JUNK), "BeginOffsetMillis": maybe(st.integers()), "EndOffsetMillis": JSON_SCALAR,
    })), max_size=6))},
    optional={"LanguageCode": maybe(st.sampled_from(["en-US", "es-US", "fi-FI", "xx"])),
    "JobName": JSON_VALUE,
              "ContactId": JSON_VALUE, "Channel": JSON_VALUE, "AccountId": JSON_VALUE},
)
CCAI_SEGMENT = st.fixed_dictionaries({}, optional={
    "text": maybe(JUNK), "channelTag": JSON_VALUE,
    "segmentParticipant": maybe(st.fixed_dictionaries({}, optional={"role": maybe(st.sampled_from(
        ["HUMAN_AGENT", "AUTOMATED_AGENT", "END_USER", "ANY_AGENT", "ROLE_UNSPECIFIED"]))})),
    "words": maybe(st.lists(maybe(st.fixed_dictionaries({}, optional={
        "startOffset": maybe(st.sampled_from(["1.2s", "0s", "-3s", "abc"])), "endOffset": JSON_VALUE,
    })), max_size=3)),
})
CCAI = st.fixed_dictionaries(
    {"transcript": st.fixed_dictionaries({"transcriptSegments": st.lists(maybe(CCAI_SEGMENT), max_size=6)})},
    optional={"name": JSON_VALUE, "languageCode": maybe(st.sampled_from(["en-US", "es", "fi", "zz"])),
              "agentId": JSON_VALUE, "medium": JSON_VALUE,
              "callMetadata": maybe(st.fixed_dictionaries({}, optional={
                  "agentChannel": JSON_VALUE, "customerChannel": JSON_VALUE}))},
)
DOCUMENT = st.one_of(
    CONVERSATION, TRANSCRIBE, CCAI, st.lists(maybe(TURN), max_size=6),
    st.lists(st.one_of(CONVERSATION, TRANSCRIBE, CCAI), max_size=3), JSON_VALUE,
)


@fuzz
@given(doc=DOCUMENT, fmt=st.sampled_from(["json", "auto"]))
def test_json_documents_with_random_field_types(doc: Any, fmt: str) -> None:
    outcome(json.dumps(doc), fmt, many=True)


@fuzz_small
@given(doc=DOCUMENT)
def test_decoded_json_objects_passed_directly(doc: Any) -> None:
    if isinstance(doc, (dict, list)):
        outcome(doc, many=True)


@pytest.mark.parametrize("platform", [TRANSCRIBE, CCAI], ids=["amazon_transcribe", "google_ccai"])
@fuzz_small
@given(data=st.data())
def test_platform_exports_with_random_field_types(platform: Any, data: st.DataObject) -> None:
    doc = data.draw(platform)
    outcome(json.dumps(doc), data.draw(st.sampled_from(PLATFORM_FORMATS)))


@fuzz_small
@given(docs=st.lists(st.one_of(DOCUMENT, JUNK), max_size=5))
def test_jsonl_lines_with_random_documents(docs: list[Any]) -> None:
    text = "\n".join(d if isinstance(d, str) else json.dumps(d) for d in docs)
    outcome(text, "jsonl", many=True)


CSV_COLUMN = st.one_of(
    st.sampled_from(
        ["conversation_id", "speaker", "role", "text", "message", "start", "end", "lang", "id", "x"]
    ),
    st.text(max_size=10),
)
CSV_FIELD = st.one_of(
    JUNK,
    TIMESTAMP,
    st.sampled_from(["Agent", "Customer", "", "c1", "c2", "es", "xx", '"', '"unterminated', "a\nb"]),
)


@st.composite
def csv_files(draw: st.DrawFn) -> str:
    """A header that names the usual columns (or not) and ragged rows, joined by one delimiter."""
    delim = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.lists(CSV_COLUMN, min_size=1, max_size=6))
    if draw(st.booleans()):
        header = ["conversation_id", "speaker", "text", *header]
    rows = [header]
    for _ in range(draw(st.integers(0, 10))):
        rows.append(draw(st.lists(CSV_FIELD, max_size=len(header) + 2)))
    if draw(st.booleans()):  # well quoted, so that the rows reach the conversation grouping
        buf = io.StringIO()
        csv.writer(buf, delimiter=delim).writerows(rows)
        return buf.getvalue()
    return "".join(delim.join(r) + draw(NEWLINE) for r in rows)


@fuzz
@given(text=csv_files(), fmt=st.sampled_from(["csv", "auto"]))
def test_csv_with_ragged_rows_and_random_fields(text: str, fmt: str) -> None:
    outcome(text, fmt, many=True)


# --- 2. hostile shapes -------------------------------------------------------------------------------------


def test_5mb_single_line_in_every_format() -> None:
    line = "Agent: " + "hello there " * (MB5 // 12)
    for fmt in FORMATS:
        timed(lambda: outcome(line, fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_5mb_bad_input_gives_a_short_error(fmt: str) -> None:
    junk = "x" * MB5
    result = timed(lambda: outcome(junk, fmt))
    assert isinstance(result, TranscriptError)
    assert len(str(result)) < MAX_MESSAGE and "x" * 100 not in str(result)


@pytest.mark.parametrize(
    "fmt,data",
    [
        ("jsonl", '{"turns": [{"role": "agent", "text": "hi"}]}\n' + "{" + "z" * MB5 + "\n"),
        ("json", '{"turns": [{"role": "agent", "text": "hi"' + " " * MB5 + "x"),
        ("csv", "speaker," + "z" * MB5 + "\nAgent,hi\n"),
        ("csv", "speaker,text\nAgent," + "z" * MB5 + "\n"),
        ("csv", "conversation_id,speaker,text\n" + "z" * 200_000 + ",Agent,hi\n"),
        ("vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\n" + "z" * MB5 + "\n"),
        ("srt", "1\n00:00:00,000 --> 00:00:01,000\n" + "<v " * (MB5 // 3) + "\n"),
        ("json", json.dumps([{"speaker": "A", "role": "z" * MB5, "text": "hi"}])),
        ("json", json.dumps({"lang": "z" * MB5, "turns": [{"speaker": "Agent", "text": "hi"}]})),
        ("json", json.dumps({"turns": [{"speaker": "Agent", "text": "z" * MB5}, {"speaker": "B"}]})),
    ],
    ids=["jsonl-line", "json", "csv-header", "csv-field", "csv-id", "vtt-cue", "srt-voice", "role",
    "lang", "turn"],
)
def test_errors_on_huge_inputs_quote_only_an_excerpt(fmt: str, data: str) -> None:
    result = timed(lambda: outcome(data, fmt, many=True))
    errors = [r for r in result if isinstance(r, TranscriptError)]
    assert errors, "each of these inputs holds a mistake"
    for exc in errors:
        assert "z" * 100 not in str(exc)


def test_non_contiguous_csv_conversation_with_a_huge_id() -> None:
    cid = "z" * 100_000
    data = f"conversation_id,speaker,text\n{cid},Agent,hi\nb,Agent,x\n{cid},Customer,y\n"
    result = timed(lambda: outcome(data, "csv", many=True))
    assert isinstance(result[-1], TranscriptError) and "not contiguous" in str(result[-1])


def test_100000_turns() -> None:
    text = "".join(f"{'Agent' if i % 2 else 'Customer'}: message number {i}\n" for i in range(100_000))
    t = timed(lambda: outcome(text, "text"), limit=3 * TIME_LIMIT)  # a real parse of 100,000 turns
    assert isinstance(t, Transcript) and len(t.turns) == 100_000


def test_100000_one_off_labels_are_not_quadratic() -> None:
    # one-off labels of no known role after many system labels: counting the accepted labels again for
    # every label took minutes
    text = "".join(f"System {i}: note\nx{i}: said something\n" for i in range(10_000))
    timed(lambda: outcome(text, "text"))


def test_many_distinct_unknown_speakers_are_not_quadratic() -> None:
    turns = [{"speaker": f"S{i % 20_000}", "text": "hello"} for i in range(40_000)]
    t = timed(lambda: outcome(turns))
    assert isinstance(t, Transcript) and t.roles_inferred


@pytest.mark.parametrize("fmt", FORMATS)
def test_speaker_prefix_repeated_10000_times_on_one_line(fmt: str) -> None:
    line = "Agent: " * 10_000 + "hello\nCustomer: " + "Customer:" * 10_000 + "\n"
    result = timed(lambda: outcome(line, fmt))
    if fmt in ("auto", "text"):
        assert isinstance(result, Transcript)
        assert [t.speaker for t in result.turns] == ["Agent", "Customer"]
        assert result.turns[0].text.startswith("Agent: Agent:")


INVISIBLE = ["\u200b", "\u200f", "\u202e", "\u200e", "\u2066", "\ufeff", "\u00ad"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ch", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_zero_width_and_direction_characters(fmt: str, ch: str) -> None:
    cases = [
        f"Age{ch}nt: hello{ch} there\nCus{ch}tomer: hi{ch}\n",
        f"{ch}Agent: hello\n{ch}Customer: hi\n",
        f"Agent{ch}: hello\nCustomer{ch * 50}: hi\n",
        f"Agent: {ch * 1000}\nCustomer: {ch}\n",
        ch * 10_000,
        f"speaker,text\nAge{ch}nt,hi{ch}\n{ch * 60},x\n",
        f"WEBVTT\n\n00:00.000 --> 00:01.000\n<v A{ch}gent>hi{ch}</v>\n",
        f"{ch * 60}{{}},{ch * 60}\n",  # a header of invisible characters: quoted escaped, still short
    ]
    for text in cases:
        timed(lambda: outcome(text, fmt))


def test_direction_characters_in_text_are_kept_verbatim() -> None:
    t = parse_transcript("Agent: pay \u202eevil\u202c now\u200b\nCustomer: ok\u200f\n")
    assert t.turns[0].text == "pay \u202eevil\u202c now\u200b"
    assert [x.role for x in t.turns] == ["agent", "customer"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_nul_bytes(fmt: str) -> None:
    for source in (
        "Agent: hi\x00there\nCustomer: \x00\x00\n",
        "\x00",
        "\x00" * 100_000,
        "speaker,text\nAgent,hi\x00\nCustomer,\x00\n",
        b"Agent: hi\x00\nCustomer: yo\n",
        b"\x00" * 10_000,
        '{"turns": [{"speaker": "Agent\\u0000", "text": "\\u0000hi"}]}',
    ):
        timed(lambda: outcome(source, fmt))


def test_path_like_string_with_nul_is_read_as_text() -> None:
    assert isinstance(outcome("/etc/passwd\x00.txt"), TranscriptError)


def test_latin1_bytes_inside_utf8_fall_back_with_a_warning() -> None:
    raw = "Cliente: la factura está mal\n".encode() + "Agente: lo siento, ¿qué número?\n".encode("latin-1")
    with pytest.warns(UnicodeWarning, match="not valid UTF-8"):
        t = parse_transcript(raw)
    assert len(t.turns) == 2 and t.turns[1].speaker == "Agente"


@pytest.mark.parametrize("fmt", FORMATS)
def test_mixed_encodings_in_every_format(fmt: str) -> None:
    utf8 = "Agent: héllo\nCustomer: straße\n".encode()
    for data in (
        utf8[:12] + "café ñ".encode("latin-1") + utf8[12:],
        utf8 + b"\x81\x8d\x8f\x90\x9d",  # bytes cp1252 leaves undefined: read as latin-1
        "Agent: hello\nCustomer: hi\n".encode("utf-16"),
        "Agent: hello\nCustomer: hi\n".encode("utf-16")[:-1],  # odd length
        "Agent: hello\nCustomer: hi\n".encode("utf-16-le"),  # no BOM: NUL bytes everywhere
        "Agent: hello\nCustomer: hi\n".encode("utf-16")[:10] + utf8,
        b"\xef\xbb\xbf" + utf8,
        b"\xef\xbb\xbf\xef\xbb\xbf" + utf8,
        "Agent: hello\nCustomer: hi\n".encode("utf-32"),
    ):
        timed(lambda: outcome(data, fmt))


def test_utf16_with_bom_is_read() -> None:
    t = parse_transcript("Agente: hola, ¿en qué le ayudo?\nCliente: mi factura\n".encode("utf-16"))
    assert [x.role for x in t.turns] == ["agent", "customer"]


def _deep_list(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_json_nested_10000_deep(fmt: str) -> None:
    deep = 10_000
    for text in (
        "[" * deep + "]" * deep,
        '{"a":' * deep + "1" + "}" * deep,
        '{"turns": [{"speaker": "Agent", "text": "hi", "start": ' + "[" * deep + "]" * deep + "}]}",
        '{"turns": [{"speaker": "Agent", "text": "hi", "start": '
        + '{"seconds":' * deep + "1" + "}" * deep + "}]}",
        "[" * deep,  # unterminated as well
    ):
        result = timed(lambda: outcome(text, fmt, many=True))
        if fmt in ("auto", "json", "jsonl"):
            assert isinstance(result[0], TranscriptError)


def test_deeply_nested_objects_passed_directly() -> None:
    timed(lambda: outcome(_deep_list(10_000)))
    doc: dict[str, Any] = {"speaker": "Agent", "text": "hi"}
    for _ in range(10_000):
        doc = {"turns": doc, "metadata": doc}
    timed(lambda: outcome(doc))


def test_csv_ragged_rows() -> None:
    data = (
        "conversation_id,speaker,text,start\n"
        "a,Agent,hi,0\n"
        "a,Customer\n"  # short row
        "b,Agent,hello,1,2,3,4\n"  # long row
        "c\n"
        "d,Agent,hi there,00:01\n"
        "d,Customer,hey,\n"
        ",,,,,,,,,,,,,,,,,,,,\n"
        'e,Agent,"never closed,0\n'
    )
    result = timed(lambda: outcome(data, "csv", many=True))
    errors = [r for r in result if isinstance(r, TranscriptError)]
    assert any("fields, header has" in str(e) and "line 3" in str(e) for e in errors)
    assert any(isinstance(r, Transcript) and r.id == "d" for r in result)


@pytest.mark.parametrize(
    "data",
    [
        "speaker,text\n" + "Agent,hi\n" + "Customer," * 100_000 + "\n",  # 100,000 fields in one row
        "speaker,text\n"
        + "".join(f"{'Agent' if i % 2 else 'Customer'},x{',' * (i % 5)}\n" for i in range(50_000)),
        "speaker,text\n" + '"' * 100_000,
        "speaker,text\n" + "\n" * 100_000,
        ",".join(["speaker", "text"] * 20_000) + "\nAgent,hi\n",
        "speaker;text\nAgent;hi,there;x\n",
        "speaker,text\nAgent,hi\n" + "Customer,x" + "\r" * 1000 + "\n",
    ],
    ids=["wide-row", "50k-ragged", "quotes", "blank-rows", "wide-header", "mixed-delimiters",
    "carriage-returns"],
)
def test_csv_hostile_shapes(data: str) -> None:
    timed(lambda: outcome(data, "csv", many=True))
    timed(lambda: outcome(data, "auto", many=True))


EMPTY = ["", " ", "\n", "   \n\n\t\r\n", "\ufeff", "\u3000\u2028\u00a0\u0085", "\x0b\x0c\x1c\x1d\x1e\x1f"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text", EMPTY, ids=[f"empty{i}" for i in range(len(EMPTY))])
def test_empty_and_whitespace_only_input_is_an_error(fmt: str, text: str) -> None:
    for source in (text, text.encode("utf-8"), text * 100_000):
        result = timed(lambda: outcome(source, fmt))
        assert isinstance(result, TranscriptError)
        assert isinstance(outcome(source, fmt, many=True)[0], TranscriptError)


# --- 3. regular expressions on adversarial strings ---------------------------------------------------------

PACKAGE = Path(empathy_score.__file__).parent
RE_FUNCS = {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
N = 50_000
REGEX_LIMIT = 2.0  # seconds for one pattern on one 50,000-character string; linear ones take milliseconds

# Call sites whose pattern is built at run time, and how the test reaches the patterns they build:
# "globals" = the module's compiled patterns; the names of parsing._build functions = those functions.
DYNAMIC_SITES = {
    ("parsing/_text.py", "<module>"): "globals",  # _PREFIX, an rf-string of _TS and _DATE
    ("lang/__init__.py", "phrase_regex"): "phrase",  # label, event and role-cue phrase lists
    ("parsing/_build.py", "label_role"): "label_role",  # re.fullmatch(_star(phrase), found phrase)
    ("matching.py", "_regex_tester"): "token",  # "REGEX" token tests of the behaviour patterns, on one token
}


def _regex_call_sites() -> Iterator[tuple[str, str, ast.Call]]:
    """(file, enclosing function or <module>, call) of every re.<function>(...) call in the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        scopes: list[tuple[ast.AST, str]] = [(tree, "<module>")]
        while scopes:
            node, scope = scopes.pop()
            for child in ast.iter_child_nodes(node):
                inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else scope
                if (
                    isinstance(child, ast.Call)
                    and isinstance(child.func, ast.Attribute)
                    and isinstance(child.func.value, ast.Name)
                    and child.func.value.id == "re"
                    and child.func.attr in RE_FUNCS
                ):
                    yield rel, scope, child
                scopes.append((child, inner))


def _flags(call: ast.Call) -> int:
    flags = 0
    for node in [*call.args[1:], *(k.value for k in call.keywords)]:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == "re":
                flag = getattr(re, sub.attr, None)
                if isinstance(flag, re.RegexFlag):
                    flags |= flag
    return flags


def _module_patterns(rel: str) -> list[re.Pattern[str]]:
    import importlib

    name = "empathy_score." + rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    module = importlib.import_module(name)
    return [v for v in vars(module).values() if isinstance(v, re.Pattern)]


def _phrase_patterns() -> list[re.Pattern[str]]:
    from empathy_score.parsing import _build

    return [
        _build._label_table()[0],
        *(regex for _kind, regex in _build._event_regexes()),
        *_build._role_cue_regexes().values(),
    ]


def _token_patterns() -> list[re.Pattern[str]]:
    """Every "REGEX" value in the language data files (token patterns of the behaviour matcher)."""
    out: list[re.Pattern[str]] = []
    stack: list[Any] = []
    for path in sorted((PACKAGE / "lang").rglob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        stack.extend(json.loads(ln) for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("REGEX"), str):
                out.append(re.compile(node["REGEX"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _all_patterns() -> list[tuple[str, re.Pattern[str], str]]:
    """(where, pattern, how it is run: "findall", or "match" for re.match / re.fullmatch call sites)."""
    found: dict[tuple[str, int], tuple[str, re.Pattern[str], str]] = {}
    unknown = []
    for rel, scope, call in _regex_call_sites():
        where = f"{rel}:{call.lineno}"
        first = call.args[0] if call.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            pattern = re.compile(first.value, _flags(call))
            how_run = "match" if call.func.attr in ("match", "fullmatch") else "findall"
            found.setdefault((pattern.pattern, pattern.flags), (where, pattern, how_run))
            continue
        how = DYNAMIC_SITES.get((rel, scope))
        if how is None:
            unknown.append(where)
        elif how == "globals":
            for pattern in _module_patterns(rel):
                found.setdefault((pattern.pattern, pattern.flags), (f"{rel}:{scope}", pattern, "findall"))
        elif how == "token":
            for i, pattern in enumerate(_token_patterns()):
                key = (pattern.pattern, pattern.flags)
                found.setdefault(key, (f"{rel}:token REGEX#{i}", pattern, "findall"))
        elif how == "phrase":
            for i, pattern in enumerate(_phrase_patterns()):
                key = (pattern.pattern, pattern.flags)
                found.setdefault(key, (f"{rel}:phrase_regex#{i}", pattern, "findall"))
    assert not unknown, f"regexes built at run time with no adversarial coverage here: {unknown}"
    return sorted(found.values(), key=lambda item: item[0])


def _adversarial(n: int) -> dict[str, str]:
    def fill(unit: str, prefix: str = "", suffix: str = "") -> str:
        return prefix + unit * (n // len(unit)) + suffix

    return {
        "spaces": fill(" ", "a", "!"), "blank-lines": fill("\n" + " " * 9, "x"), "letters": fill("a", "",
        "!"),
        "digits": fill("1", "", "x"), "timestamps": fill("12:34:56.789 "), "digit-colons": fill("1:"),
        "a-colons": fill("a:"), "speaker": fill("Agent: "), "open-parens": fill("(", "x"),
        "open-brackets": fill("[", "x"), "voice-tags": fill("<v ", "<v a>hi</v>"), "tags": fill("<a"),
        "dashes": fill("-", "", "x"), "stars": fill("*", "", "x"), "decimals": fill("1."),
        "numbers": fill("1 "), "hold": fill("on hold "), "transfer": fill("transferr", "", " to"),
        "backslashes": fill("\\"), "braces": fill("{1,"), "arrows": fill("-->", "1"), "words": fill("thank "),
    }


def _run(pattern: re.Pattern[str], how: str, text: str) -> float:
    from empathy_score.parsing import _text

    t0 = time.perf_counter()
    if pattern.pattern == _text._BRACKETED.pattern:
        _text._bracketed_parts(text)  # the only way the reader runs this one: see its docstring
    elif how == "match":
        pattern.match(text)  # anchored at the start: fullmatch does no more work
    else:
        pattern.findall(text)  # tries every start position: at least as hard as search, sub and split
    return time.perf_counter() - t0


def test_every_regex_is_fast_on_adversarial_strings() -> None:
    patterns = _all_patterns()
    assert len(patterns) >= 20
    big, small = _adversarial(N), _adversarial(N // 10)
    slow = []
    for where, pattern, how in patterns:
        for name, text in big.items():
            took = _run(pattern, how, text)
            # linear: 10 times the text, about 10 times the time; quadratic would be 100 times
            grows = took > 0.05 and took > 0.05 + 30 * min(_run(pattern, how, small[name]) for _ in range(3))
            if took > REGEX_LIMIT or grows:
                took = min(took, _run(pattern, how, text))  # once more, in case the machine was busy
                grows = took > 0.05 + 30 * min(_run(pattern, how, small[name]) for _ in range(3))
            if took > REGEX_LIMIT or grows:
                slow.append(f"{where} {pattern.pattern[:60]!r} on {name}: {took:.2f} s")
    assert not slow, "\n".join(slow)


# --- regressions: the inputs that broke the readers before this hardening ----------------------------------

BIG = "9" * 5000


def _ccai_segment(**fields: Any) -> dict[str, Any]:
    return {"transcript": {"transcriptSegments": [{"text": "hi", **fields}]}}


HOSTILE = {
    # other exceptions than TranscriptError
    "json-auto-nested": ("auto", "[" * 5000 + "]" * 5000),
    "json-5000-digit-int": ("json", '{"turns": [{"speaker": "Agent", "text": "x", "start": ' + BIG + "}]}"),
    "jsonl-5000-digit-int": ("jsonl", '{"turns": [{"speaker": "Agent", "text": "x", "start": ' + BIG + "}]}"),
    "json-400-digit-start": ("json", '[{"speaker": "Agent", "text": "x", "start": ' + "9" * 400 + "}]"),
    "json-nanos-text": ("json", '[{"speaker": "Agent", "text": "x", "start": {"seconds": 1, "nanos": "x"}}]'),
    "transcribe-400-digit-offset": (
        "json",
        '{"Transcript": [{"ParticipantRole": "AGENT", "Content": "hi", "BeginOffsetMillis": '
        + "9" * 400
        + "}]}",
    ),
    "ccai-words-object": ("json", json.dumps(_ccai_segment(words={"a": 1}))),
    "ccai-words-number": ("json", json.dumps(_ccai_segment(words=5))),
    "ccai-channel-list": ("json", json.dumps(_ccai_segment(channelTag=[1]))),
    "ccai-agent-channel": ("json", json.dumps({"callMetadata": {"agentChannel": [1]}, **_ccai_segment()})),
    "csv-field-over-limit": ("csv", "speaker,text\nAgent," + "a" * 200_000 + "\n"),
    "csv-header-over-limit": ("auto", "speaker,text" + "a" * 200_000 + "\nAgent,hi\n"),
    "csv-header-carriage-return": ("auto", "speaker,te\rxt\nAgent,hi\n"),
    "csv-5000-digit-hours": ("csv", "speaker,text,start\nAgent,hi," + BIG + ":00:00\n"),
    "vtt-5000-digit-hours": ("vtt", "WEBVTT\n\n" + BIG + ":00:00.000 --> 00:01.000\nAgent: hi\n"),
    # catastrophic backtracking
    "text-unclosed-parens": ("text", "Agent: hi\nx" + "(" * 50_000),
    "text-dashes": ("text", "Agent: hi\n" + "-" * 50_000 + "x"),
    "text-stars": ("text", "Agent: hi\n" + "*" * 50_000 + "x"),
    "text-hold-digits": ("text", "Agent: hi\n[on hold " + "1" * 50_000 + "]"),
    "vtt-unclosed-voices": ("vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\n<v A>hi</v>" + "<v " * 20_000 + "\n"),
    "vtt-unclosed-tags": ("vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\nAgent: hi" + "<a" * 500_000 + "\n"),
    "csv-quoted-header": ("auto", ',"a' * 20_000 + "\nAgent,hi\n"),
    "csv-quoted-header-csv": ("csv", "';" * 25_000 + "\nAgent,hi\n"),
}


@pytest.mark.parametrize("fmt,data", HOSTILE.values(), ids=HOSTILE.keys())
def test_inputs_that_broke_the_readers(fmt: str, data: str) -> None:
    timed(lambda: outcome(data, fmt, many=True))
    timed(lambda: outcome(data, fmt))


def test_time_values_too_large_for_a_float_are_left_unset() -> None:
    t = parse_transcript([{"speaker": "Agent", "text": "hi", "start": 10**400, "end": "1" * 5000 + ":00:00"}])
    assert t.turns[0].start is None and t.turns[0].end is None


def test_ccai_malformed_words_and_channels_are_ignored() -> None:
    doc = {
        "callMetadata": {"agentChannel": [2], "customerChannel": 1},
        "transcript": {"transcriptSegments": [
            {"text": "hello, how can I help?", "channelTag": [2], "words": {"startOffset": "1s"}},
            {"text": "my bill", "channelTag": 1, "words": 7},
        ]},
    }
    t = parse_transcript(doc)
    assert [x.role for x in t.turns][1] == "customer"
    assert all(x.start is None for x in t.turns)


def test_huge_csv_field_names_its_line() -> None:
    data = "speaker,text\nAgent,hi\nCustomer,hello\nAgent," + "a" * 200_000 + "\n"
    out = list(read_transcripts(data, format="csv", errors="yield"))
    assert isinstance(out[-1], TranscriptError)
    assert "line 4" in str(out[-1]) and "field" in str(out[-1])
