"""What a request that fails on our side answers: 503 while the database is unreachable, else the 500 page."""

import pytest
from django.db import OperationalError

from marketplace.views import accounts

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_home(client, monkeypatch):
    """The home page raising `error`, and a client that gets the error page instead of the exception."""
    client.raise_request_exception = False

    def fail_with(error: Exception):  # type: ignore[no-untyped-def]
        def render(*args, **kwargs):
            raise error

        monkeypatch.setattr(accounts, "render", render)
        return client.get("/")

    return fail_with


def test_an_unreachable_database_answers_503_with_retry_after(failing_home):
    response = failing_home(OperationalError("connection refused"))

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "Back in a moment" in response.content.decode()


def test_any_other_error_answers_the_500_page(failing_home):
    response = failing_home(RuntimeError("a bug"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_the_api_answers_an_unreachable_database_in_its_error_format(client, monkeypatch):
    from datasets import selectors

    def unreachable(**kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "catalog_page", unreachable)

    response = client.get("/api/v1/datasets/")

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["error"]["code"] == "unavailable"
