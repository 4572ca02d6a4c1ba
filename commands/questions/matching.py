"""Pure word matching: which alumni know about a question, and which past questions match a search.

Words are case-folded, split on anything that is not a letter or digit, stripped of common
English stopwords and reduced by a small suffix stemmer, so that "clusters", "Cluster" and
"cluster's" meet. Profile fields weigh differently: expertise 3, sectors 2, bio 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

EXPERTISE_WEIGHT = 3
SECTOR_WEIGHT = 2
BIO_WEIGHT = 1

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each either else ever
    few for from further get gets got had has have having he her here hers him his how i if in into
    is it its itself just let like make many may me might more most much must my no nor not now of
    off on once one only or other our ours out over own per please same she should so some such
    than that the their them then there these they this those through to too under until up upon
    us very was we were what when where which while who whom why will with would you your yours
    anyone someone anybody somebody thing things know best good way ways tips help need want
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Longest first; each rule keeps at least three letters of stem.
_SUFFIXES = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("isation", "ise"),
    ("ations", "ate"),
    ("ation", "ate"),
    ("ments", ""),
    ("ment", ""),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ers", ""),
    ("er", ""),
    ("ed", ""),
    ("es", ""),
    ("s", ""),
)


def stem(word: str) -> str:
    """A deliberately small stemmer: plural and verb endings, nothing clever."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ss"):
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    # "funding" -> "fund", "planned" -> "plann" -> "plan": undouble a final consonant.
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    # British and American spellings meet: "digitalisation" and "digitalization".
    if word.endswith("ise") and len(word) > 5:
        word = word[:-3] + "ize"
    return word


def words(text: str | None) -> list[str]:
    """Case-folded words of `text` without stopwords (unstemmed, in order, duplicates kept)."""
    found = _WORD.findall((text or "").casefold())
    return [w for w in found if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def stems(text: str | None) -> set[str]:
    return {stem(w) for w in words(text)}


def stems_of_all(texts: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in texts:
        found |= stems(text)
    return found


@dataclass(frozen=True)
class Profile:
    """What routing needs to know about one alumni."""

    member_id: int
    expertise: tuple[str, ...]
    sectors: tuple[str, ...]
    bio: str


def score(question_stems: set[str], profile: Profile) -> int:
    """Each distinct question word scores once per field it appears in, weighted by the field."""
    expertise = stems_of_all(profile.expertise)
    sectors = stems_of_all(profile.sectors)
    bio = stems(profile.bio)
    total = 0
    for word in question_stems:
        if word in expertise:
            total += EXPERTISE_WEIGHT
        if word in sectors:
            total += SECTOR_WEIGHT
        if word in bio:
            total += BIO_WEIGHT
    return total
