"""`glee play`: a person plays one game in the terminal against a model or a baseline.

The person reads the rules and each turn in the words the model in that seat would read,
answers field by field (a wrong field is asked again at once, with what is allowed), and the
game is written to the database like any other, with the agent label `human:<name>`. End of
input (Ctrl-D) or Ctrl-C records the game as abandoned.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import uuid
from collections.abc import Mapping
from typing import TextIO

from glee.backends import EndpointPool
from glee.engine.match import play
from glee.engine.record import GameRecord
from glee.engine.scheduler import new_run_id
from glee.errors import GameAbandoned
from glee.games.base import seat_names
from glee.play.config import PlayConfig
from glee.play.session import game_spec, opening_rules, people_factory, result
from glee.players.human import HumanField, HumanRequest
from glee.store import open_store

RULE = "─" * 72


class TerminalInput:
    """Answers typed in a terminal (or any line stream): one line per field, each checked as typed."""

    def __init__(self, lines: asyncio.Queue[bytes], out: TextIO) -> None:
        self.lines = lines
        self.out = out
        self.last_text: str | None = None

    async def _line(self, prompt: str) -> str:
        self.out.write(prompt)
        self.out.flush()
        try:
            raw = await self.lines.get()
        except asyncio.CancelledError:  # Ctrl-C: the person quits; the game is kept as abandoned
            raise GameAbandoned("the player quit (Ctrl-C)") from None
        if not raw:
            raise GameAbandoned("the player's input ended")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def _field(self, field: HumanField) -> str:
        while True:
            raw = await self._line(f"{field.label} [{field.hint()}]: ")
            try:
                field.read(raw)
            except ValueError as exc:
                self.out.write(f"  ✗ {exc}. Try again.\n")
                continue
            return raw

    async def answer(self, request: HumanRequest) -> Mapping[str, str]:
        if request.rejection is not None:
            self.out.write(f"  ✗ That answer cannot be used: {request.rejection}. Try again.\n")
        elif request.text != self.last_text:
            self.out.write(f"\n{RULE}\n{request.text}\n\n")
            self.last_text = request.text
        return {field.name: await self._field(field) for field in request.fields}


def stdin_lines() -> asyncio.Queue[bytes]:
    """Lines of stdin as they are typed (b"" at its end), read by a daemon thread.

    A thread rather than the loop's pipe reader: that would make the terminal non-blocking,
    which stdout shares, and a long print could then fail; a daemon thread never holds up exit.
    """
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[bytes] = asyncio.Queue()
    fd = sys.stdin.fileno()

    def put(line: bytes) -> bool:
        try:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        except RuntimeError:  # the game is over and its loop closed
            return False
        return True

    def read() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader holds its lock,
        # and the interpreter then aborts at exit.
        pending = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                if pending:
                    put(pending)
                put(b"")
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not put(line + b"\n"):
                    return

    threading.Thread(target=read, name="glee-stdin", daemon=True).start()
    return lines


async def play_terminal(config: PlayConfig, out: TextIO = sys.stdout) -> GameRecord:
    """Play one game with the person at this terminal, write it to `config.db`, and print the result."""
    seating = config.seating
    with open_store(config.db) as store:
        taken = store.game_ids()
        spec = game_spec(seating, config.name, config.seed, taken)
        run_id = new_run_id()
        store.begin_run(
            run_id,
            {"play": config.model_dump(mode="json"), "game_id": spec.game_id, "session": uuid.uuid4().hex[:8]},
            "play",
        )
        names = seat_names(spec.params_json())
        out.write(
            f"glee play · {seating.family} · you are {names[seating.seat]} (player {seating.seat}) "
            f"against {seating.opponent.label()} · game {spec.game_id}\n{RULE}\nRULES\n\n"
            f"{opening_rules(spec, seating.seat)}\n"
        )
        source = TerminalInput(stdin_lines(), out)
        async with EndpointPool() as pool:
            endpoints = {}
            if seating.opponent.kind == "llm" and seating.opponent.endpoint is not None:
                out.write(f"(starting {seating.opponent.label()} ...)\n")
                out.flush()
                endpoints[seating.opponent.endpoint] = await pool.endpoint(seating.opponent.endpoint)
            factory, people = people_factory(endpoints, {config.name: source})
            record = await play(spec, factory, run_id)
        store.write([record])
    end = result(record, seating.seat, people.get(config.name))
    out.write(f"\n{RULE}\n")
    if end.news:
        out.write(f"{end.news}\n\n")
    out.write("GAME OVER. " + end.headline + "\n" + "".join(f"{line}\n" for line in end.lines))
    out.write(f"(saved as game {record.game_id}, status {record.status}, in {config.db})\n")
    out.flush()
    return record


def play_command(args: list[str]) -> int:
    """`glee play [KEY=VALUE ...]`; 0 when the game was played to its end, 1 when abandoned or failed."""
    from glee.play.config import play_config

    config = play_config(args)
    with contextlib.suppress(KeyboardInterrupt):
        record = asyncio.run(play_terminal(config))
        return 0 if record.status in ("completed", "forfeit") else 1
    return 1
