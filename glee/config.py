"""From Hydra to a validated RunConfig: the config tree, the seat shorthands, one-line errors.

Every configuration (each job of a `-m` sweep) is composed and validated here before Hydra
writes anything or a game is played; a bad key, value or group name, or a key-like value,
becomes one ConfigError naming it and what is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from glee.api_keys import refuse_env_interpolation, refuse_secrets_in_config, refuse_secrets_in_overrides
from glee.backends.spec import EndpointSpec
from glee.engine.specs import BaselineSpec, GameSet, PlayerSpec, RunConfig, beyond_baseline
from glee.errors import ConfigError, validated
from glee.games import registry
from glee.players.base import Sampling
from glee.sweeps import register_resolvers

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
PRIMARY = "run"
SHARD_NAME = "shard.duckdb"
register_resolvers()  # ${glee_job_dir:...} names a sweep job's folder (run.yaml)
GROUPS = ("game", "player", "experiment")
SEATS = ("player_1", "player_2")
RUN_SETTINGS = (
    "swap_seats",
    "n_games",
    "seed",
    "db",
    "max_games_in_flight",
    "workers",
    "shard",
    "progress",
    "run_timeout_s",
    "replay",
)
"""The keys of a run's config that pass to RunConfig as they are."""
RUN_KEYS = ("game", "grid", "games", "player_1", "player_2", "pairs", *RUN_SETTINGS)


# --- seat shorthands -------------------------------------------------------------------------

_SEAT_OVERRIDE = re.compile(r"^(?P<prefix>[+~]{0,2})(?P<seat>player_[12])(?P<path>\.[^=]+)?(?P<rest>=.*)?$", re.S)
_SHORT_FIELDS = {name: "sampling" for name in Sampling.model_fields} | {
    name: "endpoint" for name in EndpointSpec.model_fields
}


SEAT_GROUPS = ("prompts", "sampling")
"""Groups a seat's field can be picked from by name: prompts/ (prompt sets), sampling/ (profiles)."""


