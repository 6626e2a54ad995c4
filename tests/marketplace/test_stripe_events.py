"""Webhook events: each stored once and applied to its order once, whatever order they arrive in."""

import itertools

import pytest

from marketplace import payments
from marketplace.models import LicenseGrant, Order, StripeEvent
from tests.stripe_standin import charge, dispute, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_session(stripe_api, stripe_order, checkout):
    """An order whose session the buyer has paid; the webhook has not come yet."""
    order = stripe_order()
    session = stripe_api.pay(checkout(order))
    return order, session


def _status(order: Order) -> str:
    order.refresh_from_db()
    return order.status


def test_a_completed_paid_session_fulfils_its_order(paid_session, post_event):
    order, session = paid_session

    response = post_event(event("checkout.session.completed", session))

    assert response.status_code == 200
    assert _status(order) == Order.Status.FULFILLED
    assert order.stripe_payment_intent == session["payment_intent"]
    assert LicenseGrant.objects.get(order=order).status == LicenseGrant.Status.ACTIVE
    assert StripeEvent.objects.get().processed_at is not None


def test_a_replayed_event_is_a_2xx_that_changes_nothing(paid_session, post_event):
    order, session = paid_session
    completed = event("checkout.session.completed", session)
    post_event(completed)
    grant = LicenseGrant.objects.get(order=order)

    response = post_event(completed)

    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    assert list(LicenseGrant.objects.filter(order=order)) == [grant]
    assert StripeEvent.objects.count() == 1


def test_a_second_event_for_the_same_payment_fulfils_once(paid_session, post_event):
    order, session = paid_session

    post_event(event("checkout.session.completed", session))
    post_event(event("checkout.session.async_payment_succeeded", session))

    assert _status(order) == Order.Status.FULFILLED
    assert LicenseGrant.objects.filter(order=order).count() == 1
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2


def test_a_delayed_payment_is_fulfilled_when_it_succeeds(stripe_api, stripe_order, checkout, post_event):
    order = stripe_order()
    session_id = checkout(order)

    post_event(event("checkout.session.completed", stripe_api.complete_pending(session_id)))
    assert _status(order) == Order.Status.PENDING
    post_event(event("checkout.session.async_payment_succeeded", stripe_api.pay(session_id)))

    assert _status(order) == Order.Status.FULFILLED


def test_a_failed_delayed_payment_cancels_the_order(stripe_api, stripe_order, checkout, post_event):
    order = stripe_order()
    pending = stripe_api.complete_pending(checkout(order))

    post_event(event("checkout.session.completed", pending))
    post_event(event("checkout.session.async_payment_failed", pending))

    assert _status(order) == Order.Status.CANCELLED
    assert not LicenseGrant.objects.filter(order=order).exists()


def test_an_expired_session_cancels_its_order(stripe_api, stripe_order, checkout, post_event):
    order = stripe_order()

    post_event(event("checkout.session.expired", stripe_api.expire(checkout(order))))

    assert _status(order) == Order.Status.CANCELLED


def test_a_refund_suspends_the_license(paid_session, post_event):
    order, session = paid_session
    post_event(event("checkout.session.completed", session))

    post_event(event("charge.refunded", charge(session["payment_intent"], session["amount_total"])))

    assert _status(order) == Order.Status.REFUNDED
    assert LicenseGrant.objects.get(order=order).status == LicenseGrant.Status.SUSPENDED


def test_a_partial_refund_leaves_the_license_in_place(paid_session, post_event):
    order, session = paid_session
    post_event(event("checkout.session.completed", session))

    post_event(event("charge.refunded", charge(session["payment_intent"], 25_000, refunded_amount=5_000)))

    assert _status(order) == Order.Status.FULFILLED
    assert LicenseGrant.objects.get(order=order).status == LicenseGrant.Status.ACTIVE


def test_a_dispute_suspends_the_license(paid_session, post_event):
    order, session = paid_session
    post_event(event("checkout.session.completed", session))

    post_event(event("charge.dispute.created", dispute(session["payment_intent"], session["amount_total"])))

    assert _status(order) == Order.Status.DISPUTED
    assert LicenseGrant.objects.get(order=order).status == LicenseGrant.Status.SUSPENDED


