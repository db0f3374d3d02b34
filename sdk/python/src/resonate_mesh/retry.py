"""Retry policies, encoded as the TypeScript SDK (and the official SDK)
encode them in an invocation's param: `{"type": ..., "data": {...}}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

UNLIMITED = 2**53 - 1


@dataclass(frozen=True)
class Retry:
    type: str
    delay_ms: float = 1000
    factor: float = 2
    max_delay_ms: float = 30_000
    max_retries: int = UNLIMITED

    @staticmethod
    def exponential(delay_ms: float = 1000, factor: float = 2, max_delay_ms: float = 30_000,
                    max_retries: int = UNLIMITED) -> "Retry":
        return Retry("exponential", delay_ms, factor, max_delay_ms, max_retries)

    @staticmethod
    def linear(delay_ms: float = 1000, max_retries: int = UNLIMITED) -> "Retry":
        return Retry("linear", delay_ms, max_retries=max_retries)

    @staticmethod
    def constant(delay_ms: float = 1000, max_retries: int = UNLIMITED) -> "Retry":
        return Retry("constant", delay_ms, max_retries=max_retries)

    @staticmethod
    def never() -> "Retry":
        return Retry("never")

    def delay(self, retry: int) -> Optional[float]:
        """Milliseconds before retry number `retry` (1 = the first retry), or None to give up."""
        if self.type == "never" or retry > self.max_retries:
            return None
        if self.type == "exponential":
            return min(self.delay_ms * self.factor ** (retry - 1), self.max_delay_ms)
        if self.type == "linear":
            return self.delay_ms * retry
        return self.delay_ms

    def encode(self) -> dict:
        if self.type == "exponential":
            data = {"delay": self.delay_ms, "factor": self.factor, "maxDelay": self.max_delay_ms, "maxRetries": self.max_retries}
        elif self.type == "never":
            data = {}
        else:
            data = {"delay": self.delay_ms, "maxRetries": self.max_retries}
        return {"type": self.type, "data": data}

    @staticmethod
    def decode(encoded: Any) -> Optional["Retry"]:
        if not isinstance(encoded, dict):
            return None
        data = encoded.get("data") or {}
        kind = encoded.get("type")
        try:
            if kind == "exponential":
                return Retry.exponential(data.get("delay", 1000), data.get("factor", 2), data.get("maxDelay", 30_000),
                                         data.get("maxRetries", UNLIMITED))
            if kind == "linear":
                return Retry.linear(data.get("delay", 1000), data.get("maxRetries", UNLIMITED))
            if kind == "constant":
                return Retry.constant(data.get("delay", 1000), data.get("maxRetries", UNLIMITED))
            if kind == "never":
                return Retry.never()
        except (TypeError, ValueError):
            return None
        return None


#: The policy of ctx.run children that name none (as in the TypeScript SDK).
DEFAULT_RUN_RETRY = Retry.exponential()
