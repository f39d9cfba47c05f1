"""``record``: frozen dataclasses for the plugin load path, without their creation cost.

Why: ``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` and ``__delattr__`` as source text and ``exec``s it, about
0.45 ms per class on Python 3.11. The ~20 record types a process imports to load one
installed plugin cost more than everything else PepperPy does for that load. ``record``
builds the same methods from closures (about 20 us per class) and fills in
``__dataclass_fields__`` with real ``dataclasses.Field`` objects, so ``dataclasses.fields``,
``asdict``, ``replace`` and ``is_dataclass`` work on records exactly as on dataclasses,
and type checkers treat them as frozen dataclasses (``dataclass_transform``).

What it supports is what those types use: fields with a default, ``field(default=...,
default_factory=..., repr=..., compare=..., hash=...)``, ``ClassVar`` annotations
(skipped), properties and methods. No inheritance between records, no ``order``,
``slots``, ``kw_only`` or ``InitVar``: use ``@dataclass`` for those.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

__all__ = ["record"]

T = TypeVar("T")
_MISSING: Any = dataclasses.MISSING


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen dataclass (see the module docstring for what is supported)."""
    if any(hasattr(base, "__dataclass_fields__") for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: records do not inherit from dataclasses")
    fields = _fields(cls)
    names = tuple(fields)
    compared = tuple(n for n, f in fields.items() if f.compare)
    hashed = tuple(n for n, f in fields.items()
                   if (f.hash if f.hash is not None else f.compare))
    shown = tuple(n for n, f in fields.items() if f.repr)
    methods: dict[str, Any] = {
        "__dataclass_fields__": fields,
        "__match_args__": names,
        "__init__": _init(cls.__name__, fields),
        "__repr__": _repr(shown),
        "__eq__": _eq(compared),
        "__hash__": lambda self: hash(tuple(getattr(self, n) for n in hashed)),
        "__setattr__": _frozen,
        "__delattr__": _frozen,
    }
    for name, value in methods.items():
        setattr(cls, name, value)
    return cls


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    fields: dict[str, dataclasses.Field[Any]] = {}
    for name, annotation in inspect.get_annotations(cls).items():
        text = annotation if isinstance(annotation, str) else repr(annotation)
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        spec = value if isinstance(value, dataclasses.Field) else dataclasses.field(
            default=value)
        spec.name, spec.type = name, annotation
        spec._field_type = dataclasses._FIELD  # type: ignore[union-attr, attr-defined]
        if spec.default is _MISSING:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, spec.default)
        fields[name] = spec
    return fields


def _init(class_name: str, fields: dict[str, dataclasses.Field[Any]]) -> Callable[..., None]:
    names = tuple(fields)
    known = frozenset(names)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{class_name}() takes {len(names)} arguments, {len(args)} given")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in known or key in values:
                raise TypeError(f"{class_name}() got an unexpected or repeated argument "
                                f"{key!r}")
            values[key] = value
        for name in names:
            if name not in values:
                spec = fields[name]
                if spec.default is not _MISSING:
                    values[name] = spec.default
                elif spec.default_factory is not _MISSING:
                    values[name] = spec.default_factory()  # type: ignore[operator]
                else:
                    raise TypeError(f"{class_name}() missing required argument {name!r}")
            object.__setattr__(self, name, values[name])
        post_init = getattr(self, "__post_init__", None)
        if post_init is not None:
            post_init()

    return __init__


def _repr(shown: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _eq(compared: tuple[str, ...]) -> Callable[[Any, object], bool]:
    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in compared)

    return __eq__


def _frozen(self: Any, name: str, *_value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
