"""Golden transcripts: a few fixed games per family, written out as plain text and kept in
tests/fixtures/golden/<family>/, so that any change to what a seat is shown or to how the
rules play shows up as a readable diff and cannot slip past the family's versions.

Each case is written as two files:
- `<case>.prompts.txt`: every message each seat's model is sent (the system prompt, each
  turn's user message, the re-ask after a bad reply), the JSON schema sent with it, and the
  reply, call by call (each call lists only the messages added since that seat's previous
  call, as `llm_calls.request` stores them). Made with the family's prompt VERSION.
- `<case>.turns.txt`: every applied action in order and the outcome. Made with the family's
  rules VERSION.
Each file's first line records the version it was made with.

The cases are the same for every family: two baselines (no model calls), and two stand-in
model seats on the family's default parameters and on the last configuration of its paper
grid. A stand-in seat is the real LLMPlayer (real prompts, schema, parser, re-asks) in front
of a scripted endpoint: each reply is the JSON of what a baseline strategy chooses from the
same observation, plus a message where one is allowed, and a seat's second turn first gets a
reply that is not JSON, so a re-ask is rendered too. The replies do not depend on the prompt
text, so a prompt change alters only the `.prompts.txt` files. Seeds and ids are fixed here,
not derived from the game id (which hashes the versions), so bumping a version alone changes
no transcript.

Regenerate: `.venv/bin/python -m tests.support.golden --write [FAMILY ...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from glee.engine.match import play
from glee.engine.record import GameRecord
from glee.engine.specs import GameSpec, PlayerSpec
from glee.errors import ConfigError
from glee.games import Action, Family, Observation, Params, Seat, check_family, parse_params, rules_version
from glee.games.grids import paper_grid
from glee.games.registry import BUILTIN as FAMILIES  # the golden files cover the families glee ships
from glee.players.base import Decision, LLMCall, Player, Sampling
from glee.players.baseline import BaselinePlayer, Strategy, make_baseline
from glee.players.llm import LLMPlayer
from glee.prompts import prompt_version

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
COMMAND = ".venv/bin/python -m tests.support.golden --write"
NOT_JSON = "I am not sure yet."
SEED = 20_240_601
STAND_IN = "stand-in:"
"""Prefix of the name of a PlayerSpec played by a stand-in model seat (the rest: its strategy)."""
MUTE = "stand-in:mute"
"""The name of a stand-in seat that never replies with JSON (it forfeits its first turn)."""

Layer = Literal["prompts", "turns"]
SOURCE: dict[Layer, str] = {"prompts": "glee/prompts/{family}.py", "turns": "glee/games/{family}.py"}


@dataclass(frozen=True)
class Case:
    family: Family
    name: str
    params: dict[str, Any]
    player_1: PlayerSpec
    player_2: PlayerSpec


def _baseline(strategy: Strategy) -> PlayerSpec:
    return PlayerSpec(kind="baseline", strategy=strategy)


def _stand_in(strategy: Strategy) -> PlayerSpec:
    return PlayerSpec(kind="baseline", strategy=strategy, name=f"{STAND_IN}{strategy}")


def _mute() -> PlayerSpec:
    return PlayerSpec(kind="baseline", strategy="spe", name=MUTE)


def cases(family: Family) -> list[Case]:
    """The golden games of `family` (the same four for every family)."""
    defaults = parse_params(family).model_dump(mode="json")
    grid_end = parse_params(family, paper_grid(family)[-1]).model_dump(mode="json")
    return [
        Case(family, "baselines", defaults, _baseline("spe"), _baseline("random")),
        Case(family, "stand-ins", defaults, _stand_in("random"), _stand_in("random")),
        Case(family, "stand-ins-grid-end", grid_end, _stand_in("spe"), _stand_in("random")),
        Case(family, "forfeit", defaults, _stand_in("spe"), _mute()),
    ]


class ScriptedEndpoint:
    """A ChatEndpoint that answers with the reply queued by its StandIn, and keeps each schema it was sent."""

    label = "stand-in@scripted"

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.schemas: list[dict[str, Any] | None] = []

    async def complete(
        self, messages: list[dict[str, Any]], schema: dict[str, Any] | None, sampling: Sampling
    ) -> LLMCall:
        self.schemas.append(schema)
        text = self.replies.pop(0)
        return LLMCall(model="stand-in", response=text, prompt_tokens=0, completion_tokens=0, finish_reason="stop")


class StandIn:
    """A model seat whose replies are scripted from a baseline's choices (see the module docstring)."""

    def __init__(self, strategy: Strategy, params: Params, seat: Seat, seed: int, label: str, mute: bool) -> None:
        self.baseline: BaselinePlayer = make_baseline(strategy, params, seat, seed)
        self.endpoint = ScriptedEndpoint()
        self.llm = LLMPlayer(self.endpoint, Sampling(), max_attempts=3, label=label)
        self.label = label
        self.mute = mute
        self.turns = 0

    def _reply(self, observation: Observation, action_model: type[Action]) -> str:
        data = self.baseline.choose(observation, action_model).model_dump(mode="json", exclude_none=True)
        if data.get("message") == "":
            # Baselines do not talk; a stand-in does, with a quote and a second line to be quoted safely.
            data["message"] = f'{observation.name}, round {observation.round}: "my last word"\nor not.'
        return json.dumps(data)

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        self.turns += 1
        if self.mute:
            self.endpoint.replies = [NOT_JSON] * self.llm.max_attempts
            return await self.llm.act(observation, action_model)
        good = self._reply(observation, action_model)
        self.endpoint.replies = [NOT_JSON, good] if self.turns == 2 else [good]
        return await self.llm.act(observation, action_model)


