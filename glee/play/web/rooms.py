"""The games being played on the web: one Room per participant's game, and the Study that owns them.

Everything runs on the server's one asyncio loop. Each game is a task playing `match.play`;
when the participant's seat is asked, its WebInput publishes the request and awaits the
participant's next form post, or the inactivity timeout (then the game ends as abandoned).
Finished games go to the one Store of the server process, one write at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Mapping
from typing import Literal

from glee.backends import EndpointPool
from glee.backends.spec import EndpointSpec
from glee.engine.match import play
from glee.engine.plan import canonical_json
from glee.engine.record import GameRecord
from glee.engine.scheduler import new_run_id
from glee.engine.specs import GameSpec, PlayerSpec
from glee.errors import GameAbandoned
from glee.games import Seat
from glee.games.base import other, seat_names
from glee.play.config import Seating, StudyConfig
from glee.play.links import Identity
from glee.play.session import Result, game_spec, human_spec, opening_rules, people_factory, result
from glee.play.web.participants import Journey, bonus_of, load_journeys, now, save_journey
from glee.players.base import ChatEndpoint
from glee.players.human import HumanRequest
from glee.store import Store, open_store

log = logging.getLogger("glee.web")

RoomState = Literal["opponent", "you", "over"]
"""opponent: the other seat is thinking; you: the participant is asked; over: the game has ended."""
KEEP_FINISHED_S = 3600.0
"""How long a finished game's page stays available to its participant."""


class Room:
    """One participant's game: its task, what the participant is asked now, and what was said so far."""

    def __init__(
        self,
        participant: str,
        seating: Seating,
        spec: GameSpec,
        browser: str,
        link: Mapping[str, str],
        seat: Seat | None = None,
    ) -> None:
        self.token = secrets.token_urlsafe(18)
        """The game page's address: unguessable."""
        self.participant = participant
        self.link = dict(link)
        """The study link's fields (they start the participant's next game)."""
        self.browser = browser
        """The browser that started the game: the only one that may answer in it."""
        self.opened = False
        """Whether the participant has opened the game's page (until then its slot is only reserved)."""
        self.seating = seating
        self.seat: Seat = seat or seating.seat
        """The participant's seat (against another participant, the second to arrive takes the other)."""
        self.spec = spec
        self.rules = opening_rules(spec, self.seat)
        self.state: RoomState = "opponent"
        self.request: HumanRequest | None = None
        self.step = 0
        """How many questions the game has asked the participant (re-asks included): each form carries
        it, with `nonce`, so that a stale or replayed form is refused instead of becoming a later move."""
        self.nonce = ""
        self.stopped_because = "the server stopped"
        self.history: list[str] = []
        """The texts of earlier turns, oldest first (the current turn's text is `request.text`)."""
        self.result: Result | None = None
        self.answers: asyncio.Queue[Mapping[str, str] | None] = asyncio.Queue(maxsize=1)
        self.version = 0
        self.changed = asyncio.Event()
        self.finished_at: float | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def names(self) -> tuple[str, str]:
        """(the participant's name in the game, the opponent's)."""
        names = seat_names(self.spec.params_json())
        return names[self.seat], names[other(self.seat)]

    def touch(self) -> None:
        """Something changed: wake the page requests waiting for it."""
        self.version += 1
        self.changed.set()
        self.changed = asyncio.Event()

    async def wait_change(self, since: int, timeout: float) -> None:
        """Until the room changes after version `since`, or `timeout` seconds."""
        if self.version != since:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)

    def ask(self, request: HumanRequest) -> None:
        """Show the participant a new question (a new step and nonce: older forms no longer count)."""
        self.request, self.state = request, "you"
        self.step += 1
        self.nonce = secrets.token_urlsafe(12)
        self.touch()

    def is_current(self, step: str, nonce: str) -> bool:
        """Whether a form was made for the question being asked now."""
        return self.state == "you" and step == str(self.step) and secrets.compare_digest(nonce, self.nonce)

    def submit(self, answer: Mapping[str, str]) -> bool:
        """Hand a form post to the game; False when the participant is not being asked (a stale page)."""
        if self.state != "you" or self.answers.full():
            return False
        self.answers.put_nowait(answer)
        return True

    def abandon(self, because: str = "the server stopped") -> None:
        """Stop waiting for the participant."""
        self.stopped_because = because
        with contextlib.suppress(asyncio.QueueFull):
            self.answers.put_nowait(None)


