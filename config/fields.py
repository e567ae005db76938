"""How a setting is declared: once, as a field of ``Settings`` made by ``setting()``.

The field's name, upper-cased, is the environment variable; the declaration holds the
default, the parser, the allowed values and the description. Parsing, validation and the
README's table are all read from it (``config.settings``), so none of them can drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from config.limits import parse_bool

METADATA_KEY = "setting"

# The parser a plain default implies; any other kind of value names its parser.
PARSER_BY_TYPE: dict[type, Callable[[str], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: parse_bool,
}
NUMBER_KINDS: dict[Callable[[str], Any], str] = {int: "integer", float: "number"}


@dataclass(frozen=True)
class Setting:
    """One setting. ``name`` is filled in from the field it is declared on."""

    parse: Callable[[str], Any]
    default: Any
    help: str
    secret: bool = False  # also read from `<NAME>_FILE` and Vault; never shown in repr
    default_doc: str | None = None  # how the README describes the default, if not its value
    choices: tuple[str, ...] = ()
    between: tuple[int, int] | None = None  # inclusive
    positive: bool = False
    name: str = ""

    def read(self, raw: str) -> Any:
        """The value of ``raw``; ValueError (without the setting's name) when it is not one."""
        value = self.parse(raw)
        if problem := self.problem(value):
            raise ValueError(problem)
        return value

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is outside the declared choices or range, or None."""
        if self.choices and value not in self.choices:
            return "one of " + ", ".join(self.choices)
        if self.between and not self.between[0] <= value <= self.between[1]:
            return f"must be between {self.between[0]} and {self.between[1]}"
        if self.positive and not value > 0:
            return f"must be a positive {'integer' if isinstance(value, int) else 'number'}"
        return None

    def values_doc(self) -> str:
        """The allowed values, for the README: choices, range, or the kind of number."""
        if self.choices:
            return ", ".join(f"`{choice}`" for choice in self.choices)
        if self.parse is parse_bool:
            return "`true`, `false`"
        kind = NUMBER_KINDS.get(self.parse)
        if kind is None:
            return ""
        if self.between:
            return f"{kind} {self.between[0]}-{self.between[1]}"
        if self.positive:
            return f"{kind} {'≥ 1' if kind == 'integer' else '> 0'}"
        return kind

    def default_text(self) -> str:
        if self.default_doc:
            return self.default_doc
        if self.default in ("", ()):
            return "(unset)"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        return f"`{self.default}`"


def setting(
    default: Any,
    help: str,
    *,
    parse: Callable[[str], Any] | None = None,
    secret: bool = False,
    default_doc: str | None = None,
    choices: tuple[str, ...] = (),
    between: tuple[int, int] | None = None,
    positive: bool = False,
) -> Any:
    """Declare a ``Settings`` field as a setting (typed ``Any`` so the field keeps its type)."""
    declared = Setting(
        parse=parse or PARSER_BY_TYPE[type(default)],
        default=default,
        help=help,
        secret=secret,
        default_doc=default_doc,
        choices=choices,
        between=between,
        positive=positive,
    )
    return field(repr=not secret, metadata={METADATA_KEY: declared})


def declared_settings(cls: type) -> Iterator[Setting]:
    """Every setting declared on the dataclass ``cls``, in declaration order, named."""
    for each in dataclasses.fields(cls):
        declared: Setting = each.metadata[METADATA_KEY]
        yield dataclasses.replace(declared, name=each.name.upper())
