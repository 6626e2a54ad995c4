"""The test settings with the production cache (Redis, from REDIS_URL), which tests/settings.py swaps for a
per-process one: the site in the Redis outage drill runs on these."""

from marketplace import settings as production
from tests.settings import *  # noqa: F403

CACHES = production.CACHES
