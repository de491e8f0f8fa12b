"""The DuckDB schema: the tables of schema.sql and the typed per-family views built from the rules' Params."""

from __future__ import annotations

import types
import typing
from importlib import resources
from typing import Any, Literal, Union, get_args, get_origin

import duckdb

from glee.games import families, family

TABLES = ("runs", "games", "turns", "llm_calls", "outcomes", "human_answers", "participants")
SEATS_VIEW = "seats"
"""One row per game and seat, over every family (see seats_view_sql)."""


def views() -> dict[str, str]:
    """family -> the name of its typed view, for every registered family."""
    return {name: f"{name}_games" for name in families()}


def extra_columns(name: str) -> dict[str, str]:
    """The typed extra columns of family `name`'s view, from its extras model (glee.games.registry):
    field -> DuckDB type. The outcomes.extras JSON column keeps everything."""
    model = family(name).extras
    hints = typing.get_type_hints(model)
    return {field: sql_type(hints[field]) for field in model.model_fields}


GAME_COLUMNS = (
    "game_id",
    "run_id",
    "player_1",
    "player_2",
    "seed",
    "replicate",
    "status",
    "end_reason",
    "rounds_played",
    "started_at",
    "finished_at",
    "forfeit_seat",
    "source_id",
    "conforms",
)
OUTCOME_COLUMNS = ("payoff_1", "payoff_2", "self_gain_1", "self_gain_2", "efficiency", "fairness", "agreement")


def table_ddl() -> str:
    return resources.files("glee.store").joinpath("schema.sql").read_text(encoding="utf-8")


def sql_type(annotation: Any) -> str:
    """The DuckDB type of a Params field annotation (Optional unwrapped)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return sql_type(inner[0])
    if origin is Literal:
        return "VARCHAR"
    return {float: "DOUBLE", int: "BIGINT", bool: "BOOLEAN", str: "VARCHAR"}.get(annotation, "VARCHAR")


def view_sql(name: str) -> str:
    """`<family>_games`: one row per game of the family, one typed column per parameter, joined with
    its outcome. The rounds played are `rounds_played` in the table, every view and glee.analysis
    frames, since persuasion's parameter `rounds` is its horizon."""
    hints = typing.get_type_hints(family(name).params)
    params = parameter_names(name)
    cols = [f"CAST(g.params->>'{p}' AS {sql_type(hints[p])}) AS \"{p}\"" for p in params]
    cols += [f'g."{c}"' for c in GAME_COLUMNS]
    cols += [f'o."{c}"' for c in OUTCOME_COLUMNS]
    cols += [f"CAST(o.extras->>'{k}' AS {t}) AS \"{k}\"" for k, t in extra_columns(name).items() if k not in params]
    body = ",\n    ".join(cols)
    return (
        f"CREATE OR REPLACE VIEW {name}_games AS SELECT\n    {body}\n"
        f"FROM games g LEFT JOIN outcomes o USING (game_id)\nWHERE g.family = '{name}'"
    )


def parameter_names(name: str) -> list[str]:
    """The parameters of family `name`, as its view's columns name them."""
    model = family(name).params
    hints = typing.get_type_hints(model)
    return [p for p in model.model_fields if p in hints]


def seats_view_sql() -> str:
    """`seats`: one row per game and seat of every family, read from the family views: the seat's
    agent, its role in the family's rules (GameFamily.roles), its opponent, self_gain and payoff,
    whether this seat forfeited, the game's status, end and metrics, and the family's parameters
    (typed; NULL on rows of families without that parameter)."""
    selects = []
    for name in families():
        params = "".join(f', "{p}"' for p in parameter_names(name))
        for seat, role in enumerate(family(name).roles, start=1):
            rival = 2 if seat == 1 else 1
            selects.append(
                f"SELECT game_id, {seat} AS seat, player_{seat} AS agent, '{role}' AS role, "
                f"player_{rival} AS opponent, self_gain_{seat} AS self_gain, payoff_{seat} AS payoff, "
                f"coalesce(forfeit_seat = {seat}, false) AS forfeited, status, end_reason, '{name}' AS family, "
                f"run_id, replicate, rounds_played, efficiency, fairness, agreement{params} FROM {name}_games"
            )
    return f"CREATE OR REPLACE VIEW {SEATS_VIEW} AS\n" + "\nUNION ALL BY NAME\n".join(selects)


MIGRATIONS = (
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS overrides JSON",
    "ALTER TABLE turns ADD COLUMN IF NOT EXISTS shown_at TIMESTAMPTZ",
    "ALTER TABLE turns ADD COLUMN IF NOT EXISTS answered_at TIMESTAMPTZ",
)
"""Columns added since the first schema, for databases created before them (each idempotent)."""


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a file written by an earlier glee up to this schema (each step runs only when needed)."""
    games = {r[1] for r in con.execute("PRAGMA table_info('games')").fetchall()}
    if "rounds" in games and "rounds_played" not in games:
        for view in (SEATS_VIEW, *views().values()):  # views read the old name: drop them before the rename
            con.execute(f"DROP VIEW IF EXISTS {view}")
        con.execute("ALTER TABLE games RENAME COLUMN rounds TO rounds_played")
    for statement in MIGRATIONS:
        con.execute(statement)


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables (if missing), migrate an older file, and (re)create the views; safe to run on
    every open."""
    con.execute(table_ddl())
    _migrate(con)
    for name in families():
        con.execute(view_sql(name))
    con.execute(seats_view_sql())
