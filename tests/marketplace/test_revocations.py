"""Revocation notices: withdrawing consent reaches exactly the licensees holding the sample, once, by email,
signed webhook and the feed; failing endpoints are retried with backoff; holders get the replacement free."""

import hashlib
import hmac
from pathlib import Path

import orjson
import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from datasets import build
from datasets.models import DatasetVersion, Revocation
from licensing.services import consents_withdraw
from marketplace import receivers, tasks
from marketplace.models import LicenseGrant, Order, RevocationNotice, WebhookDelivery
from marketplace.services import orders, revocations
from tests.marketplace.revocation_helpers import Market, buy, market, superseded_without_signals

pytestmark = pytest.mark.django_db


@pytest.fixture
def licensees() -> Market:
    return market()


def _feed(user) -> list[dict]:
    api = APIClient()
    api.force_authenticate(user)
    response = api.get("/api/v1/revocations/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _endpoint(grant: LicenseGrant, url: str):
    return revocations.webhook_endpoint_create(actor=grant.order.buyer, url=url)


def _withdraw(licensees: Market, capture) -> None:
    """The creator withdraws consent; every task it leads to runs, in process, until none is left."""
    with capture(execute=True):
        consents_withdraw(
            asset_ids=[licensees.asset.pk], actor=licensees.asset.creator.user, reason="I changed my mind."
        )


def _verifies(received, secret: str) -> bool:
    fields = dict(part.split("=", 1) for part in received.headers["Datamarket-Signature"].split(","))
    expected = hmac.new(
        secret.encode(), f"{fields['t']}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def test_withdrawing_one_asset_notifies_exactly_its_holders_once_through_every_channel(
    licensees, tasks_in_process, webhook_receiver, django_capture_on_commit_callbacks
):
    for grant, path in [
        (licensees.holder, "/holder"),
        (licensees.earlier_holder, "/earlier"),
        (licensees.other_dataset_holder, "/other"),
    ]:
        _endpoint(grant, webhook_receiver.url + path)

    _withdraw(licensees, django_capture_on_commit_callbacks)

    key = licensees.asset.public_id.hex
    (notice,) = RevocationNotice.objects.all()
    assert notice.grant == licensees.holder and notice.revocation.version == licensees.with_asset
    # Email: each member of the holding organization, once; nobody else.
    owner = licensees.holder.order.buyer
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [owner.email, licensees.colleague.email]
    )
    assert all(key in message.body and "city-life-v2" in message.subject for message in mail.outbox)
    # Webhook: the holder's endpoint, once.
    assert [received.path for received in webhook_receiver.requests] == ["/holder"]
    payload = orjson.loads(webhook_receiver.requests[0].body)
    assert payload["type"] == "revocation" and payload["id"] == str(notice.public_id)
    assert (payload["license"], payload["bundle"], payload["sample_keys"]) == (
        str(licensees.holder.public_id),
        "city-life-v2",
        [key],
    )
    assert notice.deliveries.get().status == WebhookDelivery.Status.DELIVERED
    # Feed: the holder's organization, both members; nobody else.
    for member in (owner, licensees.colleague):
        assert [entry["sample_keys"] for entry in _feed(member)] == [[key]]
    for stranger in (licensees.earlier_holder, licensees.other_dataset_holder):
        assert _feed(stranger.order.buyer) == []


def test_the_signature_on_each_delivery_verifies_with_its_endpoints_secret(
    licensees, tasks_in_process, webhook_receiver, django_capture_on_commit_callbacks
):
    first = _endpoint(licensees.holder, webhook_receiver.url + "/first")
    second = _endpoint(licensees.holder, webhook_receiver.url + "/second")

    _withdraw(licensees, django_capture_on_commit_callbacks)

    by_path = {received.path: received for received in webhook_receiver.requests}
    assert set(by_path) == {"/first", "/second"}
    assert _verifies(by_path["/first"], first.secret) and _verifies(by_path["/second"], second.secret)
    assert not _verifies(by_path["/first"], second.secret)
    assert first.secret.startswith("whsec_") and first.secret != second.secret


