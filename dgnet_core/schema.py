"""One definition per option: default, choices, range, flag and help, kept on the options
dataclass itself; the command lines, Blender's properties and validation derive from it.

Owns the schema machinery (no bpy, no state):

* ``option(default, ...)``: a dataclass field carrying its ``Spec`` (flag, help, choices,
  range, label); ``Choice`` is one allowed value with its label and description.
* ``add_arguments``: argparse arguments from a schema dataclass (``dest`` is the field
  name, so ``vars(args)`` feeds ``from_values``); a flag ``--no-X`` switches the option off.
* ``enum_items`` / ``from_identifier``: Blender ``EnumProperty`` items (identifier = the
  value in capitals) and back; ``prop_kwargs``: name, description, items, default, min and
  max of a Blender property.
* ``validate``: every field's choices and range, one-line ``ValueError``;
  ``from_values``: the dataclass from a mapping (unknown keys ignored), validated.

    @dataclass(frozen=True)
    class Options:
        smoothing: str = option("savgol", flag="--smoothing", choices=SMOOTHING, help="...")
"""

from __future__ import annotations

import argparse
import math
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Choice:
    """One allowed value of an option, with how a user interface names it."""

    value: str
    label: str
    description: str = ""

    @property
    def identifier(self) -> str:
        """The Blender enum identifier: the value in capitals (``one_euro`` -> ``ONE_EURO``)."""
        return self.value.upper()


@dataclass(frozen=True)
class Spec:
    """Everything about an option except its default (the dataclass field holds that)."""

    help: str
    flag: str | None = None            # command-line flag; None: not on the command line
    metavar: str | None = None
    choices: tuple[Choice, ...] = ()
    minimum: float | None = None       # inclusive
    maximum: float | None = None       # inclusive
    positive: bool = False             # must be > 0 (and finite)
    error: str | None = None           # out-of-range message; "{value}" is filled in
    label: str = ""                    # user-interface name
    description: str = ""              # user-interface tooltip (default: ``help``)
    parse: Callable[[str], Any] | None = None  # command-line text -> value (default: the
    #                                            field's type), e.g. "all" -> 0

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)


def option(default: Any, *, help: str, **spec: Any) -> Any:  # noqa: A002 - argparse's word
    """A dataclass field with ``default`` and its ``Spec`` (see ``Spec`` for the keys)."""
    return field(default=default, metadata={"spec": Spec(help=help, **spec)})


def spec_of(cls: type, name: str) -> Spec:
    """The ``Spec`` of field ``name`` of schema dataclass ``cls`` (KeyError if it has none)."""
    for f in fields(cls):
        if f.name == name and "spec" in f.metadata:
            return f.metadata["spec"]
    raise KeyError(f"{cls.__name__} has no option {name!r}")


def default_of(cls: type, name: str) -> Any:
    """The default value of option ``name``."""
    for f in fields(cls):
        if f.name == name and f.default is not MISSING:
            return f.default
    raise KeyError(f"{cls.__name__} has no default for {name!r}")


def _specs(cls: type) -> list[tuple[Field, Spec]]:
    return [(f, f.metadata["spec"]) for f in fields(cls) if "spec" in f.metadata]


def _scalar_type(cls: type, name: str) -> type:
    """int, float, bool or str: the field's annotation without ``| None``."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return args[0] if args[0] in (int, float, bool) else str


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse: its ``ValueError`` becomes argparse's usage error with the
    parser's own message (not "invalid <function> value")."""
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


