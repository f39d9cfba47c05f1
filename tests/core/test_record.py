"""``pepperpy._record.record`` behaves as ``@dataclass(frozen=True)`` for what it supports,
including the ``dataclasses`` functions the code uses on records."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest

from pepperpy._record import field, record


@record
class Point:
    kind: ClassVar[str] = "point"
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False, compare=False)
    note: str = dataclasses.field(default="", repr=False)

    @property
    def total(self) -> int:
        return self.x + self.y


@record
class OwnFields:  # the same fields through pepperpy._record.field
    kind: ClassVar[str] = "point"
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    note: str = field(default="", repr=False)

    @property
    def total(self) -> int:
        return self.x + self.y


@dataclasses.dataclass(frozen=True)
class Reference:
    kind: ClassVar[str] = "point"
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False, compare=False)
    note: str = dataclasses.field(default="", repr=False)


CASES = [((1,), {}), ((1, 2), {"tags": ("a",)}), ((), {"x": 3, "extra": {"k": 1}}),
         ((4, 5, ("b",), {"z": 2}, "n"), {})]


@pytest.mark.parametrize("kind", [Point, OwnFields])
@pytest.mark.parametrize(("args", "kwargs"), CASES)
def test_a_record_behaves_as_the_frozen_dataclass(kind: Any, args: tuple, kwargs: dict) -> None:
    ours, ref = kind(*args, **kwargs), Reference(*args, **kwargs)
    assert repr(ours).replace(kind.__name__, "Reference") == repr(ref)
    assert dataclasses.asdict(ours) == dataclasses.asdict(ref)
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(ref)]
    assert dataclasses.is_dataclass(ours) and ours.kind == "point"
    assert ours == kind(*args, **kwargs) and hash(ours) == hash(kind(*args, **kwargs))
    assert dataclasses.fields(ours) == dataclasses.fields(kind)  # built once, then kept
    changed = dataclasses.replace(ours, y=9)
    assert changed.y == 9 and changed.x == ours.x and changed != ours
    assert ours.total == ours.x + ours.y


def test_a_record_is_frozen_and_checks_its_arguments() -> None:
    point = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.x  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing required argument 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected or repeated argument 'z'"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="repeated argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]
    assert Point(1, extra={"a": 1}) == Point(1, extra={"b": 2})  # compare=False
    assert Point(1).extra is not Point(1).extra  # default_factory runs per instance
    assert Point(1) != Reference(1)


def test_loading_a_plugin_imports_neither_dataclasses_nor_inspect() -> None:
    import subprocess
    import sys

    code = ("import sys\n"
            "import pepperpy.plugins.manager, pepperpy.registry\n"
            "print(sorted({'dataclasses', 'inspect', 'ast', 'dis'} & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_a_record_refuses_a_dataclass_or_record_among_its_bases() -> None:
    """Directly or further up, whether the base is a dataclass or a record; an ordinary
    base class is fine."""
    @dataclasses.dataclass
    class Data:
        x: int = 0

    class Below(Data):
        pass

    class Plain:
        pass

    for base in (Data, Below, Point):
        with pytest.raises(TypeError, match="records do not inherit from dataclasses"):
            record(type("Child", (base,), {"__annotations__": {"y": "int"}}))
    child = record(type("Child", (Plain,), {"__annotations__": {"y": "int"}}))
    assert child(1).y == 1


def test_field_refuses_a_default_and_a_factory() -> None:
    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=list)


def test_a_record_keeps_its_own_repr_as_a_dataclass_does() -> None:
    """A class that writes its own ``__repr__`` (VerifiedBundle: never the bundle's
    bytes) keeps it."""

    @record
    class Blob:
        name: str
        data: bytes

        def __repr__(self) -> str:
            return f"<Blob {self.name} {len(self.data)} bytes>"

    assert repr(Blob("x", b"\0" * 10_000)) == "<Blob x 10000 bytes>"
    assert Blob("x", b"a") == Blob("x", b"a")



def test_a_verified_bundle_repr_names_it_without_its_bytes(tmp_path: Any) -> None:
    from pepperpy.bundle.trust import VerifiedCache
    from pepperpy.trust.gate import Trust, authenticate
    from pepperpy_testing.bundles import BundleFactory

    factory = BundleFactory()
    path = tmp_path / "b.pepperplugin"
    path.write_bytes(factory.build(factory.files(extra={"q/big.txt": bytes(range(256)) * 400})))
    bundle = authenticate(path, Trust(factory.snapshot(), "t",
                                      VerifiedCache(tmp_path / "verified.json")))
    shown = repr(bundle)
    assert shown.startswith("<VerifiedBundle ") and bundle.digest[:16] in shown
    assert len(shown) < 200
