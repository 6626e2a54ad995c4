"""The pages a buyer reads after a withdrawal: the banner on "My licenses" and the license page, the keys to
delete as a text file, the free upgrade's link; and the webhooks page with its secret shown once."""

import pytest
from django.urls import reverse

from datasets import build
from datasets.models import Revocation
from marketplace.models import WebhookEndpoint
from marketplace.services import revocations
from tests.marketplace.revocation_helpers import Market, market, superseded_without_signals

pytestmark = pytest.mark.django_db


@pytest.fixture
def licensees(tasks_in_process) -> Market:
    return market()


@pytest.fixture
def notified(licensees) -> Revocation:
    superseded_without_signals(licensees)
    revocation = Revocation.objects.get()
    revocations.revocation_notify(revocation_id=revocation.pk)
    return revocation


def test_my_licenses_and_the_license_page_say_what_to_delete(notified, licensees, client):
    client.force_login(licensees.colleague)
    key = licensees.asset.public_id.hex

    listing = client.get(reverse("license-list")).content.decode()
    page = client.get(reverse("license-detail", args=[licensees.holder.public_id])).content.decode()

    for html in (listing, page):
        assert html.count('data-testid="revocation-banner"') == 1
        assert "1 sample of city-life-v2 was withdrawn on" in html
        assert reverse("license-revoked-samples", args=[licensees.holder.public_id]) in html
        assert "at no charge" not in html  # not published yet
    assert key in page


def test_the_keys_download_as_a_text_file(notified, licensees, client):
    client.force_login(licensees.holder.order.buyer)

    response = client.get(reverse("license-revoked-samples", args=[licensees.holder.public_id]))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == f"{licensees.asset.public_id.hex}\n"
    assert "city-life-v2-revoked-samples.txt" in response["Content-Disposition"]


def test_the_banner_links_the_free_upgrade_once_it_is_given(notified, licensees, client):
    build.version_build(version_id=notified.replacement.pk)
    (upgrade,) = revocations.upgrades_grant(version_id=notified.replacement.pk)
    client.force_login(licensees.holder.order.buyer)

    page = client.get(reverse("license-detail", args=[licensees.holder.public_id])).content.decode()

    assert f"Version {upgrade.version.number} without it is yours at no charge" in page
    assert reverse("license-detail", args=[upgrade.public_id]) in page


def test_licensees_of_other_versions_see_no_banner(notified, licensees, client):
    for grant in (licensees.earlier_holder, licensees.other_dataset_holder):
        client.force_login(grant.order.buyer)
        assert "revocation-banner" not in client.get(reverse("license-list")).content.decode()
        keys = client.get(reverse("license-revoked-samples", args=[grant.public_id]))
        assert keys.content == b""
        assert (
            client.get(reverse("license-revoked-samples", args=[licensees.holder.public_id])).status_code
            == 404
        )


def test_an_endpoint_is_added_on_the_page_with_its_secret_shown_once(licensees, client):
    client.force_login(licensees.holder.order.buyer)

    response = client.post(reverse("webhook-list"), {"url": "https://example.com/hooks"}, follow=True)

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.organization == licensees.holder.organization
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in client.get(reverse("webhook-list")).content.decode()


def test_a_url_that_is_not_https_is_refused_on_the_page(licensees, client):
    client.force_login(licensees.holder.order.buyer)

    response = client.post(reverse("webhook-list"), {"url": "http://example.com/hooks"})

    assert response.status_code == 400 and "https://" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_owner_pauses_resumes_and_deletes_an_endpoint_a_member_only_reads(licensees, client):
    owner = licensees.holder.order.buyer
    endpoint = revocations.webhook_endpoint_create(actor=owner, url="https://example.com/hooks")
    detail = reverse("webhook-detail", args=[endpoint.public_id])

    client.force_login(licensees.colleague)
    assert client.get(detail).status_code == 200
    client.post(reverse("webhook-delete", args=[endpoint.public_id]))
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()

    client.force_login(owner)
    client.post(reverse("webhook-set-active", args=[endpoint.public_id]), {"active": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "paused" in client.get(detail).content.decode()
    client.post(reverse("webhook-set-active", args=[endpoint.public_id]), {"active": "1"})
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert client.post(reverse("webhook-delete", args=[endpoint.public_id])).status_code == 302
    assert not WebhookEndpoint.objects.exists()
