"""Tidy pandas frames read from a glee database: games (one row each), seats, turns.

The database is opened read-only, so analysis can run while nothing else writes the file.
User filters are bound as SQL parameters and column names are checked against an
allow-list: nothing a user types is ever pasted into SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from glee.errors import ConfigError
from glee.games import check_family, registry
from glee.store import open_store, prompt_of, schema
from glee.store.database import connect
from glee.store.schema import sql_type

METRICS: tuple[str, ...] = ("self_gain", "efficiency", "fairness", "agreement")
"""The metrics every table reports, per seat (self_gain) or per game (the others)."""

GAME_METRICS: tuple[str, ...] = ("efficiency", "fairness", "agreement")
"""Metrics of a whole game (one value per game, whichever seat a row is about): computed with one row per game."""

GAME_COLUMNS: dict[str, str] = {
    "game_id": "g.game_id",
    "run_id": "g.run_id",
    "family": "g.family",
    "player_1": "g.player_1",
    "player_2": "g.player_2",
    "seed": "g.seed",
    "replicate": "g.replicate",
    "status": "g.status",
    "end_reason": "g.end_reason",
    "rounds_played": "g.rounds_played",
    "params": "g.params",
    "configuration": "md5(concat_ws(chr(31), g.family, g.params, g.player_1, g.player_2))",
    "payoff_1": "o.payoff_1",
    "payoff_2": "o.payoff_2",
    "self_gain_1": "o.self_gain_1",
    "self_gain_2": "o.self_gain_2",
    "efficiency": "o.efficiency",
    "fairness": "o.fairness",
    "agreement": "o.agreement",
}
"""Frame column -> SQL expression. `rounds_played` is so named because persuasion has a
parameter called `rounds` (its horizon). `configuration` names what a game's replicates share (family,
parameters and the agent in each seat): the unit that intervals resample."""

TRANSCRIPT_SQL = (
    "SELECT game_id, md5(string_agg(concat_ws(chr(31), turn, round, seat, kind, action::VARCHAR, message, valid),"
    " chr(30) ORDER BY turn)) AS transcript FROM turns GROUP BY game_id"
)
"""A hash of each game's turns (every action, message and Nature's draws, in order): with the configuration,
what tells a replicate that is a copy of another (deterministic players at temperature 0) from a real one."""

OPTIONAL_COLUMNS: dict[str, str] = {
    "source_id": "g.source_id",
    "conforms": "g.conforms",
    "conform_error": "g.conform_error",
    "forfeit_seat": "g.forfeit_seat",
}
"""Columns read when the database has them (imported games, forfeits)."""


def extra_columns(name: str | None = None) -> dict[str, str]:
    """The family records kept in outcomes.extras (share_1, price, sales, ...) -> DuckDB type,
    for one family or the union over all of them."""
    columns: dict[str, str] = {}
    for fam in (name,) if name else registry.families():
        columns.update(schema.extra_columns(fam))
    return columns


def parameter_columns(name: str | None = None) -> dict[str, str]:
    """Parameter name -> DuckDB type, for one family or the union over all of them."""
    columns: dict[str, str] = {}
    for fam in (name,) if name else registry.families():
        for field_name, field in registry.family(fam).params.model_fields.items():
            columns.setdefault(field_name, sql_type(field.annotation))
    return columns


def _columns_of(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
    return {r[0] for r in rows}


def _where(filters: Mapping[str, Any], allowed: Mapping[str, str]) -> tuple[str, list[Any]]:
    """`col = ?` / `col IN (?, …)` clauses for validated column names, values as parameters."""
    clauses: list[str] = []
    values: list[Any] = []
    for name, value in filters.items():
        if name not in allowed:
            raise ConfigError(f"filter: unknown column {name!r}; allowed: {', '.join(sorted(allowed))}")
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            if not items:
                clauses.append("FALSE")
                continue
            clauses.append(f"{allowed[name]} IN ({', '.join('?' for _ in items)})")
            values.extend(items)
        elif value is None:
            clauses.append(f"{allowed[name]} IS NULL")
        else:
            clauses.append(f"{allowed[name]} = ?")
            values.append(value)
    return (" AND ".join(clauses) or "TRUE"), values


def load_games(
    db_path: Path,
    family: str | None = None,
    filters: Mapping[str, Any] | None = None,
    limit: int | None = None,
    agent: str | None = None,
    transcripts: bool = True,
) -> pd.DataFrame:
    """One row per game: family, typed parameters, both agents, status, end reason, metrics, and (unless
    `transcripts` is False) `transcript`, a hash of its turns that tells copies apart (distinct_transcripts).

    `filters` maps a column (a game column or a parameter) to a value or a list of values;
    e.g. `{"player_1": "baseline:spe", "delta_1": [0.9, 0.95]}`. `agent` keeps the games it
    played in either seat.
    """
    fam = check_family(family) if family is not None else None
    params = parameter_columns(fam)
    con = connect(db_path, read_only=True)
    try:
        present = {"g": _columns_of(con, "games"), "o": _columns_of(con, "outcomes")}
        if not present["g"]:
            raise ConfigError(f"database {str(db_path)!r}: no games table; allowed: a glee database")
        select = dict(GAME_COLUMNS)
        if "rounds_played" not in present["g"]:  # a file of an earlier glee, opened read-only: not migrated
            select["rounds_played"] = "g.rounds"
        select.update({k: v for k, v in OPTIONAL_COLUMNS.items() if v.split(".", 1)[1] in present[v.split(".", 1)[0]]})
        # Parameters come out of the params JSON with the type of their rules field.
        param_sql = {
            name: f"TRY_CAST(json_extract_string(g.params, '$.{name}') AS {kind})" for name, kind in params.items()
        }
        if "extras" in present["o"]:
            for name, kind in extra_columns(fam).items():
                extra = f"TRY_CAST(json_extract_string(o.extras, '$.{name}') AS {kind})"
                if name not in params:
                    select[name] = extra
                    continue
                # A record named like another family's parameter (negotiation's traded `price`
                # vs persuasion's `price`): each family's row gets its own meaning, as in its view.
                owners = [
                    f
                    for f in registry.families()
                    if name in schema.extra_columns(f) and name not in registry.family(f).params.model_fields
                ]
                marks = ", ".join(f"'{f}'" for f in owners)
                param_sql[name] = f"CASE WHEN g.family IN ({marks}) THEN {extra} ELSE {param_sql[name]} END"
        allowed = {**select, **param_sql}
        where, values = _where(dict(filters or {}), allowed)
        if fam is not None:
            where = f"({where}) AND g.family = ?"
            values.append(fam)
        if agent is not None:
            where = f"({where}) AND ? IN (g.player_1, g.player_2)"
            values.append(agent)
        exprs = ", ".join(f"{sql} AS {name}" for name, sql in allowed.items())
        joins = "LEFT JOIN outcomes o ON o.game_id = g.game_id"
        if transcripts and _columns_of(con, "turns"):
            exprs += ", t.transcript AS transcript"
            joins += f" LEFT JOIN ({TRANSCRIPT_SQL}) t ON t.game_id = g.game_id"
        query = f"SELECT {exprs} FROM games g {joins} WHERE {where}"
        query += " ORDER BY g.game_id"
        if limit is not None:
            query += " LIMIT ?"
            values.append(int(limit))
        try:
            frame = con.execute(query, values).df()
        except (
            duckdb.ConversionException,
            duckdb.BinderException,
            duckdb.InvalidInputException,
            duckdb.NotImplementedException,  # a value DuckDB cannot bind at all, e.g. object()
        ) as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigError(
                f"filter {dict(filters or {})!r}: a value does not match its column's type ({reason})"
            ) from None
    finally:
        con.close()
    # Parameters and records of families not in the frame are entirely NULL: leave them out.
    optional = set(parameter_columns()) | set(extra_columns())
    return frame.drop(columns=[c for c in frame if c in optional and frame[c].isna().all()])


def seat_frame(games: pd.DataFrame) -> pd.DataFrame:
    """One row per (game, seat): `agent` in that seat, its `role` (its family's registered roles: seller, buyer,
    ...), its `opponent`, its self_gain and payoff, and whether it `forfeited` (when known).

    Game-level metrics (efficiency, fairness, agreement) are repeated on both rows, so a
    table per agent and seat reads them for the games that agent played in that seat; a table or fit
    that pools seats reads them once per game (`game_frame`).
    """
    shared = [c for c in games.columns if not c.endswith(("_1", "_2")) or c in parameter_columns()]
    parts = []
    for seat, other in ((1, 2), (2, 1)):
        part = games[shared].copy()
        part["seat"] = seat
        if "family" in games:
            part["role"] = games["family"].map({f: registry.family(f).roles[seat - 1] for f in registry.families()})
        # Same index as `games`: columns are assigned as they are, without a copy through numpy.
        part["agent"] = games[f"player_{seat}"]
        part["opponent"] = games[f"player_{other}"]
        part["self_gain"] = games[f"self_gain_{seat}"]
        part["payoff"] = games[f"payoff_{seat}"]
        if "forfeit_seat" in games:
            part["forfeited"] = games["forfeit_seat"] == seat
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def game_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per game: a games frame as it is; a seat frame collapsed to its games, with `player_1` and
    `player_2` (the agents in seat 1 and 2) restored from its agent and opponent columns."""
    if "seat" not in frame or "game_id" not in frame:
        return frame
    first = frame.drop_duplicates("game_id").copy()
    seat_1 = first["seat"] == 1
    first["player_1"] = first["agent"].where(seat_1, first["opponent"])
    first["player_2"] = first["opponent"].where(seat_1, first["agent"])
    per_seat = ["seat", "role", "agent", "opponent", "self_gain", "payoff", "forfeited"]
    return first.drop(columns=[c for c in per_seat if c in first]).reset_index(drop=True)


