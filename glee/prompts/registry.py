"""The prompt renderers of the families: each registers next to its code (glee/prompts/<family>.py).

A renderer turns one family's observations into words: the system prompt of a seat, the
user message of a turn, the words of the fields its actions ask for, and whether a seat
starts a new chat every turn. glee's own renderers are the modules named like its families
(glee.games.registry.BUILTIN); a plugin family registers its renderer when its entry point is
loaded (glee.games.registry).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glee.games import FamilyError, Observation, Turn, registry
from glee.prompts.text import Cleaned

if TYPE_CHECKING:
    from glee.prompts.schema import ActionShape


def _never(observation: Any) -> bool:
    return False


@dataclass(frozen=True)
class Renderer:
    """One family's prompts. `system(observation)` and `turn(observation, events, shape)` take the
    family's own observation type."""

    family: str
    system: Callable[[Any], str]
    turn: Callable[[Any, Sequence[Turn], ActionShape], Cleaned]
    version: int
    """The prompt version of this family (part of every game's identity)."""
    field_words: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """What each asked field is, in words, by (turn kind, field)."""
    new_chat_each_turn: Callable[[Any], bool] = _never
    """Whether a seat with this observation is a fresh chat every turn (it must not see earlier turns)."""

    def __post_init__(self) -> None:
        checks = {
            "family": isinstance(self.family, str) and bool(self.family),
            "system": callable(self.system),
            "turn": callable(self.turn),
            "version": isinstance(self.version, int) and self.version >= 1,
        }
        for piece, ok in checks.items():
            if not ok:
                got = getattr(self, piece)
                raise FamilyError(f"family {self.family!r}: renderer piece {piece!r} is missing or wrong (got {got!r})")


_RENDERERS: dict[str, Renderer] = {}
_WORDS: dict[tuple[str, str], str] = {}
_loaded = False


def register_renderer(renderer: Renderer) -> Renderer:
    """Add a family's renderer (its prompt module calls this once, at import)."""
    for key, words in renderer.field_words.items():
        if _WORDS.get(key, words) != words:
            raise FamilyError(
                f"family {renderer.family!r}: field words for {key} are {words!r}, another family says {_WORDS[key]!r}"
            )
    _WORDS.update(renderer.field_words)
    _RENDERERS[renderer.family] = renderer
    return renderer


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in registry.BUILTIN:
            importlib.import_module(f"glee.prompts.{name}")
        registry.load()


def renderer(family: str) -> Renderer:
    """The renderer of `family`, or a FamilyError naming the family and the missing piece."""
    _load()
    found = _RENDERERS.get(family)
    if found is None:
        raise FamilyError(f"family {family!r}: piece 'renderer' is missing (register one with register_renderer)")
    return found


def renderer_of(observation: Observation) -> Renderer:
    return renderer(observation.family)


def field_words(kind: str, key: str) -> str | None:
    """The words of field `key` of an action of `kind`, from every registered renderer."""
    _load()
    return _WORDS.get((kind, key))
