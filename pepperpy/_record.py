"""``record``: frozen dataclasses for the plugin load path, without their creation cost.

Why: ``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` and ``__delattr__`` as source text and ``exec``s it, about
0.45 ms per class on Python 3.11. The ~20 record types a process imports to load one
installed plugin cost more than everything else PepperPy does for that load. ``record``
builds the same methods from closures (about 20 us per class) and fills in
``__dataclass_fields__`` with real ``dataclasses.Field`` objects, so ``dataclasses.fields``,
``asdict``, ``replace`` and ``is_dataclass`` work on records exactly as on dataclasses,
and type checkers treat them as frozen dataclasses (``dataclass_transform``).
Loading a plugin imports neither ``dataclasses`` nor ``inspect`` (with ``ast``, ``dis``
and ``tokenize``, about 3 ms): ``record`` keeps its own field specs (``field`` below,
or a ``dataclasses.field``) and builds the ``dataclasses.Field`` objects the first time
``__dataclass_fields__`` is read, by which time the reader has imported ``dataclasses``.

What it supports is what those types use: fields with a default, ``field(default=...,
default_factory=..., repr=..., compare=..., hash=...)``, ``ClassVar`` annotations
(skipped), properties and methods. No inheritance between records, no ``order``,
``slots``, ``kw_only`` or ``InitVar``: use ``@dataclass`` for those.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["field", "record"]

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()


class _Spec:
    """A field as ``record`` needs it (``dataclasses.Field`` is built only when asked)."""

    __slots__ = ("compare", "default", "default_factory", "hash", "repr")

    def __init__(self, default: Any = _MISSING, default_factory: Any = _MISSING,
                 repr: bool = True, compare: bool = True, hash: bool | None = None) -> None:
        self.default, self.default_factory = default, default_factory
        self.repr, self.compare, self.hash = repr, compare, hash


@overload
def field(*, default: T, repr: bool = ..., compare: bool = ..., hash: bool | None = ...) -> T:
    ...


@overload
def field(*, default_factory: Callable[[], T], repr: bool = ..., compare: bool = ...,
          hash: bool | None = ...) -> T:
    ...


@overload
def field(*, repr: bool = ..., compare: bool = ..., hash: bool | None = ...) -> Any:
    ...


def field(*, default: Any = _MISSING, default_factory: Any = _MISSING, repr: bool = True,
          compare: bool = True, hash: bool | None = None) -> Any:
    """``dataclasses.field`` for records, without importing ``dataclasses``."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Spec(default, default_factory, repr, compare, hash)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen dataclass (see the module docstring for what is supported)."""
    # in a base's own namespace: hasattr on each would raise and catch an AttributeError
    if any("__dataclass_fields__" in base.__dict__ for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: records do not inherit from dataclasses")
    specs = _specs(cls)
    names = tuple(specs)
    compared = tuple(n for n, f in specs.items() if f.compare)
    hashed = tuple(n for n, f in specs.items()
                   if (f.hash if f.hash is not None else f.compare))
    shown = tuple(n for n, f in specs.items() if f.repr)
    methods: dict[str, Any] = {
        "__dataclass_fields__": _Fields(specs),
        "__match_args__": names,
        "__init__": _init(cls.__name__, specs),
        "__repr__": _repr(shown),
        "__eq__": _eq(compared),
        "__hash__": lambda self: hash(tuple(getattr(self, n) for n in hashed)),
        "__setattr__": _frozen,
        "__delattr__": _frozen,
    }
    for name, value in methods.items():
        if name in ("__init__", "__repr__", "__eq__") and name in cls.__dict__:
            continue  # the class's own, as @dataclass keeps it
        setattr(cls, name, value)
    return cls


def _specs(cls: type) -> dict[str, _Spec]:
    specs: dict[str, _Spec] = {}
    # what inspect.get_annotations(cls) returns for a class, without importing inspect
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    dataclasses = sys.modules.get("dataclasses")  # a dataclasses.Field needs it imported
    for name, annotation in annotations.items():
        text = annotation if isinstance(annotation, str) else repr(annotation)
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        if dataclasses is not None and isinstance(value, dataclasses.Field):
            value = _Spec(_missing(value.default, dataclasses),
                          _missing(value.default_factory, dataclasses),
                          value.repr, value.compare, value.hash)
        spec = value if isinstance(value, _Spec) else _Spec(default=value)
        if spec.default is _MISSING:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, spec.default)
        specs[name] = spec
    return specs


def _missing(value: Any, dataclasses: Any) -> Any:
    return _MISSING if value is dataclasses.MISSING else value


class _Fields:
    """``__dataclass_fields__``: real ``dataclasses.Field`` objects, built on first read
    (``dataclasses.fields``, ``asdict``, ``replace`` and ``is_dataclass`` read it)."""

    def __init__(self, specs: dict[str, _Spec]) -> None:
        self.specs = specs

    def __get__(self, obj: Any, owner: type) -> dict[str, Any]:
        import dataclasses
        import inspect

        fields: dict[str, Any] = {}
        annotations = inspect.get_annotations(owner)
        for name, spec in self.specs.items():
            made: Any = dataclasses.field(
                default=dataclasses.MISSING if spec.default is _MISSING else spec.default,
                default_factory=(dataclasses.MISSING if spec.default_factory is _MISSING
                                 else spec.default_factory),
                repr=spec.repr, compare=spec.compare, hash=spec.hash)
            made.name, made.type = name, annotations[name]
            made._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # a field, not a ClassVar
            fields[name] = made
        type.__setattr__(owner, "__dataclass_fields__", fields)  # built once per class
        return fields


def _init(class_name: str, specs: dict[str, _Spec]) -> Callable[..., None]:
    names = tuple(specs)
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
                spec = specs[name]
                if spec.default is not _MISSING:
                    values[name] = spec.default
                elif spec.default_factory is not _MISSING:
                    values[name] = spec.default_factory()
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
    from dataclasses import FrozenInstanceError

    raise FrozenInstanceError(f"cannot assign to field {name!r}")
