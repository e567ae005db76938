"""Finding team (and event) names in a question: exact, by a unique word, or with small typos.

A name is looked for as a run of words. An exact run always counts; a run with a typo
("Lyons", "Manchester Untied") counts when its edit distance is small for its length and no
word in it is ordinary language ("the", "games", "most" must never become a team). A single
word that belongs to exactly one team ("United") stands for that team; a word that several
teams share ("Manchester") on its own is ambiguous and reported as such, never guessed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from workers.analytics.language.text import words
from workers.analytics.language.vocabulary import KNOWN_WORDS

# Words that decorate a club's name and may be left out when naming it.
_DECORATIONS = frozenset({"the", "fc", "afc", "cf", "sc", "ac", "club", "team"})
# Common abbreviations, read as the word they stand for inside names only.
_ABBREVIATIONS = {"utd": "united", "man": "manchester", "st": "saint", "intl": "international"}


def allowed_typos(length: int) -> int:
    """Edits tolerated in a name of this many characters (0 below 4: 'Ox' is not 'Fox')."""
    if length < 4:
        return 0
    if length < 8:
        return 1
    return 2 if length < 13 else 3


@dataclass(frozen=True)
class Mention:
    start: int
    end: int  # exclusive
    ids: tuple[int, ...]  # one id: a match; several: ambiguous


class NameIndex:
    """All the ways a set of named things (teams, events) can be written in a question."""

    def __init__(self, names: Iterable[tuple[int, str]], aliases: bool = True) -> None:
        self.exact: dict[tuple[str, ...], set[int]] = {}
        owners: dict[str, set[int]] = {}
        for ident, name in names:
            for variant in _variants(words(name)):
                self.exact.setdefault(variant, set()).add(ident)
            for word in set(words(name)) - _DECORATIONS:
                owners.setdefault(word, set()).add(ident)
        self.longest = max((len(v) for v in self.exact), default=0)
        # A word alone names a team only if it is no ordinary word and long enough to be meant.
        for word, idents in owners.items() if aliases else ():
            if word not in KNOWN_WORDS and len(word) >= 3 and (word,) not in self.exact:
                self.exact.setdefault((word,), set()).update(idents)
        self._fuzzy_keys: list[str] = []
        self._fuzzy_ids: list[frozenset[int]] = []
        for variant, idents in self.exact.items():
            for key in {" ".join(variant), "".join(variant)}:
                self._fuzzy_keys.append(key)
                self._fuzzy_ids.append(frozenset(idents))
        self._name_words = frozenset(word for variant in self.exact for word in variant)
        self._first_words = frozenset(variant[0] for variant in self.exact)
        self._joined = {"".join(variant): idents for variant, idents in self.exact.items()}
        self._joined_prefixes = {key[:k] for key in self._joined for k in range(1, len(key))}

    def find(self, tokens: Sequence[str], fuzzy: bool = True) -> list[Mention]:
        """Non-overlapping mentions, longest first, left to right."""
        found: list[Mention] = []
        index = 0
        while index < len(tokens):
            mention = self._longest_at(tokens, index, fuzzy)
            if mention is None:
                index += 1
                continue
            found.append(mention)
            index = mention.end
        return found

    def _longest_at(self, tokens: Sequence[str], start: int, fuzzy: bool) -> Mention | None:
        first = _ABBREVIATIONS.get(tokens[start], tokens[start])
        # No name starts here exactly, and a typo'd one cannot start with an ordinary word.
        exactly = first in self._first_words or first in self._joined_prefixes
        if not exactly and (not fuzzy or first in KNOWN_WORDS or not first.isalpha()):
            return None
        for size in range(min(self.longest + 1, len(tokens) - start), 0, -1):
            window = tuple(_ABBREVIATIONS.get(w, w) for w in tokens[start : start + size])
            idents: Collection[int] | None = self.exact.get(window)
            if idents is None and size > 1:
                idents = self._joined.get("".join(window))  # "north side" for "Northside"
            if idents is None and fuzzy:
                idents = self._fuzzy(window)
            if idents:
                return Mention(start, start + size, tuple(sorted(idents)))
        return None

    def _fuzzy(self, window: tuple[str, ...]) -> frozenset[int] | None:
        # Ordinary words and numbers are never typos of a name (unless the name has them).
        for word in window:
            if not word.isalpha() or (word in KNOWN_WORDS and word not in self._name_words):
                return None
        query = " ".join(window)
        budget = allowed_typos(len(query.replace(" ", "")))
        if budget == 0 or not self._fuzzy_keys:
            return None
        best = process.extractOne(query, self._fuzzy_keys, scorer=OSA.distance, score_cutoff=budget)
        if best is None:
            return None
        key, distance, position = best
        # The budget must also suit the name matched: "wolf" is not "wolves" nor "owls".
        if distance > allowed_typos(len(key.replace(" ", ""))) or key[0] != query[0]:
            return None
        return self._fuzzy_ids[position]


def _variants(name_words: list[str]) -> set[tuple[str, ...]]:
    """The name as written, and without decorations ("The Lions", "Lions FC" → "lions")."""
    full = tuple(name_words)
    bare = tuple(word for word in name_words if word not in _DECORATIONS)
    variants = {full} if full else set()
    if bare:
        variants.add(bare)
    # "Summer Cup 2026" may be asked about as "Summer Cup".
    while len(bare) > 1 and bare[-1].isdigit():
        bare = bare[:-1]
        variants.add(bare)
    # One Lion, the Wolfs: other numbers of the last word, unless that makes an ordinary word.
    for variant in list(variants):
        for other in _inflections(variant[-1]):
            if len(variant) > 1 or other not in KNOWN_WORDS:
                variants.add((*variant[:-1], other))
    return variants


def _inflections(word: str) -> set[str]:
    forms = set()
    if word.endswith("ves") and len(word) > 4:
        forms |= {word[:-3] + "f", word[:-3] + "fs"}
    if word.endswith("ies") and len(word) > 4:
        forms.add(word[:-3] + "y")
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.add(word[:-1])
    return forms


@lru_cache(maxsize=256)
def index_for(names: tuple[tuple[int, str], ...], aliases: bool = True) -> NameIndex:
    """Indexes are rebuilt only when the names change (they are keyed by the names).

    ``aliases=False`` finds whole names only: an event is never named by one of its words.
    """
    return NameIndex(names, aliases)
