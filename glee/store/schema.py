"""The DuckDB schema: the tables of schema.sql and the typed per-family views built from the rules' Params."""

from __future__ import annotations

import contextlib
import json
import sys
import types
import typing
from collections.abc import Callable
from importlib import resources
from typing import Any, Literal, Union, get_args, get_origin

import duckdb
import pyarrow as pa

from glee.errors import ConfigError
from glee.games import IllegalAction, families, family, replay, variant_metrics

TABLES = ("runs", "games", "turns", "llm_calls", "outcomes", "human_answers", "participants", "outcome_metrics")
SEATS_VIEW = "seats"
"""One row per game and seat, over every family (see seats_view_sql)."""
SEAT_METRICS_VIEW = "seat_metrics"
"""One row per game, seat and metric variant (see seat_metrics_view_sql)."""


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


def seat_metrics_view_sql() -> str:
    """`seat_metrics`: the seats view once per metric variant of outcome_metrics, with that variant's
    self_gain, efficiency and fairness (`variant` says which: glee, original, original_paper)."""
    return (
        f"CREATE OR REPLACE VIEW {SEAT_METRICS_VIEW} AS\n"
        f"SELECT s.* EXCLUDE (self_gain, efficiency, fairness), m.variant,\n"
        f"    CASE s.seat WHEN 1 THEN m.self_gain_1 ELSE m.self_gain_2 END AS self_gain, m.efficiency, m.fairness\n"
        f"FROM {SEATS_VIEW} s JOIN outcome_metrics m USING (game_id)"
    )


def backfill_metrics(con: duckdb.DuckDBPyConnection) -> int:
    """Add the outcome_metrics rows of every game that has an outcome but none (a file written before
    the metric variants, or a merged older shard), recomputed by replaying its stored turns through
    the rules. Returns how many games got them; a game whose turns the rules refuse is left out."""
    missing = con.execute(
        "SELECT g.game_id, g.family, g.params FROM games g JOIN outcomes o USING (game_id) "
        "WHERE NOT EXISTS (SELECT 1 FROM outcome_metrics m WHERE m.game_id = g.game_id)"
    ).fetchall()
    if not missing:
        return 0
    turns: dict[str, list[tuple[int, dict[str, object] | None, bool]]] = {}
    rows = con.execute(
        "SELECT t.game_id, t.seat, t.action, t.valid FROM turns t WHERE t.game_id IN (SELECT unnest(?)) "
        "ORDER BY t.game_id, t.turn",
        [[m[0] for m in missing]],
    ).fetchall()
    for game_id, seat, action, valid in rows:
        turns.setdefault(game_id, []).append((seat, json.loads(action) if action else None, valid))
    out = []
    for game_id, name, params in missing:
        try:
            state = replay(name, json.loads(params), turns.get(game_id, []))
        except (IllegalAction, ConfigError):
            continue
        if not state.is_over:
            continue
        for variant, m in variant_metrics(state).items():
            out.append((game_id, variant, m.self_gain_1, m.self_gain_2, m.efficiency, m.fairness))
    if out:
        names = ("game_id", "variant", "self_gain_1", "self_gain_2", "efficiency", "fairness")
        batch = pa.Table.from_pydict(dict(zip(names, map(list, zip(*out, strict=True)), strict=True)))
        con.register("metrics_rows", batch)
        con.execute("INSERT INTO outcome_metrics BY NAME SELECT * FROM metrics_rows")
        con.unregister("metrics_rows")
    return len({r[0] for r in out})


MIGRATIONS: tuple[str | Callable[[duckdb.DuckDBPyConnection], object], ...] = (
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS overrides JSON",
    "ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS seed BIGINT",
    "ALTER TABLE turns ADD COLUMN IF NOT EXISTS shown_at TIMESTAMPTZ",
    "ALTER TABLE turns ADD COLUMN IF NOT EXISTS answered_at TIMESTAMPTZ",
    backfill_metrics,
)
"""Changes since the first schema, for databases created before them (each idempotent): SQL, or a
function of the connection (the metric variants of older games, recomputed from their turns)."""

