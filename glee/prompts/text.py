"""Formatting numbers for people and quoting untrusted text (an opponent's free message).

An opponent's message is data, never instructions: it is stripped of control and
invisible characters, capped in length, and shown with every line quoted ("> "), so no
line of it can pose as a rule, a system note or the end of the quote. It is inserted by
plain concatenation after the trusted text is formatted, so `{x}` in it stays literal.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from glee.games.base import MESSAGE_LIMIT

JSON_INSTRUCTION = "Answer with one JSON object"
"""How every prompt asks a model for its answer (a person's view of a prompt leaves these sentences out)."""


_KEEP = frozenset("\n\t")
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
"""Control, format (zero-width, bidi overrides) and lone surrogates (which no UTF-8 request can carry)."""


def money(amount: float) -> str:
    """$10,000 for whole amounts, $1,234.50 otherwise, -$500 for losses."""
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    whole = round(amount)
    if abs(amount - whole) < 1e-9 * max(1.0, amount):
        return f"{sign}${whole:,}"
    return f"{sign}${amount:,.2f}"


def percent(fraction: float) -> str:
    """0.05 -> 5%, 0.857375 -> 85.74%, 1/3 -> 33.33%."""
    text = f"{fraction * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def number(value: float) -> str:
    """A multiple or factor without float noise: 2.0 -> 2, 1.25 -> 1.25, 0.95 -> 0.95."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class Cleaned:
    """Untrusted text made safe to show, and whether it was cut to MESSAGE_LIMIT."""

    text: str
    cut: bool


def clean_untrusted(text: str, limit: int = MESSAGE_LIMIT) -> Cleaned:
    """Cap `text` at `limit` characters and drop control/invisible characters (newline and tab stay)."""
    cut = len(text) > limit
    if cut:
        # Cap before stripping: the per-character check below then never sees more than `limit` characters.
        text = text[:limit]
    if not text.isprintable():  # Fast path: printable text has no Cc/Cf/Cs/Zl/Zp character at all.
        # Unicode line and paragraph separators end a line as a newline does: make them newlines,
        # so the quoting below marks every line (they are not "\n" to str.split).
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
        text = "".join(ch for ch in text if ch in _KEEP or unicodedata.category(ch) not in _DROP_CATEGORIES)
    return Cleaned(text, cut)


def quote_untrusted(label: str, text: str) -> Cleaned:
    """`label` (trusted) on its own line, then the cleaned message with every line quoted by "> "."""
    cleaned = clean_untrusted(text)
    body = cleaned.text.strip("\n")
    lines = body.split("\n") if body.strip() else ["(empty)"]
    quoted = "\n".join("> " + line for line in lines)
    if cleaned.cut:
        quoted += f"\n(message cut after {MESSAGE_LIMIT:,} characters)"
    return Cleaned(label + "\n" + quoted, cleaned.cut)


class Lines:
    """A message being written line by line; remembers whether any quoted message was cut."""

    __slots__ = ("cut", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.cut = False

    def add(self, line: str) -> None:
        self.parts.append(line)

    def quote(self, label: str, text: str) -> None:
        quoted = quote_untrusted(label, text)
        self.cut = self.cut or quoted.cut
        self.parts.append(quoted.text)

    def done(self) -> Cleaned:
        return Cleaned("\n".join(self.parts), self.cut)

    def request(self, ask: str, keys: tuple[str, ...], example: str, other_name: str) -> Cleaned:
        """End the turn message with the question, the message invitation if the action has one, and
        the JSON shape; return the finished message."""
        if "message" in keys and len(keys) > 1:  # a message beside the action; alone, it is the action
            ask += f" Also write a message to {other_name}."
        self.parts.append(ask)
        self.parts.append(f"{JSON_INSTRUCTION}: {example}")
        return self.done()
