"""The `glee` command.

`glee run [overrides]` is a Hydra app (config tree in glee/configs, `-m` sweeps and
launchers included); every other subcommand uses argparse. Before Hydra writes anything
or a game is played, every configuration of the run (each job of a sweep) is composed and
validated into a `RunConfig`; a bad key, value or group name, or a key-like value, ends
the command with one line naming it.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ValidationError

from glee.backends.spec import EndpointSpec
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from glee.errors import ConfigError, GleeError, explain
from glee.games import FAMILIES, PARAMS
from glee.games.grids import GRIDS
from glee.players.base import Sampling

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
PRIMARY = "run"
SHARD_NAME = "shard.duckdb"
GROUPS = ("game", "player", "experiment")
SEATS = ("player_1", "player_2")
RUN_KEYS = (
    "game",
    "grid",
    "games",
    "player_1",
    "player_2",
    "pairs",
    "swap_seats",
    "n_games",
    "seed",
    "db",
    "max_games_in_flight",
    "progress",
)


# --- seat shorthands -------------------------------------------------------------------------

_SEAT_OVERRIDE = re.compile(r"^(?P<prefix>[+~]{0,2})(?P<seat>player_[12])(?P<path>\.[^=]+)?(?P<rest>=.*)?$", re.S)
_SHORT_FIELDS = {name: "sampling" for name in Sampling.model_fields} | {
    name: "endpoint" for name in EndpointSpec.model_fields
}


def expand_seats(overrides: list[str]) -> list[str]:
    """Hydra spellings of the seat shorthands.

    `player_1=NAME` picks a config of the player group for seat 1 (Hydra's `player@player_1=NAME`);
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
        head, _, tail = path[1:].partition(".")
        if head in _SHORT_FIELDS and head not in PlayerSpec.model_fields:
            path = f".{_SHORT_FIELDS[head]}.{head}" + (f".{tail}" if tail else "")
        out.append(f"{prefix}{seat}{path}{rest}")
    return out


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def names_a_seat(overrides: list[str]) -> bool:
    """Whether the command line picks or changes a seat (then it plays instead of the experiment's pairs)."""
    for override in overrides:
        key = _override_key(override)
        if key.startswith(("player@player_", "player_1.", "player_2.")) or key in SEATS:
            return True
    return False


# --- secrets ---------------------------------------------------------------------------------

_SECRET_WORDS = {
    "key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "credential",
    "credentials",
    "bearer",
    "auth",
    "authorization",
}
_KEY_PATTERNS = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:sk-[A-Za-z0-9_\-]{16,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{30,}|AKIA[0-9A-Z]{16})"
)
_LONG_RUN = re.compile(r"[A-Za-z0-9]{24,}")
_SECRET_ADVICE = (
    "glee never takes API keys from configs or overrides (Hydra saves both to disk): export the key in an "
    "environment variable and name that variable with the endpoint's api_key_env (e.g. "
    "player_1.endpoint.api_key_env=OPENAI_API_KEY)"
)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_key(value: str) -> bool:
    """A known API-key shape, or a long random-looking token (mixed case and digits, high entropy)."""
    if _KEY_PATTERNS.search(value):
        return True
    for run in _LONG_RUN.findall(value):
        mixed = any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)
        if mixed and _entropy(run) >= 4.0:
            return True
    return False


def secret_named(key: str) -> bool:
    """A field whose name says it holds a secret (`api_key`, `token`, ...), but not `api_key_env`."""
    words = [w for w in re.split(r"[^a-z0-9]+", key.lower().rsplit(".", 1)[-1]) if w]
    return bool(words) and words[-1] != "env" and any(w in _SECRET_WORDS for w in words)


def refuse_secrets_in_overrides(overrides: list[str]) -> None:
    """Raise ConfigError (without echoing the value) for an override that carries a key-like value."""
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.lstrip("+~")
        if sep and value.strip() not in ("", "null") and (secret_named(key) or looks_like_key(value)):
            raise ConfigError(f"{key}: refusing a key-like value in an override; {_SECRET_ADVICE}")


def refuse_secrets_in_config(data: Any, path: str = "") -> None:
    """Raise ConfigError for a key-like value anywhere in a composed config (e.g. in a user's yaml)."""
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and value != "" and secret_named(str(key)):
                raise ConfigError(f"{where}: refusing a literal secret in a config; {_SECRET_ADVICE}")
            refuse_secrets_in_config(value, where)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            refuse_secrets_in_config(value, f"{path}.{i}")
    elif isinstance(data, str) and looks_like_key(data):
        raise ConfigError(f"{path}: refusing a key-like value in a config; {_SECRET_ADVICE}")


# --- config -> RunConfig ---------------------------------------------------------------------


