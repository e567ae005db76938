"""Question text → tokens for matching: one canonical spelling of every word.

Matching must not care about case, accents, curly quotes, full-width letters, invisible
characters or punctuation, so everything is folded here once and the rest of the parser
compares plain lowercase ASCII-ish words. Possessives ("Lions'", "Lions's", "Tiger's") lose
their suffix but are remembered, because a possessive word is a strong hint that it names a
team. Capitalisation is remembered too: an unknown capitalised word is probably a team name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_QUESTION_CHARS = 500

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Contractions that are not possessives; expanded so "who's" reads as "who is".
_IS = re.compile(r"\b(what|who|where|when|how|that|there|here|it|which)'s\b", re.IGNORECASE)
_SPECIAL = {"won't": "will not", "can't": "can not", "let's": "let us", "cannot": "can not"}
_SPECIALS = re.compile(r"\b(?:won't|can't|let's|cannot)\b", re.IGNORECASE)
_NOT = re.compile(r"(?<=\w)n't\b", re.IGNORECASE)
_SUFFIXES = re.compile(r"(?<=\w)'(?:ve|re|ll|d|m)\b", re.IGNORECASE)
# What is left of an apostrophe after a word is a possessive: Lions', Lions's, Tiger's.
_POSSESSIVE = "\x01"
_POSSESSIVES = re.compile(r"(?<=\w)'s?(?!\w)", re.IGNORECASE)
_PLUS = re.compile(r"(\d)\s*\+")
_KEEP_JOINED = re.compile(r"\d+(?:[-/:.]\d+)+")
# A score line said in the plural ("how many 0-0s", "1-0's") is the score line itself.
_PLURAL_SCORE = re.compile(r"(\d+(?:[-:]\d+)+)'?s\b", re.IGNORECASE)
# Words are runs of letters, or numbers (with an ordinal suffix, or joined: 0-0, 2026-05-05);
# "h2h" is one word, whatever its case.
_WORD = re.compile(
    r"(h2h(?![^\W\d_])|\d+(?:[-/:.]\d+)+|\d+(?:st|nd|rd|th)(?![^\W\d_])|\d+|[^\W\d_]+)(\x01)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    text: str  # folded: lowercase, no accents
    capital: bool = False  # began with a capital letter in the question
    possessive: bool = False  # carried a possessive suffix ("Lions'")


def fold(text: str) -> str:
    """Case-, accent- and width-insensitive form of a text (no tokenisation)."""
    return _clean(text).casefold()


def _clean(text: str) -> str:
    if text.isascii():  # the common case, and ten times faster
        return _CONTROL.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    # Invisible format characters (zero-width joiners, bidi overrides) would split words.
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc", "Cs", "Co"))
    text = _DASHES.sub("-", text.translate(_QUOTES))
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(question: str) -> list[Token]:
    """Fold and split a question into tokens, keeping capitalisation and possessives."""
    text = _clean(question[: MAX_QUESTION_CHARS * 2])
    text = text.replace("+/-", " plusminus ").replace("%", " percent ").replace("&", " and ")
    text = _PLUS.sub(r"\1 plus ", text)  # "5+ goals": five or more
    text = _PLURAL_SCORE.sub(r"\1", text)
    text = text.replace("#", " number ")  # "#1", "# of goals"
    text = _SPECIALS.sub(lambda m: _SPECIAL[m.group().lower()], text)
    text = _IS.sub(r"\1 is", text)
    text = _SUFFIXES.sub("", _NOT.sub(" not", text))
    text = _POSSESSIVES.sub(_POSSESSIVE, text)
    return [
        Token(m.group(1).casefold(), m.group(1)[0].isupper(), m.group(2) is not None)
        for m in _WORD.finditer(text)
    ]


def words(question: str) -> list[str]:
    """Just the folded words of a text (event and team names, examples)."""
    return [token.text for token in tokenize(question)]


def is_joined_number(word: str) -> bool:
    return bool(_KEEP_JOINED.fullmatch(word))
