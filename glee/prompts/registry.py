"""Prompt sets and their renderers: each renderer registers next to its code.

A renderer turns one family's observations into words: the system prompt of a seat, the
user message of a turn, the words of the fields its actions ask for, and whether a seat
starts a new chat every turn. A prompt set is a named, versioned bundle of renderers, one per
family, with how a seat answers (`answer`) and the set's switches (`options`); a player picks
one by name (PlayerSpec.prompts, default `glee`). glee's own set `glee` is the modules named
like its families (glee/prompts/<family>.py, glee.games.registry.BUILTIN); every other set
glee ships is a package glee/prompts/<set>/ with one module per family (BUILTIN_SETS); a
plugin family registers its `glee` renderer when its entry point is loaded
(glee.games.registry). A set that has no renderer for a family fails with one FamilyError
line naming both.

Every game id holds, per seat that reads prompts, the set's name, its version for the family
and a hash of its text (`prompt_identity`: the source of the module that renders the family,
or a template set's files); every run records them for every set (`prompt_set_versions`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from glee.errors import ConfigError, validated
from glee.games import FamilyError, Observation, registry
from glee.prompts.text import Cleaned

if TYPE_CHECKING:
    pass


def _never(observation: Any) -> bool:
    return False


@dataclass(frozen=True)
class Renderer:
    """One family's prompts. `system(observation)` and `turn(observation, events, shape)` take the
    family's own observation type."""

    family: str
    system: Callable[..., str]
    """`system(observation)`, or `system(observation, options)` in a set with options."""
    turn: Callable[..., Cleaned]
    """`turn(observation, events, shape)`, or `turn(observation, events, shape, options)` in a set with options."""
    version: int
    """The prompt version of this family in its set (part of every game's identity)."""
    field_words: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """What each asked field is, in words, by (turn kind, field)."""
    new_chat_each_turn: Callable[[Any], bool] = _never
    """Whether a seat with this observation is a fresh chat every turn (it must not see earlier turns)."""
    prompt_set: str = "glee"
    """The prompt set this renderer belongs to."""
    text_hash: str = ""
    """A hash of the text it renders from; empty: the source of the module of `turn` (see text_hash_of)."""

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


class NoOptions(BaseModel):
    """The options of a set without switches: none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


AnswerMode = Literal["schema", "text"]
"""How a seat answers: `schema`, a JSON object under the action's JSON schema (structured decoding);
`text`, free text holding a JSON object, which the parser extracts (no schema is sent)."""


def _reask(error: str, example: str) -> str:
    return f"Your reply could not be used: {error}.\nAnswer again with one JSON object only: {example}"


@dataclass(frozen=True)
class PromptSet:
    """A named bundle of renderers (one per family, registered with `register_renderer`)."""

    name: str
    description: str
    answer: AnswerMode = "schema"
    options: type[BaseModel] = NoOptions
    """The set's switches (PlayerSpec.prompts_options is validated by it; part of game ids)."""
    reask: Callable[[str, str], str] = _reask
    """The user message after an invalid reply, from the error and the action's JSON shape in words."""

    @property
    def takes_options(self) -> bool:
        return self.options is not NoOptions


DEFAULT_SET = "glee"
GLEE_SET = PromptSet(DEFAULT_SET, "glee's own words (the default): every rule and payoff spelled out")
BUILTIN_SETS: tuple[str, ...] = ("glee", "original_information")
"""The sets glee ships; every one but `glee` is the package glee/prompts/<set>/, one module per family."""

_SETS: dict[str, PromptSet] = {DEFAULT_SET: GLEE_SET}
_RENDERERS: dict[tuple[str, str], Renderer] = {}
_WORDS: dict[tuple[str, str], str] = {}
_loaded = False


def register_prompt_set(prompt_set: PromptSet) -> PromptSet:
    """Add a prompt set (its package calls this once, at import, before its renderers register)."""
    _SETS[prompt_set.name] = prompt_set
    return prompt_set


def register_renderer(renderer: Renderer) -> Renderer:
    """Add a family's renderer of a set (its prompt module calls this once, at import)."""
    if renderer.prompt_set not in _SETS:
        raise FamilyError(
            f"family {renderer.family!r}: renderer of prompt set {renderer.prompt_set!r}, which is not registered"
        )
    if renderer.prompt_set == DEFAULT_SET:
        # Field words are glee's own (the human player's labels and the schema's descriptions).
        for key, words in renderer.field_words.items():
            if _WORDS.get(key, words) != words:
                raise FamilyError(
                    f"family {renderer.family!r}: field words for {key} are {words!r}, "
                    f"another family says {_WORDS[key]!r}"
                )
        _WORDS.update(renderer.field_words)
    _RENDERERS[(renderer.prompt_set, renderer.family)] = renderer
    return renderer


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in registry.BUILTIN:
            importlib.import_module(f"glee.prompts.{name}")
        for prompt_set in BUILTIN_SETS[1:]:
            for name in registry.BUILTIN:
                importlib.import_module(f"glee.prompts.{prompt_set}.{name}")
        registry.load()


