"""PepperPy's offline LLM plugin (llama-cpp-python, SmolLM2-135M-Instruct by default)."""

from .provider import LocalLLMProvider

__all__ = ["LocalLLMProvider"]
