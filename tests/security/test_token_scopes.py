"""API tokens do only what they were made for: a reviewer's read-only token made for a script cannot approve
releases, a buyer's read token gets no download links, and the schema says which scope each operation needs."""

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from licensing.models import Release
from marketplace.models import ApiToken
from marketplace.services import api_token_create, orders
from tests.factories import ConsentFactory, ReleaseFactory
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db


def _client(user, *scopes: str) -> APIClient:
    _, key = api_token_create(user=user, name=f"script {uuid.uuid4().hex[:8]}", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _submitted_release() -> Release:
    return ReleaseFactory(status="submitted", submitted_at=timezone.now() - datetime.timedelta(hours=1))


def test_a_reviewers_read_token_cannot_approve_a_release(reviewer):
    release = _submitted_release()

    response = _client(reviewer, "read", "download", "write").post(
        reverse("licensing:api-review-release", args=[release.public_id]),
        {"decision": "approve"},
        format="json",
    )

    assert response.status_code == 403
    assert "'review' scope" in response.json()["error"]["message"]
    release.refresh_from_db()
    assert release.status == "submitted"


def test_a_reviewers_review_token_decides(reviewer):
    consent = ConsentFactory(status="pending")

    response = _client(reviewer, "review").post(
        reverse("licensing:api-review-consent", args=[consent.public_id]),
        {"decision": "reject", "reason": "other", "note": "The scope of the consent is unclear."},
        format="json",
    )

    assert response.status_code != 403, response.content


def test_a_read_token_cannot_write(creator):
    response = _client(creator, "read").post(
        reverse("creators:api-uploads"), {"file_name": "a.jpg", "size": 10}, format="json"
    )

    assert response.status_code == 403
    assert "'write' scope" in response.json()["error"]["message"]


def test_a_write_token_cannot_read(creator):
    response = _client(creator, "write").get(reverse("api-me"))

    assert response.status_code == 403


def test_a_buyers_read_token_gets_no_download_links_and_a_download_token_does(buyer):
    version = put_on_sale()
    grant = orders.order_pay_test(
        order=orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research"), buyer=buyer
    )
    files = reverse("api-license-files", args=[grant.public_id])

    assert _client(buyer, "read").get(files).status_code == 403
    assert _client(buyer, "download").get(files).status_code == 200
    assert _client(buyer, "read").get(reverse("api-license", args=[grant.public_id])).status_code == 200


def test_a_token_is_made_with_the_scopes_chosen_on_the_tokens_page(client, buyer):
    client.force_login(buyer)

    client.post(reverse("api-tokens"), {"name": "cluster", "expires_in_days": "30", "scopes": ["download"]})
    refused = client.post(reverse("api-tokens"), {"name": "nothing", "expires_in_days": "30"})

    assert ApiToken.objects.get(name="cluster").scopes == ["download"]
    assert refused.status_code == 400
    assert "Choose at least one thing the token may do" in refused.content.decode()


@pytest.mark.parametrize("scopes", [[], ["admin"], ["read", "root"]])
def test_unknown_or_no_scopes_are_refused(buyer, scopes):
    with pytest.raises(Exception, match="Choose what the token may do"):
        api_token_create(user=buyer, name="bad", scopes=scopes)


def test_the_schema_names_the_scope_of_every_operation(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    scopes = {
        (path, method): operation["x-token-scope"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }

    assert set(scopes.values()) == {"read", "download", "write", "review"}
    assert scopes[("/api/v1/review/releases/{public_id}/decision/", "post")] == "review"
    assert scopes[("/api/v1/licenses/{public_id}/files/", "get")] == "download"
    assert scopes[("/api/v1/uploads/", "post")] == "write"
