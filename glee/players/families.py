"""Registry completion: every registered family has all its pieces in every layer.

The rules (glee.games.registry) declare a family; its prompt renderer (glee.prompts.registry)
and its baselines (glee.players.baseline) register separately, next to their code. This checks
them together, so a family missing a piece fails before a game is planned, with one line
naming the family and the piece, instead of late (every game `failed`).
"""

from __future__ import annotations

from glee.games import families, registry
from glee.players.baseline import baselines
from glee.prompts.registry import renderer


def complete() -> tuple[str, ...]:
    """Every registered family's name, once each has its rules, renderer and baselines (else FamilyError)."""
    names = families()
    for name in names:
        registry.family(name)
        renderer(name)
        baselines(name)
    return names
