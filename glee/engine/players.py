"""PlayerSpec -> Player: baselines directly, LLM players over the run's shared endpoints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from glee.backends.spec import EndpointSpec
from glee.engine.match import PlayerFactory
from glee.engine.specs import PlayerSpec
from glee.errors import ConfigError
from glee.games import Params, Seat
from glee.players.base import ChatEndpoint, Player
from glee.players.baseline import make_baseline


def endpoint_specs(players: Iterable[PlayerSpec]) -> list[EndpointSpec]:
    """The distinct endpoints of these players, in first-seen order."""
    return list(dict.fromkeys(p.endpoint for p in players if p.kind == "llm" and p.endpoint is not None))


def player_factory(endpoints: Mapping[EndpointSpec, ChatEndpoint]) -> PlayerFactory:
    """The factory the match calls for each seat of each game; `endpoints` are the run's, opened once."""

    def make(spec: PlayerSpec, params: Params, seat: Seat, seed: int) -> Player:
        # PlayerSpec's validator guarantees a strategy for baselines and an endpoint for LLMs.
        if spec.kind == "baseline" and spec.strategy is not None:
            return make_baseline(spec.strategy, params, seat, seed)
        if spec.kind == "llm" and spec.endpoint is not None:
            from glee.players.llm import LLMPlayer  # type: ignore[import-not-found,unused-ignore]

            player: Player = LLMPlayer(
                endpoints[spec.endpoint], spec.sampling, spec.max_attempts, spec.label(), seed=seed
            )
            return player
        raise ConfigError(
            f"player.kind: got {spec.kind!r}; sweeps play 'baseline' and 'llm' players "
            "(humans play one game at a time with `glee play`)"
        )

    return make
