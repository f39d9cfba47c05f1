"""The hand-written __init__ of the per-request types (written for speed) behaves exactly
as the dataclass one would: same parameters, defaults, validation, frozen fields."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from pepperpy import ValidationError
from pepperpy.llm import GenerationChunk, GenerationOptions, Message, MessageRole, Usage

TYPES = [GenerationChunk, GenerationOptions, Message, Usage]


@pytest.mark.parametrize("cls", TYPES)
def test_same_parameters_and_defaults_as_the_fields(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
    required = [f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    args = {name: "user" if name == "role" else f"value of {name}" for name in required}
    made = cls(**args)
    for f in fields:
        if f.name in args:
            assert getattr(made, f.name) == args[f.name]
        elif f.default_factory is not dataclasses.MISSING:
            assert getattr(made, f.name) == f.default_factory()
            assert getattr(made, f.name) is not getattr(cls(**args), f.name)  # fresh each
        else:
            assert getattr(made, f.name) == f.default
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, "changed")
    assert pickle.loads(pickle.dumps(made)) == made
    assert dataclasses.replace(made) == made


def test_message_still_checks_role_and_content() -> None:
    assert Message("user", "hi").role is MessageRole.USER
    assert Message(role="assistant", content="ok") == Message(MessageRole.ASSISTANT, "ok")
    with pytest.raises(ValidationError, match="unknown message role 'bot'"):
        Message("bot", "hi")
    with pytest.raises(ValidationError, match="content must be a str, got int"):
        Message("user", 3)  # type: ignore[arg-type]


def test_a_tagged_chunk_is_a_copy() -> None:
    chunk = GenerationChunk("a", "stop", usage=Usage(1, 2), metadata={"k": 1}, kind="x")
    tagged = chunk._tagged("openai")
    assert tagged is not chunk and chunk.provider is None
    assert tagged == dataclasses.replace(chunk, provider="openai", kind="text")
