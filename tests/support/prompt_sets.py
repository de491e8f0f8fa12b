"""Rendered prompts of glee's shipped prompt sets, side by side: tests/fixtures/prompt_sets/<family>/<case>.txt.

Each case is one fixed game of a family played by two stand-in model seats (the real LLMPlayer
in front of a scripted endpoint, tests/support/golden.py), once per shipped set; the file shows,
seat by seat, every message each set sends that seat (system prompt, turn messages, re-asks),
whether a JSON schema went with it, and the scripted replies. The replies come from baseline
strategies and do not depend on the text, so both sets play the same game. A change to a set's
text shows here as a readable diff (tests/test_prompt_sets.py compares).

Regenerate: `.venv/bin/python -m tests.support.prompt_sets --write`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import yaml

from glee.engine.match import play
from glee.engine.specs import GameSpec, PlayerSpec
from glee.games import Params, Seat, parse_params
from glee.games.registry import BUILTIN as FAMILIES
from glee.players.base import Player, Sampling
from glee.players.baseline import make_baseline
from glee.players.llm import LLMPlayer
from glee.prompts import choose_prompts
from glee.prompts.registry import BUILTIN_SETS
from tests.support.golden import SEED, STAND_IN, StandIn

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "prompt_sets"
COMMAND = ".venv/bin/python -m tests.support.prompt_sets --write"

CASES: dict[str, dict[str, dict[str, Any]]] = {
    "bargaining": {
        "defaults": {},
        "incomplete-information": {"complete_information": False, "delta_1": 0.9, "delta_2": 0.8, "max_rounds": 4},
        "hidden-horizon-no-messages": {"messages_allowed": False, "delta_1": 0.9, "delta_2": 0.9, "max_rounds": 30},
    },
    "negotiation": {
        "defaults": {},
        "incomplete-information-disclosed-horizon": {"complete_information": False, "max_rounds": 4},
        "take-it-or-leave-it": {"max_rounds": 1, "messages_allowed": False},
    },
    "persuasion": {
        "defaults": {"rounds": 3},
        "myopic-binary": {"rounds": 3, "myopic_buyer": True, "seller_message_type": "binary"},
        "seller-blind-buyer-blind": {"rounds": 3, "seller_knows_buyer_values": False, "buyer_knows_p": False},
    },
}
"""The cases per family: parameters over the family's defaults (games short enough to read)."""


def _seat(strategy: str) -> PlayerSpec:
    return PlayerSpec(kind="baseline", strategy=strategy, name=f"{STAND_IN}{strategy}")  # type: ignore[arg-type]


def play_with(
    family: str, params: dict[str, Any], prompt_set: str, options: dict[str, Any] | None = None
) -> dict[Seat, StandIn]:
    """One game of two stand-in seats shown `prompt_set` (with `options`); the stand-ins, with their chats."""
    spec = GameSpec(
        family=family,
        params=parse_params(family, params),
        player_1=_seat("random"),
        player_2=_seat("random"),
        game_id=f"prompt-sets-{family}",
        seed=SEED,
    )
    made: dict[Seat, StandIn] = {}
    prompts = choose_prompts(prompt_set, options)

    def make(player: PlayerSpec, game_params: Params, seat: Seat, seed: int) -> Player:
        assert player.strategy is not None
        if not (player.name or "").startswith(STAND_IN):
            return make_baseline(player.strategy, game_params, seat, seed)
        stand_in = StandIn(player.strategy, game_params, seat, seed, player.name or "", mute=False)
        stand_in.llm = LLMPlayer(stand_in.endpoint, Sampling(), max_attempts=3, label=stand_in.label, prompts=prompts)
        made[seat] = stand_in
        return stand_in

    record = asyncio.run(play(spec, make))
    if record.status == "failed":
        raise RuntimeError(f"prompt-set game {family} with {prompt_set} failed: {record.error}")
    for seat, stand_in in made.items():
        stand_in.calls = [c for c in record.calls if c.seat == seat]  # type: ignore[attr-defined]
    return made


def render(family: str, case: str) -> str:
    """The text of one case: both sets, seat by seat, call by call."""
    params = CASES[family][case]
    full = parse_params(family, params).model_dump(mode="json")
    lines = [f"# prompts of {family}/{case} in every shipped set, side by side", f"params: {full}", ""]
    played = {name: play_with(family, params, name) for name in BUILTIN_SETS}
    for seat in (1, 2):
        for name, made in played.items():
            if seat not in made:
                continue
            stand_in = made[seat]
            sent_schema = any(s is not None for s in stand_in.endpoint.schemas)
            lines.append(
                f"======== seat {seat}, set {name} (JSON schema sent: {'yes' if sent_schema else 'no'}) ========"
            )
            for call in stand_in.calls:  # type: ignore[attr-defined]
                for message in call.request:
                    if message["role"] != "assistant":  # the previous reply, shown once as such
                        lines += [f"--- {message['role']} ---", str(message["content"])]
                lines += ["--- reply ---", str(call.response)]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def seat_text(made: dict[Seat, StandIn], seat: Seat) -> str:
    """Everything `seat` was sent (system prompts, turn messages, re-asks), in order."""
    calls = made[seat].calls  # type: ignore[attr-defined]
    return "\n".join(str(m["content"]) for c in calls for m in c.request if m["role"] != "assistant")


FACTS = ROOT / "facts.yaml"


def facts() -> list[dict[str, Any]]:
    """The rows of the facts table (tests/fixtures/prompt_sets/facts.yaml)."""
    rows: list[dict[str, Any]] = yaml.safe_load(FACTS.read_text())
    return rows


def facts_table() -> str:
    """The facts as the Markdown table of GAMES.md ("What each seat is told, by prompt set")."""
    sets = BUILTIN_SETS
    lines = [
        "| family | game | seat | fact | " + " | ".join(f"`{s}`" for s in sets) + " |",
        "|---" * (4 + len(sets)) + "|",
    ]
    for row in facts():
        cells = [row["family"], row["when"], str(row["seat"]), row["fact"], *(row[s] for s in sets)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def path(family: str, case: str) -> Path:
    return ROOT / family / f"{case}.txt"


def write() -> list[Path]:
    written = []
    for family in FAMILIES:
        for case in CASES[family]:
            file, text = path(family, case), render(family, case)
            file.parent.mkdir(parents=True, exist_ok=True)
            if not file.exists() or file.read_text() != text:
                file.write_text(text)
                written.append(file)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.prompt_sets", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write the fixture files (else only check them)")
    args = parser.parse_args(argv)
    if args.write:
        for file in write():
            print(f"wrote {file.relative_to(ROOT.parents[2])}")
        return 0
    stale = [
        path(f, c)
        for f in FAMILIES
        for c in CASES[f]
        if not path(f, c).exists() or path(f, c).read_text() != render(f, c)
    ]
    for file in stale:
        print(f"{file.relative_to(ROOT.parents[2])} differs: regenerate with `{COMMAND}`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
