"""What a person plays: `glee play` overrides and `glee serve-web` studies, validated into seatings.

Opponents are named as in `glee run` (a config of the player group, e.g. `spe`, `smollm2`)
or given inline as a PlayerSpec; game parameters are validated by the rules' Params.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from glee.api_keys import refuse_env_interpolation, refuse_secrets_in_config, refuse_secrets_in_overrides
from glee.config import CONFIG_DIR, compose_config, explain_hydra, player_names
from glee.engine.plan import canonical_json
from glee.engine.specs import PlayerSpec
from glee.errors import ConfigError, validated
from glee.games import Family, FamilyError, Seat, check_family, parse_params

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
"""A person's name or participant id: stored in agent labels and URLs, so a plain token."""
NAME_RULE = "1-64 letters, digits, or . _ @ - (starting with a letter or digit)"
DEFAULT_STUDY = CONFIG_DIR / "study" / "demo.yaml"


def check_name(name: str, field: str = "name") -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{field}: got {str(name)[:80]!r}; allowed: {NAME_RULE}")
    return name


class Seating(BaseModel):
    """One configuration a person plays: the game, its validated parameters, the opponent, the person's seat."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Family
    params: dict[str, Any]
    opponent: PlayerSpec
    """A baseline or an LLM; `kind="human"` (glee's PARTICIPANT) is another participant of the study."""
    seat: Seat
    prompts: str = "glee"
    """The prompt set the person reads (e.g. the one the model of an LLM-vs-LLM run was shown)."""
    fallback: PlayerSpec | None = None
    """Against another participant: who plays the other seat when no one comes in time."""

    @property
    def against_people(self) -> bool:
        return self.opponent.kind == "human"

    def key(self) -> str:
        """Equal for equal configurations (how a participant's games are matched to the study's)."""
        parts: list[Any] = [self.family, self.params, self.opponent.identity(), self.opponent.label(), self.seat]
        if self.prompts != "glee":  # keeps the keys of studies written before prompt sets
            parts.append(self.prompts)
        return canonical_json(parts)

    def title(self) -> str:
        return f"{self.family} against {self.opponent.label()} (you are player {self.seat})"


def opponent_spec(opponent: str | dict[str, Any], where: str) -> PlayerSpec:
    """A player config name of the player group, or an inline PlayerSpec; never a human."""
    if isinstance(opponent, dict):
        spec: PlayerSpec = validated(PlayerSpec, opponent, f"{where}.")
    elif isinstance(opponent, str) and opponent in player_names():
        # Composed as `glee play opponent=NAME` would be, so its defaults list applies.
        data = OmegaConf.to_container(compose_config("play", [f"player@opponent={opponent}"]).opponent, resolve=True)
        spec = validated(PlayerSpec, data, f"{where}.")
    else:
        raise ConfigError(f"{where}: unknown player {opponent!r}; allowed: {', '.join(player_names())}")
    if spec.kind == "human":
        raise ConfigError(f"{where}.kind: got 'human'; allowed: an opponent that is a baseline or an llm")
    return spec


def seating(
    family: str,
    params: dict[str, Any],
    opponent: PlayerSpec,
    seat: int,
    where: str = "",
    fallback: PlayerSpec | None = None,
    prompts: str = "glee",
) -> Seating:
    if seat not in (1, 2):
        raise ConfigError(f"{where}seat: got {seat!r}; allowed: 1 or 2")
    family = check_family(family)
    checked = parse_params(family, params).model_dump(mode="json")
    # The person's set is checked as a human player's (an unknown set or a broken template folder: one line).
    person = validated(PlayerSpec, {"kind": "human", "strategy": None, "prompts": prompts}, where)
    try:
        person.identity(family)
    except FamilyError as exc:
        raise ConfigError(f"{where}prompts: {exc}") from None
    return Seating(family=family, params=checked, opponent=opponent, seat=seat, fallback=fallback, prompts=prompts)


# --- glee play ---------------------------------------------------------------------------------


class PlayConfig(BaseModel):
    """`glee play`: one game in the terminal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seating: Seating
    name: str
    db: Path
    seed: int = Field(0, ge=0)


PLAY_KEYS = ("game", "opponent", "seat", "name", "db", "seed", "prompts")


def play_overrides(args: list[str]) -> list[str]:
    """Hydra spellings: `opponent=NAME` picks a config of the player group for the opponent."""
    out = []
    for item in args:
        key, sep, value = item.partition("=")
        out.append(f"player@opponent={value}" if key == "opponent" and sep else item)
    return out


def play_config(args: list[str]) -> PlayConfig:
    """Compose `play.yaml` with these overrides (as in `glee run`) and validate it."""
    from hydra.errors import HydraException

    refuse_secrets_in_overrides(args)
    # `prompts=NAME` is the person's prompt set, a plain value: Hydra would read it as the prompts group.
    chosen = [a.partition("=")[2] for a in args if a.startswith("prompts=")]
    overrides = play_overrides([a for a in args if not a.startswith("prompts=")])
    try:
        cfg = compose_config("play", overrides)
        data = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise explain_hydra(exc, overrides) from None
    assert isinstance(data, dict)
    data["prompts"] = chosen[-1] if chosen else "glee"
    assert isinstance(data, dict)
    unknown = sorted(str(k) for k in data if k not in PLAY_KEYS)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key; allowed: {', '.join(PLAY_KEYS)}")
    game = dict(data["game"])
    family = str(game.pop("family", ""))
    opponent = validated(PlayerSpec, data["opponent"], "opponent.")
    if opponent.kind == "human":
        raise ConfigError("opponent.kind: got 'human'; allowed: an opponent that is a baseline or an llm")
    seat = data.get("seat")
    return PlayConfig(
        seating=seating(
            family,
            game,
            opponent,
            seat if isinstance(seat, int) else -1,
            "",
            prompts=str(data.get("prompts") or "glee"),
        ),
        name=check_name(str(data.get("name")), "name"),
        db=Path(str(data["db"])),
        seed=data.get("seed") or 0,
    )


# --- glee serve-web ----------------------------------------------------------------------------


ParticipantIds = Literal["typed", "signed", "prolific", "mturk"]


class QuizQuestion(BaseModel):
    """A comprehension question asked before the games: one right choice among several."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1, max_length=2000)
    choices: list[str] = Field(min_length=2, max_length=10)
    answer: str

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> QuizQuestion:
        if self.answer not in self.choices:
            raise ValueError(f"answer {self.answer!r} is not one of the choices {self.choices}")
        return self


class Completion(BaseModel):
    """The end of the study: the code a participant reports to the platform, and where to send them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field("", max_length=64)
    redirect_url: str = Field("", max_length=500)
    """e.g. `https://app.prolific.com/submissions/complete?cc={code}` ({code} is filled in)."""

    @field_validator("redirect_url")
    @classmethod
    def _https(cls, url: str) -> str:
        if url and not url.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) address")
        return url


class Bonus(BaseModel):
    """A participant's bonus: the sum over their games of `metric` (their seat's) × `rate`, in [0, cap]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Literal["self_gain"] = "self_gain"
    rate: float = Field(ge=0)
    """Currency units per unit of the metric (self-gain is scale-free: 1 = the whole amount at stake)."""
    cap: float = Field(ge=0)
    currency: str = Field("GBP", pattern=r"^[A-Z]{3}$")