def prompt_sets() -> tuple[str, ...]:
    """The names of the registered prompt sets, glee's own first (template folders by their path)."""
    _load()
    return tuple(_SETS)


def is_folder_name(name: str) -> bool:
    """Whether a `prompts` value names a folder of templates (a path) rather than a registered set."""
    return "/" in name or name.startswith((".", "~"))


def prompt_set(name: str) -> PromptSet:
    """The set called `name` (a folder of templates is loaded and checked the first time it is named),
    or a one-line ConfigError listing the sets."""
    _load()
    found = _SETS.get(name) if isinstance(name, str) else None
    if found is None and isinstance(name, str) and is_folder_name(name):
        found = _register_folder(name)
    if found is None:
        allowed = ", ".join(s for s in _SETS if not is_folder_name(s))
        raise ConfigError(f"prompts: got {name!r}; allowed: one of {allowed}, or a folder of templates")
    return found


def _register_folder(name: str) -> PromptSet:
    from glee.prompts.templates import load_template_set  # templates render observations of every family

    folder = Path(name).expanduser().resolve()
    loaded, renderers = load_template_set(folder)
    taken = _SETS.get(loaded.name)
    if taken is not None or any(s == loaded.name for s, _ in _RENDERERS):
        raise ConfigError(
            f"prompts: the set name {loaded.name!r} in {folder}/set.yaml is taken by another set; choose another name"
        )
    for found in renderers:
        _RENDERERS[(loaded.name, found.family)] = found
    _SETS[name] = loaded
    return loaded


def renderer(family: str, prompt_set: str = DEFAULT_SET) -> Renderer:
    """The renderer of `family` in `prompt_set`, or a FamilyError naming the family and the missing piece."""
    _load()
    found = _RENDERERS.get((prompt_set, family))
    if found is None:
        if prompt_set == DEFAULT_SET:
            raise FamilyError(f"family {family!r}: piece 'renderer' is missing (register one with register_renderer)")
        has = sorted(f for s, f in _RENDERERS if s == prompt_set)
        raise FamilyError(
            f"prompt set {prompt_set!r} has no renderer for family {family!r} (it renders: {', '.join(has) or 'none'})"
        )
    return found


@dataclass(frozen=True)
class Prompts:
    """What a seat is shown: a prompt set and the values of its options."""

    set: PromptSet = GLEE_SET
    options: BaseModel = field(default_factory=NoOptions)

    def renderer(self, family: str) -> Renderer:
        return renderer(family, self.set.name)


GLEE_PROMPTS = Prompts()


def choose_prompts(name: str = DEFAULT_SET, options: Mapping[str, Any] | None = None) -> Prompts:
    """The set `name` with `options` validated by its options model (one-line ConfigError otherwise)."""
    chosen = prompt_set(name)
    values = validated(chosen.options, dict(options or {}), "prompts_options.")
    return Prompts(chosen, values)


def renderer_of(observation: Observation, prompts: Prompts = GLEE_PROMPTS) -> Renderer:
    return prompts.renderer(observation.family)


def text_hash_of(found: Renderer) -> str:
    """16 hex chars of sha256 over the text `found` renders from: its own `text_hash` (a template set's
    files), else the source of the modules of its `system` and `turn` functions."""
    if found.text_hash:
        return found.text_hash
    files = {inspect.getsourcefile(found.system), inspect.getsourcefile(found.turn)}
    return _source_hash(tuple(sorted(str(f) for f in files if f is not None)))


@functools.cache
def _source_hash(files: tuple[str, ...]) -> str:
    """Read once per process: a plan of many games asks for it per game and seat."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def prompt_identity(prompts: Prompts, family: str) -> dict[str, Any]:
    """What a seat's prompts add to a game's identity: the set, its version and text hash for the
    family, and its options (FamilyError when the set has no renderer for the family)."""
    found = prompts.renderer(family)
    identity: dict[str, Any] = {"set": prompts.set.name, "version": found.version, "text": text_hash_of(found)}
    if prompts.set.takes_options:
        identity["options"] = prompts.options.model_dump(mode="json")
    return identity


def prompt_set_versions() -> dict[str, dict[str, dict[str, Any]]]:
    """Every registered set's version and text hash per family it renders (`runs.versions.prompt_sets`)."""
    _load()
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (set_name, family), found in _RENDERERS.items():
        out.setdefault(set_name, {})[family] = {"version": found.version, "text": text_hash_of(found)}
    return out


def field_words(kind: str, key: str) -> str | None:
    """The words of field `key` of an action of `kind`, from every registered renderer."""
    _load()
    return _WORDS.get((kind, key))
