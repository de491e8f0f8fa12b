"""What every game family shares: seats, turns, parameters, observations, outcomes, states.

Rules are pure: a state is an immutable value, `apply` returns a new one, nothing here
reads a clock, touches I/O, renders text or uses global randomness. Nature draws from
a generator derived from the game's own seed and the round, so a game replays exactly.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from glee.errors import ConfigError, IllegalAction, explain, validated


def _registered(name: str) -> str:
    from glee.games.registry import check_family  # the registry imports this module

    return check_family(name)


Family = Annotated[str, AfterValidator(_registered)]
"""The name of a registered family (glee.games.registry): glee's own or a plugin's."""

Seat = Literal[1, 2]
NATURE: Literal[0] = 0
"""The chance player's seat number (persuasion's product quality)."""

EndReason = Literal["agreement", "no_deal", "outside_option", "deadline", "forfeit"]
"""How a game ended.

agreement: an offer was accepted (bargaining, negotiation).
no_deal: the last round's offer was rejected (bargaining, negotiation).
outside_option: a negotiator took its own outside option.
deadline: persuasion played all its rounds.
forfeit: a seat gave no valid action within its attempts.
"""

TurnKind = Literal["propose", "respond", "nature", "seller_message", "buyer_decision"]


class Frozen(BaseModel):
    """Immutable, strict about unknown keys and non-finite numbers: the base of every rules model."""

    # inf or nan passes gt/ge bounds (a price of inf, money of inf) and would poison every payoff.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def names_differ(name_2: str, info: ValidationInfo) -> str:
    """Field validator of `name_2`: the two public names must differ (the error names name_2)."""
    name_1 = info.data.get("name_1")
    if name_2 == name_1:
        raise ValueError(f"must differ from name_1 ({name_1!r})")
    return name_2


class Params(Frozen):
    """Validated parameters of one game. Each family adds its fields.

    Fields may carry a `validation_alias` of the original GLEE config key so that
    original configs load unchanged (`populate_by_name` keeps glee's names working).
    """

    # validate_default: cross-field checks (names differ, c < v) must also see default values.
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, populate_by_name=True, validate_default=True
    )
    family: ClassVar[Family]

    name_1: str = Field("Alice", min_length=1, max_length=40)
    name_2: str = Field("Bob", min_length=1, max_length=40)
    _names_differ = field_validator("name_2")(names_differ)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Self:
        """Validate a dict of parameters, raising one ConfigError that names every bad field."""
        return validated(cls, raw, prefix=f"{cls.family}.")


class OfferParams(Params):
    """What the two alternating-offer families (bargaining, negotiation) share: a horizon that may
    be hidden, complete or incomplete information, and optional messages."""

    max_rounds: int = Field(99, ge=1)
    complete_information: bool = True
    messages_allowed: bool = True
    horizon_disclosed: bool | None = None
    """Whether the players are told T; None means the GLEE rule T <= 20."""

    @model_validator(mode="after")
    def _resolve_horizon(self) -> Self:
        if self.horizon_disclosed is None:
            object.__setattr__(self, "horizon_disclosed", self.max_rounds <= 20)
        return self


def seat_names(params: Mapping[str, Any]) -> dict[int, str]:
    """Who sits where, from a game's parameters as stored (JSON): 0 Nature, 1 and 2 the public names."""
    return {
        0: "Nature",
        1: str(params.get("name_1", Params.model_fields["name_1"].default)),
        2: str(params.get("name_2", Params.model_fields["name_2"].default)),
    }


class Action(Frozen):
    """One player's (or Nature's) move. Each family defines its kinds."""

    kind: ClassVar[TurnKind]


def _refuse(value: Any) -> None:
    if value is not None:
        raise ValueError("not allowed in this game")
    return None


ABSENT: Any = (Annotated[None, BeforeValidator(_refuse), SkipJsonSchema()], None)
"""A `create_model` field that switches off an optional field an action inherits (e.g. a
message when messages are off): only null validates, and it leaves the JSON schema."""

MESSAGE_LIMIT = 2000
"""Characters of a free-text message at most."""


def message_field(allowed: bool) -> Any:
    """The `create_model` field of a free-text message: required and capped when the game allows
    messages, switched off (ABSENT) when it does not."""
    return (str, Field(max_length=MESSAGE_LIMIT)) if allowed else ABSENT


class Turn(Frozen):
    """One applied action, in order. `seat` 0 is Nature."""

    round: int
    seat: Literal[0, 1, 2]
    kind: TurnKind
    action: dict[str, Any]


class Observation(Frozen):
    """What one seat knows at one moment: the facts it was told and the events it saw.

    Each family subclasses this with typed fields for the facts; `events` are the turns
    this seat has seen, in order, already filtered for what it may know.
    """

    family: Family
    seat: Seat
    name: str
    other_name: str
    round: int
    to_act: bool
    kind: TurnKind | None
    """The kind of action asked of this seat now, or None when it is not its turn."""
    events: tuple[Turn, ...]


class Outcome(Frozen):
    """How a finished game ended, what each seat got and the family's metrics.

    Payoffs are in money; self-gains, efficiency and fairness are the scale-free metrics
    of GAMES.md (None where a metric is not defined, e.g. fairness without a deal).
    `extras` holds the family's additional records (first offer share, price, ...).
    """

    end_reason: EndReason
    rounds: int
    agreement: bool
    payoff_1: float
    payoff_2: float
    self_gain_1: float | None
    self_gain_2: float | None
    efficiency: float | None
    fairness: float | None
    forfeit_seat: Seat | None = None
    extras: dict[str, float | int | str | bool | None] = {}


class Metrics(Frozen):
    """The four scale-free metrics of one finished game under one metric variant (GAMES.md section 7).

    The variant `glee` is the Outcome's own; the others are the original GLEE code's formulas,
    declared by each family's rules module (`GameFamily.variants`). None where a metric is not
    defined under that variant (e.g. glee's fairness without a deal, every metric of a forfeit).
    """

    self_gain_1: float | None
    self_gain_2: float | None
    efficiency: float | None
    fairness: float | None


class GameState(Frozen, ABC):
    """An immutable game position. Subclasses hold the family's derived fields.

    The engine loop: while not `is_over`: seat = `to_act()`; for Nature apply
    `nature_action()`, else ask that seat's player for an action of `action_model()`
    given `observation(seat)` and `apply` it. Serialize with `model_dump_json()` and
    restore with `model_validate_json()`.
    """

    family: ClassVar[Family]
    params: Params
    seed: int
    turns: tuple[Turn, ...] = ()
    round: int = 1
    forfeit_seat: Seat | None = None
    end_reason: EndReason | None = None

    @property
    def is_over(self) -> bool:
        return self.end_reason is not None

    @abstractmethod
    def to_act(self) -> Literal[0, 1, 2] | None:
        """The seat to move (0 for Nature), or None when the game is over."""

    @abstractmethod
    def kind(self) -> TurnKind:
        """The kind of action asked now."""

    @abstractmethod
    def action_model(self) -> type[Action]:
        """The pydantic model of the action asked now, bounded for this game's parameters."""

    @abstractmethod
    def _apply(self, action: Action) -> Self:
        """Apply an action already checked to be of the right model."""

    @abstractmethod
    def observation(self, seat: Seat) -> Observation:
        """What `seat` knows now."""

    @abstractmethod
    def outcome(self) -> Outcome:
        """Payoffs and metrics; only when `is_over`."""

    def nature_action(self) -> Action:
        """Nature's draw when `to_act()` is 0. Families without Nature never get here."""
        raise IllegalAction(f"{self.family} has no chance moves")

    def rng(self, *salt: int) -> random.Random:
        """A generator derived from the game seed and `salt` alone (never global state)."""
        return random.Random(hash_ints(self.seed, *salt))

    def apply(self, action: Action | dict[str, Any]) -> Self:
        """Validate `action` against the current turn and return the next state.

        Raises IllegalAction naming what is wrong; the state itself never changes.
        """
        if self.is_over:
            raise IllegalAction("the game is over")
        model = self.action_model()
        if type(action) is model:
            # An instance of exactly the asked model was validated when it was made, and is frozen:
            # validating it again would only cost time on every turn (the engine's hot path).
            return self._apply(action)
        try:
            checked = model.model_validate(action.model_dump() if isinstance(action, BaseModel) else action)
        except ValidationError as exc:
            raise IllegalAction(str(explain(exc, prefix=f"{model.kind}."))) from None
        return self._apply(checked)

    def forfeit(self, seat: Seat) -> Self:
        """End the game because `seat` gave no valid action within its attempts."""
        if self.is_over:
            raise IllegalAction("the game is over")
        return self.model_copy(update={"forfeit_seat": seat, "end_reason": "forfeit"})

    def _record(self, seat: Literal[0, 1, 2], action: Action, **update: Any) -> dict[str, Any]:
        """The update that appends `action` as a turn, merged with other field updates."""
        turn = Turn(round=self.round, seat=seat, kind=action.kind, action=action.model_dump())
        return {"turns": (*self.turns, turn), **update}

    def as_forfeit(self, outcome: Outcome) -> Outcome:
        """`outcome`, what the rules give a game that ends here without agreement (no deal, no sale), marked as
        this state's forfeit: how glee's families score a forfeit, so that an intention-to-treat mean reads it."""
        return outcome.model_copy(update={"end_reason": "forfeit", "forfeit_seat": self.forfeit_seat})

    def forfeit_outcome(self) -> Outcome:
        """A forfeit that pays nothing and defines no metric, for a family that does not score forfeits
        (glee's own score one as the rules' no-deal outcome, `as_forfeit`): reported, never averaged."""
        return Outcome(
            end_reason="forfeit",
            rounds=self.round,
            agreement=False,
            payoff_1=0.0,
            payoff_2=0.0,
            self_gain_1=None,
            self_gain_2=None,
            efficiency=None,
            fairness=None,
            forfeit_seat=self.forfeit_seat,
        )


def hash_ints(*values: int) -> int:
    """A stable 64-bit mix of integers (Python's hash() of ints is stable, but spelled out here)."""
    h = 0xCBF29CE484222325
    for v in values:
        h ^= v & 0xFFFFFFFFFFFFFFFF
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def other(seat: Seat) -> Seat:
    return 2 if seat == 1 else 1


__all__ = [
    "ABSENT",
    "MESSAGE_LIMIT",
    "NATURE",
    "Action",
    "ConfigError",
    "EndReason",
    "Family",
    "Frozen",
    "GameState",
    "IllegalAction",
    "Metrics",
    "Observation",
    "Outcome",
    "Params",
    "Seat",
    "Turn",
    "TurnKind",
    "hash_ints",
    "message_field",
    "names_differ",
    "other",
]
