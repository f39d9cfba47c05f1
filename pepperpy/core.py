"""The provider base class and PepperPy's one error tree.

Every failure a user can cause or meet is a ``PepperpyError``. The tree branches by
what the caller can do about it::

    PepperpyError
    ├── ConfigurationError          fix your code or configuration, then retry
    │   ├── ValidationError         a value you passed is wrong (names which one)
    │   └── StateError              a state file is damaged or cannot be written (.path)
    ├── ProviderError               the provider failed; .retryable says if retrying helps
    │   ├── AuthenticationError     401/403: check the API key
    │   ├── RateLimitError          429: slow down (.retry_after, also set on 503)
    │   ├── ProviderTimeoutError    no answer in time
    │   ├── BadRequestError         the provider refused the request (400/404/422)
    │   └── ServerError             5xx or connection failure
    └── PluginError                 a provider plugin could not be used
        ├── PluginNotFoundError     no bundle offers that provider
        ├── PluginLoadError         the verified code failed to import or is not a provider
        ├── DependencyError         its dependencies are missing or failed to install
        ├── IndexUnavailableError   a plugin index could not be reached or read (retry)
        └── TrustError              the bundle was refused: never retried, never run
            ├── BundleInvalidError      malformed, tampered or schema-invalid (.reason)
            ├── UntrustedPublisherError signed by a key that is not trusted
            ├── RevokedError            the key or this exact bundle was revoked
            ├── InstallRefusedError     rollback, same version other bytes, name takeover
            └── IndexRefusedError       an index's metadata or download failed TUF (.threat)

``except TrustError`` catches every trust problem and ``except ProviderError`` every
provider problem. Messages say what happened and what to do; no secret ever appears
in one.
"""

from __future__ import annotations

import _thread
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

_R = TypeVar("_R")

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BaseProvider",
    "BundleInvalidError",
    "ConfigurationError",
    "DependencyError",
    "IndexRefusedError",
    "IndexUnavailableError",
    "InstallRefusedError",
    "PepperpyError",
    "PluginError",
    "PluginLoadError",
    "PluginNotFoundError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitError",
    "RevokedError",
    "ServerError",
    "StateError",
    "TrustError",
    "UntrustedPublisherError",
    "ValidationError",
    "provider_imports",
    "start_peaks_passed",
]


class PepperpyError(Exception):
    """Root of every error PepperPy raises on purpose."""

    #: Provider options whose value fixes this (a missing or rejected ``api_key``). The
    #: message gives the Python form (``api_key=...``) and the environment variable; a
    #: front end with its own syntax (the CLI's ``-o api_key=...``) adds its form.
    options: tuple[str, ...] = ()


class ConfigurationError(PepperpyError):
    """The application's code or configuration needs a change."""


class ValidationError(ConfigurationError):
    """A value passed to PepperPy is invalid; the message names it."""


class StateError(ConfigurationError):
    """A file PepperPy keeps (trust store, install state, index configuration...) is
    damaged, or could not be written; ``path`` names it, the message says the fix."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ProviderError(PepperpyError):
    """A provider (an LLM API, a database, a local model) failed."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code
        #: Seconds the server asked us to wait before trying again (429, 503), if it said.
        self.retry_after = retry_after


class AuthenticationError(ProviderError):
    """The provider rejected the credentials."""


class RateLimitError(ProviderError):
    """The provider asked us to slow down."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, status_code=status_code, retry_after=retry_after
        )


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time."""

    retryable = True


class BadRequestError(ProviderError):
    """The provider refused the request as invalid."""


class ServerError(ProviderError):
    """The provider failed on its side or could not be reached."""

    retryable = True


class PluginError(PepperpyError):
    """A provider plugin could not be found, trusted, installed or loaded."""

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin


class PluginNotFoundError(PluginError):
    """No plugin offers the requested provider."""


class PluginLoadError(PluginError):
    """A verified plugin's code could not be imported or does not fit its category."""


class DependencyError(PluginError):
    """A plugin's dependencies are missing or could not be installed."""

    def __init__(
        self, message: str, *, plugin: str | None = None, command: str | None = None
    ) -> None:
        super().__init__(message, plugin=plugin)
        self.command = command


class TrustError(PluginError):
    """A bundle was refused. Refusals are final: no byte of its code runs."""


class BundleInvalidError(TrustError):
    """The bundle is malformed, tampered with, or its manifest is invalid."""

    def __init__(self, reason: str, *, plugin: str | None = None, path: str | None = None) -> None:
        where = f"{path}: " if path else ""
        super().__init__(f"{where}bundle refused: {reason}", plugin=plugin)
        self.reason = reason
        self.path = path


class UntrustedPublisherError(TrustError):
    """The bundle is signed by a key the trust store does not hold."""

    def __init__(self, message: str, *, plugin: str | None = None, key_id: str | None = None):
        super().__init__(message, plugin=plugin)
        self.key_id = key_id


class RevokedError(TrustError):
    """The signing key or this exact bundle digest has been revoked."""


class InstallRefusedError(TrustError):
    """Installing would roll back, change a version's bytes, or move a name's owner."""


