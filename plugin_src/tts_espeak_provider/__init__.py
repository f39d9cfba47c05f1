"""PepperPy text-to-speech plugin: offline speech with espeak-ng.

Entry point ``provider:EspeakTTSProvider``.
"""

from .provider import EspeakTTSProvider

__all__ = ["EspeakTTSProvider"]