def test_notifying_again_sends_nothing_twice(
    licensees, tasks_in_process, webhook_receiver, django_capture_on_commit_callbacks
):
    _endpoint(licensees.holder, webhook_receiver.url)
    _withdraw(licensees, django_capture_on_commit_callbacks)
    sent = (len(mail.outbox), len(webhook_receiver.requests), RevocationNotice.objects.count())

    revocation = Revocation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        revocations.revocation_notify(revocation_id=revocation.pk)
        revocations.revocations_catch_up()
        tasks.revocation_notify(revocation.pk)

    assert (
        (len(mail.outbox), len(webhook_receiver.requests), RevocationNotice.objects.count())
        == sent
        == (2, 1, 1)
    )


def test_the_catch_up_notifies_a_revocation_whose_signal_was_lost(licensees, tasks_in_process):
    # The revocation commits; its signal's task never runs.
    superseded_without_signals(licensees)
    assert Revocation.objects.exists() and not RevocationNotice.objects.exists()

    done = revocations.revocations_catch_up()

    assert done["revocations"] == 1
    assert RevocationNotice.objects.get().grant == licensees.holder
    assert len(mail.outbox) == 2
    assert revocations.revocations_catch_up()["revocations"] == 0


def test_an_order_paid_after_the_revocation_is_refused_and_the_catch_up_tells_only_holders(
    licensees, tasks_in_process
):
    late_order = Order.objects.create(
        buyer=licensees.holder.order.buyer,
        organization=licensees.holder.organization,
        version=licensees.with_asset,
        terms_version=licensees.holder.terms_version,
        method=Order.Method.TEST,
        amount_cents=90_000,
    )
    superseded_without_signals(licensees)
    revocations.revocation_notify(revocation_id=Revocation.objects.get().pk)
    # Paid after the version went off sale: nothing is sold, so nobody new needs telling.
    with pytest.raises(orders.SaleWithdrawn):
        orders.order_pay_test(order=late_order, buyer=late_order.buyer)

    revocations.revocations_catch_up()

    late_order.refresh_from_db()
    assert late_order.status == Order.Status.CANCELLED
    assert set(RevocationNotice.objects.values_list("grant", flat=True)) == {licensees.holder.pk}


def test_the_replacement_is_given_to_each_holder_once_at_no_charge(licensees, tasks_in_process):
    second_holder = _buy_again(licensees)
    superseded_without_signals(licensees)
    revocation = Revocation.objects.get()
    revocations.revocation_notify(revocation_id=revocation.pk)
    replacement = revocation.replacement
    assert replacement is not None and replacement.status == DatasetVersion.Status.DRAFT
    assert RevocationNotice.objects.filter(upgrade__isnull=False).count() == 0

    build.version_build(version_id=replacement.pk)
    replacement.refresh_from_db()
    assert replacement.status == DatasetVersion.Status.PUBLISHED
    assert not replacement.items.filter(asset=licensees.asset).exists()
    given = revocations.upgrades_grant(version_id=replacement.pk)
    again = revocations.upgrades_grant(version_id=replacement.pk)
    revocations.revocation_notify(revocation_id=revocation.pk)
    revocations.revocations_catch_up()

    upgrades = LicenseGrant.objects.filter(version=replacement)
    assert sorted(given, key=lambda grant: grant.pk) == list(upgrades.order_by("pk")) and again == []
    assert {grant.organization for grant in upgrades} == {
        licensees.holder.organization,
        second_holder.organization,
    }
    for upgrade in upgrades:
        order = upgrade.order
        assert (order.amount_cents, order.method, order.status) == (
            0,
            Order.Method.UPGRADE,
            Order.Status.FULFILLED,
        )
        original = RevocationNotice.objects.get(upgrade=upgrade).grant
        assert order.upgrade_of == original.order and upgrade.terms_version == original.terms_version
        assert orjson.loads(upgrade.certificate)["dataset"]["bundle"] == f"city-life-v{replacement.number}"
    # Holders of versions without the sample get nothing.
    assert not LicenseGrant.objects.filter(
        organization__in=[licensees.earlier_holder.organization, licensees.other_dataset_holder.organization],
        version=replacement,
    ).exists()


