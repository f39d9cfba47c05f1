"""PepperPy LLM plugin for OpenAI (entry point ``provider:OpenAIProvider``)."""
