"""What a run plays: player specs, game specs with content-hash ids, and the run config."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from glee.backends.spec import EndpointSpec
from glee.games import Family, Params, families, parse_params
from glee.players.base import Sampling
from glee.players.baseline import STRATEGIES, Strategy

SDK_ONLY = {"threads", "with_prompt"}
"""PlayerSpec fields only sdk players take."""


class PlayerSpec(BaseModel):
    """One agent: a baseline strategy, an LLM behind an endpoint, a competition agent's strategy
    function (`sdk`), a competition agent connected to `glee serve-agents` (`agent`), or a human."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["baseline", "llm", "sdk", "agent", "human"] = "baseline"
    strategy: str | None = "spe"
    """A baseline's rule (spe, random or fair); an sdk player's function, `path/to/agent.py:function` or
    `package.module:function` (glee.players.sdk)."""
    endpoint: EndpointSpec | None = None
    """LLMs only."""
    sampling: Sampling = Sampling()
    max_attempts: int = Field(3, ge=1)
    """Tries per turn before the game is forfeited (1 + re-asks; default 2 re-asks)."""
    name: str | None = None
    """Overrides the agent label (humans: `human:<name>`)."""
    threads: int = Field(0, ge=0)
    """sdk players: worker threads for a blocking strategy (one pool per strategy), 0 to call it in the event
    loop (a pure-Python agent). Transport only: not part of the game's identity."""
    with_prompt: bool = True
    """sdk players: whether the game dict carries glee's prompt text (`prompt`). Rendering it is most of an
    in-process turn's cost; a strategy that never reads it may switch it off (the key then holds "")."""

    @field_validator("strategy")
    @classmethod
    def _strategy_of_the_kind(cls, strategy: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind", "baseline")
        if kind == "baseline" and strategy is not None and strategy not in STRATEGIES:
            raise ValueError(f"got {strategy!r}; allowed for a baseline: one of {list(STRATEGIES)}")
        if kind == "sdk" and (strategy is None or strategy in STRATEGIES or ":" not in strategy):
            raise ValueError(
                f"got {strategy!r}; allowed for an sdk player: path/to/agent.py:function or package.module:function"
            )
        return strategy

    @model_validator(mode="after")
    def _check_kind(self) -> PlayerSpec:
        if self.kind == "agent" and not self.name:
            raise ValueError("an agent player needs a name (its label is agent:<name>)")
        if self.kind == "llm" and self.endpoint is None:
            raise ValueError("an llm player needs an endpoint")
        if self.kind == "baseline" and self.strategy is None:
            raise ValueError("a baseline player needs a strategy (spe, random or fair)")
        if self.kind == "baseline" and beyond_baseline(self.model_dump(mode="json")):
            key = next(iter(beyond_baseline(self.model_dump(mode="json"))))
            raise ValueError(f"a baseline player plays by its rule and takes no {key}")
        return self

    def label(self) -> str:
        """The stable agent label stored in games.player_N."""
        if self.name:
            return f"{self.kind}:{self.name}" if self.kind in ("human", "agent") else self.name
        if self.kind == "baseline":
            return f"baseline:{self.strategy}"
        if self.kind == "sdk":
            return f"sdk:{str(self.strategy).rpartition(':')[2]}"
        if self.kind == "human":
            return "human"
        assert self.endpoint is not None
        model = self.endpoint.model or "SmolLM2-135M-Instruct"
        return f"{model.rsplit('/', 1)[-1].removesuffix('.gguf')}@{self.endpoint.backend}"

    def identity(self) -> dict[str, Any]:
        """Everything about this player that changes what is played (no transport settings)."""
        # The sdk player's own settings are left out of other kinds' identities (their ids predate them).
        data = self.model_dump(mode="json", exclude={"threads"} if self.kind == "sdk" else SDK_ONLY)
        if self.endpoint is not None:
            for key in self.endpoint.transport_fields():
                data["endpoint"].pop(key, None)
            data["endpoint"]["engine_args"] = self.endpoint.model_engine_args()
        return data


class BaselineSpec(BaseModel):
    """The fields of PlayerSpec that a baseline takes: it plays by its rule, so no endpoint,
    sampling or re-asks (a value for one of those is refused, never silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["baseline"] = "baseline"
    strategy: Strategy = "spe"
    name: str | None = None


def beyond_baseline(player: dict[str, Any]) -> dict[str, Any]:
    """The settings of a player config (dotted keys, e.g. `sampling.temperature`) that differ from
    PlayerSpec's defaults and that a baseline does not take."""
    out: dict[str, Any] = {}
    for key, value in player.items():
        if key in BaselineSpec.model_fields or key not in PlayerSpec.model_fields:
            continue  # unknown keys are PlayerSpec's to refuse
        default = PlayerSpec.model_fields[key].get_default(call_default_factory=True)
        if isinstance(default, BaseModel) and isinstance(value, dict):
            for sub, sub_value in value.items():
                if sub not in type(default).model_fields or sub_value != getattr(default, sub):
                    out[f"{key}.{sub}"] = sub_value
        elif value != (default.model_dump(mode="json") if isinstance(default, BaseModel) else default):
            out[key] = value
    return out


class GameSpec(BaseModel):
    """One game to play. `game_id` hashes everything that determines what is played.

    Made by `GameSpec.create`, which computes the id and the seed. `params` is the family's own
    parameters model (glee.games.registry), validated once; a dict given here (a spec read back
    from JSON) is parsed by the family's model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Family
    params: SerializeAsAny[Params]
    player_1: PlayerSpec
    player_2: PlayerSpec
    replicate: int = 0
    run_seed: int = 0
    game_id: str = ""
    seed: int = 0
    """Nature's and the players' seed, derived from run_seed and game_id."""

    @model_validator(mode="before")
    @classmethod
    def _typed_params(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("params"), dict):
            data = {**data, "params": parse_params(str(data.get("family")), data["params"])}
        return data

    @model_validator(mode="after")
    def _params_of_the_family(self) -> GameSpec:
        if self.params.family != self.family:
            raise ValueError(f"params are {self.params.family}'s, the game is {self.family}")
        return self

    @classmethod
    def create(
        cls,
        family: str,
        params: Params | dict[str, Any],
        player_1: PlayerSpec,
        player_2: PlayerSpec,
        replicate: int = 0,
        run_seed: int = 0,
    ) -> GameSpec:
        """The spec of one game, with its content-hash id and its seed (the one way to make a spec)."""
        from glee.engine.plan import derive_seed, game_id  # plan imports this module

        typed = params if isinstance(params, Params) else parse_params(family, params)
        gid = game_id(family, typed.model_dump(mode="json"), player_1, player_2, run_seed, replicate)
        return cls(
            family=family,
            params=typed,
            player_1=player_1,
            player_2=player_2,
            replicate=replicate,
            run_seed=run_seed,
            game_id=gid,
            seed=derive_seed(run_seed, gid),
        )

    def params_json(self) -> dict[str, Any]:
        """The parameters as stored (games.params): `Params.model_dump(mode="json")`."""
        return self.params.model_dump(mode="json")


class GameSet(BaseModel):
    """The configurations of one family a run plays.

    The configurations are `params` followed by the expansion of `grid` (a dict of lists,
    or `"paper"` for the GLEE paper's grid of this family); with neither, the family's
    defaults. `fixed` is merged into every configuration (e.g. `{"rounds": 5}`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Family
    params: list[dict[str, Any]] = []
    grid: dict[str, list[Any]] | Literal["paper"] | None = None
    fixed: dict[str, Any] = {}


class Shard(BaseModel):
    """Shard `index` of `count` of a plan (`shard=K/N`, 1 <= K <= N): the games whose id, read as a
    number, leaves remainder K-1 when divided by N. Ids are hashes, so the N shards are about equal,
    disjoint, together the whole plan, and the same for the same plan on every machine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(ge=1)
    count: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(data))
        if match is None:
            raise ValueError("allowed: K/N with 1 <= K <= N, e.g. shard=1/4")
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise ValueError(f"shard {index} of {count} does not exist; allowed: K/N with 1 <= K <= N")
        return {"index": index, "count": count}

    def holds(self, game_id: str) -> bool:
        """Whether the game with this id is in this shard."""
        return int(game_id, 16) % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


class RunConfig(BaseModel):
    """One experiment: which games, which player pairs, how many replicates, where to store them."""

    model_config = ConfigDict(extra="forbid")

    experiment: str = "default"
    games: list[GameSet] = Field(default_factory=lambda: [GameSet(family=f) for f in families()])
    pairs: list[tuple[PlayerSpec, PlayerSpec]] = Field(default_factory=lambda: [(PlayerSpec(), PlayerSpec())])
    """Player 1 (Alice) and player 2 (Bob) of each pair."""
    swap_seats: bool = False
    """Also play every pair with the seats swapped (a pair of equal specs is played once)."""
    n_games: int = Field(1, ge=1)
    """Replicates per (configuration, pair)."""
    seed: int = Field(0, ge=0)
    db: Path = Path("data/glee.duckdb")
    max_games_in_flight: int = Field(64, ge=1)
    workers: int | None = Field(None, ge=1)
    """Processes of this machine playing the run (one writes the database); None: the cores there are,
    one per 1000 games to play (glee.engine.workers), within every endpoint's limit on requests in flight."""
    shard: Shard | None = None
    """Play only this shard of the plan (`shard=K/N`); `shards=N` on the command line runs all N as a sweep."""
    progress: bool = True
    """Show a progress bar on stderr."""
    overrides: list[str] = Field(default_factory=list)
    """The command-line overrides it was composed from (recorded in runs.overrides; nothing played depends on them)."""

    @field_serializer("shard")
    def _shard_text(self, shard: Shard | None) -> str | None:
        return None if shard is None else str(shard)

    @field_validator("pairs")
    @classmethod
    def _some_pairs(cls, pairs: list[tuple[PlayerSpec, PlayerSpec]]) -> list[tuple[PlayerSpec, PlayerSpec]]:
        if not pairs:
            raise ValueError("pairs must name at least one pair of players")
        return pairs


def failure_reason(error: str | None, kind: str | None = None) -> str:
    """What a failed game is counted under: its error kind when recorded, else the exception's name
    (the first word of the stored error, or of a traceback's last line)."""
    if kind:
        return kind
    lines = [line.strip() for line in (error or "").strip().splitlines() if line.strip()]
    if not lines:
        return "unknown"
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    head = line.split(":", 1)[0].strip()
    return head if head.replace(".", "").replace("_", "").isalnum() else line[:80]


class RunSummary(BaseModel):
    """What a run did, printed at the end and returned by `run`."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    db: Path
    planned: int
    skipped: int
    """Games already completed or forfeited in the database (not played again)."""
    completed: int = 0
    forfeit: int = 0
    failed: int = 0
    workers: int = 1
    """Processes that played the games (workers=N)."""
    interrupted: bool = False
    """Stopped by Ctrl-C before every planned game was played."""
    error: str | None = None
    """Why the run stopped early (an endpoint that cannot work), if it did."""
    failures: dict[str, int] = Field(default_factory=dict)
    """Failed games by reason (see failure_reason), most frequent first when printed."""
    wall_s: float = 0.0
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def played(self) -> int:
        return self.completed + self.forfeit + self.failed

    @property
    def games_per_s(self) -> float:
        return self.played / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.wall_s if self.wall_s > 0 else 0.0

    def text(self) -> str:
        """The summary printed at the end of a run."""
        lines = [
            f"run {self.run_id} -> {self.db}",
            f"  planned {self.planned}, skipped (already done) {self.skipped}, played {self.played}: "
            f"completed {self.completed}, forfeit {self.forfeit}, failed {self.failed}"
            + (" (interrupted)" if self.interrupted else ""),
            f"  {self.wall_s:.1f} s" + (f" in {self.workers} processes" if self.workers > 1 else "") + ", "
            f"{self.games_per_s:.1f} games/s, {self.turns_per_s:.1f} turns/s, "
            f"tokens {self.prompt_tokens} prompt + {self.completion_tokens} completion",
        ]
        if self.failures:
            reasons = sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(f"  failed {self.failed}: " + ", ".join(f"{reason} {n}" for reason, n in reasons))
        if self.error:
            lines.append(f"  stopped: {self.error}")
        return "\n".join(lines)
