"""Plays a run's games on one asyncio loop and hands finished games to the store."""

from __future__ import annotations

from glee.engine.specs import RunConfig, RunSummary


async def run_async(config: RunConfig) -> RunSummary:
    """Play every planned game not yet in the database; see `run`."""
    raise NotImplementedError("being implemented")


def run(config: RunConfig) -> RunSummary:
    """Play every planned game of `config` that the database lacks, and return what happened."""
    import asyncio

    return asyncio.run(run_async(config))
