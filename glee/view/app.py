"""`glee view DB`: runs -> games (filtered) -> one game's transcript with every model call.

Read-only and local: every request opens the database read-only for as long as it takes to
answer (so a `glee run` can write the file between two page loads), the server binds the
loopback address only, and every text from the database (model replies, messages) is escaped
on display (Jinja2 autoescape). Filters go to glee.analysis.load_games, which binds them as
SQL parameters against an allow-list of columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from glee.analysis.frames import load_games, parameter_columns, seat_frame
from glee.analysis.leaderboard import leaderboards
from glee.errors import ConfigError
from glee.games import check_family, families
from glee.games.base import seat_names
from glee.store import load_game, open_store, prompt_of

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
PAGE_ROWS = 200
"""Games listed on one page of the games list."""
STATUSES = ("completed", "forfeit", "failed", "abandoned")

templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
)


def _runs(db: Path) -> list[dict[str, Any]]:
    """Every run with its game counts; games whose run has no `runs` row (imports) are a run too."""
    with open_store(db, read_only=True) as store:
        cursor = store.con.execute(
            """
            SELECT g.run_id, any_value(r.started_at) AS started_at, any_value(r.experiment) AS experiment,
                   count(*) AS games, count(*) FILTER (g.status = 'completed') AS completed,
                   count(*) FILTER (g.status = 'forfeit') AS forfeit_games,
                   count(*) FILTER (g.status = 'failed') AS failed,
                   string_agg(DISTINCT g.family, ', ' ORDER BY g.family) AS families
            FROM games g LEFT JOIN runs r USING (run_id) GROUP BY g.run_id ORDER BY started_at NULLS LAST, g.run_id
            """
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _agents(db: Path) -> list[str]:
    with open_store(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT agent FROM (SELECT player_1 AS agent FROM games UNION SELECT player_2 FROM games) ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def game_filters(query: Mapping[str, str]) -> tuple[dict[str, Any], str | None, str | None]:
    """The load_games filters, the family and the agent chosen in a games-list query string.

    Parameters are `param.<name>=<value>`; empty fields choose nothing. A name that is not a
    parameter of the chosen family (or of any family) is a ConfigError naming it.
    """
    family = query.get("family") or None
    if family is not None:
        check_family(family)
    allowed = parameter_columns(family)
    filters: dict[str, Any] = {}
    for key in ("run_id", "status"):
        if query.get(key):
            filters[key] = query[key]
    for key, value in query.items():
        if key.startswith("param.") and value != "":
            name = key.removeprefix("param.")
            if name not in allowed:
                raise ConfigError(
                    f"param.{name}: not a parameter of {family or 'any family'}; allowed: {sorted(allowed)}"
                )
            filters[name] = value
    return filters, family, query.get("agent") or None


def games_page(db: Path, query: Mapping[str, str], rows: int = PAGE_ROWS) -> tuple[pd.DataFrame, bool]:
    """The first `rows` games a games-list query chooses, and whether there are more."""
    filters, family, agent = game_filters(query)
    games = load_games(db, family=family, filters=filters, limit=rows + 1, agent=agent, transcripts=False)
    return games.head(rows), len(games) > rows


def _calls_by_turn(record: Any) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for call in record.calls:
        out.setdefault(call.turn, []).append(call.model_dump())
    return out


def create_app(db: Path) -> FastAPI:
    """The viewer of the database at `db` (which must exist)."""
    db = Path(db)
    if not db.exists():
        raise ConfigError(f"db: no database at {str(db)!r}")
    app = FastAPI(title="glee view", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("db", db)
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def problem(request: Request, exc: ConfigError, status_code: int = 400) -> HTMLResponse:
        return page(request, "message.html", status_code, heading="Not shown", text=str(exc))

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/api/leaderboard")
    async def leaderboard() -> JSONResponse:
        """Per family, the agents ranked by Bradley–Terry strength with their metrics per role (JSON)."""
        games = load_games(db)
        return JSONResponse(leaderboards(games, seat_frame(games)) if not games.empty else {})

    @app.get("/")
    async def runs(request: Request) -> HTMLResponse:
        return page(request, "runs.html", runs=_runs(db))

    @app.get("/games")
    async def games(request: Request) -> HTMLResponse:
        query = dict(request.query_params)
        try:
            shown, more = games_page(db, query)
        except ConfigError as exc:
            return problem(request, exc)
        family = query.get("family") or None
        params = list(parameter_columns(family)) if family in families() else []
        columns = [c for c in params if c in shown] if family else []
        return page(
            request,
            "games.html",
            games=shown.to_dict("records"),
            more=more,
            query=query,
            families=families(),
            statuses=STATUSES,
            agents=_agents(db),
            params=params,
            columns=columns,
        )

    @app.get("/game/{game_id}")
    async def game(request: Request, game_id: str) -> HTMLResponse:
        try:
            with open_store(db, read_only=True) as store:
                record = load_game(store, game_id)
        except ConfigError as exc:
            return problem(request, exc, 404)
        return page(
            request,
            "game.html",
            game=record,
            names=seat_names(record.params),
            agents={0: "Nature", 1: record.player_1, 2: record.player_2},
            calls=_calls_by_turn(record),
            turned={t.turn for t in record.turns},
        )

    @app.get("/game/{game_id}/prompt/{turn}/{attempt}")
    async def prompt(request: Request, game_id: str, turn: int, attempt: int) -> HTMLResponse:
        try:
            with open_store(db, read_only=True) as store:
                messages = prompt_of(store, game_id, turn, attempt)
        except ConfigError as exc:
            return problem(request, exc, 404)
        return page(request, "prompt.html", game_id=game_id, turn=turn, attempt=attempt, messages=messages)

    return app


def serve_view(db: Path, port: int) -> int:
    """Serve the viewer of `db` on the loopback address until Ctrl-C."""
    import uvicorn

    app = create_app(db)
    print(f"glee view: {db} (read-only) at http://{HOST}:{port}/", flush=True)
    uvicorn.run(app, host=HOST, port=port, log_level="warning")
    return 0