PARTICIPANT = "participant"
"""A study game's opponent that is another participant (matched as they arrive)."""


class StudyGame(BaseModel):
    """One configuration of a study, as the experimenter writes it."""

    model_config = ConfigDict(extra="forbid")

    family: str
    params: dict[str, Any] = {}
    opponent: str | dict[str, Any] = "spe"
    """A player config name, an inline PlayerSpec, or `participant` (another person of the study)."""
    seat: int = 1
    """Against another participant: the seat of whoever arrives first (the second takes the other)."""
    fallback: str | dict[str, Any] | None = None
    """Against another participant: the opponent when no one else comes within `match_timeout_s`."""
    prompts: str = "glee"
    """The prompt set the participant reads."""


class StudyConfig(BaseModel):
    """`glee serve-web`: the games served, how participants are assigned, where games are stored."""

    model_config = ConfigDict(extra="forbid")

    title: str = "glee"
    instructions: str = ""
    games: list[StudyGame] = Field(min_length=1)
    assignment: Literal["round_robin", "in_order"] = "round_robin"
    db: Path = Path("data/glee.duckdb")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    inactivity_timeout_s: float = Field(600.0, gt=0)
    match_timeout_s: float = Field(60.0, gt=0)
    """Games against another participant: how long the first to arrive waits before the fallback plays."""
    reservation_timeout_s: float = Field(60.0, gt=0)
    """A game whose page its participant has not opened by then is abandoned, freeing its slot."""
    max_games_in_flight: int = Field(200, ge=1)
    starts_per_minute: int = Field(20, ge=1)
    """Games one client address may start per minute (more get a polite 429 page)."""
    seed: int = Field(0, ge=0)
    participant_ids: ParticipantIds = "typed"
    """Where a participant's id comes from: `typed` into the start page (lab use); `signed`: a link
    `/?participant=ID&sig=HMAC` (make one with `glee.play.links.signed_link`) checked with the key in the
    environment variable `link_key_env`; `prolific` or `mturk`: the ids the platform puts in the link
    (PROLIFIC_PID, STUDY_ID, SESSION_ID; workerId, assignmentId, hitId). Only `typed` lets a person edit it."""
    link_key_env: str = "GLEE_LINK_KEY"
    """`signed` links: the name of the environment variable holding the key (never the key itself)."""
    consent: str = ""
    """Shown before anything else with a required checkbox (empty: no consent page)."""
    quiz: list[QuizQuestion] = []
    """Comprehension questions that must all be answered right before the first game."""
    quiz_attempts: int = Field(2, ge=1)
    """Tries at the quiz; after the last wrong one the participant is thanked and does not play."""
    completion: Completion = Completion()
    bonus: Bonus | None = None
    admin_token_env: str = "GLEE_ADMIN_TOKEN"
    """The experimenter's monitor `/admin` opens with the token in this environment variable (unset: no monitor)."""

    @field_validator("link_key_env", "admin_token_env")
    @classmethod
    def _variable_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]{0,63}", name):
            raise ValueError("must be the name of an environment variable (A-Z, 0-9, _), not a key")
        return name

    @field_validator("title", "instructions", "consent")
    @classmethod
    def _short(cls, text: str) -> str:
        if len(text) > 5000:
            raise ValueError("must be at most 5000 characters")
        return text

    def seatings(self) -> list[Seating]:
        """The study's configurations, validated (opponents resolved, parameters checked)."""
        out = []
        for i, game in enumerate(self.games):
            where = f"games.{i}."
            try:
                if game.opponent == PARTICIPANT:
                    if game.fallback is None:
                        raise ConfigError(
                            "fallback: missing; allowed: the opponent (a player config name or inline spec) who "
                            "plays when no other participant comes within match_timeout_s"
                        )
                    person = PlayerSpec(kind="human", strategy=None)
                    fallback = opponent_spec(game.fallback, f"{where}fallback")
                    out.append(seating(game.family, game.params, person, game.seat, where, fallback, game.prompts))
                    continue
                opponent = opponent_spec(game.opponent, f"{where}opponent")
                out.append(seating(game.family, game.params, opponent, game.seat, where, prompts=game.prompts))
            except ConfigError as exc:
                text = str(exc)
                raise ConfigError(text if text.startswith(where) else f"{where}{text}") from None
        return out


