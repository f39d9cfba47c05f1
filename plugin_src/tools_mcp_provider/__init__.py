"""PepperPy tools plugin: the tools of any MCP server.

Entry point ``provider:MCPToolsProvider``.
"""

from .provider import MCPToolsProvider

__all__ = ["MCPToolsProvider"]
