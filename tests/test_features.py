"""Context features: how the customer closes, and the human dimension crossed with the outcome."""

from __future__ import annotations

import pytest

from empathy_score.features import FEATURE_NAMES, to_analysis, transcript_features

CLOSES = {
    "en": (
        "Agent: Thanks for calling, how can I help?\nCustomer: My router keeps dropping the connection.\n"
        "Agent: I'm sorry about that, I've reset the line from here and it's stable now.\n",
        "Customer: Brilliant, thank you so much! That was really helpful :)",
        "Customer: ok then, I guess. whatever.",
    ),
    "es": (
        "Agente: Gracias por llamar, ¿en qué le ayudo?\nCliente: El router se me desconecta cada rato.\n"
        "Agente: Lo siento mucho, ya reinicié la línea desde aquí y está estable.\n",
        "Cliente: ¡Genial, mil gracias! Muy amable 😊",
        "Cliente: bueno pues nada, qué le vamos a hacer",
    ),
    "fi": (
        "Asiakaspalvelija: Kiitos soitosta, miten voin auttaa?\nAsiakas: Reititin katkaisee yhteyden jatkuvasti.\n"
        "Asiakaspalvelija: Pahoittelen, nollasin linjan täältä ja yhteys on nyt vakaa.\n",
        "Asiakas: Mahtavaa, kiitos tosi paljon! 👍",
        "Asiakas: no joo, ihan sama, antaa olla",
    ),
}


def _features(text: str, lang: str) -> dict[str, float]:
    return transcript_features(to_analysis(text, lang=lang))


CREDITS = {
    "en": ("Customer: right, that's done then. thank you, you've been ever so patient with me", "Customer: ok thanks"),
    "es": ("Cliente: listo, ya me llegó. gracias, eres la primera que me lo resuelve", "Cliente: vale, gracias"),
    "fi": ("Asiakas: no nyt toimii. kiitos, olit tosi kärsivällinen mun kanssa", "Asiakas: joo kiitti"),
}


@pytest.mark.parametrize("lang", sorted(CREDITS))
def test_a_close_that_credits_the_agent_is_told_from_plain_thanks(lang: str) -> None:
    body = CLOSES[lang][0]
    credit, thanks = CREDITS[lang]
    c = _features(body + credit, lang)
    t = _features(body + thanks, lang)
    assert c["closing_credit"] > 0 and t["closing_credit"] == 0
    assert c["customer_gratitude_end"] > 0 and t["customer_gratitude_end"] > 0  # both thank


@pytest.mark.parametrize("lang", sorted(CLOSES))
def test_a_glad_close_and_a_resigned_close_differ(lang: str) -> None:
    body, glad, resigned = CLOSES[lang]
    g = _features(body + glad, lang)
    r = _features(body + resigned, lang)
    assert set(g) == set(FEATURE_NAMES)
    assert g["closing_praise"] > 0 and g["closing_resigned"] == 0
    assert r["closing_resigned"] > 0 and r["closing_praise"] == 0
    assert g["cust_end_exclaim"] > r["cust_end_exclaim"]
    assert g["valence_last_raw"] > r["valence_last_raw"]


def test_human_dimension_is_crossed_with_the_outcome() -> None:
    warm = (
        "Agent: I'm really sorry the bill doubled, I understand how worrying that is. I'll sort it out myself.\n"
        "Customer: thanks\nAgent: Done: the duplicate charge is refunded, you'll see it within 3 days.\n"
        "Customer: great, that's fixed then, thanks"
    )
    cold = (
        "Agent: That's not our fault, you should have read the terms.\nCustomer: ok\n"
        "Agent: The duplicate charge is refunded.\nCustomer: fine, that's fixed then"
    )
    w, c = _features(warm, "en"), _features(cold, "en")
    assert w["warmth_kinds"] > c["warmth_kinds"] and c["coldness"] > w["coldness"]
    assert w["quality"] > c["quality"]
    for f in (w, c):
        assert f["resolved_x_quality"] == (f["quality"] if f["outcome"] > 0 else 0.0)
