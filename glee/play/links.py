"""Who a participant is: the id its study link carries, and, for signed links, the proof that the
experimenter issued it.

A study says where ids come from (`StudyConfig.participant_ids`). Only `typed` ids can be edited by
the person; the others are read from the link the person was sent, so a participant cannot play
under someone else's id (a signed link needs the key; a platform's ids are issued by the platform).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
from collections.abc import Mapping
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict

from glee.errors import ConfigError
from glee.play.config import NAME, ParticipantIds

LINK_FIELDS: dict[ParticipantIds, tuple[str, ...]] = {
    "typed": ("participant",),
    "signed": ("participant", "sig"),
    "prolific": ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
    "mturk": ("workerId", "assignmentId", "hitId"),
}
"""The query fields of a study link, per id source; the first one is the participant id."""
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
"""MTurk's assignmentId while a worker previews a HIT (not accepted yet)."""


class LinkError(ValueError):
    """A link that does not identify a participant; the text is shown on the page."""


class Identity(BaseModel):
    """A participant, and the link's fields (carried through the start form, kept with its games)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    participant: str
    link: dict[str, str]


def sign(key: bytes, participant: str) -> str:
    """The `sig` of a participant's link: HMAC-SHA256 of the id, 32 hex digits."""
    return hmac.new(key, participant.encode(), hashlib.sha256).hexdigest()[:32]


def link_key(variable: str) -> bytes:
    """The signing key from the environment (never from a config); one line when it is missing."""
    value = os.environ.get(variable, "")
    if len(value) < 16:
        raise ConfigError(
            f"link_key_env: the environment variable {variable} holds {'no key' if not value else 'a short key'}; "
            "allowed: a secret of at least 16 characters (e.g. `export "
            f'{variable}="$(python -c "import secrets; print(secrets.token_hex(16))")"`)'
        )
    return value.encode()


def identify(source: ParticipantIds, values: Mapping[str, str], key: bytes | None = None) -> Identity:
    """The participant a link (or the start form that carries it) names, or LinkError saying why not."""
    fields = LINK_FIELDS[source]
    link = {name: str(values.get(name, "")).strip()[:128] for name in fields}
    participant = link[fields[0]]
    if source == "typed":
        if not NAME.match(participant):
            raise LinkError("Please enter your participant id: 1-64 letters, digits, or . _ @ -.")
        return Identity(participant=participant, link=link)
    missing = [name for name in fields if not link[name]]
    if missing:
        raise LinkError(f"This study must be opened from the link you were given (it lacks {', '.join(missing)}).")
    if source == "mturk" and link["assignmentId"] == MTURK_PREVIEW:
        raise LinkError("This is a preview: accept the HIT to start.")
    bad = [name for name in fields if name != "sig" and not NAME.match(link[name])]
    if bad:
        raise LinkError(f"This link is not valid ({bad[0]} is not an id).")
    if source == "signed":
        assert key is not None, "signed links need the key"
        if not hmac.compare_digest(link["sig"], sign(key, participant)):
            raise LinkError("This link is not valid (its signature does not match): please use the link you were sent.")
    return Identity(participant=participant, link=link)


def signed_link(base_url: str, participant: str, key: bytes) -> str:
    if not NAME.match(participant):
        raise ConfigError(f"participant: got {participant[:80]!r}; allowed: 1-64 letters, digits, or . _ @ -")
    return f"{base_url.rstrip('/')}/?{urlencode({'participant': participant, 'sig': sign(key, participant)})}"


def main(argv: list[str] | None = None) -> int:
    """`python -m glee.play.links --url URL ID ...`: one signed link per participant id."""
    parser = argparse.ArgumentParser(prog="python -m glee.play.links", description=main.__doc__)
    parser.add_argument("--url", required=True, help="the study's address, e.g. https://study.example.org")
    parser.add_argument("--key-env", default="GLEE_LINK_KEY", help="the variable holding the key")
    parser.add_argument("ids", nargs="+")
    args = parser.parse_args(argv)
    try:
        key = link_key(args.key_env)
        for participant in args.ids:
            print(signed_link(args.url, participant, key))
    except ConfigError as exc:
        print(f"glee: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
