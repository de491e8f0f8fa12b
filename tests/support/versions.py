"""Bump a family's rules or prompt version for one test, where glee reads it: the family's registration."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest

from glee.games import registry as rules_registry
from glee.prompts import registry as prompts_registry


def set_version(monkeypatch: pytest.MonkeyPatch, family: str, layer: Literal["games", "prompts"], value: int) -> None:
    """Make `family`'s rules ("games") or prompt ("prompts") version `value` until the test ends."""
    if layer == "games":
        declared = rules_registry.family(family)
        monkeypatch.setitem(rules_registry._FAMILIES, family, dataclasses.replace(declared, version=value))
    else:
        shown = prompts_registry.renderer(family)
        monkeypatch.setitem(prompts_registry._RENDERERS, ("glee", family), dataclasses.replace(shown, version=value))
