"""The experimenter's monitor of a running study, `/admin`: live counts per configuration and status,
who is playing now, abandoned games, participants and bonuses, and downloads of the data (CSV per
table, the bonus file for the platform, a snapshot of the DuckDB file) while participants play.

It opens with the token in the environment variable the study names (`admin_token_env`), once per
browser (a cookie, so the token does not stay in the address bar); unset, there is no monitor.
Reads go through the server's own database connection, one at a time with its writes.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from glee.play.web.guard import Guard
from glee.play.web.participants import Journey
from glee.play.web.rooms import Study

ADMIN_COOKIE = "glee_admin"
EXPORTS = ("games", "turns", "human_answers", "participants", "seats", "outcomes")
"""The tables and views `/admin/export/NAME.csv` offers."""
BY_CONFIGURATION = """
    SELECT family, params::VARCHAR AS params,
           CASE WHEN player_1 LIKE 'human:%' THEN player_2 ELSE player_1 END AS opponent,
           count(*) FILTER (status = 'completed') AS completed,
           count(*) FILTER (status = 'forfeit') AS forfeit,
           count(*) FILTER (status = 'abandoned') AS abandoned,
           count(*) FILTER (status = 'failed') AS failed
    FROM games WHERE player_1 LIKE 'human:%' OR player_2 LIKE 'human:%'
    GROUP BY ALL ORDER BY family, params
"""
ABANDONED = """
    SELECT game_id, family, CASE WHEN player_1 LIKE 'human:%' THEN player_1 ELSE player_2 END AS participant,
           started_at, error
    FROM games WHERE status = 'abandoned' ORDER BY started_at DESC LIMIT 50
"""
PARTICIPANTS = """
    SELECT participant, first_seen, consented_at, quiz_tries, quiz_passed_at, screened_out_at, completed_at,
           bonus, currency
    FROM participants ORDER BY first_seen
"""


OVERVIEW = (BY_CONFIGURATION, ABANDONED, PARTICIPANTS)


def bonus_csv(journeys: Iterable[Journey], source: str) -> str:
    """The bonus file a platform's bulk-bonus tool takes: Prolific `ID,amount` lines (no header);
    MTurk `workerId,assignmentId,amount`; otherwise `participant,amount,currency`. Only bonuses > 0."""
    paid = [j for j in journeys if j.bonus]
    if source == "prolific":
        return "".join(f"{j.participant},{j.bonus:.2f}\n" for j in paid)
    if source == "mturk":
        rows = [f"{j.participant},{j.link.get('assignmentId', '')},{j.bonus:.2f}" for j in paid]
        return "\n".join(["workerId,assignmentId,amount", *rows]) + "\n"
    return (
        "\n".join(["participant,amount,currency", *(f"{j.participant},{j.bonus:.2f},{j.currency}" for j in paid)])
        + "\n"
    )


def add_admin(app: FastAPI, study: Study, guard: Guard, page: Callable[..., HTMLResponse]) -> None:
    """The monitor's routes on the study's app."""
    config = study.config
    token = os.environ.get(config.admin_token_env, "")

    def admitted(request: Request) -> bool:
        cookie = request.cookies.get(ADMIN_COOKIE, "")
        return bool(token) and hmac.compare_digest(cookie, guard.csrf_token(f"admin:{token}"))

    def closed(request: Request) -> HTMLResponse:
        text = f"Open /admin?token=… with the token in {config.admin_token_env}." if token else "The monitor is off."
        return page(request, "message.html", 403, heading="Monitor", text=text)

    async def read(work: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        assert study.store is not None
        con = study.store.con
        async with study.write_lock:  # one at a time with the server's writes, off the event loop

            def run() -> Any:
                with con.cursor() as cur:
                    return work(cur)

            return await asyncio.to_thread(run)

    @app.get("/admin")
    async def monitor(request: Request) -> Response:
        given = request.query_params.get("token", "")
        if given:
            if not token or not hmac.compare_digest(given, token):
                return closed(request)
            response = RedirectResponse("/admin", status_code=303)  # the token leaves the address bar
            response.set_cookie(
                ADMIN_COOKIE, guard.csrf_token(f"admin:{token}"), httponly=True, samesite="strict", max_age=86400
            )
            return response
        if not admitted(request):
            return closed(request)
        by_config, abandoned, people = await read(
            lambda cur: (
                cur.execute(BY_CONFIGURATION).df(),
                cur.execute(ABANDONED).df(),
                cur.execute(PARTICIPANTS).df(),
            )
        )
        playing = [
            {
                "participant": room.participant,
                "family": room.seating.family,
                "opponent": room.seating.opponent.label(),
                "state": room.state,
                "question": room.step,
                "opened": room.opened,
            }
            for room in study.rooms.values()
            if room.state != "over"
        ]
        return page(
            request,
            "admin.html",
            by_config=by_config.to_dict("records"),
            abandoned=abandoned.to_dict("records"),
            people=people.to_dict("records"),
            playing=playing,
            exports=EXPORTS,
        )

    @app.get("/admin/export/{name}.csv")
    async def export(request: Request, name: str) -> Response:
        if not admitted(request):
            return closed(request)
        if name not in EXPORTS:
            return page(request, "message.html", 404, heading="No such table", text=f"Allowed: {', '.join(EXPORTS)}.")
        frame = await read(lambda cur: cur.execute(f"SELECT * FROM {name}").df())  # name is one of EXPORTS
        return Response(frame.to_csv(index=False), media_type="text/csv", headers=_download(f"{name}.csv"))

    @app.get("/admin/bonuses.csv")
    async def bonuses(request: Request) -> Response:
        if not admitted(request):
            return closed(request)
        text = bonus_csv(study.journeys.values(), config.participant_ids)
        return Response(text, media_type="text/csv", headers=_download("bonuses.csv"))

    @app.get("/admin/export/study.duckdb")
    async def snapshot(request: Request) -> Response:
        """A consistent copy of the database as it is now (the server keeps writing the original)."""
        if not admitted(request):
            return closed(request)
        folder = Path(tempfile.mkdtemp(prefix="glee-snapshot-"))
        path = folder / "study.duckdb"

        def copy(cur: duckdb.DuckDBPyConnection) -> None:
            name = cur.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
            cur.execute(f"ATTACH '{path}' AS snapshot")  # a path of our own making, not user input
            try:
                cur.execute(f'COPY FROM DATABASE "{name}" TO snapshot')
            finally:
                cur.execute("DETACH snapshot")

        await read(copy)
        cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
        return FileResponse(path, filename="study.duckdb", media_type="application/octet-stream", background=cleanup)


def _download(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
