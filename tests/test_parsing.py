from __future__ import annotations

import json
from pathlib import Path

import pytest

from empathy_score import TranscriptError, parse_transcript, read_transcripts

FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("lang", ["en", "es", "fi"])
@pytest.mark.parametrize("n", [1, 2])
def test_fixture_turns_roles_and_hold(lang: str, n: int) -> None:
    t = parse_transcript(FIXTURES / f"{lang}_transcript_{n}.txt")
    expected_roles = ["customer", "agent", "agent", "customer"] if n == 1 else [
        "customer", "agent", "agent", "customer", "agent", "customer"
    ]
    assert [turn.role for turn in t.turns] == expected_roles
    assert [turn.index for turn in t.turns] == list(range(len(expected_roles)))
    assert t.lang == lang
    assert not t.roles_inferred
    holds = t.holds
    assert len(holds) == 1
    assert holds[0].after_turn == 1
    assert len(t.events) == 1


def test_fixture_mixed_language_turns_are_detected() -> None:
    t = parse_transcript(FIXTURES / "fi_transcript_2.txt")
    assert t.turns[1].lang == "en"
    assert t.turns[2].lang == "fi"
    t1 = parse_transcript(FIXTURES / "fi_transcript_1.txt")
    assert t1.turns[0].lang == "en"


def test_forced_language_applies_to_every_turn() -> None:
    t = parse_transcript(FIXTURES / "fi_transcript_2.txt", lang="fi")
    assert {turn.lang for turn in t.turns} == {"fi"}


def test_timestamps_continuations_and_marker_shapes() -> None:
    text = (
        "[00:00:05] Agent: Hello, Acme support, how can I help?\n"
        "[00:00:09] Customer: my invoice is wrong\n"
        "and the due date is tomorrow\n"
        "\n"
        "10:42 AM - Agent: Let me check that for you, one moment while I open the invoice.\n"
        "[HOLD 00:02:30]\n"
        "*** on hold ***\n"
        "[hold resumed]\n"
        "[Transfer to Billing]\n"
        "(00:03) Agent: Thanks for waiting.\n"
    )
    t = parse_transcript(text)
    assert [x.role for x in t.turns] == ["agent", "customer", "agent", "agent"]
    assert t.turns[1].text == "my invoice is wrong\nand the due date is tomorrow"
    assert t.turns[0].start == 5.0
    assert t.turns[2].start == 10 * 3600 + 42 * 60
    kinds = [(e.kind, e.after_turn) for e in t.events]
    assert kinds == [("hold", 2), ("hold", 2), ("hold_end", 2), ("transfer", 2)]
    assert t.events[0].duration == 150.0


@pytest.mark.parametrize(
    "label,role",
    [
        ("Servicio de asistencia", "agent"),
        ("Asesor", "agent"),
        ("Cliente", "customer"),
        ("Caller", "customer"),
        ("Asiakas", "customer"),
        ("Asiakaspalvelu", "agent"),
        ("Dana (agent)", "agent"),
        ("Kim (customer)", "customer"),
        ("Customer Service", "agent"),
        ("Support - Priya", "agent"),
        ("Rep", "agent"),
    ],
)
def test_speaker_labels_map_to_roles(label: str, role: str) -> None:
    other = "Customer" if role == "agent" else "Agent"
    t = parse_transcript(f"{label}: hello there\n{other}: hi")
    assert t.turns[0].role == role


def test_roles_inferred_from_what_speakers_say() -> None:
    text = (
        "Tom: Thanks for calling Brightline, my name is Tom, how can I help?\n"
        "Rachel: Hi, my internet is not working since this morning.\n"
        "Tom: Let me check your account, I can see an outage in your area.\n"
        "Rachel: Why did nobody tell me?\n"
    )
    t = parse_transcript(text)
    assert t.roles_inferred
    assert [x.role for x in t.turns] == ["agent", "customer", "agent", "customer"]
    assert any("inferred" in w for w in t.warnings)