def test_a_refunded_license_is_told_but_gets_no_replacement(licensees, tasks_in_process):
    orders.order_refund(order=licensees.holder.order, reason="Refunded on request.")
    superseded_without_signals(licensees)
    revocation = Revocation.objects.get()
    revocations.revocation_notify(revocation_id=revocation.pk)
    build.version_build(version_id=revocation.replacement.pk)

    assert revocations.upgrades_grant(version_id=revocation.replacement.pk) == []
    assert RevocationNotice.objects.get().grant == licensees.holder


def test_the_whole_way_from_a_withdrawal_to_the_free_replacement_runs_on_signals(
    licensees, tasks_in_process, django_capture_on_commit_callbacks
):
    _withdraw(licensees, django_capture_on_commit_callbacks)

    notice = RevocationNotice.objects.select_related("upgrade__version").get()
    assert notice.upgrade is not None
    assert notice.upgrade.version.status == DatasetVersion.Status.PUBLISHED
    assert notice.upgrade.version.supersedes == licensees.with_asset
    assert notice.upgrade.organization == licensees.holder.organization


def _buy_again(licensees: Market) -> LicenseGrant:
    return buy(licensees.with_asset)


# --- Deliveries: retries, backoff, failure ---


@pytest.fixture
def pending_delivery(licensees, webhook_receiver, tasks_in_process) -> WebhookDelivery:
    """A notice's delivery to the receiver, created and not yet attempted."""
    _endpoint(licensees.holder, webhook_receiver.url + "/hook")
    superseded_without_signals(licensees)
    revocations.revocation_notify(revocation_id=Revocation.objects.get().pk)
    return WebhookDelivery.objects.get()


