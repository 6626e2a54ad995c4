"""The API throttles count in the cache; with the cache's Redis unreachable, requests go through uncounted."""

import pytest

from tests.drills.infra import free_port

pytestmark = pytest.mark.django_db


def test_the_api_answers_while_the_throttle_counters_are_unreachable(client, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
            # As in production (marketplace/settings.py).
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }

    response = client.get("/api/v1/datasets/")

    assert response.status_code == 200
    assert "Cache unreachable: request let through unthrottled" in caplog.text
