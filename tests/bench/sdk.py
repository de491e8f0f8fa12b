"""sdk_games_per_s: a competition agent (glee-sdk strategy function, tests/agents/steady.py) played in
process against baselines over the paper grids of all three families, every game logged to DuckDB."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from glee.engine.scheduler import run
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from tests.bench.figures import Figure, emit

FAMILIES = ("bargaining", "negotiation", "persuasion")
AGENT = str(Path(__file__).resolve().parents[1] / "agents" / "steady.py") + ":strategy"


def sweep(db: Path, with_prompt: bool) -> tuple[int, int, float]:
    agent = PlayerSpec(kind="sdk", strategy=AGENT, with_prompt=with_prompt)
    config = RunConfig(
        games=[GameSet(family=f, grid="paper") for f in FAMILIES],
        pairs=[(agent, PlayerSpec(strategy="spe")), (PlayerSpec(strategy="random"), agent)],
        db=db,
        progress=False,
    )
    start = time.perf_counter()
    summary = run(config)
    seconds = time.perf_counter() - start
    assert summary.failed == 0 and summary.played == summary.planned, summary.text()
    return summary.played, summary.turns, seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sweep(Path(tmp) / "warm.duckdb", True)  # imports, the agent module, caches of action models
        for with_prompt in (True, False):
            games, turns, seconds = sweep(Path(tmp) / f"sdk-{with_prompt}.duckdb", with_prompt)
            emit(
                Figure(
                    name="sdk_games_per_s" if with_prompt else "sdk_games_per_s_without_prompt",
                    value=games / seconds,
                    unit="games/s",
                    target=None,
                    note=f"{games:,} games of an in-process glee-sdk strategy (tests/agents/steady.py) against spe "
                    f"and random baselines, both seatings, paper grids of the three families, {turns:,} turns in "
                    f"{seconds:.2f} s of `glee.engine.run` into a new DuckDB file; game dicts "
                    + ("with glee's prompt text" if with_prompt else "without the prompt text (with_prompt=false)"),
                )
            )


if __name__ == "__main__":
    main()
