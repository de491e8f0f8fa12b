"""The `glee` command.

`glee run [overrides]` is a Hydra app (config tree in glee/configs, `-m` sweeps and
launchers included); every other subcommand uses argparse. Before Hydra writes anything
or a game is played, every configuration of the run (each job of a sweep) is composed and
validated into a `RunConfig`; a bad key, value or group name, or a key-like value, ends
the command with one line naming it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from glee.config import (
    CONFIG_DIR,
    PRIMARY,
    SHARD_NAME,
    expand_seats,
    expand_shards,
    play_named_game,
    store_game_configs,
    sweep_jobs,
    to_run_config,
    validate,
)
from glee.errors import ConfigError, GleeError

# --- glee run --------------------------------------------------------------------------------


class SweepEnd(Callback):
    """At the end of a `-m` sweep: a table of what each job did, where the shards are, how to merge them."""

    def __init__(self) -> None:
        self.started = time.time()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from glee.sweeps import job_table

        sweep_dir = config.hydra.sweep.dir
        print(f"\n{job_table(Path(sweep_dir), since=self.started - 1)}")
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
        config = config.model_copy(update={"overrides": overrides})
        sweep = hydra_cfg.mode == RunMode.MULTIRUN
        if sweep:
            from glee.sweeps import ShardSink, write_job_summary

            shard = Path(hydra_cfg.runtime.output_dir) / SHARD_NAME
            sink = ShardSink(shard, target=config.db)
            config = config.model_copy(update={"db": shard})
            try:
                summary = run(config, sink=sink)
            finally:
                sink.close()
            write_job_summary(shard.parent, overrides, summary)
        else:
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


_HYDRA_INFO_FLAGS = ("--hydra-help", "--version", "--info", "-i", "--shell-completion", "-sc")


def run_help() -> str:
    """`glee run --help`: glee's own words, with the options of its config groups."""
    from glee.config import RUN_KEYS, player_names

    def options(group: str) -> str:
        return ", ".join(sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml")))

    return f"""usage: glee run [KEY=VALUE ...] [-m] [--cfg job] [--config-dir DIR]

Plays every game of an experiment that the database lacks, then prints a table per family and
agent. With nothing named it plays the demo; naming a game (game=NAME, game.KEY=VALUE, grid=...)
plays that game; naming a seat (player_1=NAME) plays that pair instead of the experiment's pairs.

choices (NAME=OPTION):
  experiment=   {options("experiment")}  (default: demo)
  game=         {options("game")}  (default: bargaining)
  player_1=, player_2=
                {", ".join(player_names())}  (default: spe)

keys (KEY=VALUE): {", ".join(k for k in RUN_KEYS if k not in ("game", "player_1", "player_2"))}
  e.g. n_games=3 swap_seats=true db=data/x.duckdb grid='{{delta_1:[0.8,0.9]}}' game.max_rounds=10
  a seat's fields: player_1.temperature=0.7 player_1.model=PATH +player_1.endpoint.engine_args.n_threads=4

options:
  shard=K/N         play only shard K of N of the plan (a stable partition by game id)
  shards=N          the sweep of all N shards (-m shard=1/N,...,N/N): one job and shard database each,
                    on any launcher; `glee status SWEEP_DIR` shows each shard's progress, even while running
  -m, --multirun    one job per combination of comma-separated values (player_1=spe,fair); the jobs
                    write shards under multirun/sweep-<hash>; the same command again resumes them
  hydra/launcher=joblib|submitit_local|submitit_slurm
                    how -m runs its jobs (hydra.launcher.n_jobs=2, hydra.launcher.partition=gpu, ...)
  --cfg job         print the composed config (of every job, with -m) and play nothing
  --config-dir DIR  a folder of your own configs, e.g. DIR/player/NAME.yaml, searched after glee's
  --hydra-help      Hydra's own options

Every configuration is validated before anything is played or written; a wrong key or value ends
the command with one line naming it (exit status 2). See README.md, "Command line".
"""


def _names_sweep_dir(overrides: list[str]) -> bool:
    return any(o.split("=", 1)[0].lstrip("+~") == "hydra.sweep.dir" for o in overrides)


def print_sweep_configs(parsed: argparse.Namespace) -> int:
    """`glee run -m --cfg job|hydra|all`: each job's composed config, as Hydra prints one run's."""
    from omegaconf import OmegaConf

    from glee.config import compose_config
    from glee.sweeps import sweep_dir

    if parsed.package:
        raise ConfigError(f"--package: got {parsed.package!r}; allowed: none with -m (print whole configs)")
    search = [f"hydra.searchpath=[file://{Path(parsed.config_dir).resolve()}]"] if parsed.config_dir else []
    where = [] if _names_sweep_dir(parsed.overrides) else [f"hydra.sweep.dir={sweep_dir(parsed.overrides)}"]
    jobs = sweep_jobs(parsed.overrides)
    for i, job in enumerate(jobs):
        validate(job, Path(parsed.config_dir) if parsed.config_dir else None)
        cfg = compose_config(PRIMARY, [*search, *job, *where], hydra_node=parsed.cfg != "job")
        if parsed.cfg == "hydra":
            cfg = OmegaConf.create({"hydra": OmegaConf.to_container(cfg.hydra, resolve=False)})
        print(f"# job {i}: {' '.join(job)}")
        print(OmegaConf.to_yaml(cfg, resolve=parsed.resolve))
    return 0


def validate_jobs(jobs: list[list[str]], config_dir: Path | None) -> None:
    """Validate every job of a run; jobs that differ only in their shard are composed and planned once
    (a `shards=64` sweep would plan the experiment 64 times), the other jobs' shard values checked alone."""
    from pydantic import ValidationError

    from glee.engine.specs import Shard

    checked: set[tuple[str, ...]] = set()
    for job in jobs:
        rest = tuple(o for o in job if o.split("=", 1)[0].lstrip("+~") != "shard")
        if rest in checked:
            for override in job:
                if override not in rest:
                    value = override.split("=", 1)[1]
                    try:
                        Shard.model_validate(value)
                    except ValidationError as exc:
                        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
                        raise ConfigError(f"shard: {reason} (got {value!r})") from None
            continue
        validate(job, config_dir)
        checked.add(rest)


def run_command(args: list[str]) -> int:
    """`glee run`: validate every job's config, then hand the command line to Hydra."""
    import hydra
    from hydra._internal.utils import get_args_parser

    args = expand_seats(args)
    try:
        args = expand_shards(args)
    except GleeError as exc:
        print(f"glee: error: {exc}", file=sys.stderr)
        return 2
    try:
        parsed = get_args_parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    if parsed.help:
        print(run_help(), end="")
        return 0
    store_game_configs()  # families without a yaml of their own (plugins) are Hydra `game=` options too
    named = play_named_game(parsed.overrides)  # a game named on the command line plays that game
    args, parsed.overrides = [*args, *named[len(parsed.overrides) :]], named
    if parsed.multirun and parsed.cfg:  # Hydra prints one config only, and refuses -m with --cfg
        try:
            return print_sweep_configs(parsed)
        except GleeError as exc:
            print(f"glee: error: {exc}", file=sys.stderr)
            return 2
    if not any(flag in args for flag in _HYDRA_INFO_FLAGS):
        try:
            jobs = sweep_jobs(parsed.overrides) if parsed.multirun else [parsed.overrides]
            validate_jobs(jobs, Path(parsed.config_dir) if parsed.config_dir else None)
            from glee.sweeps import picks_slurm, require_slurm_accounting

            if parsed.multirun and picks_slurm(parsed.overrides):
                require_slurm_accounting()
        except GleeError as exc:
            print(f"glee: error: {exc}", file=sys.stderr)
            return 2
    if parsed.multirun and not _names_sweep_dir(parsed.overrides):
        from glee.sweeps import sweep_dir

        args = [*args, f"hydra.sweep.dir={sweep_dir(parsed.overrides)}"]  # the same folder for the same sweep
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


def status_command(args: argparse.Namespace) -> int:
    from glee.sweeps import status_table

    print(status_table(args.path))
    return 0


def show_command(args: argparse.Namespace) -> int:
    from glee.analysis.summary import call_table, transcript
    from glee.store import load_game, open_store, resolve_game_id

    if not args.db.exists():
        raise ConfigError(f"--db: no database at {str(args.db)!r}")
    with open_store(args.db, read_only=True) as store:
        record = load_game(store, resolve_game_id(store, args.game_id))
    print(transcript(record))
    if args.calls:
        print()
        print(call_table(record))
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


def duckdb_cli() -> str | None:
    """The DuckDB command line (PyPI's `duckdb-cli`, the `sql` extra) of this environment, or on PATH."""
    beside = Path(sys.executable).with_name("duckdb")
    return str(beside) if beside.is_file() else shutil.which("duckdb")


def sql_command(args: argparse.Namespace) -> int:
    """`glee sql DB [QUERY]`: the query's result as a table, or DuckDB's own prompt; read-only either way."""
    from glee.store import open_store

    if not args.db.exists():
        raise ConfigError(f"db: no database at {str(args.db)!r}")
    if args.query is None:
        cli = duckdb_cli()
        if cli is None:
            raise ConfigError(
                "query: none given and no DuckDB command line for a prompt; allowed: a query, "
                "or install it with pip install 'glee-bench[sql]'"
            )
        # The prompt is DuckDB's own (history, completion, .commands): no need to write one.
        return subprocess.call([cli, "-readonly", str(args.db)])
    import duckdb

    store = open_store(args.db, read_only=True)
    try:
        relation = store.con.sql(args.query)
        if relation is not None:
            # The terminal's width; piped or captured output is not cut to a width.
            width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 100_000
            relation.show(max_rows=args.max_rows, max_width=width)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"query: {first}") from None
    finally:
        store.close()
    return 0