def _due_now(delivery: WebhookDelivery) -> None:
    """As if the backoff had passed."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_failing_endpoint_is_retried_with_backoff_and_then_succeeds_once(
    pending_delivery, webhook_receiver, monkeypatch
):
    monkeypatch.setattr(revocations, "WEBHOOK_DEADLINE_SECONDS", 0.5)
    webhook_receiver.script = [500, "hang", 200]
    requeued = []
    monkeypatch.setattr(tasks.webhook_deliver, "apply_async", lambda **kwargs: requeued.append(kwargs))

    before = timezone.now()
    assert tasks.webhook_deliver(pending_delivery.pk) == "pending"
    first = WebhookDelivery.objects.get()
    assert (first.attempts, first.last_status_code) == (1, 500)
    assert 29 <= (first.next_attempt_at - before).total_seconds() <= 32
    assert requeued == [{"args": [first.pk], "countdown": pytest.approx(31, abs=2)}]
    # Not due yet: nothing is sent, whoever asks.
    assert revocations.webhook_deliver(delivery_id=first.pk) is None
    assert len(webhook_receiver.requests) == 1

    _due_now(first)
    before = timezone.now()
    second = revocations.webhook_deliver(delivery_id=first.pk)
    assert (second.status, second.attempts, second.last_status_code) == ("pending", 2, None)
    assert second.last_error == "timeout"
    assert 59 <= (second.next_attempt_at - before).total_seconds() <= 62

    _due_now(second)
    third = revocations.webhook_deliver(delivery_id=first.pk)
    assert (third.status, third.attempts, third.last_status_code, third.last_error) == (
        "delivered",
        3,
        200,
        "",
    )
    _due_now(third)
    assert revocations.webhook_deliver(delivery_id=first.pk) is None
    assert len(webhook_receiver.requests) == 3
    assert len({received.body for received in webhook_receiver.requests}) == 1


def test_after_eight_failed_attempts_the_delivery_is_failed_and_shown(
    pending_delivery, webhook_receiver, licensees, client
):
    webhook_receiver.script = [503] * 10

    for _ in range(8):
        _due_now(pending_delivery)
        revocations.webhook_deliver(delivery_id=pending_delivery.pk)
    _due_now(pending_delivery)
    assert revocations.webhook_deliver(delivery_id=pending_delivery.pk) is None
    assert revocations.revocations_catch_up()["deliveries"] == 0

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 8, 503)
    assert len(webhook_receiver.requests) == 8
    client.force_login(licensees.holder.order.buyer)
    page = client.get(f"/account/webhooks/{delivery.endpoint.public_id}/").content.decode()
    assert 'data-status="failed"' in page and "HTTP 503" in page
    api = APIClient()
    api.force_authenticate(licensees.colleague)
    (logged,) = api.get(f"/api/v1/webhooks/{delivery.endpoint.public_id}/deliveries/").json()
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == ("failed", 8, 503)


def test_the_wait_doubles_from_thirty_seconds_and_stops_at_six_hours():
    waits = [revocations.delivery_retry_seconds(attempts) for attempts in range(1, 8)]

    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert revocations.delivery_retry_seconds(20) == 6 * 60 * 60


def test_the_catch_up_queues_deliveries_that_are_due(pending_delivery, monkeypatch):
    queued = []
    monkeypatch.setattr(revocations, "_enqueue_delivery", queued.append)

    assert revocations.revocations_catch_up()["deliveries"] == 1
    assert queued == [pending_delivery.pk]


def test_a_paused_endpoint_is_not_posted_to_until_resumed(pending_delivery, webhook_receiver, licensees):
    owner = licensees.holder.order.buyer
    revocations.webhook_endpoint_set_active(endpoint=pending_delivery.endpoint, actor=owner, active=False)

    assert revocations.webhook_deliver(delivery_id=pending_delivery.pk) is None
    revocations.webhook_endpoint_set_active(endpoint=pending_delivery.endpoint, actor=owner, active=True)
    assert revocations.webhook_deliver(delivery_id=pending_delivery.pk).status == "delivered"
    assert len(webhook_receiver.requests) == 1


def _documented_verifier():
    """The signature check docs/api.md gives buyers, run exactly as written there."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    section = docs[docs.index("### Webhooks") :]
    snippet = section[
        section.index("```python\n") + len("```python\n") : section.index("```\n", section.index("```python"))
    ]
    namespace: dict = {}
    exec(compile(snippet, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_datamarket_signature"]


def test_the_documented_signature_check_accepts_a_delivery_and_refuses_a_changed_one(
    pending_delivery, webhook_receiver
):
    verify = _documented_verifier()
    revocations.webhook_deliver(delivery_id=pending_delivery.pk)
    (received,) = webhook_receiver.requests
    secret, header = pending_delivery.endpoint.secret, received.headers["Datamarket-Signature"]

    assert verify(secret, header, received.body)
    assert not verify(secret, header, received.body.replace(b"city-life", b"city-lime"))
    assert not verify("whsec_another", header, received.body)
    assert not verify(secret, "v1=abc", received.body)
    assert not verify(secret, header, received.body, tolerance=-1)


def test_a_broker_outage_when_announcing_only_logs(monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(receivers.revocation_notify, "delay", broker_down)
    monkeypatch.setattr(receivers.upgrades_grant, "delay", broker_down)

    receivers.revocation_notify_queue(revocation_id=1)
    receivers.upgrades_grant_queue(version_id=1)

    assert "Could not queue the notices of revocation 1" in caplog.text
    assert "Could not queue the free upgrades to version 1" in caplog.text
