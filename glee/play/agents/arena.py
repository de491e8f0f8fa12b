"""The games of `glee serve-agents`: connected agents, their queues, their live games and the one writer.

Everything runs on the server's one asyncio loop. A queued agent is kept in up to `games_in_flight`
games of each family it queued for (until `n_games` were started), against the configured
opponents in turn (another queued agent when the entry is `agent`). Each game is a task playing
`match.play`; an agent's seat is a RemoteSeat, which publishes the turn's game dict (the family's
codec, as the in-process `sdk` player sees it) and waits for the agent's move, its invalid moves
counted against `max_attempts`, the whole turn against `turn_timeout_s`; then the seat forfeits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from glee.backends import EndpointPool
from glee.backends.spec import EndpointSpec
from glee.engine.match import play
from glee.engine.players import player_factory
from glee.engine.record import GameRecord
from glee.engine.scheduler import new_run_id
from glee.engine.specs import GameSpec, PlayerSpec
from glee.games import Action, Observation, Params, Seat, parse_params
from glee.games.base import other
from glee.play.agents.config import AgentsConfig
from glee.players.base import Attempt, ChatEndpoint, Decision, Player
from glee.players.sdk import HIDDEN, AgentSeat, InvalidMove
from glee.players.sdk.player import rejected
from glee.store import Store, open_store

log = logging.getLogger("glee.agents")


def agent_spec(name: str) -> PlayerSpec:
    return PlayerSpec(kind="agent", strategy=None, name=name)


@dataclass
class Turn:
    """A seat's open turn: the game dict sent to the agent and the move it sent, if any."""

    game: dict[str, Any]
    attempts_left: int
    moves: asyncio.Queue[tuple[Any, asyncio.Future[dict[str, Any]]]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1)
    )