def play_command(args: argparse.Namespace) -> int:
    from glee.play.terminal import play_command as play_in_terminal

    return play_in_terminal(args.overrides)


def serve_agents_command(args: argparse.Namespace) -> int:
    from glee.play.agents.app import serve_agents

    return serve_agents(args.overrides)


def serve_web_command(args: argparse.Namespace) -> int:
    from glee.play.web.app import serve_web

    return serve_web(args.overrides)


def view_command(args: argparse.Namespace) -> int:
    from glee.view.app import serve_view

    if not args.db.exists():
        raise ConfigError(f"db: no database at {str(args.db)!r}")
    return serve_view(args.db, args.port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glee",
        description="Two-player language-based economic games: play sweeps, store them in DuckDB, analyze them.",
        epilog="`glee run --help` shows the options of glee run and of its config groups.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="play an experiment: glee run [experiment=NAME] [player_1=NAME] [KEY=VALUE ...] [-m]")
    merge = sub.add_parser(
        "merge", help="combine shard databases (files or sweep directories), dropping duplicate games"
    )
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD")
    merge.add_argument("--out", type=Path, required=True, help="the database to write (created if missing)")
    merge.set_defaults(handler=merge_command)
    status = sub.add_parser(
        "status", help="planned, done, failed and running games of a sweep's shards (or a database), also mid-run"
    )
    status.add_argument("path", type=Path, metavar="SWEEP_DIR|DB")
    status.set_defaults(handler=status_command)
    show = sub.add_parser("show", help="print one game's transcript: parameters, players, turns, outcome")
    show.add_argument("game_id", help="a game id, or enough of its start to be unique")
    show.add_argument("--db", type=Path, default=Path("data/glee.duckdb"))
    show.add_argument(
        "--calls", action="store_true", help="also list every model call: tokens, latency, finish reason, rejection"
    )
    show.set_defaults(handler=show_command)
    view = sub.add_parser(
        "view", help="browse a database read-only in the browser: runs, games (filtered), transcripts, model calls"
    )
    view.add_argument("db", type=Path, nargs="?", default=Path("data/glee.duckdb"), metavar="DB")
    view.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (the viewer binds loopback only)")
    view.set_defaults(handler=view_command)
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
    sql = sub.add_parser("sql", help="query a database in SQL (read-only): a query's result, or DuckDB's prompt")
    sql.add_argument("db", type=Path, metavar="DB", help="e.g. data/glee.duckdb")
    sql.add_argument("query", nargs="?", metavar="QUERY", help="without it, DuckDB's interactive prompt")
    sql.add_argument("--max-rows", type=int, default=100, help="rows shown (default 100)")
    sql.set_defaults(handler=sql_command)
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
    agents = sub.add_parser(
        "serve-agents",
        help="serve the GLEE competition's agent API: glee-sdk agents play glee's players, every game logged",
    )
    agents.add_argument("overrides", nargs="*", metavar="[CONFIG.yaml] KEY=VALUE", help="e.g. port=8080 db=PATH")
    agents.set_defaults(handler=serve_agents_command)
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
