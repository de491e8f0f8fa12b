"""import_100k: `glee import-glee` of a generated tree of 100 000 games in the original GLEE format.

The tree is made in a temporary folder from the six real games of tests/fixtures/glee_samples
(each copied under new ids, in the original layout `<family>/<a>/<b>/<c>/<id>/`), then imported
into a new database; the figure is games per second of the import, with its peak RSS.
GLEE_BENCH_IMPORT_GAMES sets another number of games (a quick check).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

import psutil

from glee.store.glee_import import import_glee
from tests.bench.figures import Figure, emit

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "glee_samples"
GAMES = int(os.environ.get("GLEE_BENCH_IMPORT_GAMES", "100000"))


def generate(root: Path, n: int) -> dict[str, int]:
    """`n` game folders under `root`, round-robin over the real samples; games per family."""
    templates = []
    for config in sorted(SAMPLES.rglob("config.json")):
        folder = config.parent
        family = folder.relative_to(SAMPLES).parts[0]
        templates.append((family, config.read_bytes(), (folder / "game.csv").read_bytes()))
    counts: dict[str, int] = {}
    for i in range(n):
        family, config, game = templates[i % len(templates)]
        game_id = f"{i:016X}"
        folder = root / family / game_id[-1] / game_id[-2] / game_id[-3] / game_id
        folder.mkdir(parents=True)
        (folder / "config.json").write_bytes(config)
        (folder / "game.csv").write_bytes(game)
        counts[family] = counts.get(family, 0) + 1
    return counts


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "Data" / "human_vs_llm"
        start = time.perf_counter()
        counts = generate(root, GAMES)
        made = time.perf_counter() - start
        rss_before = psutil.Process().memory_info().rss
        start = time.perf_counter()
        summary = import_glee(root, Path(tmp) / "import.duckdb")
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        assert summary.imported == GAMES and summary.conforming == GAMES, summary.skip_reasons
        start = time.perf_counter()
        again = import_glee(root, Path(tmp) / "import.duckdb")
        second = time.perf_counter() - start
        assert again.imported == 0 and again.already_present == GAMES
    per_family = ", ".join(f"{n:,} {family}" for family, n in sorted(counts.items()))
    name = "import_100k_games_per_s" if GAMES == 100_000 else f"import_{GAMES}_games_per_s"
    emit(
        Figure(
            name=name,
            value=GAMES / seconds,
            unit="games/s",
            note=f"{GAMES:,} generated game folders ({per_family}; made in {made:.0f} s) imported by "
            f"glee.store.glee_import into a new DuckDB file in {seconds:.1f} s: every game replayed through "
            f"the rules, its turns, outcome and metric variants written; peak RSS {peak_mb:.0f} MB "
            f"(RSS before the import {rss_before / 2**20:.0f} MB); importing the same tree again adds nothing "
            f"in {second:.1f} s",
        )
    )


if __name__ == "__main__":
    main()