class WebInput:
    """The participant's seat as the HumanPlayer sees it: requests go to the page, answers come from posts."""

    def __init__(self, room: Room, timeout_s: float) -> None:
        self.room = room
        self.timeout_s = timeout_s

    async def answer(self, request: HumanRequest) -> Mapping[str, str]:
        room = self.room
        current = room.request
        if current is not None and current.text != request.text:
            room.history.append(current.text)
        room.ask(request)
        try:
            answer = await asyncio.wait_for(room.answers.get(), self.timeout_s)
        except TimeoutError:
            raise GameAbandoned(f"no answer from the participant for {self.timeout_s:g} s") from None
        if answer is None:
            raise GameAbandoned(room.stopped_because)
        room.state = "opponent"
        room.touch()
        return answer


class Waiting:
    """A participant waiting for another to play a configuration against people; `room` is set when
    the game starts (against the next participant, or the fallback opponent after `match_timeout_s`)."""

    def __init__(self, participant: str, seating: Seating, browser: str, link: Mapping[str, str]) -> None:
        self.token = secrets.token_urlsafe(18)
        self.participant = participant
        self.seating = seating
        self.browser = browser
        self.link = dict(link)
        self.since = time.monotonic()
        self.room: Room | None = None


class Study:
    """The server's state: the configurations, the participants' games, the endpoints and the one writer."""

    def __init__(self, config: StudyConfig) -> None:
        self.config = config
        self.seatings = config.seatings()
        self.rooms: dict[str, Room] = {}
        self.playing: dict[str, str] = {}
        """participant -> token of the game it is playing now."""
        self.played: dict[str, set[str]] = {}
        """participant -> keys of the configurations it was given (finished, abandoned or playing)."""
        self.taken: set[str] = set()
        self.turn = 0
        """The round-robin position: the configuration the next game starts looking from."""
        self.store: Store | None = None
        self.pool = EndpointPool()
        self.endpoints: dict[EndpointSpec, ChatEndpoint] = {}
        self.write_lock = asyncio.Lock()
        self.run_id = new_run_id()
        self.journeys: dict[str, Journey] = {}
        """participant -> where they are in the study (the `participants` table)."""
        self.waiting: dict[str, Waiting] = {}
        """configuration key -> the participant waiting there for another (configurations against people)."""
        self.waits: dict[str, Waiting] = {}
        """token of a waiting page -> its Waiting."""

    async def open(self) -> None:
        """Open the database (the one writer), learn who played what, and start the opponents' endpoints."""
        store = open_store(self.config.db)
        self.store = store
        self.taken = store.game_ids()
        self.journeys = load_journeys(store.con)
        keys = {}
        for s in self.seatings:
            if s.against_people:  # two people (any seats), or the first one against the fallback
                keys[self.seating_key(s.family, s.params, "human", 0)] = s.key()
                assert s.fallback is not None
                keys[self.seating_key(s.family, s.params, s.fallback.label(), s.seat)] = s.key()
            else:
                keys[self.seating_key(s.family, s.params, s.opponent.label(), s.seat)] = s.key()
        rows = store.con.execute(
            "SELECT family, params::VARCHAR, player_1, player_2 FROM games "
            "WHERE player_1 LIKE 'human:%' OR player_2 LIKE 'human:%'"
        ).fetchall()
        for family, params, p1, p2 in rows:
            if p1.startswith("human:") and p2.startswith("human:"):
                key = keys.get(self.seating_key(family, json.loads(params), "human", 0))
                people = [p1, p2]
            else:
                seat, human, opponent = (1, p1, p2) if p1.startswith("human:") else (2, p2, p1)
                key = keys.get(self.seating_key(family, json.loads(params), opponent, seat))
                people = [human]
            for person in people if key is not None else []:
                self.played.setdefault(person.removeprefix("human:"), set()).add(key)  # type: ignore[arg-type]
        store.begin_run(
            self.run_id,
            {"serve_web": self.config.model_dump(mode="json")},
            "serve-web",
        )
        for seating in self.seatings:
            for opponent in (seating.opponent, seating.fallback):
                spec = opponent.endpoint if opponent is not None else None
                if opponent is not None and opponent.kind == "llm" and spec is not None and spec not in self.endpoints:
                    self.endpoints[spec] = await self.pool.endpoint(spec)

    @staticmethod
    def seating_key(family: str, params: object, opponent_label: str, seat: int) -> str:
        return canonical_json([family, params, opponent_label, seat])

    async def close(self) -> None:
        """Stop: games waiting for a participant end as abandoned and are written; then the endpoints stop."""
        live = [room for room in self.rooms.values() if room.task is not None and not room.task.done()]
        for room in live:
            room.abandon()
        tasks = [room.task for room in live if room.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
        await self.pool.aclose()
        if self.store is not None:
            self.store.close()

    def in_flight(self) -> int:
        return sum(1 for room in self.rooms.values() if room.state != "over") + len(self.waiting)

    def next_seating(self, participant: str) -> Seating | None:
        """The configuration of this participant's next game, or None when it has played them all. A
        configuration where another participant is waiting for an opponent comes first."""
        done = self.played.get(participant, set())
        for key, wait in self.waiting.items():
            if key not in done and wait.participant != participant:
                return wait.seating
        n = len(self.seatings)
        start = self.turn if self.config.assignment == "round_robin" else 0
        for i in range(n):
            seating = self.seatings[(start + i) % n]
            if seating.key() not in done:
                if self.config.assignment == "round_robin":
                    self.turn = (start + i + 1) % n
                return seating
        return None

    def remaining(self, participant: str) -> int:
        done = self.played.get(participant, set())
        return sum(1 for s in self.seatings if s.key() not in done)

    def live_room(self, participant: str) -> Room | None:
        """The participant's game that has not ended, if any."""
        token = self.playing.get(participant)
        room = self.rooms.get(token) if token is not None else None
        return room if room is not None and room.state != "over" else None

    def waiting_of(self, participant: str) -> Waiting | None:
        return next((w for w in self.waiting.values() if w.participant == participant), None)

    def start(self, participant: str, browser: str, link: Mapping[str, str]) -> Room | Waiting | None:
        """A new game for `participant` (its current one, or its wait for another participant, if it
        has one), or None when none is left. The caller has checked that a current game belongs to
        `browser`."""
        current = self.live_room(participant) or self.waiting_of(participant)
        if current is not None:
            return current
        self._forget_old()
        seating = self.next_seating(participant)
        if seating is None:
            return None
        self.played.setdefault(participant, set()).add(seating.key())
        if seating.against_people:
            first = self.waiting.pop(seating.key(), None)
            if first is not None:  # the second to arrive: both play now
                spec = self._spec(seating, first.participant, human_spec(participant, seating.prompts))
                rooms = [
                    self._room(first.participant, seating, spec, first.browser, first.link),
                    self._room(participant, seating, spec, browser, link, other(seating.seat)),
                ]
                first.room = rooms[0]
                self._begin(rooms)
                return rooms[1]
            wait = Waiting(participant, seating, browser, link)
            self.waiting[seating.key()] = wait
            self.waits[wait.token] = wait
            asyncio.get_running_loop().call_later(self.config.match_timeout_s, self._fall_back, wait)
            return wait
        room = self._room(participant, seating, self._spec(seating, participant), browser, link)
        self._begin([room])
        return room

    def _spec(self, seating: Seating, participant: str, opponent: PlayerSpec | None = None) -> GameSpec:
        spec = game_spec(seating, participant, self.config.seed, self.taken, opponent)
        self.taken.add(spec.game_id)
        return spec

    def _room(
        self,
        participant: str,
        seating: Seating,
        spec: GameSpec,
        browser: str,
        link: Mapping[str, str],
        seat: Seat | None = None,
    ) -> Room:
        room = Room(participant, seating, spec, browser, link, seat)
        self.rooms[room.token] = room
        self.playing[participant] = room.token
        return room

    def _begin(self, rooms: list[Room]) -> None:
        """Play the game of these rooms (one per person in it)."""
        task = asyncio.create_task(self._play(rooms), name=f"game {rooms[0].spec.game_id}")
        for room in rooms:
            room.task = task
            asyncio.get_running_loop().call_later(self.config.reservation_timeout_s, self._release, room)

    def _fall_back(self, wait: Waiting) -> None:
        """No one else came in time: the waiting participant plays the configuration's fallback opponent."""
        if self.waiting.get(wait.seating.key()) is not wait:
            return
        del self.waiting[wait.seating.key()]
        spec = self._spec(wait.seating, wait.participant, wait.seating.fallback)
        wait.room = self._room(wait.participant, wait.seating, spec, wait.browser, wait.link)
        wait.room.opened = True  # the participant was on the waiting page all along
        self._begin([wait.room])

    def _release(self, room: Room) -> None:
        """A reserved slot whose page was never opened (a bot, a closed tab) is given back."""
        if not room.opened and room.state != "over":
            room.abandon(f"the participant did not open the game within {self.config.reservation_timeout_s:g} s")

    async def _play(self, rooms: list[Room]) -> None:
        sources = {room.participant: WebInput(room, self.config.inactivity_timeout_s) for room in rooms}
        factory, people = people_factory(self.endpoints, sources)

        async def progress(so_far: GameRecord) -> None:
            # Written as it goes: a crash leaves the game `abandoned` with its turns, and the
            # participant is not served this configuration again as if nothing had happened.
            try:
                await self.write(so_far)
            except Exception:
                log.exception("could not write game %s so far", so_far.game_id)

        record = await play(rooms[0].spec, factory, self.run_id, progress)
        try:
            await self.write(record)
        except Exception:  # the participant still sees the result; the log says the write failed
            log.exception("could not write game %s", record.game_id)
        for room in rooms:
            journey = self.journeys.get(room.participant)
            if journey is not None and self.remaining(room.participant) == 0:
                await self.finish(journey)
            room.result = result(record, room.seat, people.get(room.participant))
            if room.request is not None:
                room.history.append(room.request.text)
                room.request = None
            room.state = "over"
            room.finished_at = time.monotonic()
            room.touch()

    def journey(self, who: Identity) -> Journey:
        """The participant's journey (a new one on first sight, saved with its first step)."""
        journey = self.journeys.get(who.participant)
        if journey is None:
            journey = Journey(participant=who.participant, link=who.link, first_seen=now())
            self.journeys[who.participant] = journey
        return journey

    async def save(self, journey: Journey) -> None:
        assert self.store is not None
        async with self.write_lock:
            await asyncio.to_thread(save_journey, self.store.con, journey)

    async def finish(self, journey: Journey) -> None:
        """Every configuration was given: the end of the study, its completion code and bonus (once)."""
        if journey.completed_at is not None:
            return
        assert self.store is not None
        async with self.write_lock:
            journey.bonus = await asyncio.to_thread(bonus_of, self.store.con, journey.participant, self.config)
        journey.completed_at = now()
        journey.completion_code = self.config.completion.code or None
        journey.currency = self.config.bonus.currency if self.config.bonus else None
        await self.save(journey)

    async def write(self, record: GameRecord) -> None:
        """The one writer: games are written one batch at a time, off the loop."""
        assert self.store is not None
        async with self.write_lock:  # this server's games are rewritten as they go, so overwrite them
            await asyncio.to_thread(self.store.write, [record], {record.game_id})

    def _forget_old(self) -> None:
        now = time.monotonic()
        for token, room in list(self.rooms.items()):
            if room.finished_at is not None and now - room.finished_at > KEEP_FINISHED_S:
                del self.rooms[token]
