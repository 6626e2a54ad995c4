"""Buying through the pages (test checkout), "my licenses", downloads and the public certificate page."""

import base64

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings

from marketplace.models import LicenseGrant, Order
from marketplace.services import orders
from tests.factories import BuyerFactory, CreatorFactory
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_sale():
    return put_on_sale()


def _bought(version, buyer) -> LicenseGrant:
    order = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research")
    return orders.order_pay_test(order=order, buyer=buyer)


def test_a_buyer_buys_from_the_dataset_page_through_the_test_checkout(client, on_sale, buyer):
    client.force_login(buyer)
    page = client.get("/datasets/city-life/")
    assert b"Buy for $250.00" in page.content and b"Buy for $900.00" in page.content

    started = client.post("/checkout/", {"dataset": "city-life", "tier": "research", "amount_cents": "1"})
    order = Order.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/checkout/{order.public_id}/"
    assert order.amount_cents == 25_000  # the client's figure is ignored
    checkout = client.get(started["Location"])
    assert b"$250.00" in checkout.content and b"Test checkout" in checkout.content

    paid = client.post(started["Location"], follow=True)

    grant = LicenseGrant.objects.get()
    assert paid.redirect_chain[-1][0] == f"/account/licenses/{grant.public_id}/"
    assert b"SHA256SUMS.sig" in paid.content
    assert b"My licenses" in client.get("/account/licenses/").content


def test_anonymous_visitors_are_asked_to_log_in_to_buy(client, on_sale):
    page = client.get("/datasets/city-life/")

    assert b"Log in to buy" in page.content
    assert client.post("/checkout/", {"dataset": "city-life", "tier": "research"}).status_code == 302
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "posted", [{"dataset": "city-life", "tier": "nope"}, {"dataset": "nope", "tier": "research"}, {}]
)
def test_a_bad_checkout_request_leaves_no_order(client, on_sale, buyer, posted):
    client.force_login(buyer)

    response = client.post("/checkout/", posted, follow=True)

    assert response.status_code in (200, 404)
    assert not Order.objects.exists()


def test_a_creator_is_told_licenses_are_bought_from_a_buyer_account(client, on_sale):
    client.force_login(CreatorFactory())

    response = client.post("/checkout/", {"dataset": "city-life", "tier": "research"}, follow=True)

    assert b"bought from a buyer account" in response.content
    assert not Order.objects.exists()


def test_a_download_link_serves_the_file_and_dies_with_the_license(client, on_sale, buyer):
    grant = _bought(on_sale, buyer)
    client.force_login(buyer)
    page = client.get(f"/account/licenses/{grant.public_id}/")
    link = next(link for link in page.context["links"] if link.path == "SHA256SUMS")

    downloaded = client.get(link.url)

    stored = on_sale.files.get(path="SHA256SUMS").storage_name
    assert downloaded.status_code == 200
    assert b"".join(downloaded.streaming_content) == default_storage.open(stored).read()
    assert 'filename="SHA256SUMS"' in downloaded["Content-Disposition"]
    orders.order_refund(order=grant.order, reason="Refunded at the buyer's request.")
    assert client.get(link.url).status_code == 403


def test_a_download_link_works_without_a_session_but_not_once_expired_or_forged(client, on_sale, buyer):
    grant = _bought(on_sale, buyer)
    client.force_login(buyer)
    link = client.get(f"/account/licenses/{grant.public_id}/").context["links"][0]
    client.logout()

    assert client.get(link.url).status_code == 200  # a download manager holds no cookie
    assert client.get(link.url[:-3] + "xyz").status_code == 403
    assert client.get("/downloads/garbage").status_code == 403
    with override_settings(DOWNLOAD_LINK_SECONDS=-1):
        assert client.get(link.url).status_code == 403


@override_settings(DOWNLOADS_ACCEL_REDIRECT_PREFIX="/protected-media/")
def test_behind_nginx_the_file_goes_out_through_x_accel_redirect(client, on_sale, buyer):
    grant = _bought(on_sale, buyer)
    client.force_login(buyer)
    link = client.get(f"/account/licenses/{grant.public_id}/").context["links"][0]

    response = client.get(link.url)

    assert response["X-Accel-Redirect"].startswith("/protected-media/bundles/")
    assert response.content == b""


def test_another_buyer_sees_nothing_of_a_license(client, on_sale, buyer):
    grant = _bought(on_sale, buyer)
    pending = orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug="commercial")
    client.force_login(BuyerFactory())

    assert client.get(f"/account/licenses/{grant.public_id}/").status_code == 404
    assert client.get(f"/checkout/{pending.public_id}/").status_code == 404
    assert client.post(f"/checkout/{pending.public_id}/").status_code == 404
    assert grant.public_id.hex.encode() not in client.get("/account/licenses/").content


def test_the_certificate_page_says_whether_the_signature_holds(client, on_sale, buyer):
    grant = _bought(on_sale, buyer)

    page = client.get(f"/certificates/{grant.public_id}/")
    document = client.get(f"/certificates/{grant.public_id}.json").json()

    assert b"Valid." in page.content and b"City life" in page.content
    assert document["algorithm"] == "Ed25519"
    assert document["certificate"]["license_id"] == str(grant.public_id)
    assert base64.b64decode(document["signature"]) and document["signed_text"] == grant.certificate
    LicenseGrant.objects.filter(pk=grant.pk).update(
        certificate=grant.certificate.replace("City life", "Town life")
    )
    assert b"Not valid." in client.get(f"/certificates/{grant.public_id}/").content


def test_an_unknown_certificate_is_404(client):
    assert client.get("/certificates/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.parametrize(
    ("header", "status", "expected"),
    [
        ("bytes=10-", 206, slice(10, None)),
        ("bytes=0-9", 206, slice(0, 10)),
        ("bytes=5-100000000", 206, slice(5, None)),
        ("bytes=-5", 200, slice(None)),  # a suffix range: the whole file, which RFC 9110 allows
        ("items=0-1", 200, slice(None)),
        ("bytes=99999999-", 416, None),
    ],
)
def test_a_download_resumes_from_a_byte_range(client, on_sale, buyer, header, status, expected):
    grant = _bought(on_sale, buyer)
    client.force_login(buyer)
    link = next(
        link
        for link in client.get(f"/account/licenses/{grant.public_id}/").context["links"]
        if link.path == "SHA256SUMS"
    )
    whole = default_storage.open(on_sale.files.get(path="SHA256SUMS").storage_name).read()

    response = client.get(link.url, HTTP_RANGE=header)

    assert response.status_code == status
    if expected is not None:
        assert b"".join(response.streaming_content) == whole[expected]
        assert response["Accept-Ranges"] == "bytes"
    if status == 206:
        start = expected.start
        assert response["Content-Range"] == f"bytes {start}-{len(whole[: expected.stop]) - 1}/{len(whole)}"
