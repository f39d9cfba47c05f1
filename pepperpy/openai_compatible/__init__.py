"""Speaking OpenAI's HTTP API (chat completions, the client, its errors), for providers.

Most hosted and local model servers speak OpenAI's chat completions API. A plugin for
one subclasses :class:`OpenAIChatProvider`, sets ``vendor`` and ``key_env`` (and
``default_headers()`` if the service wants some), and lists ``openai`` in its
dependencies: ``pepperpy plugin new NAME --category llm --template openai-compatible``
writes such a plugin. The code is imported from the installed PepperPy, never copied
into bundles, so a fix here reaches every such plugin.

Importing ``pepperpy`` never imports this package (it needs the ``openai`` SDK).
"""

from __future__ import annotations

from pepperpy.openai_compatible.chat import OpenAIChatProvider
from pepperpy.openai_compatible.client import open_client
from pepperpy.openai_compatible.errors import translate_error

__all__ = ["OpenAIChatProvider", "open_client", "translate_error"]
