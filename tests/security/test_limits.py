"""Limits keyed on what an attacker cannot vary: the login lockout counts the normalised email and the client's
address, and the address comes from X-Forwarded-For only through the trusted proxies (none by default)."""

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.settings import api_settings

from marketplace.api.throttling import AnonRateThrottle

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"


def _login(client, email, password, ip=ATTACKER, **headers):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip, **headers)


def _spoofed(n: int) -> str:
    return f"198.51.100.{n}"


def test_case_and_space_variants_of_an_email_share_one_failure_count(client, buyer, password):
    local, domain = buyer.email.split("@")
    variants = [buyer.email.upper(), f"  {buyer.email} ", f"{local.title()}@{domain.upper()}", buyer.email]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, variants[attempt % len(variants)], "wrong-password", ip=_spoofed(attempt))

    locked = _login(client, buyer.email, password, ip="192.0.2.10")

    assert locked.status_code == 429
    assert not locked.wsgi_request.user.is_authenticated


def test_failures_against_many_emails_from_one_address_lock_that_address_out(client, buyer, password):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess{attempt}@example.com", "wrong-password")

    assert _login(client, buyer.email, password).status_code == 429
    assert _login(client, buyer.email, password, ip="192.0.2.10").status_code == 302


def test_a_forged_forwarded_for_does_not_give_fresh_tries_when_no_proxy_is_trusted(client, buyer, password):
    assert settings.TRUSTED_PROXY_COUNT == 0
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess{attempt}@example.com", "wrong", HTTP_X_FORWARDED_FOR=_spoofed(attempt))

    locked = _login(client, buyer.email, password, HTTP_X_FORWARDED_FOR=_spoofed(99))

    assert locked.status_code == 429


def test_behind_one_proxy_only_the_address_it_appended_counts(client, buyer, password, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # The client writes its own X-Forwarded-For; the proxy appends the address the client came from.
        forged = f"{_spoofed(attempt)}, {ATTACKER}"
        _login(client, f"guess{attempt}@example.com", "wrong", ip=proxy, HTTP_X_FORWARDED_FOR=forged)

    locked = _login(
        client, buyer.email, password, ip=proxy, HTTP_X_FORWARDED_FOR=f"{_spoofed(99)}, {ATTACKER}"
    )
    another_client = _login(client, buyer.email, password, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.10")

    assert locked.status_code == 429
    assert another_client.status_code == 302


@pytest.mark.parametrize(
    "forwarded", [{}, {"HTTP_X_FORWARDED_FOR": "not-an-address"}, {"HTTP_X_FORWARDED_FOR": "999.1.1.1"}]
)
def test_a_header_that_did_not_come_through_the_proxy_counts_the_peer(
    client, buyer, password, settings, forwarded
):
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess{attempt}@example.com", "wrong", **forwarded)

    assert _login(client, buyer.email, password, **forwarded).status_code == 429
    assert _login(client, buyer.email, password, HTTP_X_FORWARDED_FOR=_spoofed(7)).status_code == 302


def test_rotating_forwarded_for_does_not_dodge_the_anonymous_api_limit(client, monkeypatch):
    monkeypatch.setattr(
        AnonRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/minute"}
    )

    statuses = [
        client.get("/api/v1/license-terms/", HTTP_X_FORWARDED_FOR=_spoofed(n)).status_code for n in range(5)
    ]

    assert statuses == [200, 200, 200, 429, 429]


def test_behind_one_proxy_each_client_address_has_its_own_api_counter(client, monkeypatch, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(
        AnonRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/minute"}
    )

    def fetch(forwarded: str) -> int:
        return client.get(
            "/api/v1/license-terms/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded
        ).status_code

    assert [fetch(f"{_spoofed(n)}, {ATTACKER}") for n in range(3)] == [200, 200, 429]
    assert fetch("192.0.2.10") == 200
