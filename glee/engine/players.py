"""PlayerSpec -> Player: baselines and sdk strategies directly, LLM players over the run's shared endpoints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from glee.backends.spec import EndpointSpec
from glee.engine.match import PlayerFactory
from glee.engine.specs import PlayerSpec
from glee.errors import ConfigError
from glee.games import Params, Seat
from glee.players.base import ChatEndpoint, Player
from glee.players.baseline import Strategy, make_baseline


def endpoint_specs(players: Iterable[PlayerSpec]) -> list[EndpointSpec]:
    """The distinct endpoints of these players, in first-seen order."""
    return list(dict.fromkeys(p.endpoint for p in players if p.kind == "llm" and p.endpoint is not None))


def player_factory(endpoints: Mapping[EndpointSpec, ChatEndpoint]) -> PlayerFactory:
    """The factory the match calls for each seat of each game; `endpoints` are the run's, opened once."""

    def make(spec: PlayerSpec, params: Params, seat: Seat, seed: int) -> Player:
        # PlayerSpec's validator guarantees a strategy for baselines and an endpoint for LLMs.
        if spec.kind == "baseline" and spec.strategy is not None:
            return make_baseline(cast(Strategy, spec.strategy), params, seat, seed)
        if spec.kind == "sdk" and spec.strategy is not None:
            from glee.players.sdk import SdkPlayer, load_strategy, thread_pool

            executor = thread_pool(spec.strategy, spec.threads) if spec.threads else None
            # The game's id is not the factory's to know; the seat's seed names the game as uniquely.
            game_id = f"{seed:016x}"
            return SdkPlayer(
                load_strategy(spec.strategy),
                spec.label(),
                spec.max_attempts,
                game_id,
                executor=executor,
                with_prompt=spec.with_prompt,
            )
        if spec.kind == "llm" and spec.endpoint is not None:
            from glee.players.llm import LLMPlayer  # type: ignore[import-not-found,unused-ignore]

            player: Player = LLMPlayer(endpoints[spec.endpoint], spec.sampling, spec.max_attempts, spec.label())
            return player
        raise ConfigError(
            f"player.kind: got {spec.kind!r}; sweeps play 'baseline', 'llm' and 'sdk' players "
            "(humans play one game at a time with `glee play`)"
        )

    return make