def test_explicit_roles_override_labels_and_inference() -> None:
    text = "Helpdesk: I'll fix it.\nAnna: thanks\n"
    t = parse_transcript(text, roles={"Helpdesk": "customer", "anna": "agent"})
    assert [x.role for x in t.turns] == ["customer", "agent"]
    assert not t.roles_inferred


def test_single_use_colon_line_is_a_continuation_not_a_speaker() -> None:
    text = "Customer: the app shows\nError: 0x80070005 when I open it\nAgent: Thanks, that code helps.\n"
    t = parse_transcript(text)
    assert len(t.turns) == 2
    assert "0x80070005" in t.turns[0].text


def test_system_speaker_lines_become_events() -> None:
    t = parse_transcript("System: chat assigned to Ana\nCustomer: hi\nAgent: hi, Ana here\n")
    assert len(t.turns) == 2
    assert t.events[0].kind == "system"
    assert t.events[0].after_turn == -1


def test_generic_json_turn_list() -> None:
    t = parse_transcript(DATA / "turns.json")
    assert [x.role for x in t.turns] == ["agent", "customer", "agent"]
    assert t.events[0].kind == "hold" and t.events[0].duration == 95
    assert t.turns[2].start == 102.0


def test_list_of_dicts_and_dict_inputs() -> None:
    turns = [{"role": "customer", "text": "hola"}, {"role": "agent", "text": "buenas, ¿en qué le ayudo?"}]
    t = parse_transcript(turns)
    assert t.lang == "es"
    t2 = parse_transcript({"id": "x1", "channel": "chat", "messages": turns})
    assert t2.id == "x1" and t2.metadata["channel"] == "chat"


def test_jsonl_conversations() -> None:
    ts = list(read_transcripts(DATA / "conversations.jsonl"))
    assert [t.id for t in ts] == ["chat-1", "chat-2", "chat-3"]
    assert ts[1].lang == "fi"
    assert ts[1].turns[1].role == "agent"
    with pytest.raises(TranscriptError, match="more than one conversation"):
        parse_transcript(DATA / "conversations.jsonl")


def test_csv_grouped_into_conversations() -> None:
    ts = list(read_transcripts(DATA / "turns.csv"))
    assert [t.id for t in ts] == ["c1", "c2"]
    assert [x.role for x in ts[0].turns] == ["agent", "customer", "agent"]
    assert ts[0].holds[0].duration == 70.0
    assert ts[1].lang == "es" and ts[1].turns[1].role == "agent"


def test_csv_non_contiguous_conversation_is_an_error() -> None:
    data = "conversation_id,speaker,text\na,Agent,hi\nb,Agent,hello\na,Customer,again\n"
    with pytest.raises(TranscriptError, match=r"line 4.*not contiguous"):
        list(read_transcripts(data, format="csv"))


def test_csv_ragged_row_spoils_only_its_conversation() -> None:
    data = "conversation_id,speaker,text\na,Agent,hi,extra\na,Customer,yo\nb,Agent,hello\nb,Customer,hey\n"
    out = list(read_transcripts(data, format="csv", errors="yield"))
    assert isinstance(out[0], TranscriptError) and "line 2" in str(out[0])
    assert out[1].id == "b"  # type: ignore[union-attr]


def test_webvtt_with_voice_tags() -> None:
    t = parse_transcript(DATA / "call.vtt")
    assert [x.role for x in t.turns] == ["agent", "customer", "agent"]
    assert t.turns[1].text.endswith("and it's been a week.")
    assert t.turns[0].start == 0.5


def test_srt_with_speaker_prefixes() -> None:
    t = parse_transcript(DATA / "call.srt")
    assert t.lang == "fi"
    assert [x.role for x in t.turns] == ["agent", "customer", "agent"]


