"""PepperPy embeddings plugin for OpenAI (entry point ``provider:OpenAIEmbeddingProvider``)."""
