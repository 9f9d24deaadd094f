"""livecart: chat commerce for small merchants (composition root)."""

__version__ = "0.1.0"