class IndexUnavailableError(PluginError):
    """A plugin index could not be reached, answered with an HTTP error, or is not one."""

    def __init__(self, message: str, *, index: str | None = None) -> None:
        super().__init__(message)
        self.index = index


class IndexRefusedError(TrustError):
    """An index's metadata or a downloaded bundle failed The Update Framework's checks.

    ``threat`` names what was refused: ``"freeze"``, ``"rollback"``, ``"mix-and-match"``,
    ``"arbitrary-package"``, ``"endless-data"``, ``"slow-retrieval"``,
    ``"untrusted-metadata"``, ``"invalid-metadata"`` or ``"yanked"``.
    """

    def __init__(self, message: str, *, threat: str, index: str | None = None,
                 plugin: str | None = None) -> None:
        super().__init__(message, plugin=plugin)
        self.threat = threat
        self.index = index


class BaseProvider:
    """Base of every provider: holds validated config and a once-only lifecycle.

    Constructors must not do I/O; connect, load models and open pools in
    ``initialize()``, and release them in ``cleanup()``. PepperPy calls each exactly
    once per ``async with``.
    """

    category: ClassVar[str] = ""
    #: Building this provider's model needs far more memory for a moment than it keeps
    #: (an ONNX session's graph optimisation). ``async with`` lets providers that load a
    #: large model which stays in memory wait for such starts: ``start_peaks_passed()``.
    start_peaks: ClassVar[bool] = False
    #: Config keys never shown in ``repr``, besides those named like credentials and
    #: those the plugin's config_schema marks ``"secret": true`` (set by the registry).
    secret_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, **config: Any) -> None:
        self.config: dict[str, Any] = dict(config)
        self.initialized = False

    @property
    def provider_name(self) -> str:
        """The name this provider was registered under (set by the registry)."""
        return getattr(self, "_pepperpy_provider_name", type(self).__name__)

    async def initialize(self) -> None:
        """Acquire resources (clients, pools, models). Called once."""
        self.initialized = True

    def close_on_cleanup(self, resource: _R) -> _R:
        """Register a client or pool whose ``aclose()``/``close()`` ``cleanup()`` calls.

        ``self._client = self.close_on_cleanup(SDKClient(...))`` in ``initialize`` is all
        a provider needs: resources close in reverse order, each even if another fails.
        """
        self.__dict__.setdefault("_pepperpy_closers", []).append(resource)
        return resource

    def require_initialized(self) -> None:
        """Refuse use before ``initialize()`` (or after ``cleanup()``), saying the fix."""
        if not self.initialized:
            raise ConfigurationError(
                f"the {self.category or 'provider'} provider {self.provider_name!r} is not "
                "initialized: use it inside `async with PepperPy()...` or call initialize()"
            )

    async def cleanup(self) -> None:
        """Release what ``initialize`` acquired. Called once, even after errors."""
        closers = self.__dict__.pop("_pepperpy_closers", [])
        self.initialized = False
        errors: list[Exception] = []
        for resource in reversed(closers):
            try:
                close = getattr(resource, "aclose", None) or resource.close
                result = close()
                if hasattr(result, "__await__"):
                    await result
            except Exception as exc:  # close the others too
                errors.append(exc)
        if errors:
            raise errors[0]

    def __repr__(self) -> str:
        hidden = self.secret_keys | getattr(self, "_pepperpy_secret_keys", frozenset())
        shown = {
            k: ("***" if k in hidden or looks_secret(k) else v) for k, v in self.config.items()
        }
        return f"<{type(self).__name__} {shown!r}>"


_IMPORTS = _thread.RLock()


def provider_imports() -> AbstractContextManager[Any]:
    """Hold this while a provider imports its libraries in a worker thread.

    PepperPy starts providers concurrently, and two threads importing the same package
    at once (numpy under chromadb and onnxruntime, say) can see each other's
    half-initialized modules ("cannot import name ... from partially initialized
    module"). Imports take turns under this process-wide lock; loading models and
    opening stores still overlap.

    >>> with provider_imports():
    ...     import json
    """
    return _IMPORTS


#: Set by ``PepperPy.initialize`` for the starts it runs beside ``start_peaks`` ones: an
#: ``asyncio.Event`` set once those are done (or failed).
START_PEAKS: ContextVar[Any] = ContextVar("pepperpy_start_peaks", default=None)


async def start_peaks_passed() -> None:
    """Await this in ``initialize()`` just before loading a large model that stays in
    memory (a GGUF file, say): while PepperPy starts providers together, it returns once
    those whose start peaks (``BaseProvider.start_peaks``) are done, so the two peaks do
    not add up; otherwise at once. Imports and other work before it still overlap.
    """
    passed = START_PEAKS.get()
    if passed is not None:
        await passed.wait()


_SECRET_HINTS = ("key", "password", "passwd", "secret", "token", "dsn", "auth", "credential")


def looks_secret(name: str) -> bool:
    """Whether a config key is named like a credential (and so is never shown)."""
    return any(hint in name.lower() for hint in _SECRET_HINTS)
