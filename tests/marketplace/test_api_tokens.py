from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import ApiToken
from marketplace.services import API_TOKEN_TOUCH_INTERVAL, api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def _bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_a_new_token_is_shown_once_and_only_its_digest_is_stored(client, buyer):
    client.force_login(buyer)

    response = client.post(
        reverse("api-tokens"), {"name": "laptop", "expires_in_days": "30", "scopes": ["read"]}, follow=True
    )

    key = response.context["new_token"]["key"]
    assert key.startswith("dm_") and len(key) > 40
    token = ApiToken.objects.get(user=buyer)
    assert token.digest == ApiToken.digest_for(key)
    assert key not in {token.prefix, token.digest, token.name}
    assert token.expires_at is not None
    assert client.get(reverse("api-tokens")).context["new_token"] is None


def test_a_token_authenticates_the_api(client, buyer):
    _, key = api_token_create(user=buyer, name="ci")

    response = client.get(reverse("api-me"), **_bearer(key))

    assert response.status_code == 200
    assert response.json()["email"] == buyer.email
    assert response.json()["role"] == "buyer"


def test_using_a_token_records_when_at_most_once_per_interval(client, buyer):
    token, key = api_token_create(user=buyer, name="ci")

    client.get(reverse("api-me"), **_bearer(key))
    token.refresh_from_db()
    first_use = token.last_used_at
    client.get(reverse("api-me"), **_bearer(key))
    token.refresh_from_db()

    assert first_use is not None
    assert token.last_used_at == first_use
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - API_TOKEN_TOUCH_INTERVAL)
    client.get(reverse("api-me"), **_bearer(key))
    token.refresh_from_db()
    assert token.last_used_at > first_use - API_TOKEN_TOUCH_INTERVAL


def test_a_revoked_token_is_refused_with_the_error_format(client, buyer):
    token, key = api_token_create(user=buyer, name="ci")
    client.force_login(buyer)
    client.post(reverse("api-token-revoke", args=[token.pk]))
    client.logout()

    response = client.get(reverse("api-me"), **_bearer(key))

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == 401
    assert error["code"] == "authentication_failed"
    assert "revoked" in error["message"]
    assert response["WWW-Authenticate"] == "Token"


def test_an_expired_token_is_refused(client, buyer):
    token, key = api_token_create(user=buyer, name="ci", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client.get(reverse("api-me"), **_bearer(key)).status_code == 401


def test_a_token_of_a_disabled_account_is_refused(client, buyer):
    _, key = api_token_create(user=buyer, name="ci")
    buyer.is_active = False
    buyer.save()

    assert client.get(reverse("api-me"), **_bearer(key)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token a b",
        "Token dm_nottherightkey",
        "Token notevenourprefix",
        "Token dm_\u00e9\u00e8",
        "token  ",
    ],
)
def test_malformed_or_unknown_token_headers_get_401_not_500(client, header):
    response = client.get(reverse("api-me"), HTTP_AUTHORIZATION=header.encode().decode("latin-1"))

    assert response.status_code == 401
    assert response.json()["error"]["message"]


def test_anonymous_api_request_is_refused_with_the_error_format(client):
    response = client.get(reverse("api-me"))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_token_pages_need_a_login(client):
    assert client.get(reverse("api-tokens")).status_code == 302


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "expires_in_days": "30"}, "name"),
        ({"name": "   ", "expires_in_days": "30"}, "name"),
        ({"name": "x" * 65, "expires_in_days": "30"}, "name"),
        ({"name": "ok", "expires_in_days": "7"}, "expires_in_days"),
        ({"name": "ok", "expires_in_days": "-1"}, "expires_in_days"),
        ({"name": "ok", "expires_in_days": "30", "scopes": ["root"]}, "scopes"),
    ],
)
def test_bad_token_form_input_gets_a_form_error_and_saves_nothing(client, buyer, data, field):
    client.force_login(buyer)

    response = client.post(reverse("api-tokens"), data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_a_second_live_token_with_the_same_name_is_refused(client, buyer):
    api_token_create(user=buyer, name="laptop")
    client.force_login(buyer)

    response = client.post(
        reverse("api-tokens"), {"name": "laptop", "expires_in_days": "", "scopes": ["read"]}
    )

    assert response.status_code == 400
    assert "already have a token" in " ".join(response.context["form"].errors["name"])
    assert ApiToken.objects.count() == 1


def test_a_name_is_free_again_once_its_token_is_revoked(buyer):
    token, _ = api_token_create(user=buyer, name="laptop")
    api_token_revoke(user=buyer, token_id=token.pk)

    replacement, _ = api_token_create(user=buyer, name="laptop")

    assert replacement.pk != token.pk


def test_nobody_can_revoke_another_persons_token(client, buyer, creator):
    token, key = api_token_create(user=buyer, name="ci")
    client.force_login(creator)

    response = client.post(reverse("api-token-revoke", args=[token.pk]), follow=True)

    assert "does not exist or is not yours" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    client.logout()
    assert client.get(reverse("api-me"), **_bearer(key)).status_code == 200


def test_revoke_needs_a_post(client, buyer):
    token, _ = api_token_create(user=buyer, name="ci")
    client.force_login(buyer)

    assert client.get(reverse("api-token-revoke", args=[token.pk])).status_code == 405


def test_the_tokens_page_lists_only_the_users_own_tokens(client, buyer, creator):
    api_token_create(user=buyer, name="buyer laptop")
    api_token_create(user=creator, name="creator laptop")
    client.force_login(buyer)

    page = client.get(reverse("api-tokens")).content.decode()

    assert "buyer laptop" in page
    assert "creator laptop" not in page
