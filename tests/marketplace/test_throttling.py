"""API rate limits: one counter per client and window."""

import pytest
from rest_framework.settings import api_settings

from marketplace.api.throttling import AnonRateThrottle, UserRateThrottle
from marketplace.services import api_token_create

pytestmark = pytest.mark.django_db


def test_an_anonymous_client_over_its_rate_gets_429_until_the_window_ends(client, monkeypatch):
    monkeypatch.setattr(
        AnonRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/minute"}
    )

    statuses = [client.get("/api/v1/license-terms/").status_code for _ in range(5)]
    refused = client.get("/api/v1/license-terms/")

    assert statuses == [200, 200, 200, 429, 429]
    assert 0 < int(refused["Retry-After"]) <= 61
    assert refused.json()["error"]["status"] == 429


def test_each_user_has_a_counter_of_their_own(client, monkeypatch, buyer, creator):
    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "2/minute"}
    )
    keys = [api_token_create(user=user, name="t")[1] for user in (buyer, creator)]

    def me(key: str) -> int:
        return client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code

    assert [me(keys[0]) for _ in range(3)] == [200, 200, 429]
    assert [me(keys[1]) for _ in range(2)] == [200, 200]
