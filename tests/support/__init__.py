"""Helpers shared by the tests and by bench/ (real servers, source plugins, fake vectors)."""
