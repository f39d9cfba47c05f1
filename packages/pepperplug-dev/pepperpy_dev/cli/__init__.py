"""The ``pepperpy`` commands of ``pepperplug-dev`` (registered by entry points)."""
