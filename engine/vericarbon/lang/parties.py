"""Telling whether two names are one party, as people write names: a retirement's beneficiary and the
claim's subject ("Emergent retiring on behalf of Chanel", "Retired on behalf of Kinaxis Inc. F2024 period",
"HARBOUR COLD STORAGE LIMITED"), and a person written two ways ("Tomasz Nowak", "NOWAK, Tomasz"). Names are
normalised the same documented way (docs/semantics.md); a party match says how it matched, so a report
shows why a retirement was accepted for the subject.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Legal forms dropped from the end of a name or wherever they stand alone as a word
LEGAL_FORMS = frozenset(
    "ltd limited plc llc llp lp inc incorporated corp corporation co company gmbh ag kg sa sas sarl srl spa bv nv ab as asa oy oyj kk pty pte sdn bhd "
    "se plc. the".split()
)
_ON_BEHALF = re.compile(r"\b(?:on behalf of|for and on behalf of|in the name of|retired for|for)\b\s+", re.IGNORECASE)

NO_MATCH = "no match"


@functools.lru_cache(maxsize=4096)  # a subject's name is compared with every retirement of a package
def words(name: str) -> tuple[str, ...]:
    """A name as comparable words: accents, case and punctuation aside, legal forms dropped."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    plain = re.sub(r"&", " and ", plain)
    tokens = re.findall(r"[a-z0-9]+", plain.replace(".", ""))
    return tuple(token for token in tokens if token not in LEGAL_FORMS)


def party_match(beneficiary: str, subject: str) -> str:
    """How `beneficiary` names `subject`, or NO_MATCH: the same words; the words after "on behalf of"; or
    the subject's words standing whole, in order, inside the beneficiary (e.g. before a period note)."""
    wanted = words(subject)
    if not wanted:
        return NO_MATCH
    if beneficiary.strip().casefold() == subject.strip().casefold():
        return "same name"
    given = words(beneficiary)
    if given == wanted:
        return "same name once case, punctuation and legal form are set aside"
    after = _ON_BEHALF.split(beneficiary)
    if len(after) > 1 and words(after[-1])[: len(wanted)] == wanted:
        return f"named after {_ON_BEHALF.search(beneficiary).group().strip()!r}"  # type: ignore[union-attr]
    for start in range(len(given) - len(wanted) + 1):
        if given[start : start + len(wanted)] == wanted:
            return "named within the beneficiary, whole words in order"
    return NO_MATCH


def same_person(a: str, b: str) -> bool:
    """One person's name written two ways: the same words in any order, accents, case and punctuation aside
    ("Nowak, Tomasz" is "Tomasz Nowak"); initials are not expanded."""
    first, second = sorted(_person_words(a)), sorted(_person_words(b))
    return bool(first) and first == second


def _person_words(name: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    return re.findall(r"[a-z0-9]+", plain)