def test_amazon_transcribe_call_analytics() -> None:
    t = parse_transcript(DATA / "transcribe_call_analytics.json")
    assert t.id == "call-2291-billing"
    assert [x.role for x in t.turns] == ["agent", "customer", "agent", "customer"]
    assert t.turns[1].start == pytest.approx(4.3)
    assert t.metadata["platform"] == "amazon_transcribe"
    assert t.lang == "en"


def test_google_ccai_insights_conversation() -> None:
    t = parse_transcript(DATA / "ccai_insights_conversation.json")
    assert t.id == "81724"
    assert t.lang == "es"
    assert [x.role for x in t.turns] == ["agent", "customer", "agent"]
    assert t.turns[0].start == pytest.approx(0.6)
    assert t.metadata["agent_id"] == "agent-0420"


def test_to_dict_is_plain_json() -> None:
    t = parse_transcript(FIXTURES / "en_transcript_2.txt")
    again = json.loads(json.dumps(t.to_dict()))
    assert again["turns"][4]["role"] == "agent"
    assert again["events"][0]["kind"] == "hold"


# --- errors -----------------------------------------------------------------------------------------


def test_empty_input() -> None:
    with pytest.raises(TranscriptError, match="empty input"):
        parse_transcript("   \n\n")


def test_no_speaker_turns() -> None:
    with pytest.raises(TranscriptError, match="no speaker turns"):
        parse_transcript("just some words with no speakers at all\nand another line")


def test_unknown_format() -> None:
    with pytest.raises(TranscriptError, match="unknown format 'docx'"):
        parse_transcript("Agent: hi\nCustomer: hi", format="docx")