# Each sequence, delivered in every order, ends in the state the in-order delivery gives.
SEQUENCES = {
    "delayed-payment": (["completed-unpaid", "async-succeeded"], Order.Status.FULFILLED),
    "delayed-payment-failed": (["completed-unpaid", "async-failed"], Order.Status.CANCELLED),
    "refunded": (["completed", "refunded"], Order.Status.REFUNDED),
    "disputed": (["completed", "disputed"], Order.Status.DISPUTED),
    "disputed-then-refunded": (["completed", "disputed", "refunded"], Order.Status.REFUNDED),
}


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_events_in_any_order_end_in_the_in_order_state(
    stripe_api, stripe_order, checkout, post_event, sequence
):
    steps, end_state = SEQUENCES[sequence]
    for permutation in itertools.permutations(steps):
        order = stripe_order()
        session_id = checkout(order)
        unpaid = stripe_api.complete_pending(session_id)
        paid = stripe_api.pay(session_id)
        intent, amount = paid["payment_intent"], paid["amount_total"]
        events = {
            "completed": event("checkout.session.completed", paid),
            "completed-unpaid": event("checkout.session.completed", unpaid),
            "async-succeeded": event("checkout.session.async_payment_succeeded", paid),
            "async-failed": event("checkout.session.async_payment_failed", unpaid),
            "refunded": event("charge.refunded", charge(intent, amount)),
            "disputed": event("charge.dispute.created", dispute(intent, amount)),
        }

        for step in permutation:
            assert post_event(events[step]).status_code == 200

        assert _status(order) == end_state, permutation
        assert LicenseGrant.objects.filter(order=order).count() == (0 if end_state == "cancelled" else 1)


@pytest.mark.parametrize("tampered", [{"amount_total": 2_500}, {"currency": "eur"}, {"amount_total": None}])
def test_an_event_at_another_amount_is_stored_answered_and_never_fulfilled(
    stripe_api, stripe_order, checkout, post_event, tampered
):
    order = stripe_order()
    session = stripe_api.pay(checkout(order), **tampered)

    response = post_event(event("checkout.session.completed", session))

    assert response.status_code == 200
    assert _status(order) == Order.Status.PENDING
    assert not LicenseGrant.objects.exists()
    assert StripeEvent.objects.count() == 1


def test_an_event_for_an_unknown_order_is_stored_and_answered(stripe_api, post_event):
    session = {"id": "cs_test_unknown", "object": "checkout.session", "payment_status": "paid",
               "amount_total": 100, "currency": "usd", "client_reference_id": "not-a-uuid"}  # fmt: skip

    response = post_event(event("checkout.session.completed", session))

    assert response.status_code == 200
    assert StripeEvent.objects.count() == 1


def test_an_event_type_the_site_does_not_handle_is_stored_as_processed(stripe_api, post_event):
    response = post_event(event("customer.created", {"id": "cus_1", "object": "customer"}))

    assert response.status_code == 200
    assert StripeEvent.objects.get().processed_at is not None


def test_a_session_whose_id_was_never_recorded_is_found_by_its_reference(paid_session, post_event):
    order, session = paid_session
    Order.objects.filter(pk=order.pk).update(stripe_session_id=None)

    post_event(event("checkout.session.completed", session))

    assert _status(order) == Order.Status.FULFILLED


def test_a_crash_half_way_leaves_nothing_and_the_replay_fulfils_once(paid_session, post_event, monkeypatch):
    order, session = paid_session
    completed = event("checkout.session.completed", session)
    real_fulfil = payments.order_fulfil

    def crash_once(**kwargs):
        monkeypatch.setattr(payments, "order_fulfil", real_fulfil)
        raise RuntimeError("the worker died after marking the order paid")

    monkeypatch.setattr(payments, "order_fulfil", crash_once)

    with pytest.raises(RuntimeError):
        post_event(completed)

    assert _status(order) == Order.Status.PENDING
    assert not StripeEvent.objects.exists()
    assert not LicenseGrant.objects.exists()

    assert post_event(completed).status_code == 200
    assert post_event(completed).json()["duplicate"] is True
    assert _status(order) == Order.Status.FULFILLED
    assert LicenseGrant.objects.filter(order=order).count() == 1
    assert StripeEvent.objects.get().processed_at is not None
