"""Reliable provider calls: one place above every LLM and embeddings provider.

Each concern is its own small module (``retry``, ``deadline``, ``fallback``, ``cache``,
``usage``, ``tracing``); ``layer`` wraps a provider call with all of them, so a plugin
author writes none of it and every provider behaves the same. Nothing here is imported
by ``import pepperpy``; OpenTelemetry is imported only when a call is traced.
"""