COLLAPSED_NOTE = "{n} games identical to another of their configuration (same turns) counted once."
"""The caption sentence of a table whose frame had copies (distinct_transcripts)."""


def distinct_transcripts(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """`frame` with each game whose configuration, status and turns repeat another's counted once (the copies
    that deterministic players at temperature 0 make of a replicate), and how many games were collapsed.
    A seat frame keeps both seats of each kept game. Without a `transcript` column, `frame` as it is."""
    if "transcript" not in frame or "game_id" not in frame:
        return frame, 0
    games = frame.drop_duplicates("game_id")
    keys = pd.DataFrame({"c": configurations(games), "s": games["status"].to_numpy(), "t": games["transcript"]})
    copies = keys["t"].notna().to_numpy() & keys.duplicated().to_numpy()
    dropped = set(games["game_id"].to_numpy()[copies])
    if not dropped:
        return frame, 0
    return frame[~frame["game_id"].isin(dropped)], len(dropped)


def configurations(frame: pd.DataFrame) -> np.ndarray:
    """An integer code per row naming its configuration (family, parameters and both seats' agents): the
    cluster that replicates of one spec share. Without those columns, each game (or row) is its own."""
    if "configuration" in frame:
        keys: pd.Series | pd.DataFrame = frame["configuration"]
    elif "params" in frame and {"player_1", "player_2"} <= set(frame.columns):
        keys = frame[[c for c in ("family", "params", "player_1", "player_2") if c in frame]]
    elif "params" in frame and {"agent", "opponent", "seat"} <= set(frame.columns):
        keys = frame[[c for c in ("family", "params", "agent", "opponent", "seat") if c in frame]]
        swapped = frame["seat"] == 2  # the same game seen from seat 2: the same configuration as from seat 1
        keys = keys.assign(
            agent=frame["agent"].where(~swapped, frame["opponent"]),
            opponent=frame["opponent"].where(~swapped, frame["agent"]),
            seat=1,
        )
    elif "game_id" in frame:
        keys = frame["game_id"]
    else:
        return np.arange(len(frame), dtype=np.int64)
    if isinstance(keys, pd.Series):
        return pd.factorize(keys)[0].astype(np.int64)
    return keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)


