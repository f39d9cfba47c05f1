"""PepperPy LLM plugin for Anthropic (entry point ``provider:AnthropicProvider``)."""
