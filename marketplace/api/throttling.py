"""API rate limits counted in one cache counter per client and window.

DRF's own throttles keep every request's timestamp in a list that is read, trimmed, pickled and written back
on each request: at the user rate (1,200 a minute) that list is the largest thing a request touches. A
fixed window needs one atomic increment (one round trip on Redis). The price is the usual one of fixed
windows: a client can spend two windows' allowance across a window's edge.
"""

import logging
from typing import Any

from rest_framework import throttling
from rest_framework.request import Request

from core.client_identity import client_address

logger = logging.getLogger(__name__)


class _FixedWindow(throttling.SimpleRateThrottle):
    # Set by SimpleRateThrottle.__init__ from the rate ("1200/minute" -> 1200, 60).
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        client = self.get_cache_key(request, view)
        if client is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        self.key = f"{client}:{window}"
        count = self._count()
        if count is None:
            # The counters are away with Redis: serving unthrottled for a while beats refusing everyone.
            logger.warning("Cache unreachable: request let through unthrottled")
            return True
        return count <= self.num_requests

    def _count(self) -> int | None:
        """This request's number in its client's window; None when the cache cannot be reached (its errors are
        ignored: CACHES in the settings)."""
        try:
            return self.cache.incr(self.key)
        except ValueError:  # the window's first request (the key does not exist yet)
            # add() is atomic: of two first requests one adds, the other increments what it added.
            return 1 if self.cache.add(self.key, 1, self.duration + 1) else self.cache.incr(self.key)

    def wait(self) -> float:
        return max(0.0, self.window_end - self.now)

    def get_ident(self, request: Request) -> str:
        # The address the login lockout counts too: X-Forwarded-For only through the trusted proxies.
        return client_address(request._request)


class AnonRateThrottle(_FixedWindow, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_FixedWindow, throttling.UserRateThrottle):
    pass