def group_options(group: str) -> list[str]:
    """The options of one of glee's config groups (the yaml files of its folder)."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def expand_seats(overrides: list[str]) -> list[str]:
    """Hydra spellings of the seat shorthands.

    `player_1=NAME` picks a config of the player group for seat 1 (Hydra's `player@player_1=NAME`);
    `player_1.prompts=NAME` picks a prompt set of the prompts group (`+prompts@player_1=NAME`, the set
    and its options' defaults), `player_1.sampling=NAME` a sampling profile of the sampling group;
    `player_1.temperature=0.7` is `player_1.sampling.temperature=0.7`, `player_1.model=M` is
    `player_1.endpoint.model=M`.
    """
    out = []
    for item in overrides:
        match = _SEAT_OVERRIDE.match(item)
        if match is None or item.startswith("-"):
            out.append(item)
            continue
        prefix, seat, path, rest = match["prefix"], match["seat"], match["path"], match["rest"] or ""
        if not path:
            out.append(f"{prefix}player@{seat}{rest}")
            continue
        group = path[1:]
        if group in SEAT_GROUPS and rest.startswith("=") and rest[1:] in group_options(group):
            # A named option of a seat's group: its file sets the field and its companions (a prompt
            # set's options, a sampling profile's every parameter).
            package = seat if group == "prompts" else f"{seat}.{group}"
            out.append(f"+{group}@{package}{rest}")
            continue
        head, _, tail = path[1:].partition(".")
        if head in _SHORT_FIELDS and head not in PlayerSpec.model_fields:
            path = f".{_SHORT_FIELDS[head]}.{head}" + (f".{tail}" if tail else "")
        out.append(f"{prefix}{seat}{path}{rest}")
    return out


def expand_shards(args: list[str]) -> list[str]:
    """`shards=N` is the sweep `-m shard=1/N,...,N/N`: N jobs, each playing one shard of the plan
    (with any other swept values, N jobs per combination of them)."""
    found = [a for a in args if a.split("=", 1)[0] == "shards"]
    if not found:
        return args
    value = found[-1].split("=", 1)[1]
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"shards: got {value!r}; allowed: a whole number >= 1 (the jobs to split the plan into)")
    if any(_override_key(a) == "shard" for a in args):
        raise ConfigError("shard: given with shards=N; allowed: one of shard=K/N (one shard) or shards=N (all of them)")
    n = int(value)
    out = [a for a in args if a.split("=", 1)[0] != "shards"]
    out.append("shard=" + ",".join(f"{k}/{n}" for k in range(1, n + 1)))
    return out if "-m" in out or "--multirun" in out else ["-m", *out]


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def names_a_game(overrides: list[str]) -> bool:
    """Whether the command line picks or changes a game or a grid."""
    return any(k in ("game", "grid") or k.startswith(("game.", "grid.")) for k in map(_override_key, overrides))


def play_named_game(overrides: list[str]) -> list[str]:
    """A game or grid named on the command line without an experiment plays that game
    (`experiment=single`); with nothing named, the default experiment (the demo) plays."""
    if names_a_game(overrides) and not any(_override_key(o) == "experiment" for o in overrides):
        return [*overrides, "experiment=single"]
    return overrides


def names_a_seat(overrides: list[str]) -> bool:
    """Whether the command line picks or changes a seat (then it plays instead of the experiment's pairs)."""
    for override in overrides:
        key = _override_key(override)
        if key.startswith(("player@player_", "player_1.", "player_2.", *(f"{g}@player_" for g in SEAT_GROUPS))):
            return True
        if key in SEATS:
            return True
    return False


# --- config -> RunConfig ---------------------------------------------------------------------


def player_names() -> list[str]:
    """The options of glee's own player group."""
    return sorted(p.stem for p in (CONFIG_DIR / "player").glob("*.yaml"))


def player_spec(data: Any, where: str) -> PlayerSpec:
    """A validated PlayerSpec; `where` is e.g. "player_1.". A setting that a baseline does not take
    (sampling, endpoint, re-asks) is refused with a line naming it, the player and what is allowed."""
    if isinstance(data, dict) and data.get("kind", "baseline") == "baseline":
        extras = beyond_baseline(data)
        if extras:
            key, value = next(iter(extras.items()))
            raise ConfigError(
                f"{where}{key}: got {value!r}, but {where.rstrip('.')} is the baseline {data.get('strategy')!r}, "
                f"which plays by its rule; allowed for a baseline: {', '.join(BaselineSpec.model_fields)}"
            )
    return validated(PlayerSpec, data, where)


def _named_player(name: Any, where: str, search: list[str]) -> PlayerSpec:
    """A player of `pairs`: the name of a player config (composed as a seat would be), or an inline spec."""
    if isinstance(name, dict):
        return player_spec(name, f"{where}.")
    from hydra.errors import MissingConfigException

    try:
        node = compose_config(PRIMARY, [*search, f"player@player_1={name}"]).player_1
    except MissingConfigException as exc:
        raise ConfigError(f"{where}: unknown player {name!r}; allowed: {', '.join(exc.options or [])}") from None
    return player_spec(OmegaConf.to_container(node, resolve=True), f"{where}.")


def _pairs(data: dict[str, Any], seat_named: bool, search: list[str]) -> list[tuple[PlayerSpec, PlayerSpec]]:
    seats = (
        player_spec(data["player_1"], "player_1."),
        player_spec(data["player_2"], "player_2."),
    )
    pairs = data.get("pairs")
    if seat_named or not pairs:
        return [seats]
    if not isinstance(pairs, list):
        raise ConfigError(f"pairs: got {pairs!r}; allowed: a list of [player_1, player_2] player names")
    out = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ConfigError(f"pairs.{i}: got {pair!r}; allowed: a pair [player_1, player_2] of player names")
        out.append((_named_player(pair[0], f"pairs.{i}.0", search), _named_player(pair[1], f"pairs.{i}.1", search)))
    return out


def _game_sets(data: dict[str, Any], overrides: list[str], experiment: str) -> list[GameSet]:
    if data.get("games") is not None:
        if names_a_game(overrides):
            touched = [
                k for k in map(_override_key, overrides) if k in ("game", "grid") or k.startswith(("game.", "grid."))
            ]
            raise ConfigError(
                f"{touched[0]}: experiment {experiment!r} plays its own `games` list, so game/grid overrides do not "
                f"apply; change games.N.fixed (e.g. +games.0.fixed.max_rounds=10) or use experiment=single"
            )
        if not isinstance(data["games"], list):
            raise ConfigError(
                f"games: got {data['games']!r}; allowed: a list of game sets (family, params, grid, fixed)"
            )
        return [validated(GameSet, item, f"games.{i}.") for i, item in enumerate(data["games"])]
    params = dict(data["game"])
    family = params.pop("family", None)
    if family not in registry.families():
        raise ConfigError(f"game.family: got {family!r}; allowed: one of {list(registry.families())}")
    model = registry.family(family).params
    validated(model, params, "game.")
    grid = data.get("grid") or None
    if grid == "paper":
        grid_keys = set(registry.family(family).grids["paper"])
    elif isinstance(grid, dict):
        grid_keys = set(grid)
        for key, values in grid.items():
            if key not in model.model_fields:
                raise ConfigError(
                    f"grid.{key}: not a parameter of {family}; allowed: {', '.join(sorted(model.model_fields))}"
                )
            if not isinstance(values, list) or not values:
                raise ConfigError(f"grid.{key}: got {values!r}; allowed: a non-empty list of values")
    elif grid is not None:
        raise ConfigError(f"grid: got {grid!r}; allowed: a dict of parameter -> list of values, or 'paper'")
    else:
        grid_keys = set()
    fixed = {k: v for k, v in params.items() if k not in grid_keys}
    return [validated(GameSet, {"family": family, "grid": grid, "fixed": fixed}, "game.")]


def to_run_config(
    cfg: DictConfig | dict[str, Any], overrides: list[str], experiment: str = "single", search: list[str] | None = None
) -> RunConfig:
    """Validate a composed `run` config into a RunConfig, with one-line errors that name the key.

    `search` holds a `hydra.searchpath=[...]` override when the user added a config dir.
    """
    raw = cfg if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    data: dict[str, Any] = {str(k): v for k, v in raw.items() if k != "hydra"}
    refuse_secrets_in_config(data)
    unknown = sorted(set(data) - set(RUN_KEYS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key; allowed: {', '.join(sorted(RUN_KEYS))}")
    fields: dict[str, Any] = {k: data[k] for k in RUN_SETTINGS if k in data}
    fields["experiment"] = experiment
    fields["games"] = _game_sets(data, overrides, experiment)
    fields["pairs"] = _pairs(data, names_a_seat(overrides), search or [])
    return validated(RunConfig, fields, "")


# --- composing with Hydra, errors as one line ------------------------------------------------


def store_game_configs() -> list[str]:
    """Add a `game/<family>` option to Hydra's config store for every registered family that has no
    yaml of its own in glee's configs (a plugin family): its default parameters. Returns their names."""
    from hydra.core.config_store import ConfigStore

    stored = []
    for name in registry.families():
        if not (CONFIG_DIR / "game" / f"{name}.yaml").exists():
            defaults = registry.family(name).params.parse({}).model_dump(mode="json")
            ConfigStore.instance().store(group="game", name=name, node={"family": name, **defaults})
            stored.append(name)
    return stored


def compose_config(name: str, overrides: list[str] | None = None, hydra_node: bool = False) -> DictConfig:
    """Compose a config of the tree, inside a running Hydra app (its search path) or outside one."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    store_game_configs()

    if GlobalHydra.instance().is_initialized():
        return compose(config_name=name, overrides=overrides or [], return_hydra_config=hydra_node)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name=name, overrides=overrides or [], return_hydra_config=hydra_node)


def _compose(overrides: list[str]) -> DictConfig:
    return compose_config(PRIMARY, overrides, hydra_node=True)


def _allowed_here(full_key: str, overrides: list[str]) -> str:
    """The keys that exist where `full_key` was not found (composed without the failing override)."""
    others = [o for o in overrides if _override_key(o) != full_key]
    try:
        node: Any = _compose(others)
    except Exception:
        return ""
    parts = full_key.split(".")
    for i, part in enumerate(parts[:-1]):
        node = node.get(part) if isinstance(node, DictConfig) else None
        if node is None:
            parent = ".".join(parts[: i + 1])
            return f"; {parent} is null here (set it whole, e.g. {parent}={{...}}, or add the key with +{full_key}=...)"
    if not isinstance(node, DictConfig):
        return ""
    keys = sorted(str(k) for k in node if k != "hydra")
    if len(parts) == 1:
        keys = sorted({*keys, *GROUPS} - {"hydra"})
    return f"; allowed: {', '.join(keys)}" if keys else ""


def _group_choice(group: str, overrides: list[str]) -> str:
    """The command-line name of the defaults entry that picked from `group` (player -> player_1)."""
    for override in overrides:
        key = _override_key(override)
        if key.startswith(f"{group}@"):
            return key.split("@", 1)[1]
    return group


def explain_hydra(exc: Exception, overrides: list[str]) -> ConfigError:
    """One line for a Hydra or OmegaConf error: the key or group, the value, and what is allowed."""
    from hydra.errors import MissingConfigException, OverrideParseException

    if isinstance(exc, OverrideParseException):
        reason = exc.message.splitlines()[1] if len(exc.message.splitlines()) > 1 else exc.message
        return ConfigError(f"cannot parse override {exc.override!r}: {reason}")
    if isinstance(exc, MissingConfigException):
        missing = re.search(r"Could not find '([^']+)'", str(exc))
        options = ", ".join(exc.options or [])
        if missing:
            group, _, name = missing[1].rpartition("/")
            where = _group_choice(group, overrides) if group else "config"
            kind = "config" if not group else group.rsplit("/", 1)[-1]
            return ConfigError(f"{where}: unknown {kind} {name!r}; allowed: {options or 'none'}")
        return ConfigError(" ".join(str(exc).split()))
    cause = exc.__cause__
    full_key = getattr(cause, "full_key", None)
    if full_key and "not in struct" in str(cause):
        return ConfigError(f"{full_key}: unknown key{_allowed_here(full_key, overrides)}")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = str(cause).strip().splitlines()[0] if cause is not None else ""
    return ConfigError(f"{first} {detail}".strip())


def validate(overrides: list[str], config_dir: Path | None = None) -> RunConfig:
    """Compose the `run` config with these overrides and validate it (what one job will play).

    `config_dir` is the user's own config folder (`--config-dir`), searched after glee's.
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    refuse_secrets_in_overrides(overrides)
    search = [f"hydra.searchpath=[file://{config_dir.resolve()}]"] if config_dir else []
    try:
        cfg = _compose([*search, *overrides])
        choices = cfg.hydra.runtime.choices
        data = OmegaConf.to_container(cfg, resolve=False)
        assert isinstance(data, dict)
        data.pop("hydra", None)
        refuse_env_interpolation(data)  # before anything is resolved (a player's name, a study title)
        resolved = OmegaConf.to_container(OmegaConf.create(data), resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise explain_hydra(exc, [*search, *overrides]) from None
    assert isinstance(resolved, dict)
    experiment = str(choices.get("experiment") or "single")
    config = to_run_config({str(k): v for k, v in resolved.items()}, overrides, experiment, search)
    from glee.engine import plan

    plan(config)  # validates the parameters of every configuration
    return config


def sweep_jobs(overrides: list[str]) -> list[list[str]]:
    """The override list of every job of a `-m` sweep (Hydra's basic sweeper expansion)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise explain_hydra(exc, overrides) from None
    batches = BasicSweeper.split_arguments(parsed, None)
    return [job for batch in batches for job in batch] or [[]]
