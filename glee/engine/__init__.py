"""engine layer: plan an experiment, play games, schedule many at once."""

from glee.engine.plan import plan
from glee.engine.scheduler import run, run_async
from glee.engine.specs import GameSet, GameSpec, PlayerSpec, RunConfig, RunSummary

__all__ = ["GameSet", "GameSpec", "PlayerSpec", "RunConfig", "RunSummary", "plan", "run", "run_async"]