def test_binary_input() -> None:
    with pytest.raises(TranscriptError, match="binary"):
        parse_transcript(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\xff\xfe\x00")


def test_cp1252_fallback_warns() -> None:
    raw = "Cliente: la factura está mal\nAgente: lo siento mucho\n".encode("cp1252")
    with pytest.warns(UnicodeWarning, match="cp1252"):
        t = parse_transcript(raw)
    assert "está" in t.turns[0].text


def test_size_limit() -> None:
    with pytest.raises(TranscriptError, match="over the limit"):
        parse_transcript("Agent: " + "a" * 200, max_chars=100)


def test_invalid_json_names_line() -> None:
    with pytest.raises(TranscriptError, match="line 2"):
        parse_transcript('{"turns": [\n  {"speaker": "Agent" "text": "x"}]}', format="json")


def test_json_turn_without_text() -> None:
    with pytest.raises(TranscriptError, match="turn 1 has no text"):
        parse_transcript([{"speaker": "Agent", "text": "hi"}, {"speaker": "Customer"}])


def test_unknown_role_value() -> None:
    with pytest.raises(TranscriptError, match="unknown role 'boss'"):
        parse_transcript("A: hi\nB: yo", roles={"A": "boss"})


def test_jsonl_bad_line_is_reported_and_others_kept() -> None:
    data = '{"turns": [{"role": "agent", "text": "hi"}]}\nnot json\n{"turns": [{"role": "customer", "text": "x"}]}\n'
    out = list(read_transcripts(data, format="jsonl", errors="yield"))
    assert len(out) == 3
    assert isinstance(out[1], TranscriptError) and "line 2" in str(out[1])
    with pytest.raises(TranscriptError, match="line 2"):
        list(read_transcripts(data, format="jsonl"))


def test_missing_file() -> None:
    with pytest.raises(TranscriptError, match="no such file"):
        parse_transcript(Path("/nonexistent/call.txt"))


def test_error_messages_truncate_transcript_text() -> None:
    secret = "my card number is 4111 1111 1111 1111 and my password is hunter2 " * 5
    data = '{"ok": 1}\n' + secret + "\n"
    out = list(read_transcripts(data, format="jsonl", errors="yield"))
    msg = str(out[1])
    assert "hunter2" not in msg and len(msg) < 200


@pytest.mark.parametrize(
    "text,roles",
    [
        pytest.param(
            # the customer opens, with no phrase that says who is who; the agent knows the customer's name
            "Noor: quick q, does the export include archived projects?\n"
            "Dario: Hi Noor! Not by default: tick 'include archived' at the bottom of the export dialog.\n"
            "Noor: found it, cheers\n",
            {"Noor": "customer", "Dario": "agent"},
            id="greets-by-unannounced-name-is-agent",
        ),
        pytest.param(
            # the agent introduces herself; the customer then uses her name: that says nothing about roles
            "Ilse: Good morning, Ilse speaking, how can I help you today?\n"
            "Marten: Morning Ilse, my meter reading was rejected online\n"
            "Ilse: Let me check that for you, could you give me the meter number?\n"
            "Marten: 4471-22\n",
            {"Ilse": "agent", "Marten": "customer"},
            id="name-given-first-is-no-evidence",
        ),
    ],
)
def test_greeting_by_name_tells_roles_only_when_the_name_was_not_announced(
    text: str, roles: dict[str, str]
) -> None:
    t = parse_transcript(text, lang="en")
    assert {tu.speaker: tu.role for tu in t.turns} == roles


def test_lowercased_phrase_regex_finds_what_the_case_insensitive_one_finds() -> None:
    from empathy_score.lang import phrase_regex

    phrases = ["thank you for calling", "transfer*", "¿en qué le puedo ayudar", "Kiitos yhteydenotosta", "hold"]
    texts = [
        "THANK YOU for calling, this is Ana. I'll Transfer you; please HOLD. Thank youfor calling",
        "¿En qué le puedo ayudar? ... x¿en qué le puedo ayudar",
        "kiitos YHTEYDENOTOSTA! threshold holder withhold hold.",
    ]
    plain, low = phrase_regex(phrases), phrase_regex(phrases, lowercased=True)
    assert low.flags & 2 == 0  # no case folding: the caller lowercases
    for t in texts:
        assert low.findall(t.lower()) == [m.lower() for m in plain.findall(t)]
    assert sum(len(plain.findall(t)) for t in texts) == 6  # 3 + 1 (not after "x") + 2 (not inside words)


def test_social_media_handles_are_speakers() -> None:
    text = (
        "@jen_okafor: my router is dead AGAIN, 3rd time this week\n"
        "@FibrenetHelp: Sorry to hear that Jen. Can you DM us your account number so we can look?\n"
        "@jen_okafor: sent\n"
        "@FibrenetHelp: Thanks! An engineer is booked for Thursday 8-12, you'll get a text the day before.\n"
    )
    t = parse_transcript(text)
    assert [x.speaker for x in t.turns] == ["@jen_okafor", "@FibrenetHelp"] * 2
    assert [x.role for x in t.turns] == ["customer", "agent"] * 2
    # a handle inside a turn's text is not a new speaker
    t = parse_transcript("Customer: I wrote to @support: no answer\nAgent: Let me check that for you.")
    assert len(t.turns) == 2 and t.turns[0].text == "I wrote to @support: no answer"


# Export shapes met in the wild: log lines without brackets, subtitle hold cues, other clocks, wrapped JSON.

@pytest.mark.parametrize(
    "src",
    [
        "Agent: Are you still there?\nCustomer left the chat\nCustomer joined the chat\nCustomer: sorry, wifi dropped",
        "Asiakaspalvelija: Hei, miten voin auttaa?\nAsiakas: Kiitos, selvä.\nKeskustelu suljettu",
        "Agente: ¿Algo más?\nCliente: No, gracias.\nChat finalizado por el cliente",
    ],
)
def test_a_chat_session_line_is_an_event_not_speech(src: str) -> None:
    t = parse_transcript(src)
    assert [e.kind for e in t.events] and all(e.kind == "system" for e in t.events)
    assert not any("chat" in x.text.lower() or "keskustelu" in x.text.lower() for x in t.turns)


def test_a_timestamped_line_naming_a_hold_is_an_event_but_bare_speech_stays_speech() -> None:
    t = parse_transcript(
        "[10:01:40] Agent: one moment\n[10:03:00] Call placed on hold\n[10:05:10] Call resumed\n"
        "[10:05:12] Agent: thanks for waiting\nI'll transfer you to billing after this\n[10:06:00] Customer: ok"
    )
    assert [e.kind for e in t.events] == ["hold", "hold_end"]
    assert [x.text for x in t.turns] == ["one moment", "thanks for waiting\nI'll transfer you to billing after this", "ok"]
    # a line that merely mentions leaving the chat, at length, is someone speaking
    long = parse_transcript("Agent: hi\nCustomer: hello\nyesterday I left the chat open all night and it still never loaded")
    assert not long.events and "left the chat" in long.turns[-1].text


@pytest.mark.parametrize("fmt,body", [
    ("srt", "1\n00:00:01,000 --> 00:00:03,000\nAGENT: One moment please.\n\n2\n00:00:03,000 --> 00:00:40,000\n"
            "[MUSIC ON HOLD]\n\n3\n00:00:40,000 --> 00:00:43,000\nAGENT: Thanks for holding.\n\n"
            "4\n00:00:44,000 --> 00:00:46,000\nCUSTOMER: Great.\n"),
    ("vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Agent>One moment please.\n\n00:00:03.000 --> 00:00:40.000\n"
            "[on hold]\n\n00:00:40.000 --> 00:00:43.000\n<v Agent>Thanks for holding.\n\n"
            "00:00:44.000 --> 00:00:46.000\n<v Customer>Great.\n"),
])
def test_a_bracketed_subtitle_cue_naming_a_hold_is_a_hold_spanning_the_cue(fmt: str, body: str) -> None:
    t = parse_transcript(body, format=fmt)
    assert [x.text for x in t.turns] == ["One moment please.", "Thanks for holding.", "Great."]
    assert [(e.kind, e.duration) for e in t.events] == [("hold", 37.0)]


@pytest.mark.parametrize("a,b,start", [
    ("9.14 Asiakas:", "9.15 Asiakaspalvelija:", 9 * 3600 + 14 * 60),
    ("klo 9.14 Asiakas:", "klo 9.15 Asiakaspalvelija:", 9 * 3600 + 14 * 60),
    ("[09.14] Asiakas:", "[09.15] Asiakaspalvelija:", 9 * 3600 + 14 * 60),
    ("1.3.2026 klo 9.14 Asiakas:", "1.3.2026 klo 9.15 Asiakaspalvelija:", 9 * 3600 + 14 * 60),
    ("[3/1/26, 10:02:13 AM] Asiakas:", "[3/1/26, 10:02:40 AM] Asiakaspalvelija:", 36133),
    ("[2026-03-01 10:02:13 +0200] Asiakas:", "[2026-03-01 10:02:50 +0200] Asiakaspalvelija:", 36133),
    ("2026-03-01T10:02:13Z Asiakas:", "2026-03-01T10:02:50Z Asiakaspalvelija:", 36133),
    ("[Mon 3:42 PM] Asiakas:", "[Mon 3:43 PM] Asiakaspalvelija:", 15 * 3600 + 42 * 60),
    ("[ma 9.14] Asiakas:", "[ma 9.15] Asiakaspalvelija:", 9 * 3600 + 14 * 60),
])
def test_other_clock_and_date_prefixes(a: str, b: str, start: float) -> None:
    t = parse_transcript(f"{a} Hei, en pääse kirjautumaan.\n{b} Hei! Tarkistan asian.\n")
    assert [(x.speaker, x.role) for x in t.turns] == [("Asiakas", "customer"), ("Asiakaspalvelija", "agent")]
    assert t.turns[0].start == start and t.turns[0].text == "Hei, en pääse kirjautumaan."


def test_a_bare_dotted_number_is_not_a_clock_unless_a_speaker_follows() -> None:
    t = parse_transcript("Agent: the fee is\n3.50 a month, ok?\nCustomer: fine")
    assert t.turns[0].text == "the fee is\n3.50 a month, ok?"
    # a word before a clock in brackets is a weekday only if it is one: "[HOLD 00:07:45]" stays a hold
    held = parse_transcript("Agent: one moment\n[HOLD 00:07:45]\nAgent: thanks for waiting\nCustomer: ok")
    assert [(e.kind, e.duration) for e in held.events] == [("hold", 465.0)]


@pytest.mark.parametrize("doc", [
    {"conversation": {"id": "c1", "messages": [{"author": "agent", "body": "Hi, how can I help?"},
                                               {"author": "customer", "body": "My order is late."}]}},
    {"data": {"conversation": {"id": "c1", "messages": [{"author": "agent", "body": "Hi, how can I help?"},
                                                        {"author": "customer", "body": "My order is late."}]}}},
    {"ticket": {"id": "c1", "comments": [{"author": {"name": "Sam Patel", "type": "admin"}, "body": "Hi, how can I help?"},
                                         {"author": {"name": "Rachel", "type": "lead"}, "body": "My order is late."},
                                         {"author": {"name": "Rachel", "type": "lead"}, "body": ""}]}},
])
def test_wrapped_conversations_speaker_objects_and_empty_messages(doc: dict) -> None:
    t = parse_transcript(doc)
    assert t.id == "c1"
    assert [(x.role, x.text) for x in t.turns] == [("agent", "Hi, how can I help?"), ("customer", "My order is late.")]


def test_a_speaker_object_keeps_its_name_and_role() -> None:
    t = parse_transcript({"messages": [
        {"author": {"name": "Sam Patel", "role": "agent"}, "body": "Hi, how can I help?"},
        {"author": {"name": "Rachel Green", "role": "end-user"}, "body": "My order is late."},
        {"type": "event", "text": "Agent transferred the chat"},
        {"author": {"name": "Rachel Green", "role": "end-user"}, "body": "ok"},
    ]})
    assert [(x.speaker, x.role) for x in t.turns][:2] == [("Sam Patel", "agent"), ("Rachel Green", "customer")]
    assert [e.kind for e in t.events] == ["transfer"]
    typed = parse_transcript({"messages": [{"author": {"type": "admin"}, "body": "Hello, how can I help?"},
                                           {"author": {"type": "user"}, "body": "my order is late"}]})
    assert [x.role for x in typed.turns] == ["agent", "customer"] and not typed.roles_inferred
    with pytest.raises(TranscriptError, match="speaker object"):
        parse_transcript({"messages": [{"author": {"email": "x@example.com"}, "body": "Hi"}]})


def test_a_csv_author_type_column_names_the_speaker() -> None:
    t = parse_transcript("ticket_id;author_type;text\nT1;agente;Hola, ¿en qué puedo ayudarle?\nT1;cliente;Mi router no enciende.\n",
                         format="csv")
    assert [x.role for x in t.turns] == ["agent", "customer"]


def test_a_speaker_seen_once_is_noted_and_taken_when_named_in_roles() -> None:
    src = (
        "Uriel: Buenas tardes, le atiende Uriel de Telcomex, ¿en qué le puedo ayudar?\n"
        "Marisol: Hola, no tengo internet desde ayer en la noche\n"
        "Uriel: Gracias. Veo una falla en su zona, ya está reportada.\nMarisol: ok gracias\n"
        "Fernanda: Hola Marisol, soy Fernanda, supervisora. El técnico va mañana a las 10.\n"
        "Marisol: perfecto, gracias"
    )
    guessed = parse_transcript(src)
    # one line of a label is not enough to call it a speaker ("Nota: ..." inside a message), but it is said
    assert "Fernanda: Hola" in guessed.turns[3].text
    assert any("'Fernanda'" in w and "roles=" in w for w in guessed.warnings)
    told = parse_transcript(src, roles={"Uriel": "agent", "Fernanda": "agent", "Marisol": "customer"})
    assert [(x.speaker, x.role) for x in told.turns][-2:] == [("Fernanda", "agent"), ("Marisol", "customer")]