def config_file(args: list[str], default: Path, field: str, what: str) -> dict[str, Any]:
    """An optional YAML file (else `default`) merged with KEY=VALUE overrides, as a dict. One ConfigError
    line named by `field` for two files, a missing or unreadable one, `${oc.env:...}` outside the fields
    that name variables, or a key-like value; `what` says what the file's keys are."""
    files = [a for a in args if "=" not in a]
    if len(files) > 1:
        raise ConfigError(f"{field}: got {len(files)} files ({', '.join(files)}); allowed: one YAML file")
    path = Path(files[0]) if files else default
    if not path.is_file():
        raise ConfigError(f"{field}: no file at {str(path)!r}; allowed: a YAML file like {default}")
    refuse_secrets_in_overrides([a for a in args if "=" in a])
    try:
        merged = OmegaConf.merge(OmegaConf.load(path), OmegaConf.from_dotlist([a for a in args if "=" in a]))
        refuse_env_interpolation(OmegaConf.to_container(merged, resolve=False))  # before anything is resolved
        data = OmegaConf.to_container(merged, resolve=True) if isinstance(merged, DictConfig) else None
    except (OmegaConfBaseException, OSError, ValueError) as exc:
        raise ConfigError(f"{field}: cannot read {str(path)!r}: {' '.join(str(exc).split())[:300]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{field}: {str(path)!r} is not a mapping of {what} keys")
    refuse_secrets_in_config(data)
    return {str(k): v for k, v in data.items()}


def study_config(args: list[str]) -> StudyConfig:
    """A study from an optional YAML file (default: configs/study/demo.yaml) and KEY=VALUE overrides."""
    data = config_file(args, DEFAULT_STUDY, "study", "study")
    config: StudyConfig = validated(StudyConfig, data, "")
    config.seatings()  # every configuration is valid before the server starts
    return config
