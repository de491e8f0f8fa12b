"""`glee serve-web`: participants open a link, read the instructions, play a game, see the result.

Plain HTML forms (no script needed): a page that waits for the opponent refreshes itself.
Participant input is untrusted: the participant id comes from the study link (glee.play.links),
only the current turn's fields are read (each capped), answers are validated by the rules' action
model, and every text is escaped on display (Jinja2 autoescape). Game pages are addressed by an
unguessable token; only the browser that started a game answers in it, every form carries the
question it answers (a stale or replayed one changes nothing) and a CSRF token (glee.play.web.guard).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from glee.play.config import StudyConfig, study_config
from glee.play.links import LINK_FIELDS, Identity, LinkError, identify, link_key
from glee.play.web.admin import add_admin
from glee.play.web.guard import Guard
from glee.play.web.participants import Journey, now, wrong_answers
from glee.play.web.rooms import Room, Study, Waiting
from glee.players.human import RAW_LIMIT

HERE = Path(__file__).resolve().parent
ANSWER_WAIT_S = 5.0
"""How long a form post waits for the game to move on before showing the page (a model may take longer)."""
MAX_FIELDS = 40
SCREENED_OUT = (
    "Thank you for your time. The answers to the questions about the rules were not right, so the study ends here."
)
MAX_PART_BYTES = 4 * RAW_LIMIT

templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
)


def create_app(config: StudyConfig) -> FastAPI:
    """The web app of one study; the Study opens the database and the endpoints when the app starts."""
    study = Study(config)
    guard = Guard(config.starts_per_minute)
    key = link_key(config.link_key_env) if config.participant_ids == "signed" else None
    fields = LINK_FIELDS[config.participant_ids]

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
        """A page; it sets the browser cookie on first sight, and its forms carry the CSRF token."""
        browser, new = guard.browser_or_new(request)
        context.setdefault("title", config.title)
        context["csrf"] = guard.csrf_token(browser)
        response = templates.TemplateResponse(request, name, context, status_code=status_code)
        if new:
            guard.remember(response, browser)
        return response

    def message(request: Request, status: int, heading: str, text: str, back: str | None = None) -> HTMLResponse:
        return page(request, "message.html", status, heading=heading, text=text, back=back)

    def room_or_404(request: Request, token: str) -> Room | HTMLResponse:
        room = study.rooms.get(token)
        if room is None:
            return message(request, 404, "No such game", "This link is not (or no longer) valid.")
        return room

    async def read_form(request: Request) -> tuple[dict[str, str], HTMLResponse | None]:
        """The posted fields, or the page refusing a post from another site or browser."""
        form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES)
        values = {k: str(v)[: RAW_LIMIT + 1] for k, v in form.items()}
        why = guard.refuse_post(request, values.get("csrf", ""))
        if why is not None:
            return values, message(
                request, 403, "Not accepted", f"This answer was not accepted: {why}. Nothing was changed."
            )
        return values, None

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    def index_page(request: Request, link: dict[str, str], status: int = 200, error: str = "") -> HTMLResponse:
        return page(
            request,
            "index.html",
            status,
            instructions=config.instructions,
            consent=config.consent,
            link=link,
            typed=config.participant_ids == "typed",
            error=error,
        )

    def who_from(request: Request, link: dict[str, str]) -> Identity | HTMLResponse:
        try:
            return identify(config.participant_ids, link, key)
        except LinkError as exc:
            if config.participant_ids == "typed":
                return index_page(request, link, 400, str(exc))
            return message(request, 400, "Please use your study link", str(exc))

    def end_page(request: Request, journey: Journey) -> HTMLResponse:
        return page(
            request,
            "end.html",
            code=journey.completion_code or config.completion.code,
            redirect=journey.redirect(config),
            bonus=journey.bonus,
            currency=journey.currency,
        )

    def quiz_page(request: Request, who: Identity, status: int = 200, error: str = "") -> HTMLResponse:
        questions = [(f"q{i}", q) for i, q in enumerate(config.quiz)]
        return page(request, "quiz.html", status, questions=questions, link=who.link, error=error)

    async def proceed(request: Request, who: Identity) -> Response:
        """The participant's next step after the start page or the quiz: the quiz, a game, or the end."""
        journey = study.journey(who)
        stage = journey.stage(config)
        if stage == "screened_out":
            return message(request, 200, "Thank you", SCREENED_OUT)
        if stage == "quiz":
            return quiz_page(request, who)
        if stage == "done":
            return end_page(request, journey)
        browser = guard.browser(request)
        assert browser is not None  # refuse_post checked it
        live = study.live_room(who.participant) or study.waiting_of(who.participant)
        if live is not None and live.browser != browser:
            text = "This participant id is playing a game in another browser. Please go on there."
            return message(request, 409, "Already playing", text)
        if live is None and study.in_flight() >= config.max_games_in_flight:
            return message(request, 503, "Busy", "Many people are playing now: please come back in a few minutes.")
        room = study.start(who.participant, browser, who.link)
        if room is None:
            await study.finish(journey)
            return end_page(request, journey)
        if isinstance(room, Waiting):
            return RedirectResponse(f"/wait/{room.token}", status_code=303)
        return RedirectResponse(f"/game/{room.token}", status_code=303)

    @app.get("/")
    async def index(request: Request) -> HTMLResponse:
        link = {name: request.query_params.get(name, "")[:128] for name in fields}
        if config.participant_ids != "typed":
            try:
                identify(config.participant_ids, link, key)
            except LinkError as exc:
                return message(request, 400, "Please use your study link", str(exc))
        return index_page(request, link)

    @app.post("/start")
    async def start(request: Request) -> Response:
        values, refused = await read_form(request)
        if refused is not None:
            return refused
        if not guard.allow_start(request):
            text = "Too many games were started from your address: please wait a minute."
            return message(request, 429, "Please wait", text)
        link = {name: values.get(name, "") for name in fields}
        who = who_from(request, link)
        if not isinstance(who, Identity):
            return who
        journey = study.journey(who)
        if journey.stage(config) == "consent":
            if values.get("consent") != "yes":
                return index_page(request, link, 400, "Please tick the box to say that you agree, or close this page.")
            journey.consented_at = now()
            await study.save(journey)
        elif journey.consented_at is None and journey.quiz_tries == 0 and journey.completed_at is None:
            await study.save(journey)  # first seen
        return await proceed(request, who)

    @app.post("/quiz")
    async def quiz(request: Request) -> Response:
        values, refused = await read_form(request)
        if refused is not None:
            return refused
        who = who_from(request, {name: values.get(name, "") for name in fields})
        if not isinstance(who, Identity):
            return who
        journey = study.journey(who)
        if journey.stage(config) != "quiz":
            return await proceed(request, who)
        wrong = wrong_answers(config.quiz, values)
        journey.quiz_tries += 1
        if wrong == 0:
            journey.quiz_passed_at = now()
        elif journey.quiz_tries >= config.quiz_attempts:
            journey.screened_out_at = now()
        await study.save(journey)
        if wrong and journey.screened_out_at is None:
            left = config.quiz_attempts - journey.quiz_tries
            error = (
                f"{wrong} of {len(config.quiz)} answers {'is' if wrong == 1 else 'are'} not right. "
                f"Please read the instructions again ({left} {'try' if left == 1 else 'tries'} left)."
            )
            return quiz_page(request, who, 400, error)
        return await proceed(request, who)

    @app.get("/wait/{token}")
    async def wait(request: Request, token: str) -> Response:
        """Waiting for another participant: the page refreshes itself until the game starts."""
        waiting = study.waits.get(token)
        if waiting is None or guard.browser(request) != waiting.browser:
            return message(request, 404, "No such game", "This link is not (or no longer) valid.")
        if waiting.room is not None:
            return RedirectResponse(f"/game/{waiting.room.token}", status_code=303)
        return page(request, "wait.html", waited=int(time.monotonic() - waiting.since), limit=config.match_timeout_s)

    @app.get("/game/{token}")
    async def game(request: Request, token: str) -> HTMLResponse:
        room = room_or_404(request, token)
        if not isinstance(room, Room):
            return room
        owner = guard.browser(request) == room.browser
        room.opened = room.opened or owner
        journey = study.journeys.get(room.participant)
        you, them = room.names
        return page(
            request,
            "game.html",
            room=room,
            owner=owner,
            you=you,
            them=them,
            remaining=study.remaining(room.participant),
            journey=journey,
            redirect=journey.redirect(config) if journey else "",
        )

    @app.post("/game/{token}")
    async def answer(request: Request, token: str) -> Response:
        room = room_or_404(request, token)
        if not isinstance(room, Room):
            return room
        values, refused = await read_form(request)
        if refused is not None:
            return refused
        if guard.browser(request) != room.browser:
            return message(
                request, 403, "Not your game", "This game is being played in another browser. Nothing was changed."
            )
        if room.request is not None:
            if not room.is_current(values.get("step", ""), values.get("nonce", "")):
                return message(
                    request,
                    409,
                    "This page was out of date",
                    "That answer was for an earlier question of this game; the game has moved on "
                    f"(question {room.step}). Nothing was changed.",
                    back=f"/game/{token}",
                )
            answer = {f.name: values.get(f.name, "") for f in room.request.fields}
            since = room.version
            if room.submit(answer):
                await room.wait_change(since, ANSWER_WAIT_S)  # the answer is taken ...
                if room.state == "opponent":
                    await room.wait_change(room.version, ANSWER_WAIT_S)  # ... and the opponent answers
        return RedirectResponse(f"/game/{token}", status_code=303)

    add_admin(app, study, guard, page)
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
