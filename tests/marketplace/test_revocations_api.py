"""The revocation feed and the webhook endpoints through the API, with a token as the `datamarket` client
sends it: the feed's exact shape, `since` paging, bad input, and who sees what."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from datasets.models import Revocation
from marketplace import selectors
from marketplace.models import RevocationNotice, WebhookEndpoint
from marketplace.services import api_token_create, revocations
from tests.factories import BuyerFactory
from tests.marketplace.revocation_helpers import Market, buy, market
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db


def _token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="datamarket")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def licensees(tasks_in_process) -> Market:
    return market()


def _revoke(licensees: Market, keys: list[str], at=None) -> RevocationNotice:
    """A revocation of these keys on the holder's version, notified; its notice, made at `at`."""
    revocation = Revocation.objects.create(
        version=licensees.with_asset,
        sample_keys=keys,
        reason="Consent withdrawn.",
        withdrawn_at=timezone.now(),
    )
    (notice,) = revocations.revocation_notify(revocation_id=revocation.pk)
    if at is not None:
        RevocationNotice.objects.filter(pk=notice.pk).update(created_at=at)
        notice.refresh_from_db()
    return notice


def test_a_feed_entry_has_exactly_the_fields_the_client_reads(licensees):
    notice = _revoke(licensees, ["k1", "k2"])
    api = _token_client(licensees.colleague)

    body = api.get("/api/v1/revocations/").json()

    (entry,) = body["results"]
    assert set(entry) == {
        "id", "license", "dataset", "version", "bundle", "sample_keys", "reason", "withdrawn_at", "created_at",
        "replacement_version",
    }  # fmt: skip
    assert entry["id"] == str(notice.public_id) and entry["license"] == str(licensees.holder.public_id)
    assert (entry["dataset"], entry["version"], entry["bundle"]) == ("city-life", 2, "city-life-v2")
    assert (entry["sample_keys"], entry["reason"], entry["replacement_version"]) == (
        ["k1", "k2"],
        "Consent withdrawn.",
        None,
    )
    assert body["next_since"] == entry["created_at"] and entry["created_at"].endswith("Z")


def test_the_feed_pages_with_since_until_a_page_is_empty(licensees, monkeypatch):
    monkeypatch.setattr(selectors, "REVOCATION_FEED_PAGE_SIZE", 2)
    start = timezone.now() - timedelta(hours=1)
    notices = [_revoke(licensees, [f"k{index}"], at=start + timedelta(minutes=index)) for index in range(5)]
    api = _token_client(licensees.holder.order.buyer)

    seen, since, pages = [], None, 0
    while True:
        body = api.get("/api/v1/revocations/", {"since": since} if since else {}).json()
        pages += 1
        if not body["results"]:
            assert body["next_since"] is None
            break
        seen += [entry["id"] for entry in body["results"]]
        since = body["next_since"]

    assert seen == [str(notice.public_id) for notice in notices] and pages == 4
    later = api.get("/api/v1/revocations/", {"since": (start + timedelta(minutes=2, seconds=30)).isoformat()})
    assert [entry["sample_keys"] for entry in later.json()["results"]] == [["k3"], ["k4"]]


def test_a_page_never_ends_inside_notices_made_at_the_same_instant(licensees, monkeypatch):
    monkeypatch.setattr(selectors, "REVOCATION_FEED_PAGE_SIZE", 2)
    first, same = timezone.now() - timedelta(hours=2), timezone.now() - timedelta(hours=1)
    _revoke(licensees, ["a"], at=first)
    for key in ("b", "c", "d"):
        _revoke(licensees, [key], at=same)
    api = _token_client(licensees.holder.order.buyer)

    page_one = api.get("/api/v1/revocations/").json()
    page_two = api.get("/api/v1/revocations/", {"since": page_one["next_since"]}).json()
    page_three = api.get("/api/v1/revocations/", {"since": page_two["next_since"]}).json()

    assert [entry["sample_keys"] for entry in page_one["results"]] == [["a"]]
    assert sorted(entry["sample_keys"][0] for entry in page_two["results"]) == ["b", "c", "d"]
    assert page_three == {"results": [], "next_since": None}


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00 00:00", "0"])
def test_a_since_that_is_not_a_date_is_a_400_in_the_error_format(licensees, since):
    response = _token_client(licensees.holder.order.buyer).get("/api/v1/revocations/", {"since": since})

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid", ["since"])
    assert "ISO 8601" in error["message"]