def load_turns(db_path: Path, game_id: str | Sequence[str]) -> pd.DataFrame:
    """The turns of one game (or of several, by game then turn), with `action` decoded from JSON."""
    ids = [game_id] if isinstance(game_id, str) else list(game_id)
    con = connect(db_path, read_only=True)
    try:
        frame = con.execute(
            "SELECT game_id, turn, round, seat, kind, action,"
            " COALESCE(message, json_extract_string(action, '$.message')) AS message, valid"
            " FROM turns WHERE list_contains(?, game_id) ORDER BY game_id, turn",
            [ids],
        ).df()
    finally:
        con.close()
    frame["action"] = [json.loads(a) if isinstance(a, str) else a for a in frame["action"]]
    return frame


CALL_COLUMNS: dict[str, str] = {
    "game_id": "c.game_id",
    "family": "g.family",
    "turn": "c.turn",
    "seat": "c.seat",
    "attempt": "c.attempt",
    "agent": "CASE c.seat WHEN 1 THEN g.player_1 ELSE g.player_2 END",
    "model": "c.model",
    "prompt_tokens": "c.prompt_tokens",
    "completion_tokens": "c.completion_tokens",
    "cached_tokens": "c.cached_tokens",
    "latency_ms": "c.latency_ms",
    "finish_reason": "c.finish_reason",
    "rejection": "c.rejection",
    "error": "c.error",
    "response": "c.response",
}
"""load_calls column -> SQL expression over llm_calls c joined with games g."""


