"""The llm_shout_provider plugin (a PepperPy llm provider)."""
