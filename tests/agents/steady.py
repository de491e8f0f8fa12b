"""A competition agent written for glee's tests, in the SDK's own shapes (deterministic, no I/O).

Bargaining: asks for 60 % and accepts 40 % or more. Negotiation: asks 30 % above its own value,
accepts any deal at least as good as its value, else counters 10 % off it. Persuasion: the seller
recommends high products only and always praises; the buyer buys when the expected worth beats the price.
"""

from __future__ import annotations

from typing import Any


def bargaining(game: dict[str, Any]) -> dict[str, Any]:
    state = game["game_state"]
    money = state["money_to_divide"]
    me = game["your_player"]
    if game["valid_actions"]["type"] == "offer":
        mine = 0.6 * money
        gains = (
            {"alice_gain": mine, "bob_gain": money - mine}
            if me == "player_1"
            else {
                "alice_gain": money - mine,
                "bob_gain": mine,
            }
        )
        return {**gains, "message": "60 % for me, please."}
    return {"decision": "accept" if state["last_offer"][f"{me}_gain"] >= 0.4 * money else "reject"}


def negotiation(game: dict[str, Any]) -> dict[str, Any]:
    state = game["game_state"]
    me = state["current_player"]
    seller = state[f"{me}_role"] == "seller"
    value = state[f"{me}_value"]
    ask = value * (1.3 if seller else 0.7)
    if game["valid_actions"]["type"] == "offer":
        return {"product_price": ask, "message": "My price."}
    price = state["last_offer"]["price"]
    if (price >= value) if seller else (price <= value):
        return {"decision": "AcceptOffer"}
    return {"decision": "RejectOffer", "product_price": value * (1.1 if seller else 0.9), "message": "Closer?"}


def persuasion(game: dict[str, Any]) -> dict[str, Any]:
    state = game["game_state"]
    kind = game["valid_actions"]["type"]
    if kind == "seller_message":
        return {"message": "A fine product." if state["current_quality"] == "high" else "A product."}
    if kind == "seller_recommendation":
        return {"decision": "yes" if state["current_quality"] == "high" else "no"}
    said = state["seller_message"]
    belief = 1.0 if said in ("yes", "A fine product.") else 0.0 if said in ("no", "A product.") else state["p"]
    worth = belief * state["v"] + (1 - belief) * state["u"]
    return {"decision": "yes" if worth > state["product_price"] else "no"}


STRATEGIES = {"bargaining": bargaining, "negotiation": negotiation, "persuasion": persuasion}


def strategy(game: dict[str, Any]) -> dict[str, Any]:
    return STRATEGIES[game["game_family"]](game)


def broken(game: dict[str, Any]) -> dict[str, Any]:
    """Every move invalid: a bad sum, a bad shape or an exception, by family."""
    if game["game_family"] == "bargaining":
        return {"alice_gain": 1, "bob_gain": 1}
    if game["game_family"] == "negotiation":
        return {"price": 5}
    raise RuntimeError("no idea")
