"""`glee serve-web`: participants open a link, read the instructions, play a game, see the result.

Plain HTML forms (no script needed): a page that waits for the opponent refreshes itself.
Participant input is untrusted: the participant id is a plain token, only the current turn's
fields are read (each capped), answers are validated by the rules' action model, and every
text is escaped on display (Jinja2 autoescape). Game pages are addressed by an unguessable token.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from glee.errors import ConfigError
from glee.play.config import NAME_RULE, StudyConfig, check_name, study_config
from glee.play.web.rooms import Room, Study
from glee.players.human import RAW_LIMIT

HERE = Path(__file__).resolve().parent
ANSWER_WAIT_S = 5.0
"""How long a form post waits for the game to move on before showing the page (a model may take longer)."""
MAX_FIELDS = 20
MAX_PART_BYTES = 4 * RAW_LIMIT

templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
)


def create_app(config: StudyConfig) -> FastAPI:
    """The web app of one study; the Study opens the database and the endpoints when the app starts."""
    study = Study(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await study.open()
        try:
            yield
        finally:
            await study.close()

    app = FastAPI(title="glee", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.study = study
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("title", config.title)
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def room_or_404(request: Request, token: str) -> Room | HTMLResponse:
        room = study.rooms.get(token)
        if room is None:
            return page(
                request, "message.html", 404, heading="No such game", text="This link is not (or no longer) valid."
            )
        return room

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/")
    async def index(request: Request, participant: str = "") -> HTMLResponse:
        return page(request, "index.html", instructions=config.instructions, participant=participant[:64])

    @app.post("/start")
    async def start(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES)
        participant = str(form.get("participant", "")).strip()
        try:
            check_name(participant, "participant id")
        except ConfigError:
            return page(
                request,
                "index.html",
                400,
                instructions=config.instructions,
                participant=participant[:64],
                error=f"Please enter your participant id: {NAME_RULE}.",
            )
        if participant not in study.playing and study.in_flight() >= config.max_games_in_flight:
            return page(
                request,
                "message.html",
                503,
                heading="Busy",
                text="Many people are playing now: please come back in a few minutes.",
            )
        room = study.start(participant)
        if room is None:
            return page(request, "message.html", heading="Thank you!", text="You have played every game of this study.")
        return RedirectResponse(f"/game/{room.token}", status_code=303)

    @app.get("/game/{token}")
    async def game(request: Request, token: str) -> HTMLResponse:
        room = room_or_404(request, token)
        if not isinstance(room, Room):
            return room
        you, them = room.names
        return page(
            request,
            "game.html",
            room=room,
            you=you,
            them=them,
            remaining=study.remaining(room.participant),
        )

    @app.post("/game/{token}")
    async def answer(request: Request, token: str) -> Response:
        room = room_or_404(request, token)
        if not isinstance(room, Room):
            return room
        form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES)
        if room.request is not None:
            fields = {f.name: str(form.get(f.name, ""))[: RAW_LIMIT + 1] for f in room.request.fields}
            since = room.version
            if room.submit(fields):
                await room.wait_change(since, ANSWER_WAIT_S)  # the answer is taken ...
                if room.state == "opponent":
                    await room.wait_change(room.version, ANSWER_WAIT_S)  # ... and the opponent answers
        return RedirectResponse(f"/game/{token}", status_code=303)

    return app


def serve_web(args: list[str]) -> int:
    """`glee serve-web [STUDY.yaml] [KEY=VALUE ...]`: serve the study until Ctrl-C."""
    import uvicorn

    config = study_config(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print(f"glee serve-web: {len(config.games)} configurations -> {config.db}", flush=True)
    print(f"participants open http://{config.host}:{config.port}/?participant=ID", flush=True)
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning")
    return 0
