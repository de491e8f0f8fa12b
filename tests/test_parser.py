"""Reading a model's reply: a corpus of good and bad replies, and a total function on hostile input."""

from __future__ import annotations

import pytest

from glee.games.bargaining import Response, offer_model
from glee.games.negotiation import NegotiationResponse, price_offer_model
from glee.games.persuasion import buyer_model, seller_model
from glee.prompts import parse_action

OFFER = offer_model(10_000.0, True)
PRICE = price_offer_model(True)


@pytest.mark.parametrize(
    ("text", "own_gain", "message"),
    [
        ('{"own_gain": 6000, "message": "deal?"}', 6000, "deal?"),
        ('Sure! Here is my offer:\n```json\n{"own_gain": 5500, "message": "fair"}\n```\nThanks.', 5500, "fair"),
        ('```\n{"own_gain": 5000.5, "message": "x"}\n```', 5000.5, "x"),
        ('{"own_gain": "$1,200", "message": "m"}', 1200, "m"),
        ('{"own_gain": $1,200, "message": "m"}', 1200, "m"),
        ('{"own_gain": "1,200.50", "message": "m"}', 1200.5, "m"),
        ('{"own_gain": 1,200.50, "message": "I said: $1,200, ok?"}', 1200.5, "I said: $1,200, ok?"),
        ('{"own_gain": " 7000 ", "message": "m"}', 7000, "m"),
        (
            '{"own_gain": 4000, "message": "a {nested} } { brace \\"quoted\\" {\\"own_gain\\": 1}"}',
            4000,
            'a {nested} } { brace "quoted" {"own_gain": 1}',
        ),
        ('{"Own_Gain": 3000, " Message ": "keys in other spelling"}', 3000, "keys in other spelling"),
        ('{"action": {"own_gain": 2500, "message": "wrapped"}}', 2500, "wrapped"),
        ('{"own_gain": 6000, "message": "same"} I repeat: {"own_gain": 6000, "message": "same"}', 6000, "same"),
    ],
)
def test_offers_are_read_from_many_spellings(text: str, own_gain: float, message: str) -> None:
    parsed = parse_action(text, OFFER)
    assert parsed.error is None, parsed.error
    assert parsed.action is not None
    assert parsed.action.own_gain == own_gain  # type: ignore[attr-defined]
    assert parsed.action.message == message  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "model", "field", "value"),
    [
        ('{"decision": "Accept"}', Response, "decision", "accept"),
        ('{"decision": " REJECT. "}', Response, "decision", "reject"),
        ('{"decision": "Outside Option"}', NegotiationResponse, "decision", "outside_option"),
        ('{"decision": "outside-option"}', NegotiationResponse, "decision", "outside_option"),
        ('{"recommend": "Yes"}', seller_model("binary"), "recommend", "yes"),
        ('I think so. {"decision": "BUY"}', buyer_model(False), "decision", "buy"),
    ],
)
def test_enum_words_ignore_case_spacing_and_punctuation(text: str, model: type, field: str, value: str) -> None:
    parsed = parse_action(text, model)
    assert parsed.action is not None, parsed.error
    assert getattr(parsed.action, field) == value


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "the reply was empty"),
        ("   \n\t", "the reply was empty"),
        ("I accept your offer, it is very fair.", "no JSON object found"),
        ("I keep {most} of it", "no JSON object found"),
        ('{"own_gain": -5, "message": "hi"}', "own_gain must be >= 0, got -5"),
        ('{"own_gain": "$-5", "message": "hi"}', "own_gain must be >= 0, got -5"),
        ('{"own_gain": 12000, "message": "hi"}', "own_gain must be <= 10000, got 12000"),
        ('{"own_gain": "most of it", "message": "hi"}', 'own_gain must be a whole number, got "most of it"'),
        ('{"gain": 5000, "note": "hi"}', 'unknown key "gain"; unknown key "note"; missing key "own_gain"'),
        ('{"own_gain": 5000}', 'missing key "message"'),
        ('{"own_gain": 5000, "message": "hi"', "the JSON object is not valid or not complete (the reply ends before"),
        ('{"own_gain": 5000, "message": "hi', "the JSON object is not valid or not complete (the reply ends before"),
        ('{"own_gain": 5000 "message": "hi"}', "the JSON object is not valid or not complete (Expecting ',' delimiter"),
        (
            '{"own_gain": 6000, "message": "a"} or maybe {"own_gain": 5000, "message": "b"}',
            "the reply holds 2 different actions; give exactly one",
        ),
        ('{"own_gain": 5000, "message": 42}', "message must be a string, got 42"),
    ],
)
def test_bad_offers_get_a_short_readable_error(text: str, error: str) -> None:
    parsed = parse_action(text, OFFER)
    assert parsed.action is None
    assert parsed.error is not None and parsed.error.startswith(error), parsed.error
    assert len(parsed.error) < 200


def test_bad_enum_word_names_the_allowed_words() -> None:
    parsed = parse_action('{"decision": "maybe later"}', NegotiationResponse)
    assert parsed.action is None
    assert parsed.error == 'decision must be "accept" or "reject" or "outside_option", got "maybe later"'
    assert parsed.data == {"decision": "maybe later"}


def test_message_too_long_is_rejected_with_its_length() -> None:
    parsed = parse_action('{"price": 10, "message": "' + "x" * 2500 + '"}', PRICE)
    assert parsed.error == "message must be at most 2000 characters, got 2500"


def test_a_message_key_is_refused_when_messages_are_off() -> None:
    parsed = parse_action('{"own_gain": 5000, "message": "sneaky"}', offer_model(10_000.0, False))
    assert parsed.action is None and parsed.error == 'unknown key "message"'


def test_an_invalid_object_next_to_a_valid_one_does_not_hide_it() -> None:
    parsed = parse_action('Format: {"decision": "accept|reject"}. Answer: {"decision": "reject"}', Response)
    assert parsed.action is not None and parsed.action.decision == "reject"  # type: ignore[attr-defined]


def test_error_values_are_shortened() -> None:
    parsed = parse_action('{"decision": "' + "z" * 500 + '"}', Response)
    assert parsed.error is not None and len(parsed.error) < 120 and parsed.error.endswith("...")


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "{" * 100_000,
        '{"a":[' * 20_000,
        '{"a":{' * 20_000,
        '{"own_gain": "' + "{" * 100_000,
        ('{"own_gain": 1, "message": "' + "a" * 100) * 900,
        "$1," * 40_000,
        '"' * 100_000,
        "\\" * 100_000,
        "\x00\ud800" * 50_000,
    ],
)
def test_huge_and_hostile_replies_return_an_error_without_raising(text: str) -> None:
    parsed = parse_action(text, OFFER)
    assert parsed.action is None
    assert parsed.error


def test_a_valid_action_after_100_kb_of_prose_is_found() -> None:
    text = "blah { not json } " * 6000 + '{"own_gain": 4200, "message": "at last"}'
    assert len(text) > 100_000
    parsed = parse_action(text, OFFER)
    assert parsed.action is not None and parsed.action.own_gain == 4200  # type: ignore[attr-defined]


def test_none_reply_is_an_error_not_a_crash() -> None:
    assert parse_action(None, OFFER).error == "the reply was empty"
