"""The `glee` command.

`glee run [overrides]` is a Hydra app (config tree in glee/configs, `-m` sweeps and
launchers included); every other subcommand uses argparse. Before Hydra writes anything
or a game is played, every configuration of the run (each job of a sweep) is composed and
validated into a `RunConfig`; a bad key, value or group name, or a key-like value, ends
the command with one line naming it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from glee.config import (
    CONFIG_DIR,
    PRIMARY,
    SHARD_NAME,
    expand_seats,
    store_game_configs,
    sweep_jobs,
    to_run_config,
    validate,
)
from glee.errors import ConfigError, GleeError

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
    store_game_configs()
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
