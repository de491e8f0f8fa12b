"""Bargaining in the competition's shapes: `alice_gain` + `bob_gain` = `money_to_divide`, and a
decision of accept, reject or (where the game allows it, `walkaway_allowed`) walkaway."""

from __future__ import annotations

from typing import Any

from glee.games import Action
from glee.games.bargaining import BargainingObservation, offer_model
from glee.players.sdk.codec import (
    InvalidMove,
    Move,
    SdkCodec,
    SdkView,
    choice,
    history,
    message,
    message_field,
    number,
    player_key,
    quoted,
    register_codec,
    validate,
)

SPLIT_TOLERANCE = 1e-9
"""How far (times M) the two gains may sum from M: GAMES.md's tolerance of a split."""


def _decisions(o: BargainingObservation) -> tuple[str, ...]:
    return ("accept", "reject", "walkaway") if o.walkaway_allowed else ("accept", "reject")


def _last_offer(o: BargainingObservation) -> dict[str, Any] | None:
    offers = [t for t in o.events if t.kind == "propose"]
    if not offers:
        return None
    last = offers[-1]
    keep = min(float(last.action["own_gain"]), o.money)
    split = (keep, o.money - keep) if last.seat == 1 else (o.money - keep, keep)
    return {
        "player_1_gain": split[0],
        "player_2_gain": split[1],
        "message": last.action.get("message"),
        "proposer": player_key(last.seat),
        "round": last.round,
    }


def view(o: BargainingObservation, action_model: type[Action]) -> SdkView:
    offering = o.kind == "propose"
    phase = "offer" if offering else "decision"
    state: dict[str, Any] = {
        "phase": phase,
        "current_player": player_key(o.seat),
        "proposer": player_key(o.proposer),
        "round": o.round,
        "horizon_known": o.max_rounds is not None,
        "money_to_divide": o.money,
        f"delta_{o.seat}": o.own_delta,
        "last_offer": _last_offer(o),
        "messages_allowed": o.messages_allowed,
        "complete_information": o.other_delta is not None,
        "history": history(o.events),
    }
    if o.max_rounds is not None:
        state["max_rounds"] = o.max_rounds
    if o.other_delta is not None:
        state[f"delta_{3 - o.seat}"] = o.other_delta
    if offering:
        total = f"alice_gain + bob_gain must equal {o.money:g}"
        fields = {
            "alice_gain": f"number >= 0 (player_1's share; {total})",
            "bob_gain": f"number >= 0 (player_2's share; {total})",
            **message_field(o.messages_allowed),
        }
    else:
        fields = {"decision": quoted(_decisions(o))}
    return SdkView(phase=phase, game_state=state, valid_actions={"type": phase, "fields": fields})


def decode(o: BargainingObservation, action_model: type[Action], move: Move) -> list[Action]:
    if o.kind != "propose":
        return [validate(action_model, {"decision": choice(move, "decision", _decisions(o))})]
    alice, bob = number(move, "alice_gain"), number(move, "bob_gain")
    for key, gain in (("alice_gain", alice), ("bob_gain", bob)):
        if gain < 0:
            raise InvalidMove(f"{key}: got {gain:g}; allowed: a number >= 0")
    if abs(alice + bob - o.money) > SPLIT_TOLERANCE * o.money:
        raise InvalidMove(f"alice_gain + bob_gain: got {alice + bob:g}; allowed: exactly {o.money:g}")
    own = min(alice if o.seat == 1 else bob, o.money)  # within the tolerance, never above M
    model = offer_model(o.money, o.messages_allowed)
    return [validate(model, {"own_gain": own, **message(move, o.messages_allowed)})]


register_codec(SdkCodec(family="bargaining", view=view, decode=decode))
