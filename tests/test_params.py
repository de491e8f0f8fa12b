"""Parameters: defaults, original GLEE keys, the paper grids, and one clear error for bad input."""

from __future__ import annotations

from typing import Any

import pytest

from glee.games import ConfigError, check_family, parse_params, restore
from glee.games.grids import paper_grid


@pytest.mark.parametrize(
    ("family", "raw", "message"),
    [
        ("bargaining", {"delta_1": 1.3}, "bargaining.delta_1: got 1.3; allowed: a number <= 1"),
        ("bargaining", {"delta_2": 0}, "bargaining.delta_2: got 0; allowed: a number > 0"),
        ("bargaining", {"money": -100}, "bargaining.money: got -100; allowed: a number > 0"),
        ("negotiation", {"price_scale": -1}, "negotiation.price_scale: got -1; allowed: a number > 0"),
        ("persuasion", {"price": -5}, "persuasion.price: got -5; allowed: a number > 0"),
        ("negotiation", {"seller_value": -0.5}, "negotiation.seller_value: got -0.5; allowed: a number >= 0"),
        ("bargaining", {"max_rounds": 0}, "bargaining.max_rounds: got 0; allowed: a number >= 1"),
        ("persuasion", {"p": 1.5}, "persuasion.p: got 1.5; allowed: a number <= 1"),
        (
            "persuasion",
            {"v": 0.5, "c": 0.5},
            "persuasion.c: must be below v (0.5): a low-quality product is worth less than a high-quality one"
            " (got 0.5)",
        ),
        (
            "persuasion",
            {"seller_message_type": "emoji"},
            "persuasion.seller_message_type: got 'emoji'; allowed: one of",
        ),
        (
            "bargaining",
            {"name_1": "Ann", "name_2": "Ann"},
            "bargaining.name_2: must differ from name_1 ('Ann') (got 'Ann')",
        ),
        ("negotiation", {"name_2": "Alice"}, "negotiation.name_2: must differ from name_1 ('Alice') (got 'Alice')"),
        ("persuasion", {"name_1": "Bob"}, "persuasion.name_2: must differ from name_1 ('Bob') (got 'Bob')"),
        ("negotiation", {"price_scale": float("inf")}, "negotiation.price_scale: got inf; allowed:"),
    ],
)
def test_a_bad_parameter_raises_one_config_error_naming_field_value_and_what_is_allowed(
    family: str, raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_params(family, raw)
    assert str(caught.value).startswith(message)


def test_an_unknown_key_is_named_with_the_keys_that_are_allowed() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_params("bargaining", {"deltaa_1": 0.9})
    text = str(caught.value)
    assert text.startswith("bargaining.deltaa_1: unknown key (value 0.9); allowed keys: ")
    assert "delta_1" in text.split("allowed keys: ")[1] and "money" in text


def test_an_unknown_family_is_named_with_the_families_that_exist() -> None:
    with pytest.raises(ConfigError, match=r"family: got 'poker'; allowed: one of \['bargaining', 'negotiation', "):
        parse_params("poker", {})
    with pytest.raises(ConfigError, match="poker"):
        check_family("poker")
    with pytest.raises(ConfigError, match="poker"):
        restore("poker", "{}")


def test_several_bad_fields_are_reported_together_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_params("bargaining", {"delta_1": 1.3, "money": -1})
    assert "bargaining.delta_1: got 1.3" in str(caught.value) and "bargaining.money: got -1" in str(caught.value)


def test_a_config_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="delta_1"):
        parse_params("bargaining", {"delta_1": 2})


def test_defaults_are_the_papers_reference_configurations() -> None:
    b = parse_params("bargaining")
    assert (b.delta_1, b.delta_2, b.money, b.max_rounds) == (0.95, 0.95, 10_000, 99)  # type: ignore[attr-defined]
    assert (b.complete_information, b.messages_allowed, b.horizon_disclosed) == (True, True, False)  # type: ignore[attr-defined]
    n = parse_params("negotiation")
    assert (n.seller_value, n.buyer_value, n.price_scale, n.max_rounds) == (1.0, 1.2, 10_000, 30)  # type: ignore[attr-defined]
    p = parse_params("persuasion")
    assert (p.p, p.v, p.c, p.price, p.rounds) == (0.5, 2.0, 0.0, 10_000, 20)  # type: ignore[attr-defined]
    assert (p.seller_knows_buyer_values, p.buyer_knows_p, p.seller_message_type, p.myopic_buyer) == (  # type: ignore[attr-defined]
        True,
        True,
        "text",
        False,
    )


@pytest.mark.parametrize(
    ("family", "original", "glee"),
    [
        ("bargaining", {"money_to_divide": 100}, {"money": 100}),
        ("negotiation", {"product_price_order": 100}, {"price_scale": 100}),
        (
            "persuasion",
            {
                "product_price": 100,
                "total_rounds": 7,
                "is_seller_know_cv": False,
                "is_buyer_know_p": False,
                "is_myopic": True,
                "allow_buyer_message": True,
            },
            {
                "price": 100,
                "rounds": 7,
                "seller_knows_buyer_values": False,
                "buyer_knows_p": False,
                "myopic_buyer": True,
                "buyer_messages_allowed": True,
            },
        ),
    ],
)
def test_original_glee_keys_load_as_glee_names(family: str, original: dict[str, Any], glee: dict[str, Any]) -> None:
    assert parse_params(family, original) == parse_params(family, glee)
    assert parse_params(family, original).model_dump() != parse_params(family).model_dump()


def test_the_horizon_is_disclosed_by_default_only_up_to_20_rounds() -> None:
    for family in ("bargaining", "negotiation"):
        assert parse_params(family, {"max_rounds": 20}).horizon_disclosed is True  # type: ignore[attr-defined]
        assert parse_params(family, {"max_rounds": 21}).horizon_disclosed is False  # type: ignore[attr-defined]
        assert parse_params(family, {"max_rounds": 99, "horizon_disclosed": True}).horizon_disclosed is True  # type: ignore[attr-defined]


def test_params_are_frozen() -> None:
    params = parse_params("bargaining")
    with pytest.raises(ValueError, match="frozen"):
        setattr(params, "delta_1", 0.5)  # noqa: B010 (assignment on a frozen model must raise)


def test_the_paper_grids_have_the_papers_sizes_and_every_configuration_is_valid() -> None:
    sizes = {family: len(paper_grid(family)) for family in ("bargaining", "negotiation", "persuasion")}
    assert sizes == {"bargaining": 384, "negotiation": 576, "persuasion": 360}
    assert sum(sizes.values()) == 1320
    for family in sizes:
        parsed = [parse_params(family, raw).model_dump_json() for raw in paper_grid(family)]
        assert len(set(parsed)) == len(parsed)  # all distinct after validation
