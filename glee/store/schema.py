"""The DuckDB schema: the tables of schema.sql and the typed per-family views built from the rules' Params."""

from __future__ import annotations

import types
import typing
from importlib import resources
from typing import Any, Literal, Union, get_args, get_origin

import duckdb

from glee.games import families, family

TABLES = ("runs", "games", "turns", "llm_calls", "outcomes")


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
    "rounds",
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
    its outcome. The rounds played are `rounds_played` in every view (and in glee.analysis frames),
    since persuasion's parameter `rounds` is its horizon."""
    model = family(name).params
    hints = typing.get_type_hints(model)
    params = [p for p in model.model_fields if p in hints]
    cols = [f"CAST(g.params->>'{p}' AS {sql_type(hints[p])}) AS \"{p}\"" for p in params]
    cols += [f'g."{c}" AS "{"rounds_played" if c == "rounds" else c}"' for c in GAME_COLUMNS]
    cols += [f'o."{c}"' for c in OUTCOME_COLUMNS]
    cols += [f"CAST(o.extras->>'{k}' AS {t}) AS \"{k}\"" for k, t in extra_columns(name).items() if k not in params]
    body = ",\n    ".join(cols)
    return (
        f"CREATE OR REPLACE VIEW {name}_games AS SELECT\n    {body}\n"
        f"FROM games g LEFT JOIN outcomes o USING (game_id)\nWHERE g.family = '{name}'"
    )


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables (if missing) and (re)create the views; safe to run on every open."""
    con.execute(table_ddl())
    for name in families():
        con.execute(view_sql(name))
