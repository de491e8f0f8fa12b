"""Template prompt sets: a folder of Jinja2 templates is a prompt set (`player_1.prompts=/path/to/folder`).

This is how any wording runs without changing code, a private copy of another harness's text
included. The folder holds `set.yaml` (`name`, `version`, optional `description` and `answer`:
`schema` or `text`) and, per family it renders, `<family>/system.j2` (the seat's rules) and one
`<family>/<turn kind>.j2` per turn kind (bargaining and negotiation: propose, respond;
persuasion: seller_message, buyer_decision).

Templates run in `jinja2.sandbox.SandboxedEnvironment` with `StrictUndefined`. Their context is
the typed observation's fields (glee.games: `name`, `other_name`, `round`, `seat`, `kind` and the
family's own, e.g. `money`, `own_delta`, `other_delta`, `max_rounds`, `pending_offer` for
bargaining), plus in turn templates `events` (the turns since the seat's last one: `round`,
`seat`, `kind`, `mine`, `action`) and `answer` (`keys`, the fields to answer; `example`, the JSON
shape in words). An opponent's message in `events` is never the raw text: it is glee's cleaned
text, shown quoted (every line "> ") when printed, or `{{ m | quote("Bob wrote:") }}` with a
label; the raw string is not reachable from a template. Filters: `money`, `percent`, `number`,
`quote`.

Every template is rendered at load against sample observations of each family it renders (a
short deterministic playout of the family's default and paper-grid configurations), so a missing
template or an unknown variable fails before any game, in one line naming the template and the
variable. The set's text hash (in game ids) is over `set.yaml` and every template.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from glee.errors import ConfigError, validated
from glee.games import Observation, Turn, new_game, parse_params, registry
from glee.games.base import Action
from glee.games.grids import paper_grid
from glee.prompts.registry import AnswerMode, PromptSet, Renderer, renderer
from glee.prompts.schema import ActionShape, action_shape
from glee.prompts.text import Cleaned, clean_untrusted, money, number, percent, quote_untrusted

SET_FILE = "set.yaml"
SAMPLE_TURNS = 40
"""Moves of each sample playout at most (enough to reach every turn kind of a family)."""


class TemplateSetFile(BaseModel):
    """`set.yaml` of a template folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    """The set's name in game ids and runs (stable across machines, unlike the folder's path)."""
    version: int = Field(1, ge=1)
    description: str = ""
    answer: AnswerMode = "schema"


class Untrusted:
    """An opponent's message as a template sees it: cleaned, and quoted when printed.

    The raw text is kept in a slot whose name starts with an underscore, which the sandbox refuses."""

    __slots__ = ("_cleaned",)

    def __init__(self, text: str) -> None:
        self._cleaned = clean_untrusted(text)

    @property
    def cut(self) -> bool:
        return self._cleaned.cut

    def quoted(self, label: str) -> str:
        return quote_untrusted(label, self._cleaned.text).text

    def __str__(self) -> str:
        return self.quoted("").lstrip("\n")


def _quote(value: Any, label: str = "") -> str:
    if isinstance(value, Untrusted):
        return value.quoted(label).lstrip("\n") if not label else value.quoted(label)
    return quote_untrusted(label, str(value)).text  # trusted text quoted the same way


