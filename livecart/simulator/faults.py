"""Failures injected on purpose, for resilience tests: bursts of 429s, 5xx answers, and slow
answers (a call carried out, its answer held back: the caller's timeout fires, delivery unknown)."""

from __future__ import annotations

from dataclasses import dataclass

from livecart.simulator.errors import BotAPIError, server_error


@dataclass
class FaultInjector:
    """Counts down planned failures; each planned failure is used up by exactly one call."""

    rate_limit_remaining: int = 0
    rate_limit_retry_after: int = 1
    server_errors_remaining: int = 0
    server_error_status: int = 502
    server_error_methods: frozenset[str] | None = None
    server_errors_issued: int = 0
    delays_remaining: int = 0
    delay_seconds: float = 0.0
    delay_methods: frozenset[str] | None = None
    delays_issued: int = 0

    def plan_rate_limit_burst(self, count: int, retry_after: int) -> None:
        """The next ``count`` sends get 429 with this ``retry_after`` (at least 1 s)."""
        self.rate_limit_remaining = max(0, count)
        self.rate_limit_retry_after = max(1, retry_after)

    def plan_server_errors(
        self, count: int, status: int = 502, methods: list[str] | None = None
    ) -> None:
        """The next ``count`` Bot API calls (of ``methods`` if given) fail with ``status``."""
        if not 500 <= status <= 599:
            raise ValueError("server errors must have a 5xx status")
        self.server_errors_remaining = max(0, count)
        self.server_error_status = status
        self.server_error_methods = (
            frozenset(method.lower() for method in methods) if methods else None
        )

    def next_server_error(self, method: str) -> BotAPIError | None:
        if self.server_errors_remaining <= 0:
            return None
        if (
            self.server_error_methods is not None
            and method.lower() not in self.server_error_methods
        ):
            return None
        self.server_errors_remaining -= 1
        self.server_errors_issued += 1
        return server_error(self.server_error_status)

    def plan_delays(self, count: int, seconds: float, methods: list[str] | None = None) -> None:
        """The next ``count`` Bot API calls (of ``methods`` if given) are carried out as usual,
        but answered ``seconds`` late: a slow Telegram, whose caller may time out although the
        message was delivered."""
        if not 0 <= seconds <= 120:
            raise ValueError("a delay must be between 0 and 120 seconds")
        self.delays_remaining = max(0, count)
        self.delay_seconds = seconds
        self.delay_methods = frozenset(method.lower() for method in methods) if methods else None

    def next_delay(self, method: str) -> float:
        """Seconds to hold this call's answer back (0: answer at once)."""
        if self.delays_remaining <= 0:
            return 0.0
        if self.delay_methods is not None and method.lower() not in self.delay_methods:
            return 0.0
        self.delays_remaining -= 1
        self.delays_issued += 1
        return self.delay_seconds

    def next_forced_rate_limit(self) -> int | None:
        """``retry_after`` for a planned 429, or None when no burst is planned."""
        if self.rate_limit_remaining <= 0:
            return None
        self.rate_limit_remaining -= 1
        return self.rate_limit_retry_after

    def clear(self) -> None:
        self.rate_limit_remaining = 0
        self.server_errors_remaining = 0
        self.server_error_methods = None
        self.server_errors_issued = 0
        self.delays_remaining = 0
        self.delay_methods = None
        self.delays_issued = 0

    def to_json(self) -> dict[str, object]:
        return {
            "rate_limit_burst": {
                "remaining": self.rate_limit_remaining,
                "retry_after": self.rate_limit_retry_after,
            },
            "server_errors": {
                "remaining": self.server_errors_remaining,
                "status": self.server_error_status,
                "methods": sorted(self.server_error_methods or []),
                "issued": self.server_errors_issued,
            },
            "delays": {
                "remaining": self.delays_remaining,
                "seconds": self.delay_seconds,
                "methods": sorted(self.delay_methods or []),
                "issued": self.delays_issued,
            },
        }
