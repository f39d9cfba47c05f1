"""PepperPy: one fluent class for LLMs, embeddings, RAG and storage.

Names load lazily on first access, so ``import pepperpy`` stays fast and imports no
provider SDK, pydantic, jsonschema or asyncio.
"""

from __future__ import annotations

from importlib import import_module

from pepperpy._version import __version__

# Not `from typing import TYPE_CHECKING`: importing typing alone costs more than the
# rest of `import pepperpy`, and the type checker only needs the constant's name.
TYPE_CHECKING = False

_EXPORTS: dict[str, str] = {
    "Agent": "pepperpy.agent",
    "AgentResult": "pepperpy.agent",
    "Answer": "pepperpy.rag_builder",
    "AuthenticationError": "pepperpy.core",
    "BadRequestError": "pepperpy.core",
    "BaseProvider": "pepperpy.core",
    "BundleInvalidError": "pepperpy.core",
    "ConfigurationError": "pepperpy.core",
    "DependencyError": "pepperpy.core",
    "Document": "pepperpy.rag",
    "EmbeddingProvider": "pepperpy.embeddings",
    "GenerationChunk": "pepperpy.llm",
    "GenerationOptions": "pepperpy.llm",
    "GenerationResult": "pepperpy.llm",
    "InstallRefusedError": "pepperpy.core",
    "LLMProvider": "pepperpy.llm",
    "Message": "pepperpy.llm",
    "MessageRole": "pepperpy.llm",
    "PepperPy": "pepperpy.pepperpy",
    "PepperpyError": "pepperpy.core",
    "PluginError": "pepperpy.core",
    "PluginLoadError": "pepperpy.core",
    "PluginNotFoundError": "pepperpy.core",
    "ProviderError": "pepperpy.core",
    "ProviderRegistry": "pepperpy.registry",
    "ProviderTimeoutError": "pepperpy.core",
    "RAGProvider": "pepperpy.rag",
    "RateLimitError": "pepperpy.core",
    "ResponseFormat": "pepperpy.llm",
    "RevokedError": "pepperpy.core",
    "SearchResult": "pepperpy.rag",
    "ServerError": "pepperpy.core",
    "StateError": "pepperpy.core",
    "Settings": "pepperpy.settings",
    "StorageProvider": "pepperpy.storage",
    "Tool": "pepperpy.llm",
    "ToolCall": "pepperpy.llm",
    "ToolResult": "pepperpy.tools",
    "ToolsProvider": "pepperpy.tools",
    "TrustError": "pepperpy.core",
    "UntrustedPublisherError": "pepperpy.core",
    "Usage": "pepperpy.llm",
    "ValidationError": "pepperpy.core",
}

__all__ = [
    "Agent",
    "AgentResult",
    "Answer",
    "AuthenticationError",
    "BadRequestError",
    "BaseProvider",
    "BundleInvalidError",
    "ConfigurationError",
    "DependencyError",
    "Document",
    "EmbeddingProvider",
    "GenerationChunk",
    "GenerationOptions",
    "GenerationResult",
    "InstallRefusedError",
    "LLMProvider",
    "Message",
    "MessageRole",
    "PepperPy",
    "PepperpyError",
    "PluginError",
    "PluginLoadError",
    "PluginNotFoundError",
    "ProviderError",
    "ProviderRegistry",
    "ProviderTimeoutError",
    "RAGProvider",
    "RateLimitError",
    "ResponseFormat",
    "RevokedError",
    "SearchResult",
    "ServerError",
    "Settings",
    "StateError",
    "StorageProvider",
    "Tool",
    "ToolCall",
    "ToolResult",
    "ToolsProvider",
    "TrustError",
    "UntrustedPublisherError",
    "Usage",
    "ValidationError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pepperpy' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from typing import Any

    from pepperpy.agent import Agent, AgentResult
    from pepperpy.core import (
        AuthenticationError,
        BadRequestError,
        BaseProvider,
        BundleInvalidError,
        ConfigurationError,
        DependencyError,
        InstallRefusedError,
        PepperpyError,
        PluginError,
        PluginLoadError,
        PluginNotFoundError,
        ProviderError,
        ProviderTimeoutError,
        RateLimitError,
        RevokedError,
        ServerError,
        StateError,
        TrustError,
        UntrustedPublisherError,
        ValidationError,
    )
    from pepperpy.embeddings import EmbeddingProvider
    from pepperpy.llm import (
        GenerationChunk,
        GenerationOptions,
        GenerationResult,
        LLMProvider,
        Message,
        MessageRole,
        ResponseFormat,
        Tool,
        ToolCall,
        Usage,
    )
    from pepperpy.pepperpy import PepperPy
    from pepperpy.rag import Document, RAGProvider, SearchResult
    from pepperpy.rag_builder import Answer
    from pepperpy.registry import ProviderRegistry
    from pepperpy.settings import Settings
    from pepperpy.storage import StorageProvider
    from pepperpy.tools import ToolResult, ToolsProvider
