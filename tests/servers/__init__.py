"""Loopback servers that speak the LLM vendors' real HTTP wire protocols."""
