"""Orders, licenses, files and certificates through the API, with a token as a buyer's script sends it."""

import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from marketplace.models import Order
from marketplace.services import api_token_create, orders
from tests.factories import BuyerFactory, CreatorFactory
from tests.licensing.test_api import _error
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_sale():
    return put_on_sale()


def _token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _bought(api: APIClient) -> dict:
    created = api.post("/api/v1/orders/", {"dataset": "city-life", "tier": "research"}, format="json").json()
    order = Order.objects.get(public_id=created["id"])
    orders.order_pay_test(order=order, buyer=order.buyer)
    return api.get(f"/api/v1/orders/{created['id']}/").json()


def test_an_order_is_created_at_the_servers_price_with_its_checkout_url(on_sale, buyer):
    api = _token_client(buyer)

    response = api.post(
        "/api/v1/orders/",
        # What a tampering client might add: all of it is ignored.
        {"dataset": "city-life", "tier": "research", "amount_cents": 1, "version": 99, "currency": "jpy"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount_cents"], body["currency"], body["version"], body["status"]) == (
        25_000,
        "usd",
        1,
        "pending",
    )
    assert body["checkout_url"] == f"http://testserver/checkout/{body['id']}/"
    assert body["license"] is None


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        ({"dataset": "city-life"}, 400),
        ({"dataset": "city-life", "tier": "commercial-generative"}, 400),
        ({"dataset": "no-such-dataset", "tier": "research"}, 400),
        ({"dataset": "../etc", "tier": "research"}, 400),
        ({"dataset": ["city-life"], "tier": {"a": 1}}, 400),
    ],
)
def test_bad_orders_get_the_error_format_and_leave_nothing(on_sale, buyer, sent, status):
    response = _token_client(buyer).post("/api/v1/orders/", sent, format="json")

    _error(response, status)
    assert not Order.objects.exists()


def test_a_creator_cannot_order(on_sale):
    _error(
        _token_client(CreatorFactory()).post("/api/v1/orders/", {"dataset": "city-life", "tier": "research"}),
        403,
    )


def test_a_paid_order_names_its_license_whose_files_come_with_links(on_sale, buyer, client):
    api = _token_client(buyer)
    order = _bought(api)

    licenses = api.get("/api/v1/licenses/").json()
    files = api.get(f"/api/v1/licenses/{order['license']}/files/").json()

    assert [license["id"] for license in licenses] == [order["license"]]
    assert licenses[0]["tier"] == "research" and licenses[0]["status"] == "active"
    paths = {file["path"] for file in files}
    assert {
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "croissant.json",
        "shards/city-life-v1-photos-000000.tar",
    } <= paths
    sums = next(file for file in files if file["path"] == "SHA256SUMS")
    assert sums["url"].startswith("http://testserver/downloads/")
    assert client.get(sums["url"].removeprefix("http://testserver")).status_code == 200
    certificate = api.get(f"/api/v1/licenses/{order['license']}/certificate/").json()
    assert certificate["certificate"]["license_id"] == order["license"]


def test_another_buyer_gets_404_for_every_object_and_anonymous_gets_401(on_sale, buyer):
    order = _bought(_token_client(buyer))
    stranger = _token_client(BuyerFactory())
    creator = _token_client(CreatorFactory())
    paths = [
        f"/api/v1/orders/{order['id']}/",
        f"/api/v1/licenses/{order['license']}/",
        f"/api/v1/licenses/{order['license']}/files/",
        f"/api/v1/licenses/{order['license']}/certificate/",
    ]

    for path in paths:
        _error(stranger.get(path), 404)
        _error(creator.get(path), 404)
        assert APIClient().get(path).status_code in (401, 403)
    assert stranger.get("/api/v1/licenses/").json() == []
    assert stranger.get("/api/v1/orders/").json() == []


def test_a_suspended_license_has_no_file_links(on_sale, buyer):
    api = _token_client(buyer)
    order = _bought(api)
    orders.order_dispute(order=Order.objects.get(public_id=order["id"]), reason="Disputed with the bank.")

    error = _error(api.get(f"/api/v1/licenses/{order['license']}/files/"), 403)

    assert "suspended" in error["message"]


def test_on_s3_file_links_are_presigned_and_expire_within_15_minutes(s3_bucket, buyer):
    put_on_sale()
    api = _token_client(buyer)
    order = _bought(api)

    files = api.get(f"/api/v1/licenses/{order['license']}/files/").json()

    sums = next(file for file in files if file["path"] == "SHA256SUMS")
    url = urlsplit(sums["url"])
    assert sums["url"].startswith(s3_bucket.endpoint)
    assert int(parse_qs(url.query)["X-Amz-Expires"][0]) <= 15 * 60
    stored = Order.objects.get(public_id=order["id"]).version.files.get(path="SHA256SUMS").storage_name
    with urllib.request.urlopen(sums["url"]) as response:  # noqa: S310 (the test's own S3 server)
        assert response.read() == default_storage.open(stored).read()
