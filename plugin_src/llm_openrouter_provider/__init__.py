"""PepperPy LLM plugin for OpenRouter (entry point ``provider:OpenRouterProvider``)."""
