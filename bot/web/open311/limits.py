"""Sliding-window limits: calls per client address, POSTs per API key.

In-process: each `serve --workers` process counts for itself, so N workers allow up to N times a
limit in the worst case (SO_REUSEPORT spreads connections, not clients).
"""

from __future__ import annotations

import math
from collections import deque


class SlidingWindow:
    """At most `limit` hits per key in any `seconds`-long window."""

    def __init__(self, limit: int, seconds: float = 60.0, *, max_keys: int = 50_000) -> None:
        self.limit = limit
        self.seconds = seconds
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float) -> float:
        """Count one hit at `now` (monotonic seconds); 0 when allowed, else seconds to wait (unrecorded)."""
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._prune(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(hits[0] + self.seconds - now, 0.001)
        hits.append(now)
        return 0.0

    def _prune(self, now: float) -> None:
        stale = [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.seconds]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:  # a flood of fresh addresses: forget the oldest half
            for key in list(self._hits)[: len(self._hits) // 2]:
                del self._hits[key]


def retry_after(wait: float) -> str:
    """The Retry-After header's whole seconds (never 0)."""
    return str(max(1, math.ceil(wait)))
