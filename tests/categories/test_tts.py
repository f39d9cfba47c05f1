"""The espeak tts plugin: a category the core does not define, from its signed bundle,
speaking for real (espeak-ng), measured with the standard library's wave module."""

from __future__ import annotations

import array
import io
import math
import wave
from typing import Any

import pytest

from pepperpy import PepperPy
from pepperpy.core import ConfigurationError, ProviderError, ValidationError
from pepperpy.registry import ProviderRegistry


def _measure(data: bytes) -> tuple[float, int, float]:
    """(seconds, sample rate, RMS of the 16-bit samples)."""
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        frames = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
        seconds = wav.getnframes() / rate
    samples = array.array("h", frames)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    return seconds, rate, rms


async def test_hello_world_is_speech_of_plausible_length(
    session_plugin_registry: ProviderRegistry,
) -> None:
    async with PepperPy(registry=session_plugin_registry) as pepper:
        tts = pepper.use("tts", "espeak")
        wav = await tts.synthesize("Hello world")
        slow = await pepper.use("tts", "espeak").synthesize("Hello world, hello world")
    seconds, rate, rms = _measure(wav)
    assert 0.3 <= seconds <= 3.0
    assert rate == 22050
    assert rms > 500  # speech, not silence (silence is 0)
    assert _measure(slow)[0] > seconds
    loaded = session_plugin_registry.load("tts", "espeak")
    assert "tts_espeak_provider-0.1.1.pepperplugin" in loaded.origin


async def test_text_that_looks_like_an_option_is_spoken_not_obeyed(
    session_plugin_registry: ProviderRegistry,
) -> None:
    async with PepperPy(registry=session_plugin_registry) as pepper:
        wav = await pepper.use("tts", "espeak").synthesize("--version -w /tmp/owned.wav")
    assert _measure(wav)[2] > 500


async def test_bad_input_names_the_fix(session_plugin_registry: ProviderRegistry) -> None:
    async with PepperPy(registry=session_plugin_registry) as pepper:
        tts = pepper.use("tts", "espeak")
        with pytest.raises(ValidationError, match="non-empty text"):
            await tts.synthesize("  ")
        with pytest.raises(ValidationError, match="invalid espeak-ng voice"):
            await tts.synthesize("hi", voice="en; rm -rf /")
        with pytest.raises(ProviderError, match="check the voice name"):
            await tts.synthesize("hi", voice="xx-nonexistent")
    with pytest.raises(ValidationError, match="speed"):
        PepperPy(registry=session_plugin_registry).use("tts", "espeak", speed=5)

    async def missing() -> None:
        async with PepperPy(registry=session_plugin_registry) as pepper:
            await pepper.use("tts", "espeak", program="no-such-espeak").synthesize("hi")

    with pytest.raises(ConfigurationError, match="apt-get install espeak-ng"):
        await missing()


def test_the_tts_plugin_passes_its_category_rules(
    session_plugin_registry: ProviderRegistry,
) -> None:
    from pepperpy.testing.conformance import Subject, run_rules

    def create(config: dict[str, Any]) -> Any:
        return session_plugin_registry.create("tts", "espeak", config)

    report = run_rules(Subject("tts", create, lambda _: {}))
    assert report.ok, report.failed
    assert sum(o.status == "passed" for o in report.outcomes) >= 4