def add_arguments(parser: argparse.ArgumentParser, cls: type,
                  names: Sequence[str] | None = None) -> None:
    """Add an argument for every option of ``cls`` that has a flag (or those in ``names``).

    Choices and defaults come from the schema; ``--no-X`` flags store False, the flag of
    any other bool option stores True.
    """
    for f, spec in _specs(cls):
        if spec.flag is None or (names is not None and f.name not in names):
            continue
        kw: dict[str, Any] = {"dest": f.name, "default": f.default}
        if spec.flag.startswith("--no-"):
            kw.update(action="store_const", const=False, help=spec.help)
        elif _scalar_type(cls, f.name) is bool:  # an option switched on by its flag
            kw.update(action="store_const", const=True, help=spec.help)
        else:
            kind = _scalar_type(cls, f.name)
            shown = "" if f.default is None else f" (default: {f.default})"
            kw.update(type=_argparse_type(spec.parse) if spec.parse else kind,
                      help=spec.help + shown)
            if spec.choices:
                kw["choices"] = spec.values
            if spec.metavar:
                kw["metavar"] = spec.metavar
        parser.add_argument(spec.flag, **kw)


def enum_items(cls: type, name: str) -> list[tuple[str, str, str]]:
    """Blender ``EnumProperty`` items of option ``name``: (identifier, label, description)."""
    return [(c.identifier, c.label, c.description) for c in spec_of(cls, name).choices]


def enum_default(cls: type, name: str) -> str:
    """The Blender enum identifier of option ``name``'s default."""
    return str(default_of(cls, name)).upper()


def from_identifier(cls: type, name: str, identifier: str) -> str:
    """The option value of a Blender enum identifier (``ValueError`` for an unknown one)."""
    spec = spec_of(cls, name)
    for c in spec.choices:
        if c.identifier == identifier:
            return c.value
    raise ValueError(f"{name} must be one of {', '.join(spec.values)}, got {identifier!r}")


def prop_kwargs(cls: type, name: str) -> dict[str, Any]:
    """Keyword arguments for a Blender property of option ``name``: ``name`` (the label),
    ``description``, and the ``default``, ``min`` and ``max`` the schema states (an enum's
    default as its identifier)."""
    spec = spec_of(cls, name)
    text = spec.description or spec.help
    out: dict[str, Any] = {"name": spec.label or name,
                           "description": text[:1].upper() + text[1:]}
    default = default_of(cls, name)
    if spec.choices:
        out["items"] = enum_items(cls, name)
        out["default"] = enum_default(cls, name)
    elif default is not None:
        out["default"] = default
    if spec.minimum is not None:
        out["min"] = spec.minimum
    if spec.maximum is not None:
        out["max"] = spec.maximum
    return out


def _out_of_range(spec: Spec, value: float) -> bool:
    if not math.isfinite(value):
        return True
    return ((spec.minimum is not None and value < spec.minimum)
            or (spec.maximum is not None and value > spec.maximum)
            or (spec.positive and value <= 0))


def _range_message(name: str, spec: Spec, value: Any) -> str:
    if spec.error:
        return spec.error.format(value=value)
    if spec.minimum is not None and spec.maximum is not None:
        return f"{name} must be in [{spec.minimum:g}, {spec.maximum:g}], got {value}"
    if spec.minimum is not None:
        return f"{name} must be >= {spec.minimum:g}, got {value}"
    return f"{name} must be a finite, positive number, got {value}"


def validate(obj: Any) -> None:
    """Raise ``ValueError`` (one line) naming the first option of ``obj`` outside its
    choices or range. ``None`` is accepted where it is the default (meaning "not set")."""
    for f, spec in _specs(type(obj)):
        value = getattr(obj, f.name)
        if value is None and f.default is None:
            continue
        if spec.choices and value not in spec.values:
            raise ValueError(f"{f.name} must be one of {', '.join(spec.values)}, "
                             f"got {value!r}")
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        limited = spec.minimum is not None or spec.maximum is not None or spec.positive
        if limited and (not numeric or _out_of_range(spec, float(value))):
            raise ValueError(_range_message(f.name, spec, value))


def from_values(cls: type, values: Mapping[str, Any]):
    """``cls(**values)`` for the keys that are fields of ``cls`` (others are ignored);
    the dataclass validates itself (``ValueError``)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})