def _factory(made: dict[Seat, StandIn]) -> Any:
    def make(spec: PlayerSpec, params: Params, seat: Seat, seed: int) -> Player:
        assert spec.strategy is not None
        if spec.name and spec.name.startswith(STAND_IN):
            made[seat] = StandIn(spec.strategy, params, seat, seed, spec.name, mute=spec.name == MUTE)
            return made[seat]
        return make_baseline(spec.strategy, params, seat, seed)

    return make


def play_case(case: Case) -> tuple[GameRecord, dict[Seat, StandIn]]:
    spec = GameSpec(
        family=case.family,
        params=case.params,
        player_1=case.player_1,
        player_2=case.player_2,
        game_id=f"golden-{case.family}-{case.name}",
        seed=SEED,
    )
    made: dict[Seat, StandIn] = {}
    record = asyncio.run(play(spec, _factory(made)))
    if record.status == "failed":
        raise RuntimeError(f"golden game {case.family}/{case.name} failed: {record.error}")
    return record, made


def _json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def _preamble(case: Case, record: GameRecord) -> list[str]:
    return [
        f"params: {_json(case.params)}",
        f"seat 1: {record.player_1}",
        f"seat 2: {record.player_2}",
        f"seed: {SEED}",
        "",
    ]


def prompts_text(case: Case, record: GameRecord, made: dict[Seat, StandIn]) -> str:
    """Every call of every stand-in seat, in order: the messages it added, its schema, the reply."""
    lines = _preamble(case, record)
    schemas = {seat: iter(player.endpoint.schemas) for seat, player in made.items()}
    for number, call in enumerate(record.calls, start=1):
        lines.append(f"=== call {number}: seat {call.seat}, turn {call.turn}, attempt {call.attempt} ===")
        for message in call.request:
            lines += [f"--- {message['role']} ---", str(message["content"])]
        lines += ["--- schema ---", _json(next(schemas[call.seat]))]
        lines += ["--- reply ---", str(call.response)]
        if call.rejection is not None:
            lines.append(f"--- rejected: {call.rejection}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def turns_text(case: Case, record: GameRecord) -> str:
    """Every applied action in order, then the outcome."""
    lines = _preamble(case, record)
    for t in record.turns:
        valid = "" if t.valid else " (invalid)"
        lines.append(f"turn {t.turn}, round {t.round}, seat {t.seat}, {t.kind}{valid}: {_json(t.action)}")
    lines += ["", f"status: {record.status}"]
    outcome = record.outcome.model_dump(mode="json") if record.outcome is not None else None
    lines.append(f"outcome: {json.dumps(outcome, sort_keys=True, indent=2)}")
    return "\n".join(lines) + "\n"


def version(family: str, layer: Layer) -> int:
    return prompt_version(family) if layer == "prompts" else rules_version(family)


def header(case: Case, layer: Layer, made_with: int) -> str:
    source = SOURCE[layer].format(family=case.family)
    return f"# golden {layer} of {case.family}/{case.name}, made with VERSION {made_with} of {source}\n"


_HEADER = re.compile(r"^# golden \w+ of \S+, made with VERSION (\d+) of \S+$")


def path(case: Case, layer: Layer) -> Path:
    return ROOT / case.family / f"{case.name}.{layer}.txt"


def rendered(case: Case) -> dict[Layer, str]:
    """The files of `case` as they would be written now, header included (no prompts without model calls)."""
    record, made = play_case(case)
    bodies: dict[Layer, str] = {"turns": turns_text(case, record)}
    if record.calls:
        bodies["prompts"] = prompts_text(case, record, made)
    return {layer: header(case, layer, version(case.family, layer)) + body for layer, body in bodies.items()}


def problem(case: Case, layer: Layer, now: str) -> str | None:
    """Why the stored file of (case, layer) does not match `now` (as `rendered` made it), or None."""
    file = path(case, layer)
    source = SOURCE[layer].format(family=case.family)
    shown = file.relative_to(ROOT.parents[2])
    if not file.exists():
        return f"{shown} is missing: create it with `{COMMAND} {case.family}`"
    stored = file.read_text()
    stored_head, _, stored_body = stored.partition("\n")
    match = _HEADER.match(stored_head)
    if match is None:
        return f"{shown}: its first line is not a golden header; regenerate it with `{COMMAND} {case.family}`"
    made_with, current = int(match.group(1)), version(case.family, layer)
    body = now.partition("\n")[2]
    if body == stored_body and made_with == current:
        return None
    if body == stored_body:
        return (
            f"{shown} was made with VERSION {made_with} of {source}, which is now {current}: "
            f"regenerate it with `{COMMAND} {case.family}`"
        )
    diff = difflib.unified_diff(
        stored_body.splitlines(keepends=True),
        body.splitlines(keepends=True),
        fromfile=f"{shown} (stored)",
        tofile=f"{shown} (now)",
    )
    lines = list(diff)
    shown_diff = "".join(lines[:200]) + (f"... ({len(lines) - 200} more diff lines)\n" if len(lines) > 200 else "")
    if made_with == current:
        what = "the text a seat is shown" if layer == "prompts" else "what these games play (actions or outcome)"
        advice = (
            f"{what} changed but VERSION in {source} is still {current}: "
            f"bump VERSION in {source} and regenerate with `{COMMAND} {case.family}`"
        )
    else:
        advice = f"VERSION in {source} was bumped ({made_with} -> {current}): regenerate with `{COMMAND} {case.family}`"
    return f"{shown_diff}{advice}"


def write(families: list[Family]) -> list[Path]:
    written = []
    for family in families:
        for case in cases(family):
            for layer, text in rendered(case).items():
                file = path(case, layer)
                file.parent.mkdir(parents=True, exist_ok=True)
                if not file.exists() or file.read_text() != text:
                    file.write_text(text)
                    written.append(file)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.golden", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write the golden files (else only check them)")
    parser.add_argument("families", nargs="*", metavar="FAMILY", help=f"some of {', '.join(FAMILIES)} (default: all)")
    args = parser.parse_args(argv)
    try:
        families = [check_family(f) for f in args.families] or list(FAMILIES)
    except ConfigError as exc:
        parser.error(str(exc))
    if args.write:
        for file in write(families):
            print(f"wrote {file.relative_to(ROOT.parents[2])}")
        return 0
    problems = [
        p for f in families for c in cases(f) for layer, now in rendered(c).items() if (p := problem(c, layer, now))
    ]
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
