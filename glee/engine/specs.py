"""What a run plays: player specs, game specs with content-hash ids, and the run config."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from glee.backends.spec import EndpointSpec
from glee.games import Family
from glee.players.base import Sampling

Strategy = Literal["spe", "random", "fair"]


class PlayerSpec(BaseModel):
    """One agent: a baseline strategy, an LLM behind an endpoint, or a human."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["baseline", "llm", "human"] = "baseline"
    strategy: Strategy | None = "spe"
    """Baselines only."""
    endpoint: EndpointSpec | None = None
    """LLMs only."""
    sampling: Sampling = Sampling()
    max_attempts: int = Field(3, ge=1)
    """Tries per turn before the game is forfeited (1 + re-asks; default 2 re-asks)."""
    name: str | None = None
    """Overrides the agent label (humans: `human:<name>`)."""


    def label(self) -> str:
        """The stable agent label stored in games.player_N."""
        if self.name:
            return self.name if self.kind != "human" else f"human:{self.name}"
        if self.kind == "baseline":
            return f"baseline:{self.strategy}"
        if self.kind == "human":
            return "human"
        assert self.endpoint is not None
        model = self.endpoint.model or "SmolLM2-135M-Instruct"
        return f"{model.rsplit('/', 1)[-1].removesuffix('.gguf')}@{self.endpoint.backend}"

    def identity(self) -> dict[str, Any]:
        """Everything about this player that changes what is played (no transport settings)."""
        data = self.model_dump(mode="json")
        if self.endpoint is not None:
            for key in self.endpoint.transport_fields():
                data["endpoint"].pop(key, None)
        return data


class GameSpec(BaseModel):
    """One game to play. `game_id` hashes everything that determines what is played."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Family
    params: dict[str, Any]
    """Validated parameters, as `Params.model_dump(mode="json")`."""
    player_1: PlayerSpec
    player_2: PlayerSpec
    replicate: int = 0
    run_seed: int = 0
    prompt_version: str = ""
    game_id: str = ""
    seed: int = 0
    """Nature's and the players' seed, derived from run_seed and game_id."""