def test_another_buyer_sees_none_of_it_and_anonymous_gets_401(licensees, webhook_receiver):
    endpoint = revocations.webhook_endpoint_create(
        actor=licensees.holder.order.buyer, url=webhook_receiver.url
    )
    _revoke(licensees, ["k1"])
    stranger = _token_client(BuyerFactory())

    assert stranger.get("/api/v1/revocations/").json() == {"results": [], "next_since": None}
    assert stranger.get("/api/v1/webhooks/").json() == []
    assert stranger.get(f"/api/v1/webhooks/{endpoint.public_id}/deliveries/").status_code == 404
    assert stranger.delete(f"/api/v1/webhooks/{endpoint.public_id}/").status_code == 404
    for path in (
        "/api/v1/revocations/",
        "/api/v1/webhooks/",
        f"/api/v1/webhooks/{endpoint.public_id}/deliveries/",
    ):
        assert APIClient().get(path).status_code == 401
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_an_endpoint_is_added_with_its_secret_shown_once_and_listed_without_it(licensees):
    owner = _token_client(licensees.holder.order.buyer)

    created = owner.post("/api/v1/webhooks/", {"url": "https://example.com/hooks"}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["organization"] == str(
        licensees.holder.organization.public_id
    )
    (listed,) = owner.get("/api/v1/webhooks/").json()
    assert listed["id"] == body["id"] and "secret" not in listed
    assert _token_client(licensees.colleague).get("/api/v1/webhooks/").json() == [listed]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/hooks", "https://"),
        ("example.com/hooks", "full URL"),
        ("ftp://example.com/hooks", "full URL"),
        ("https://user:secret@example.com/hooks", "credentials"),
        ("https://example.com/" + "a" * 500, "500 characters"),
    ],
)
def test_an_endpoint_url_that_is_not_https_or_not_a_url_is_refused(licensees, url, message):
    response = _token_client(licensees.holder.order.buyer).post(
        "/api/v1/webhooks/", {"url": url}, format="json"
    )

    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_is_allowed_to_the_local_machine_where_private_addresses_are(licensees, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    api = _token_client(licensees.holder.order.buyer)

    for url in ("http://127.0.0.1:8080/hooks", "http://localhost/hooks"):
        assert api.post("/api/v1/webhooks/", {"url": url}, format="json").status_code == 201


def test_only_an_owner_adds_or_deletes_an_endpoint(licensees):
    owner, member = _token_client(licensees.holder.order.buyer), _token_client(licensees.colleague)
    organization = str(licensees.holder.organization.public_id)
    endpoint = owner.post("/api/v1/webhooks/", {"url": "https://example.com/h"}, format="json").json()

    refused = member.post("/api/v1/webhooks/", {"url": "https://example.com/m", "organization": organization})

    assert refused.status_code == 403
    assert member.delete(f"/api/v1/webhooks/{endpoint['id']}/").status_code == 403
    assert owner.delete(f"/api/v1/webhooks/{endpoint['id']}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_an_organization_one_is_not_in_is_refused(licensees):
    response = _token_client(licensees.holder.order.buyer).post(
        "/api/v1/webhooks/",
        {
            "url": "https://example.com/h",
            "organization": str(licensees.earlier_holder.organization.public_id),
        },
        format="json",
    )

    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["organization"]


def test_an_organization_has_ten_endpoints_at_most(licensees):
    api = _token_client(licensees.holder.order.buyer)
    for index in range(10):
        assert api.post("/api/v1/webhooks/", {"url": f"https://example.com/{index}"}).status_code == 201

    response = api.post("/api/v1/webhooks/", {"url": "https://example.com/one-more"})

    assert response.status_code == 409 and "10 webhook endpoints" in response.json()["error"]["message"]


def test_a_creator_cannot_add_an_endpoint(licensees):
    creator = licensees.asset.creator.user

    response = _token_client(creator).post("/api/v1/webhooks/", {"url": "https://example.com/h"})

    assert response.status_code == 403


def test_the_delivery_log_lists_each_notice_sent_to_the_endpoint(licensees, webhook_receiver):
    endpoint = revocations.webhook_endpoint_create(
        actor=licensees.holder.order.buyer, url=webhook_receiver.url
    )
    notice = _revoke(licensees, ["k1"])
    revocations.webhook_deliver(delivery_id=notice.deliveries.get().pk)

    (logged,) = (
        _token_client(licensees.colleague).get(f"/api/v1/webhooks/{endpoint.public_id}/deliveries/").json()
    )

    assert (logged["notice"], logged["license"], logged["bundle"]) == (
        str(notice.public_id),
        str(licensees.holder.public_id),
        "city-life-v2",
    )
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == ("delivered", 1, 200)


def test_a_buyer_with_no_license_yet_registers_an_endpoint_for_their_future_licenses(db):
    version = put_on_sale()
    newcomer = BuyerFactory()

    response = _token_client(newcomer).post("/api/v1/webhooks/", {"url": "https://example.com/h"})

    assert response.status_code == 201
    assert response.json()["organization"] == str(buy(version, newcomer).organization.public_id)
