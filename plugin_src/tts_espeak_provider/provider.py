"""Text to speech with espeak-ng, offline: ``await pepper.use("tts", "espeak").synthesize(t)``.

``tts`` is a category the core does not define: this provider is a plain
``BaseProvider`` with the one method its users call. Invariants: the text goes to
espeak-ng on stdin (never on the command line, so it cannot be read as an option);
the WAV is written to a private temporary folder that is removed afterwards; a
synthesis that outlives ``timeout`` or is cancelled kills the espeak-ng process.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

from pepperpy.core import BaseProvider, ConfigurationError, ProviderError, ValidationError

__all__ = ["EspeakTTSProvider"]

MAX_TEXT = 100_000  # characters per call


class EspeakTTSProvider(BaseProvider):
    """``pepper.use("tts", "espeak", voice="en-us")``; ``synthesize(text)`` -> WAV bytes."""

    category: ClassVar[str] = "tts"

    def __init__(self, *, voice: str = "en", speed: int = 175, pitch: int = 50,
                 program: str = "espeak-ng", timeout: float = 60.0) -> None:
        super().__init__(voice=voice, speed=speed, pitch=pitch, program=program,
                         timeout=timeout)
        self._program: str | None = None

    async def initialize(self) -> None:
        program = shutil.which(self.config["program"])
        if program is None:
            raise ConfigurationError(
                f"the espeak tts provider needs the {self.config['program']!r} program, which "
                "is not installed: apt-get install espeak-ng (Debian/Ubuntu) or brew install "
                "espeak-ng (macOS), or pass program='/path/to/espeak-ng'"
            )
        self._program = program
        await super().initialize()

    async def synthesize(self, text: str, *, voice: str | None = None) -> bytes:
        """``text`` spoken, as a WAV file's bytes (mono, 16-bit PCM, 22050 Hz)."""
        self.require_initialized()
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("synthesize() needs a non-empty text string")
        if len(text) > MAX_TEXT:
            raise ValidationError(f"synthesize() takes at most {MAX_TEXT} characters, got "
                                  f"{len(text)}: split the text")
        voice = voice or self.config["voice"]
        if not voice.replace("-", "").replace("_", "").replace("+", "").isalnum():
            raise ValidationError(f"invalid espeak-ng voice {voice!r} (e.g. en, en-us, de)")
        with tempfile.TemporaryDirectory(prefix="pepperpy-espeak-") as folder:
            out = Path(folder) / "speech.wav"
            assert self._program is not None
            process = await asyncio.create_subprocess_exec(
                self._program, "-v", voice, "-s", str(self.config["speed"]),
                "-p", str(self.config["pitch"]), "-w", str(out), "--stdin",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                async with asyncio.timeout(float(self.config["timeout"])):
                    _, stderr = await process.communicate(text.encode("utf-8"))
            except BaseException as exc:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                if isinstance(exc, TimeoutError):
                    raise ProviderError(
                        f"espeak-ng did not finish within {self.config['timeout']:g} s; "
                        "shorten the text or raise timeout", provider="espeak") from None
                raise
            if process.returncode != 0 or not out.exists():
                message = " ".join(stderr.decode(errors="replace").split())[:300]
                raise ProviderError(
                    f"espeak-ng failed (exit {process.returncode}): {message or 'no output'}; "
                    "check the voice name (espeak-ng --voices lists them)", provider="espeak")
            return out.read_bytes()