SCHEMA_VERSION = 2
"""The version of the tables glee writes, stored in `glee_schema`. 1: files written before the
version was stored (recognised by their `games` table); 2: the tables of schema.sql with every
MIGRATIONS entry. Bump it when a change cannot be made by adding columns (a rename, a new type)."""
VERSION_TABLE = "glee_schema"
GLEE_MARKS = {
    "games": {"game_id", "family", "params", "player_1", "player_2", "status"},
    "runs": {"run_id", "started_at", "config", "versions"},
}
"""Tables and the columns that make them glee's (every glee version has them): a file with none of
them, but with tables, is someone else's."""


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, tuple[str, str | None]]]:
    """table -> column -> (type, default) of the base tables of the connection's own database."""
    out: dict[str, dict[str, tuple[str, str | None]]] = {}
    for table, column, kind, default in con.execute(
        "SELECT table_name, column_name, data_type, column_default FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal "
        "ORDER BY table_name, column_index"
    ).fetchall():
        out.setdefault(table, {})[column] = (kind, default)
    return out


def stored_version(con: duckdb.DuckDBPyConnection, path: object) -> int | None:
    """The schema version of the open file: None when it has no table at all (a new file), 1 for a glee
    file from before versions were stored. Raises ConfigError for a file that is not glee's or that a
    newer glee wrote, before anything is written to it."""
    tables = _columns(con)
    if not tables:
        return None
    if VERSION_TABLE in tables:
        row = con.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
        version = int(row[0]) if row and row[0] is not None else 1
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"db: {path} has glee schema version {version}, newer than this glee's {SCHEMA_VERSION}; "
                f"allowed: files of schema versions up to {SCHEMA_VERSION} (upgrade glee, or use another db)"
            )
        return version
    if any(name in tables and set(tables[name]) >= columns for name, columns in GLEE_MARKS.items()):
        return 1
    raise ConfigError(
        f"db: {path} is a DuckDB file that is not glee's (its tables: {', '.join(sorted(tables))}); "
        f"allowed: a new path, an empty file or a glee database; nothing was written to it"
    )


def _reference() -> dict[str, dict[str, tuple[str, str | None]]]:
    """The columns of this glee's tables (schema.sql and MIGRATIONS applied to an empty database)."""
    with duckdb.connect(":memory:") as con:
        con.execute(table_ddl())
        for statement in MIGRATIONS:
            if isinstance(statement, str):
                con.execute(statement)
        return _columns(con)


def _migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Bring a file written by an earlier glee up to this schema: the renamed column, then every column
    the file lacks, with its type and default. Returns what it changed (table.column)."""
    changed = []
    games = {r[1] for r in con.execute("PRAGMA table_info('games')").fetchall()}
    if "rounds" in games and "rounds_played" not in games:
        for view in (SEATS_VIEW, *views().values()):  # views read the old name: drop them before the rename
            con.execute(f"DROP VIEW IF EXISTS {view}")
        con.execute("ALTER TABLE games RENAME COLUMN rounds TO rounds_played")
        changed.append("games.rounds -> rounds_played")
    have = _columns(con)
    for table, columns in _reference().items():
        for column, (kind, default) in columns.items():
            if column not in have.get(table, {}):
                fill = f" DEFAULT {default}" if default is not None else ""
                con.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {kind}{fill}')
                changed.append(f"{table}.{column}")
    for step in MIGRATIONS:  # the steps that are functions: data of older files (the SQL ones are columns)
        if not isinstance(step, str) and step(con):
            changed.append(getattr(step, "__name__", "a data migration"))
    return changed


def create(con: duckdb.DuckDBPyConnection, path: object = "the database") -> None:
    """Create the tables of a new file, or check and migrate a glee file (one transaction, before any
    game is played; one line on stderr says what changed), then (re)create the views. A file that is
    not glee's, or of a newer schema, is refused untouched (ConfigError)."""
    version = stored_version(con, path)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(table_ddl())
        changed = _migrate(con) if version is not None else []
        con.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL, glee VARCHAR)")
        if version != SCHEMA_VERSION:
            con.execute(f"DELETE FROM {VERSION_TABLE}")
            con.execute(f"INSERT INTO {VERSION_TABLE} VALUES (?, ?)", [SCHEMA_VERSION, _glee_version()])
        for name in families():
            con.execute(view_sql(name))
        con.execute(seats_view_sql())
        con.execute(seat_metrics_view_sql())
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    if version is not None and (changed or version != SCHEMA_VERSION):
        added = f": {', '.join(changed)}" if changed else ""
        print(f"glee: migrated {path} from schema {version} to {SCHEMA_VERSION}{added}", file=sys.stderr)


def _glee_version() -> str:
    import glee

    return glee.__version__
