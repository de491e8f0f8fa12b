"""Playing whole games in tests: players drive the rules, Nature draws from the state.

`play` is a coroutine so that a test runs all its games inside one `asyncio.run` (one
event loop for the whole test, not one per turn).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from glee.games import NATURE, Action, GameState, Params, Seat, new_game
from glee.games.conformance import Chooser, ChooserFor
from glee.players.base import Player
from glee.players.baseline import BaselinePlayer, Strategy, make_baseline

Check = Callable[[GameState, int, Action], None]
"""Called before every move with the state, the seat to move (0: Nature) and its action."""


async def play(state: GameState, players: Mapping[Seat, Player], check: Check | None = None) -> GameState:
    """Play `state` to the end; `check` sees every move before it is applied."""
    while not state.is_over:
        seat = state.to_act()
        assert seat is not None
        if seat == NATURE:
            action = state.nature_action()
        else:
            decision = await players[seat].act(state.observation(seat), state.action_model())
            assert decision.action is not None, f"{players[seat].label} gave no action"
            action = decision.action
        if check is not None:
            check(state, seat, action)
        state = state.apply(action)
    return state


def baselines(params: Params, strategy_1: Strategy, strategy_2: Strategy, seed: int) -> dict[Seat, Player]:
    """Two baseline players for a game, with seeds derived from the game's seed."""
    return {
        1: make_baseline(strategy_1, params, 1, seed * 2 + 1),
        2: make_baseline(strategy_2, params, 2, seed * 2 + 2),
    }


async def play_baselines(
    params: Params, strategy_1: Strategy, strategy_2: Strategy, seed: int, check: Check | None = None
) -> GameState:
    return await play(new_game(params, seed), baselines(params, strategy_1, strategy_2, seed), check)


def baseline_chooser(strategy_1: Strategy, strategy_2: Strategy) -> ChooserFor:
    """The conformance kit's chooser: two baseline players, seeded from the game's seed."""

    def chooser_for(params: Params, seed: int) -> Chooser:
        players = baselines(params, strategy_1, strategy_2, seed)

        def choose(state: GameState, seat: Seat) -> Action:
            player = players[seat]
            assert isinstance(player, BaselinePlayer)
            return player.choose(state.observation(seat), state.action_model())

        return choose

    return chooser_for
