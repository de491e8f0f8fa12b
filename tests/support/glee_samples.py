"""The six real GLEE games of tests/fixtures/glee_samples (see SOURCE.md there)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "glee_samples"


def sample_dir(family: str, game_id: str) -> Path:
    """The folder of one game in the original layout <family>/<a>/<b>/<c>/<GAME_ID>."""
    return SAMPLES / family / game_id[0] / game_id[1] / game_id[2] / game_id


def read_sample(family: str, game_id: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The game's config.json and the rows of its game.csv (as the csv module reads them)."""
    folder = sample_dir(family, game_id)
    config = json.loads((folder / "config.json").read_text())
    with (folder / "game.csv").open(newline="") as handle:  # newline="" copes with CRLF files
        rows = list(csv.DictReader(handle))
    return config, rows


def null(cell: str | None) -> str | None:
    """The original format writes null as an empty cell or the literal string None."""
    return None if cell in (None, "", "None") else cell


def names(config: dict[str, Any]) -> dict[str, str]:
    return {
        "name_1": config["player_1_args"]["public_name"],
        "name_2": config["player_2_args"]["public_name"],
    }
