"""A small real database for analysis tests: a fast sweep of baseline players over all three families."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glee.engine import GameSet, PlayerSpec, RunConfig, run

GRIDS: dict[str, dict[str, list[Any]]] = {
    "bargaining": {"delta_1": [0.8, 1.0], "complete_information": [True, False]},
    "negotiation": {"seller_value": [0.8, 1.2], "buyer_value": [1.0, 1.5]},
    "persuasion": {"p": [1 / 3, 0.8], "seller_message_type": ["text", "binary"]},
}
FIXED: dict[str, dict[str, Any]] = {
    "bargaining": {"max_rounds": 6, "money": 100},
    "negotiation": {"max_rounds": 6, "price_scale": 100},
    "persuasion": {"rounds": 4, "price": 100},
}


def baseline(strategy: str) -> PlayerSpec:
    return PlayerSpec(kind="baseline", strategy=strategy)  # type: ignore[arg-type]


def baseline_database(path: Path, n_games: int = 3) -> Path:
    """spe, fair and random baselines against each other in both seats (and spe against itself)."""
    spe, fair, rnd = baseline("spe"), baseline("fair"), baseline("random")
    config = RunConfig(
        games=[GameSet(family=f, grid=GRIDS[f], fixed=FIXED[f]) for f in GRIDS],  # type: ignore[arg-type]
        pairs=[(spe, rnd), (fair, rnd), (spe, fair), (spe, spe)],
        swap_seats=True,
        n_games=n_games,
        db=path,
        progress=False,
    )
    summary = run(config)
    assert summary.completed == summary.planned, summary
    return path


def paper_grid_database(path: Path, families: tuple[str, ...] = ("negotiation", "bargaining")) -> Path:
    """The GLEE paper's grids of `families` played once per configuration by spe and fair against random,
    in both seats (a few seconds: baselines need no model)."""
    spe, fair, rnd = baseline("spe"), baseline("fair"), baseline("random")
    config = RunConfig(
        games=[GameSet(family=f, grid="paper") for f in families],  # type: ignore[arg-type]
        pairs=[(spe, rnd), (fair, rnd)],
        swap_seats=True,
        db=path,
        progress=False,
    )
    summary = run(config)
    assert summary.completed == summary.planned, summary
    return path
