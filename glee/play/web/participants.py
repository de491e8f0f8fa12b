"""Where each participant is in a study — consent, quiz, games, the end — kept in the `participants`
table so that a restarted server picks every participant up where they were.

The stages, in order: consent (when the study has a consent text), the quiz (when it has questions;
too many wrong tries end the study for that person, politely), the games, and the end (the
completion code, the platform's redirect, the bonus).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

import duckdb
from pydantic import BaseModel, ConfigDict

from glee.play.config import QuizQuestion, StudyConfig

Stage = Literal["consent", "quiz", "games", "screened_out", "done"]


class Journey(BaseModel):
    """One participant's row of `participants`."""

    model_config = ConfigDict(extra="forbid")

    participant: str
    link: dict[str, str] = {}
    first_seen: datetime
    consented_at: datetime | None = None
    quiz_tries: int = 0
    quiz_passed_at: datetime | None = None
    screened_out_at: datetime | None = None
    completed_at: datetime | None = None
    completion_code: str | None = None
    bonus: float | None = None
    currency: str | None = None

    def stage(self, config: StudyConfig) -> Stage:
        if self.screened_out_at is not None:
            return "screened_out"
        if self.completed_at is not None:
            return "done"
        if config.consent and self.consented_at is None:
            return "consent"
        if config.quiz and self.quiz_passed_at is None:
            return "quiz"
        return "games"

    def redirect(self, config: StudyConfig) -> str:
        """The platform's address to send the participant back to ({code} and the link's fields filled in)."""
        if not config.completion.redirect_url:
            return ""
        values = {name: quote(value, safe="") for name, value in self.link.items()}
        values["code"] = quote(config.completion.code, safe="")
        return config.completion.redirect_url.format_map(_Blank(values))


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


COLUMNS = tuple(Journey.model_fields)


def load_journeys(con: duckdb.DuckDBPyConnection) -> dict[str, Journey]:
    cur = con.execute(f"SELECT {', '.join(COLUMNS)} FROM participants")
    out = {}
    for row in cur.fetchall():
        data = dict(zip(COLUMNS, row, strict=True))
        data["link"] = json.loads(data["link"] or "{}")
        out[data["participant"]] = Journey.model_validate(data)
    return out


def save_journey(con: duckdb.DuckDBPyConnection, journey: Journey) -> None:
    values = journey.model_dump()
    values["link"] = json.dumps(journey.link)
    marks = ", ".join("?" for _ in COLUMNS)
    with con.cursor() as cur:
        cur.execute(
            f"INSERT OR REPLACE INTO participants ({', '.join(COLUMNS)}) VALUES ({marks})", list(values.values())
        )


def wrong_answers(quiz: list[QuizQuestion], answers: dict[str, str]) -> int:
    """How many quiz questions the form answered wrongly (field `q<i>` answers question i)."""
    return sum(1 for i, q in enumerate(quiz) if answers.get(f"q{i}") != q.answer)


def bonus_of(con: duckdb.DuckDBPyConnection, participant: str, config: StudyConfig) -> float | None:
    """The participant's bonus from their stored games (completed or forfeit), clipped to [0, cap]."""
    if config.bonus is None:
        return None
    with con.cursor() as cur:
        row = cur.execute(
            "SELECT coalesce(sum(self_gain), 0) FROM seats WHERE agent = ? AND status IN ('completed', 'forfeit')",
            [f"human:{participant}"],
        ).fetchone()
    total = float(row[0]) if row else 0.0
    return round(min(max(total * config.bonus.rate, 0.0), config.bonus.cap), 2)


def now() -> datetime:
    return datetime.now(UTC)
