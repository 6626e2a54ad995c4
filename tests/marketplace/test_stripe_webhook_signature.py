"""The webhook accepts only genuine, fresh Stripe signatures; anything else is a 400 that stores nothing."""

import time

import orjson
import pytest
from django.urls import reverse

from marketplace.models import StripeEvent
from tests.marketplace.conftest import WEBHOOK_SECRET
from tests.stripe_standin import event, sign, signature

pytestmark = pytest.mark.django_db

UNKNOWN_EVENT = event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_signature")
BODY = orjson.dumps(UNKNOWN_EVENT)


def _post(client, body: bytes, header: str | None):
    headers = {} if header is None else {"HTTP_STRIPE_SIGNATURE": header}
    return client.post(reverse("stripe-webhook"), data=body, content_type="application/json", **headers)


def _one_byte_changed(body: bytes) -> bytes:
    return body.replace(b"customer.created", b"customer.createe")


def _now() -> int:
    return int(time.time())


# Built when the test runs, not when it is collected: a signature made at collection could have aged past
# the tolerance by then, and be refused for the wrong reason.
BAD_REQUESTS = {
    "missing": lambda: (BODY, None),
    "empty": lambda: (BODY, ""),
    "malformed": lambda: (BODY, "not a signature"),
    "malformed-timestamp": lambda: (BODY, "t=abc,v1=00"),
    "no-v1": lambda: (BODY, f"t={_now()}"),
    "wrong-secret": lambda: (BODY, sign(BODY, "whsec_someone_else")),
    "body-changed-by-one-byte": lambda: (_one_byte_changed(BODY), sign(BODY, WEBHOOK_SECRET)),
    "body-not-utf8": lambda: (b"\xff" + BODY[1:], sign(BODY, WEBHOOK_SECRET)),
    "301s-old": lambda: (BODY, sign(BODY, WEBHOOK_SECRET, timestamp=_now() - 301)),
    "far-future": lambda: (BODY, sign(BODY, WEBHOOK_SECRET, timestamp=_now() + 3600)),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_a_bad_signature_is_refused_and_nothing_is_stored(client, stripe_api, case):
    body, header = BAD_REQUESTS[case]()

    response = _post(client, body, header)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"
    assert not StripeEvent.objects.exists()


def test_a_valid_signature_is_accepted_and_the_event_stored(client, stripe_api):
    response = _post(client, BODY, sign(BODY, WEBHOOK_SECRET))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    assert StripeEvent.objects.get().event_id == "evt_signature"


def test_a_signature_a_few_seconds_in_the_future_is_accepted(client, stripe_api):
    """Clocks drift: Stripe's a little ahead of ours is not an attack."""
    response = _post(client, BODY, sign(BODY, WEBHOOK_SECRET, timestamp=int(time.time()) + 30))

    assert response.status_code == 200


def test_a_header_signed_with_an_old_and_a_new_secret_is_accepted(client, stripe_api):
    """While a secret is rolled, Stripe signs with both; the site knows only the new one."""
    timestamp = int(time.time())
    header = (
        f"t={timestamp},v1={signature(BODY, 'whsec_standin_previous', timestamp)},"
        f"v1={signature(BODY, WEBHOOK_SECRET, timestamp)}"
    )

    assert _post(client, BODY, header).status_code == 200


def test_a_signed_body_that_is_not_an_event_is_refused(client, stripe_api):
    for body in (b"not json", b"[]", b'{"id": "evt_1"}'):
        response = _post(client, body, sign(body, WEBHOOK_SECRET))

        assert response.status_code == 400
        assert response.json()["error"] == "bad_event"
    assert not StripeEvent.objects.exists()


def test_without_a_webhook_secret_every_event_is_refused(client, settings, stripe_api):
    settings.STRIPE_WEBHOOK_SECRET = ""

    assert _post(client, BODY, sign(BODY, WEBHOOK_SECRET)).status_code == 400
    assert not StripeEvent.objects.exists()


def test_the_webhook_only_takes_posts(client):
    assert client.get(reverse("stripe-webhook")).status_code == 405