def _environment(folder: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text; opponent text is quoted by `Untrusted`, never interpreted
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update({"money": money, "percent": percent, "number": number, "quote": _quote})
    return env


def _fields(observation: Observation) -> dict[str, Any]:
    return {k: getattr(observation, k) for k in type(observation).model_fields if k != "events"}


def _events(observation: Observation, events: Sequence[Turn]) -> tuple[list[dict[str, Any]], bool]:
    out, cut = [], False
    for turn in events:
        action = dict(turn.action)
        if turn.seat not in (0, observation.seat):
            for key, value in action.items():
                if isinstance(value, str) and key == "message":
                    action[key] = Untrusted(value)
                    cut = cut or action[key].cut
        out.append(
            {
                "round": turn.round,
                "seat": turn.seat,
                "kind": turn.kind,
                "mine": turn.seat == observation.seat,
                "action": action,
            }
        )
    return out, cut


@dataclass(frozen=True)
class _Family:
    env: SandboxedEnvironment
    family: str

    def system(self, observation: Observation) -> str:
        return self.env.get_template(f"{self.family}/system.j2").render(_fields(observation)).strip()

    def turn(self, observation: Observation, events: Sequence[Turn], shape: ActionShape) -> Cleaned:
        shown, cut = _events(observation, events)
        context = {
            **_fields(observation),
            "events": shown,
            "answer": {"keys": list(shape.keys), "example": shape.example},
        }
        kind = observation.kind or ""
        return Cleaned(self.env.get_template(f"{self.family}/{kind}.j2").render(context).strip(), cut)


def _sample_action(action_model: type[Action], turns: int) -> dict[str, Any]:
    """A legal action that keeps a sample game going: the least amount, a rejection, a short message."""
    shape = action_shape(action_model)
    out: dict[str, Any] = {}
    for key in shape.keys:
        prop = shape.schema["properties"][key]
        if key in shape.choices:
            words = shape.choices[key]
            out[key] = "reject" if "reject" in words else words[turns % len(words)]
        elif key in shape.amounts:
            out[key] = prop.get("minimum", 0)
        else:
            out[key] = 'a sample message,\nwith "quotes"'
    return out


def sample_observations(family: str) -> list[tuple[Observation, type[Action]]]:
    """Observations of every seat to act (with its action model) in short deterministic playouts of
    the family's default configuration and the first and last of its paper grid."""
    grid = registry.family(family).grids.get("paper")
    configurations: list[dict[str, Any]] = [{}] + ([paper_grid(family)[0], paper_grid(family)[-1]] if grid else [])
    samples: list[tuple[Observation, type[Action]]] = []
    for raw in configurations:
        state = new_game(parse_params(family, raw), seed=0)
        for turns in range(SAMPLE_TURNS):
            if state.is_over:
                break
            seat = state.to_act()
            if seat == 0:
                state = state.apply(state.nature_action())
                continue
            assert seat is not None
            model = state.action_model()
            samples.append((state.observation(seat), model))
            state = state.apply(_sample_action(model, turns))
    return samples


def _text_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(folder.rglob("*")):
        if file.is_file() and (file.suffix == ".j2" or file.name == SET_FILE):
            digest.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _check(folder: Path, family: str, renderer: _Family) -> None:
    """Render every template of `family` against its sample observations: one ConfigError line naming
    the template and what is wrong (a missing template, an unknown variable, a syntax error)."""
    for observation, model in sample_observations(family):
        for name, call in (
            ("system", lambda o=observation: renderer.system(o)),
            (observation.kind or "", lambda o=observation, m=model: renderer.turn(o, o.events, action_shape(m))),
        ):
            template = f"{family}/{name}.j2"
            try:
                call()
            except jinja2.TemplateNotFound:
                raise ConfigError(f"prompts: template {template} is missing") from None
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(f"prompts: template {template}, line {exc.lineno}: {exc.message}") from None
            except jinja2.UndefinedError as exc:
                known = sorted(_fields(observation)) + (["answer", "events"] if name != "system" else [])
                raise ConfigError(
                    f"prompts: template {template} uses an unknown variable: {exc.message}; known: {', '.join(known)}"
                ) from None
            except jinja2.TemplateError as exc:
                raise ConfigError(f"prompts: template {template}: {exc}") from None


def load_template_set(folder: Path) -> tuple[PromptSet, list[Renderer]]:
    """The prompt set of a template folder and its renderers, every template checked (ConfigError)."""
    if not folder.is_dir():
        raise ConfigError(f"prompts: not a folder of templates: {folder}")
    spec_file = folder / SET_FILE
    if not spec_file.is_file():
        raise ConfigError(f"prompts: {SET_FILE} is missing (name, version, answer)")
    try:
        raw = yaml.safe_load(spec_file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"prompts: {SET_FILE} is not YAML ({' '.join(str(exc).split())})") from None
    spec = validated(TemplateSetFile, raw, f"prompts: {SET_FILE}: ")
    env = _environment(folder)
    families = [f for f in registry.families() if (folder / f).is_dir()]
    if not families:
        raise ConfigError(f"prompts: no family folder; allowed: one or more of {', '.join(registry.families())}")
    text = _text_hash(folder)
    renderers = []
    for family in families:
        templates = _Family(env, family)
        _check(folder, family, templates)
        renderers.append(
            Renderer(
                family=family,
                system=templates.system,
                turn=templates.turn,
                version=spec.version,
                prompt_set=spec.name,
                text_hash=text,
                # Who starts a new chat each turn (a myopic buyer) is the family's rule, not the wording's.
                new_chat_each_turn=renderer(family).new_chat_each_turn,
            )
        )
    return PromptSet(spec.name, spec.description or f"templates in {folder}", answer=spec.answer), renderers
