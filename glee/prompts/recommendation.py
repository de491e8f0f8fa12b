"""A persuasion seller's recommendation in words, and reading one back.

Text-mode persuasion has no `recommend` field: a seller states its recommendation in a
message. Baseline sellers say one of the two sentences below; baseline buyers read any
message with `read_recommendation`, which understands these sentences and the bare
yes/no of the original data, and nothing else (anything else is unreadable: None).
"""

from __future__ import annotations

import re

RECOMMEND_YES = "I recommend buying this product."
RECOMMEND_NO = "I do not recommend buying this product."


def recommendation_text(yes: bool) -> str:
    """The seller's message recommending the product (yes) or advising against it (no)."""
    return RECOMMEND_YES if yes else RECOMMEND_NO


def _normalize(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: wording survives, formatting does not."""
    return " ".join(re.sub(r"[^a-z0-9']+", " ", text.lower()).split())


_YES = _normalize(RECOMMEND_YES)
_NO = _normalize(RECOMMEND_NO)
_BARE = {"yes": True, "no": False}


def read_recommendation(text: str | None) -> bool | None:
    """True for a recommendation to buy, False against, None when the message says neither clearly."""
    if text is None:
        return None
    words = _normalize(text)
    if words in _BARE:
        return _BARE[words]
    says_no = _NO in words
    # The "no" sentence does not contain the "yes" sentence, so both can be told apart.
    says_yes = _YES in words
    if says_yes == says_no:
        return None
    return says_yes