def load_calls(
    db_path: Path, game_id: str | Sequence[str] | None = None, filters: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """One row per model call (every attempt), by game, turn and attempt: the seat and the agent in it,
    the model, its tokens, latency, finish reason, and why its reply was rejected (`rejection`, None
    when it was accepted) or the call failed (`error`). `filters` maps any of these columns to a value
    or a list of values, e.g. `{"agent": "SmolLM2-135M-Instruct@llamacpp", "finish_reason": "length"}`.
    glee.analysis.full_prompt(db, game_id, turn, attempt) gives the whole prompt of one call."""
    chosen = dict(filters or {})
    if game_id is not None:
        chosen["game_id"] = [game_id] if isinstance(game_id, str) else list(game_id)
    con = connect(db_path, read_only=True)
    try:
        if not _columns_of(con, "llm_calls"):
            raise ConfigError(f"database {str(db_path)!r}: no llm_calls table; allowed: a glee database")
        where, values = _where(chosen, CALL_COLUMNS)
        exprs = ", ".join(f"{sql} AS {name}" for name, sql in CALL_COLUMNS.items())
        query = (
            f"SELECT {exprs} FROM llm_calls c JOIN games g ON g.game_id = c.game_id WHERE {where}"
            " ORDER BY c.game_id, c.turn, c.attempt"
        )
        try:
            return con.execute(query, values).df()
        except (duckdb.ConversionException, duckdb.BinderException, duckdb.InvalidInputException) as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigError(f"filter {chosen!r}: a value does not match its column's type ({reason})") from None
    finally:
        con.close()


def full_prompt(db_path: Path, game_id: str, turn: int, attempt: int = 1) -> list[dict[str, Any]]:
    """The whole message list sent in one model call (glee.store.prompt_of, on a database path)."""
    with open_store(db_path, read_only=True) as store:
        return prompt_of(store, game_id, turn, attempt)


def metric_columns(frame: pd.DataFrame, metrics: Sequence[str] = METRICS) -> list[str]:
    """The metrics present in `frame`; an unknown name is a ConfigError."""
    for m in metrics:
        if m not in METRICS:
            raise ConfigError(f"metric: got {m!r}; allowed: one of {list(METRICS)}")
    return [m for m in metrics if m in frame]
