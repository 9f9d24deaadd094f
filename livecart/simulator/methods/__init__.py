"""Bot API method handlers, one module per concern; ``ALL_METHODS`` is the dispatch table.

A handler parses its parameters by their Bot API types, calls the simulator, and returns the
``result`` Telegram would return.
"""

from __future__ import annotations

from livecart.simulator.bot_api import MethodHandler
from livecart.simulator.methods import editing, files, profile, sending, updates

ALL_METHODS: dict[str, MethodHandler] = {
    **sending.METHODS,
    **editing.METHODS,
    **updates.METHODS,
    **profile.METHODS,
    **files.METHODS,
}

__all__ = ["ALL_METHODS"]