class LiveGame:
    """One game being played: its spec, which agent sits where, their open turns, and its end."""

    def __init__(self, spec: GameSpec, agents: Mapping[Seat, str]) -> None:
        self.spec = spec
        self.agents = dict(agents)
        """seat -> name of the connected agent in it (one or two seats)."""
        self.turns: dict[Seat, Turn] = {}
        self.record: GameRecord | None = None
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def game_id(self) -> str:
        return self.spec.game_id

    @property
    def over(self) -> bool:
        return self.record is not None

    def touch(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def seat_of(self, agent: str) -> Seat:
        return next(seat for seat, name in self.agents.items() if name == agent)

    def result(self, seat: Seat) -> dict[str, Any] | None:
        """How the game ended for `seat` (None while it is played)."""
        record = self.record
        if record is None:
            return None
        o = record.outcome
        mine = other(seat)
        return {
            "status": record.status,
            "end_reason": record.end_reason,
            "your_player": f"player_{seat}",
            "your_payoff": None if o is None else (o.payoff_1 if seat == 1 else o.payoff_2),
            "opponent_payoff": None if o is None else (o.payoff_1 if mine == 1 else o.payoff_2),
            "your_self_gain": None if o is None else (o.self_gain_1 if seat == 1 else o.self_gain_2),
            "forfeit_player": None if record.forfeit_seat is None else f"player_{record.forfeit_seat}",
            "rounds": record.rounds_played,
        }


class RemoteSeat:
    """A connected agent's seat as the match sees it: each turn waits for the agent's moves over HTTP."""

    def __init__(self, live: LiveGame, seat: Seat, label: str, opponent: Mapping[str, Any], config: AgentsConfig):
        self.live = live
        self.seat_number = seat
        self.label = label
        self.config = config
        self.seat = AgentSeat(live.game_id, opponent, with_prompt=config.with_prompt)

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        planned = self.seat.take_planned(action_model)
        if planned is not None:
            return Decision(action=planned)
        limit = self.config.max_attempts
        turn = Turn(game=self.seat.game(observation, action_model), attempts_left=limit)
        self.live.turns[self.seat_number] = turn
        self.live.touch()
        deadline = time.monotonic() + self.config.turn_timeout_s
        attempts: list[Attempt] = []
        try:
            while True:
                asked = time.monotonic()
                try:
                    move, answer = await asyncio.wait_for(turn.moves.get(), max(0.0, deadline - asked))
                except TimeoutError:
                    timeout = self.config.turn_timeout_s
                    attempts.append(rejected(self.label, None, f"no move within the turn timeout ({timeout:g} s)", 0))
                    return Decision(action=None, attempts=attempts)
                try:
                    action = self.seat.judge(observation, action_model, move)
                except InvalidMove as exc:
                    attempts.append(rejected(self.label, move, str(exc), (time.monotonic() - asked) * 1000))
                    turn.attempts_left = limit - len(attempts)
                    answer.set_result({"valid": False, "error": str(exc), "attempts_left": turn.attempts_left})
                    if turn.attempts_left == 0:
                        return Decision(action=None, attempts=attempts)
                    continue
                answer.set_result({"valid": True})
                return Decision(action=action, attempts=attempts)
        finally:
            self.live.turns.pop(self.seat_number, None)
            while not turn.moves.empty():  # a move that came as the turn timed out: answered, never played
                _, late = turn.moves.get_nowait()
                if not late.done():
                    late.set_result({"valid": False, "error": "the turn had ended (turn timeout)", "attempts_left": 0})
            self.live.touch()


@dataclass
class Agent:
    """One connected agent's state."""

    name: str
    queued: set[str] = field(default_factory=set)
    started: dict[str, int] = field(default_factory=dict)
    """family -> games started."""
    games: dict[str, LiveGame] = field(default_factory=dict)
    """game_id -> the agent's games, live and finished."""
    requests: deque[float] = field(default_factory=deque)
    plan: dict[str, Any] = field(default_factory=dict)
    """family -> the cycle of (configuration, opponent, seat) it is given next."""

    def active(self) -> list[LiveGame]:
        return [g for g in self.games.values() if not g.over]


class Arena:
    """The server's state: agents, live games, the opponents' endpoints and the one writer."""

    def __init__(self, config: AgentsConfig, keys: Mapping[str, str]) -> None:
        self.config = config
        self.keys = dict(keys)
        self.configurations = config.configurations()
        self.opponents = config.opponent_specs()
        self.agents: dict[str, Agent] = {name: Agent(name) for name in self.keys.values()}
        self.games: dict[str, LiveGame] = {}
        self.store: Store | None = None
        self.taken: set[str] = set()
        self.pool = EndpointPool()
        self.endpoints: dict[EndpointSpec, ChatEndpoint] = {}
        self.write_lock = asyncio.Lock()
        self.run_id = new_run_id()

    async def open(self) -> None:
        store = open_store(self.config.db)
        self.store = store
        self.taken = store.game_ids()
        # The config as given: agents are named with the variables that hold their keys, never the keys.
        store.begin_run(self.run_id, {"serve_agents": self.config.model_dump(mode="json")}, "serve-agents")
        for spec in self.opponents:
            if (
                spec is not None
                and spec.kind == "llm"
                and spec.endpoint is not None
                and spec.endpoint not in self.endpoints
            ):
                self.endpoints[spec.endpoint] = await self.pool.endpoint(spec.endpoint)

    async def close(self) -> None:
        live = [g for g in self.games.values() if g.task is not None and not g.task.done()]
        for game in live:
            assert game.task is not None
            game.task.cancel()
        for game in live:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await game.task  # type: ignore[misc]
        await self.pool.aclose()
        if self.store is not None:
            self.store.close()

    # --- requests ------------------------------------------------------------------------------

    def agent_of(self, key: str) -> Agent | None:
        name = self.keys.get(key)
        return None if name is None else self.agents[name]

    def retry_after(self, agent: Agent) -> float | None:
        """Seconds until the agent may send another request, or None when this one is within the limit."""
        limit, now = self.config.rate_limit, time.monotonic()
        while agent.requests and agent.requests[0] <= now - limit.per_s:
            agent.requests.popleft()
        if len(agent.requests) >= limit.requests:
            return agent.requests[0] + limit.per_s - now
        agent.requests.append(now)
        return None

    def queue(self, agent: Agent, family: str) -> dict[str, Any]:
        agent.queued.add(family)
        self.fill()
        return {"status": "queued", "game_family": family}

    def leave(self, agent: Agent, family: str | None) -> dict[str, Any]:
        left = sorted(agent.queued if family is None else agent.queued & {family})
        agent.queued -= set(left)
        return {"status": "left", "game_families": left}

    def pending(self, agent: Agent) -> list[dict[str, Any]]:
        out = []
        for game in agent.active():
            turn = game.turns.get(game.seat_of(agent.name))
            if turn is not None and turn.moves.empty():
                out.append(turn.game)
        return out

    async def move(self, agent: Agent, game: LiveGame, move: Any) -> dict[str, Any] | None:
        """The competition's answer to a move, or None when the seat is not asked now."""
        seat = game.seat_of(agent.name)
        turn = game.turns.get(seat)
        if turn is None or turn.moves.full():
            return None
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        turn.moves.put_nowait((move, answer))
        reply = dict(await answer)
        if reply["valid"] or reply["attempts_left"] == 0:
            await self._moved_on(game, seat)
        reply["game_over"] = game.over
        if game.over:
            reply["result"] = game.result(seat)
        return reply

    async def _moved_on(self, game: LiveGame, seat: Seat) -> None:
        """Until the game asks this seat again or ends (at most move_wait_s)."""
        deadline = time.monotonic() + self.config.move_wait_s
        while not game.over and seat not in game.turns:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            changed = game.changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), left)

    def view(self, agent: Agent, game: LiveGame) -> dict[str, Any]:
        seat = game.seat_of(agent.name)
        turn = game.turns.get(seat)
        return {
            "game_id": game.game_id,
            "game_family": game.spec.family,
            "your_player": f"player_{seat}",
            "status": "over" if game.over else ("your_turn" if turn is not None else "waiting"),
            "game_over": game.over,
            "game": None if turn is None else turn.game,
            "result": game.result(seat),
        }

    def stats(self, agent: Agent) -> dict[str, Any]:
        finished = [g for g in agent.games.values() if g.over]
        families: dict[str, dict[str, Any]] = {}
        for game in finished:
            result = game.result(game.seat_of(agent.name)) or {}
            row = families.setdefault(
                game.spec.family, {"games": 0, "forfeits": 0, "mean_self_gain": None, "_sum": 0.0, "_n": 0}
            )
            row["games"] += 1
            row["forfeits"] += result.get("status") == "forfeit"
            if result.get("your_self_gain") is not None:
                row["_sum"] += result["your_self_gain"]
                row["_n"] += 1
        for row in families.values():
            n, total = row.pop("_n"), row.pop("_sum")
            row["mean_self_gain"] = total / n if n else None
        return {
            "agent": agent.name,
            "active_games": len(agent.active()),
            "finished_games": len(finished),
            "queued": sorted(agent.queued),
            "families": families,
        }

    # --- matching --------------------------------------------------------------------------------

    def _budget(self, agent: Agent, family: str) -> bool:
        return (
            family in agent.queued
            and agent.started.get(family, 0) < self.config.n_games
            and len(agent.active()) < self.config.games_in_flight
        )

    def fill(self) -> None:
        """Start the games queued agents are owed, as far as their budgets and opponents allow."""
        progress = True
        while progress:
            progress = False
            for agent in self.agents.values():
                for family in sorted(agent.queued):
                    if self._budget(agent, family) and self._start_next(agent, family):
                        progress = True

    def _start_next(self, agent: Agent, family: str) -> bool:
        cycle = agent.plan.get(family)
        if cycle is None:
            options = list(
                itertools.product(
                    range(len(self.configurations.get(family, []))), range(len(self.opponents)), self.config.seats
                )
            )
            if not options:
                return False
            cycle = agent.plan[family] = itertools.cycle(options)
        for _ in range(len(self.configurations[family]) * len(self.opponents) * len(self.config.seats)):
            config_index, opponent_index, seat = next(cycle)
            opponent = self.opponents[opponent_index]
            params = parse_params(family, self.configurations[family][config_index])
            if opponent is not None:
                self._start(family, params, {seat: agent}, {other(seat): opponent})
                return True
            rival = next(
                (a for a in self.agents.values() if a is not agent and self._budget(a, family)),
                None,
            )
            if rival is not None:
                self._start(family, params, {seat: agent, other(seat): rival}, {})
                return True
        return False

    def _start(self, family: str, params: Params, agents: dict[Seat, Agent], machines: dict[Seat, PlayerSpec]) -> None:
        specs: dict[Seat, PlayerSpec] = {**{s: agent_spec(a.name) for s, a in agents.items()}, **machines}
        replicate = 0
        while (
            spec := GameSpec.create(family, params, specs[1], specs[2], replicate, self.config.seed)
        ).game_id in self.taken:
            replicate += 1
        self.taken.add(spec.game_id)
        live = LiveGame(spec, {s: a.name for s, a in agents.items()})
        self.games[spec.game_id] = live
        for agent in agents.values():
            agent.games[spec.game_id] = live
            agent.started[family] = agent.started.get(family, 0) + 1
        live.task = asyncio.get_running_loop().create_task(self._play(live), name=f"game {spec.game_id}")

    def _opponent(self, spec: GameSpec, seat: Seat) -> dict[str, Any]:
        if not self.config.disclose_opponent:
            return dict(HIDDEN)
        other_spec = spec.player_2 if seat == 1 else spec.player_1
        return {"type": "agent", "name": other_spec.label()}

    async def _play(self, live: LiveGame) -> None:
        machines = player_factory(self.endpoints)

        def make(spec: PlayerSpec, params: Params, seat: Seat, seed: int) -> Player:
            if spec.kind == "agent":
                return RemoteSeat(live, seat, spec.label(), self._opponent(live.spec, seat), self.config)
            return machines(spec, params, seat, seed)

        record = await play(live.spec, make, self.run_id)
        try:
            await self.write(record)
        except Exception:  # the agents still get the result; the log says the write failed
            log.exception("could not write game %s", record.game_id)
        live.record = record
        live.touch()
        self.fill()

    async def write(self, record: GameRecord) -> None:
        assert self.store is not None
        async with self.write_lock:
            await asyncio.to_thread(self.store.write, [record])
