"""`glee serve-agents` configs: who may connect, whom they meet, which games, the clocks and budgets.

Written like a `glee serve-web` study (a YAML file, KEY=VALUE overrides). Agents' keys are read
from the environment variables the config names; the config itself never holds a key.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from glee.config import CONFIG_DIR
from glee.engine.specs import PlayerSpec
from glee.errors import ConfigError, validated
from glee.games import check_family, parse_params
from glee.play.config import check_name, config_file, opponent_spec

DEFAULT_CONFIG = CONFIG_DIR / "agents" / "demo.yaml"
OTHER_AGENT = "agent"
"""The opponent entry that means: another connected agent queued for the same family."""


class AgentEntry(BaseModel):
    """One agent that may connect: its name (its games' label is `agent:<name>`) and the environment
    variable holding its key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    key_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("name")
    @classmethod
    def _plain(cls, name: str) -> str:
        return check_name(name)


class AgentGame(BaseModel):
    """One configuration agents are matched into: a family and its parameters (as in `glee run`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str
    params: dict[str, Any] = {}


class RateLimit(BaseModel):
    """At most `requests` per agent in any `per_s` seconds; more get 429 with Retry-After."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: int = Field(60, ge=1)
    per_s: float = Field(60.0, gt=0)


class AgentsConfig(BaseModel):
    """`glee serve-agents`: the agent API of the GLEE competition, served locally."""

    model_config = ConfigDict(extra="forbid")

    agents: list[AgentEntry] = Field(min_length=1)
    games: list[AgentGame] = Field(min_length=1)
    opponents: list[str | dict[str, Any]] = Field(
        default_factory=lambda: list[str | dict[str, Any]](["spe"]), min_length=1
    )
    """glee players by name (a config of the player group) or inline specs, or `agent`: another connected agent."""
    seats: list[int] = [1, 2]
    """The seats a queued agent is given, in turn."""
    n_games: int = Field(10, ge=1)
    """Games each agent is started in, per family it queues for."""
    games_in_flight: int = Field(8, ge=1)
    """Games a queued agent plays at once at most (a queue entry keeps this many going)."""
    turn_timeout_s: float = Field(120.0, gt=0)
    """A seat that sends no valid move this long after it was asked forfeits."""
    max_attempts: int = Field(5, ge=1)
    """Moves a seat may send per turn (invalid ones included) before the game is a forfeit."""
    move_wait_s: float = Field(5.0, ge=0)
    """How long a move's answer waits for the game to move on (so `game_over` can say the game ended)."""
    disclose_opponent: bool = True
    """Whether the game dict's `opponent` names the opponent (else `{"type": "hidden", "name": null}`)."""
    with_prompt: bool = True
    """Whether game dicts carry glee's prompt text."""
    rate_limit: RateLimit = RateLimit()
    open_at: datetime | None = None
    """Before it, queueing answers the competition's `competition_not_open` (None: open)."""
    close_at: datetime | None = None
    """After it, the competition's `competition_closed` (None: never)."""
    db: Path = Path("data/glee.duckdb")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    seed: int = Field(0, ge=0)

    @field_validator("seats")
    @classmethod
    def _seats(cls, seats: list[int]) -> list[int]:
        if not seats or any(s not in (1, 2) for s in seats):
            raise ValueError(f"got {seats!r}; allowed: a list of 1 and/or 2")
        return seats

    def configurations(self) -> dict[str, list[dict[str, Any]]]:
        """Validated parameters of every configuration, by family, in the config's order."""
        out: dict[str, list[dict[str, Any]]] = {}
        for i, game in enumerate(self.games):
            try:
                family = check_family(game.family)
                params = parse_params(family, game.params).model_dump(mode="json")
            except ConfigError as exc:
                raise ConfigError(f"games.{i}.{exc}") from None
            out.setdefault(family, []).append(params)
        return out

    def opponent_specs(self) -> list[PlayerSpec | None]:
        """The opponents, resolved; None is another connected agent."""
        return [None if o == OTHER_AGENT else opponent_spec(o, f"opponents.{i}") for i, o in enumerate(self.opponents)]

    def keys(self) -> dict[str, str]:
        """key -> agent name, read from the environment; a missing variable is one ConfigError."""
        out: dict[str, str] = {}
        for i, agent in enumerate(self.agents):
            key = os.environ.get(agent.key_env, "")
            if not key:
                raise ConfigError(
                    f"agents.{i}.key_env: the environment variable {agent.key_env} is not set; "
                    f"allowed: the name of a variable holding agent {agent.name!r}'s key"
                )
            if key in out:
                raise ConfigError(f"agents.{i}.key_env: {agent.key_env} holds the same key as another agent's")
            out[key] = agent.name
        return out


def agents_config(args: list[str]) -> AgentsConfig:
    """A config from an optional YAML file (default: configs/agents/demo.yaml) and KEY=VALUE overrides."""
    data = config_file(args, DEFAULT_CONFIG, "config", "serve-agents")
    config: AgentsConfig = validated(AgentsConfig, data, "")
    config.configurations()
    config.opponent_specs()
    return config