def _validated(model: type[BaseModel], data: Any, prefix: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise explain(exc, prefix=prefix, allowed_keys=sorted(model.model_fields)) from None


def player_names() -> list[str]:
    """The options of glee's own player group."""
    return sorted(p.stem for p in (CONFIG_DIR / "player").glob("*.yaml"))


def _named_player(name: Any, where: str, search: list[str]) -> PlayerSpec:
    """A player of `pairs`: the name of a player config (composed as a seat would be), or an inline spec."""
    if isinstance(name, dict):
        return _validated(PlayerSpec, name, f"{where}.")
    from hydra.errors import MissingConfigException

    try:
        node = compose_config(PRIMARY, [*search, f"player@player_1={name}"]).player_1
    except MissingConfigException as exc:
        raise ConfigError(f"{where}: unknown player {name!r}; allowed: {', '.join(exc.options or [])}") from None
    return _validated(PlayerSpec, OmegaConf.to_container(node, resolve=True), f"{where}.")


def _pairs(data: dict[str, Any], seat_named: bool, search: list[str]) -> list[tuple[PlayerSpec, PlayerSpec]]:
    seats = (
        _validated(PlayerSpec, data["player_1"], "player_1."),
        _validated(PlayerSpec, data["player_2"], "player_2."),
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
        touched = [
            k for k in map(_override_key, overrides) if k in ("game", "grid") or k.startswith(("game.", "grid."))
        ]
        if touched:
            raise ConfigError(
                f"{touched[0]}: experiment {experiment!r} plays its own `games` list, so game/grid overrides do not "
                f"apply; change games.N.fixed (e.g. +games.0.fixed.max_rounds=10) or use experiment=single"
            )
        if not isinstance(data["games"], list):
            raise ConfigError(
                f"games: got {data['games']!r}; allowed: a list of game sets (family, params, grid, fixed)"
            )
        return [_validated(GameSet, item, f"games.{i}.") for i, item in enumerate(data["games"])]
    params = dict(data["game"])
    family = params.pop("family", None)
    if family not in FAMILIES:
        raise ConfigError(f"game.family: got {family!r}; allowed: one of {list(FAMILIES)}")
    model = PARAMS[family]
    _validated(model, params, "game.")
    grid = data.get("grid") or None
    if grid == "paper":
        grid_keys = set(GRIDS[family])
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
    return [_validated(GameSet, {"family": family, "grid": grid, "fixed": fixed}, "game.")]


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
    fields: dict[str, Any] = {
        k: data[k] for k in ("swap_seats", "n_games", "seed", "db", "max_games_in_flight", "progress") if k in data
    }
    fields["experiment"] = experiment
    fields["games"] = _game_sets(data, overrides, experiment)
    fields["pairs"] = _pairs(data, names_a_seat(overrides), search or [])
    return _validated(RunConfig, fields, "")


# --- composing with Hydra, errors as one line ------------------------------------------------


def compose_config(name: str, overrides: list[str] | None = None, hydra_node: bool = False) -> DictConfig:
    """Compose a config of the tree, inside a running Hydra app (its search path) or outside one."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

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


# --- glee run --------------------------------------------------------------------------------


class SweepEnd(Callback):
    """At the end of a `-m` sweep, says where the shards are and how to merge them."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = config.hydra.sweep.dir
        print(f"\nshards: {sweep_dir}/*/{SHARD_NAME}\nmerge them: glee merge {sweep_dir} --out {config.db}")


def _job(cfg: DictConfig) -> None:
    """One Hydra job: validate, play, summarize. A -m job writes its own shard in its job directory."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from glee.engine import run

    hydra_cfg = HydraConfig.get()
    overrides = list(hydra_cfg.overrides.task)
    try:
        config = to_run_config(cfg, overrides, experiment=str(hydra_cfg.runtime.choices.get("experiment") or "single"))
        sweep = hydra_cfg.mode == RunMode.MULTIRUN
        if sweep:
            config = config.model_copy(update={"db": Path(hydra_cfg.runtime.output_dir) / SHARD_NAME})
        summary = run(config)
        if not config.progress:  # with its progress bar, run() prints this itself
            print(summary.text(), file=sys.stderr)
        if summary.error:
            raise GleeError(summary.error)
    except GleeError as exc:
        print(f"glee: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    if sweep:
        return
    from glee.analysis.summary import agent_table, example_query
    from glee.engine import plan

    print()
    print(agent_table(config.db, game_ids=[spec.game_id for spec in plan(config)]))
    print()
    print(example_query(config.db))


_HYDRA_INFO_FLAGS = ("--help", "-h", "--hydra-help", "--version", "--info", "-i", "--shell-completion", "-sc")


def run_command(args: list[str]) -> int:
    """`glee run`: validate every job's config, then hand the command line to Hydra."""
    import hydra
    from hydra._internal.utils import get_args_parser

    args = expand_seats(args)
    try:
        parsed = get_args_parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    if not any(flag in args for flag in _HYDRA_INFO_FLAGS):
        try:
            jobs = sweep_jobs(parsed.overrides) if parsed.multirun else [parsed.overrides]
            for job in jobs:
                validate(job, Path(parsed.config_dir) if parsed.config_dir else None)
        except GleeError as exc:
            print(f"glee: error: {exc}", file=sys.stderr)
            return 2
    entry = hydra.main(config_path=str(CONFIG_DIR), config_name=PRIMARY, version_base="1.3")(_job)
    saved = sys.argv
    sys.argv = [saved[0] if saved else "glee", *args]
    try:
        entry()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        sys.argv = saved
    return 0


# --- the other subcommands -------------------------------------------------------------------


def shard_paths(paths: list[Path]) -> list[Path]:
    """Shard files named directly, and every `*.duckdb` under a named directory (a sweep dir)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob("*.duckdb"))
            if not found:
                raise ConfigError(f"shards: no *.duckdb file under {str(path)!r}")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise ConfigError(f"shards: {str(path)!r} does not exist; allowed: shard files or sweep directories")
    return out


def merge_command(args: argparse.Namespace) -> int:
    from glee.store import merge

    shards = shard_paths(args.shards)
    if args.out.resolve() in {s.resolve() for s in shards}:
        raise ConfigError(f"--out: {str(args.out)!r} is also one of the shards; allowed: a different file")
    summary = merge(shards, args.out)
    print(
        f"merged {summary.shards} shards into {summary.out}: {summary.games_added} games added, "
        f"{summary.duplicates_dropped} duplicates dropped, {summary.failed_replaced} failed games replaced"
    )
    return 0


def show_command(args: argparse.Namespace) -> int:
    from glee.analysis.summary import transcript
    from glee.store import load_game, open_store

    if not args.db.exists():
        raise ConfigError(f"--db: no database at {str(args.db)!r}")
    with open_store(args.db, read_only=True) as store:
        record = load_game(store, args.game_id)
    print(transcript(record))
    return 0


def report_command(args: argparse.Namespace) -> int:
    from glee.analysis.report import write_report

    if not args.db.exists():
        raise ConfigError(f"--db: no database at {str(args.db)!r}")
    print(f"report written to {write_report(args.db, args.out)}")
    return 0


def import_glee_command(args: argparse.Namespace) -> int:
    from glee.store.glee_import import import_glee

    summary = import_glee(args.root, args.db)
    print(
        f"imported {summary.imported} of {summary.found} original games into {args.db} "
        f"({summary.conforming} legal under glee's rules, {summary.nonconforming} not; "
        f"{summary.already_present} already there, {summary.malformed} unreadable)"
    )
    for skipped in summary.skipped[:10]:
        print(f"  skipped {skipped.path}: {skipped.reason}")
    return 0


def play_command(args: argparse.Namespace) -> int:
    from glee.play.terminal import play_command as play_in_terminal

    return play_in_terminal(args.overrides)


def serve_web_command(args: argparse.Namespace) -> int:
    from glee.play.web.app import serve_web

    return serve_web(args.overrides)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glee",
        description="Two-player language-based economic games: play sweeps, store them in DuckDB, analyze them.",
        epilog="`glee run --help` shows the Hydra options and the config groups.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="play an experiment: glee run [experiment=NAME] [player_1=NAME] [KEY=VALUE ...] [-m]")
    merge = sub.add_parser(
        "merge", help="combine shard databases (files or sweep directories), dropping duplicate games"
    )
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD")
    merge.add_argument("--out", type=Path, required=True, help="the database to write (created if missing)")
    merge.set_defaults(handler=merge_command)
    show = sub.add_parser("show", help="print one game's transcript: parameters, players, turns, outcome")
    show.add_argument("game_id")
    show.add_argument("--db", type=Path, default=Path("data/glee.duckdb"))
    show.set_defaults(handler=show_command)
    report = sub.add_parser("report", help="write a static HTML report of a database")
    report.add_argument("--db", type=Path, default=Path("data/glee.duckdb"))
    report.add_argument("--out", type=Path, default=Path("data/report.html"))
    report.set_defaults(handler=report_command)
    imp = sub.add_parser(
        "import-glee", help="import games in the original GLEE data format (<family>/<a>/<b>/<c>/<id>/)"
    )
    imp.add_argument("root", type=Path, help="the folder holding the original games")
    imp.add_argument("--db", type=Path, default=Path("data/glee.duckdb"))
    imp.set_defaults(handler=import_glee_command)
    play = sub.add_parser(
        "play",
        help="play one game yourself in the terminal: glee play [game=NAME] [opponent=NAME] [seat=1|2] [name=YOU]",
    )
    play.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="as in glee run, e.g. game.max_rounds=4 db=PATH"
    )
    play.set_defaults(handler=play_command)
    web = sub.add_parser("serve-web", help="serve a study: participants play games against models in the browser")
    web.add_argument("overrides", nargs="*", metavar="[STUDY.yaml] KEY=VALUE", help="e.g. port=8080 db=PATH")
    web.set_defaults(handler=serve_web_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `glee` command; returns the exit status (0 ok, 1 failed, 2 bad input)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] == "run":
        return run_command(args[1:])
    parsed = _parser().parse_args(args)
    try:
        return int(parsed.handler(parsed))
    except GleeError as exc:
        print(f"glee: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
