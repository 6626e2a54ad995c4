import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _login(client, email, password, ip="203.0.113.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_login_with_email_in_any_case_signs_in(client, buyer, password):
    response = _login(client, buyer.email.upper(), password)

    assert response.status_code == 302
    assert response.wsgi_request.user == buyer


def test_wrong_password_gets_a_clear_form_error(client, buyer):
    response = _login(client, buyer.email, "not-the-password")

    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "", "password": ""},
        {"username": "x" * 5000, "password": "y"},
        {"username": "no-at-sign", "password": "y"},
    ],
)
def test_malformed_login_posts_get_form_errors(client, data):
    response = client.post(reverse("login"), data)

    assert response.status_code == 200
    assert response.context["form"].errors


def test_repeated_failures_lock_that_email_out(client, buyer, password):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, buyer.email, "wrong-password")

    locked = _login(client, buyer.email, password)

    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert not locked.wsgi_request.user.is_authenticated


def test_a_success_before_the_limit_resets_the_failure_count(client, buyer, password):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, buyer.email, "wrong-password")
    assert _login(client, buyer.email, password).status_code == 302
    client.post(reverse("logout"))

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, buyer.email, "wrong-password")
    assert _login(client, buyer.email, password).status_code == 302


def test_logout_is_a_post_and_ends_the_session(client, buyer):
    client.force_login(buyer)

    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))

    assert client.get(reverse("account")).status_code == 302


def test_inactive_account_cannot_log_in(client, buyer, password):
    buyer.is_active = False
    buyer.save()

    response = _login(client, buyer.email, password)

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_password_change_needs_the_old_password(client, buyer, password):
    client.force_login(buyer)
    new = "another-long-passphrase-7"

    refused = client.post(
        reverse("password_change"), {"old_password": "wrong", "new_password1": new, "new_password2": new}
    )
    changed = client.post(
        reverse("password_change"), {"old_password": password, "new_password1": new, "new_password2": new}
    )

    assert refused.status_code == 200 and "old_password" in refused.context["form"].errors
    assert changed.status_code == 302
    buyer.refresh_from_db()
    assert buyer.check_password(new)
