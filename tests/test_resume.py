"""Killed sweeps: SIGKILL at random points, then resume; Ctrl-C stops cleanly. The database must
stay whole: it opens, no game twice, every finished game complete, and resuming completes the plan."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from glee.engine.plan import plan
from glee.engine.specs import RunConfig
from glee.store import open_store
from tests.conftest import baseline, small_config
from tests.support.engine_players import SLOW

ROOT = Path(__file__).resolve().parents[1]
SWEEP = """
import sys
from glee.engine.scheduler import run
from glee.engine.specs import RunConfig
from glee.store import open_store
from tests.support.engine_players import scripted_factory

class Announcing:  # the store, saying "wrote" after every committed batch so the test can time its kills
    def __init__(self, store):
        self.store = store
    def __getattr__(self, name):
        return getattr(self.store, name)
    def write(self, records):
        summary = self.store.write(records)
        print("wrote", flush=True)
        return summary

config = RunConfig.model_validate_json(sys.argv[1])
print("ready", flush=True)
run(config, sink=Announcing(open_store(config.db)), make_player=scripted_factory(float(sys.argv[2])))
"""


def start(config: RunConfig, delay: float) -> subprocess.Popen[str]:
    """The sweep in its own process (a test-only script: `run` with the test players' factory)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SWEEP, config.model_dump_json(), str(delay)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def wait_for_writes(proc: subprocess.Popen[str], n: int) -> None:
    """Until the sweep has committed `n` batches (or ended)."""
    assert proc.stdout is not None
    for _ in range(n):
        if proc.stdout.readline().strip() != "wrote":
            return


def check_whole(db: Path, planned: set[str]) -> int:
    """Check every invariant of a (possibly interrupted) database; return the games it has finished."""
    with open_store(db, read_only=True) as store:
        con = store.con
        ids = [r[0] for r in con.execute("SELECT game_id FROM games").fetchall()]
        assert len(ids) == len(set(ids)) and set(ids) <= planned
        statuses = dict(con.execute("SELECT status, count(*) FROM games GROUP BY 1").fetchall())
        assert set(statuses) <= {"completed", "forfeit"}
        broken = con.execute(
            """
            SELECT g.game_id, g.family, g.rounds_played, count(t.turn) AS n, any_value(o.game_id) AS outcome
            FROM games g LEFT JOIN turns t USING (game_id) LEFT JOIN outcomes o USING (game_id)
            GROUP BY ALL
            HAVING outcome IS NULL
                OR n <> CASE WHEN g.family = 'persuasion' THEN 3 * g.rounds_played ELSE 2 * g.rounds_played END
                OR n <> max(t.turn)
            """
        ).fetchall()
        assert broken == []
        for table in ("turns", "outcomes", "llm_calls"):
            orphans = con.execute(f"SELECT count(*) FROM {table} WHERE game_id NOT IN (SELECT game_id FROM games)")
            assert orphans.fetchone() == (0,)
        return len(ids)


def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    db = tmp_path / "sweep.duckdb"
    pairs = [
        (baseline("spe", SLOW), baseline("random")),
        (baseline("random"), baseline("fair")),
        (baseline("fair"), baseline("spe")),
    ]
    config = small_config(db, pairs, n_games=20, max_games_in_flight=4)
    planned = {s.game_id for s in plan(config)}
    assert len(planned) == 720
    rng = random.Random(7)
    counts = []
    for _ in range(5):
        proc = start(config, delay=0.1)  # about 6 s of play in all: 240 slow games, 4 at a time
        # Kill after a random number of committed batches, at a random moment of the next one.
        wait_for_writes(proc, rng.randint(1, 3))
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        counts.append(check_whole(db, planned))
        if proc.returncode == 0:  # it finished before the kill: nothing left to interrupt
            break
        assert proc.returncode == -signal.SIGKILL
    print("games after each kill:", counts)
    assert counts == sorted(set(counts))  # every run committed some games before it was killed
    assert sum(0 < n < len(planned) for n in counts) >= 3, counts  # kills landed mid-sweep
    proc = start(config, delay=0.0)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert check_whole(db, planned) == len(planned)
    with open_store(db, read_only=True) as store:
        runs = store.con.execute("SELECT count(*) FROM runs").fetchone()
        assert runs is not None and runs[0] >= 2


def test_ctrl_c_stops_dispatching_writes_what_finished_and_prints_the_summary(tmp_path: Path) -> None:
    db = tmp_path / "sweep.duckdb"
    config = small_config(db, [(baseline("spe", SLOW), baseline("spe"))], n_games=50, max_games_in_flight=2)
    config = config.model_copy(update={"progress": True})
    planned = {s.game_id for s in plan(config)}
    proc = start(config, delay=0.05)
    wait_for_writes(proc, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "interrupted" in err and "planned 600" in err
    done = check_whole(db, planned)
    assert 0 < done < len(planned)
    assert f"completed {done}," in err
    proc = start(config.model_copy(update={"progress": False}), delay=0.0)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert check_whole(db, planned) == len(planned)
