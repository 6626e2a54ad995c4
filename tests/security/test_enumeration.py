"""No account enumeration: organization invitations answer a known email exactly as an unknown one, doing the
same work (one queued task); only the email, read by the address's owner, says which. Each test is the
attacker's pair of requests and the answers they must not tell apart."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from creators.outbox.models import QueuedTask
from marketplace.models import Invitation, Membership
from marketplace.services import orders, organizations
from tests.factories import BuyerFactory
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db

UNKNOWN = "nobody-here@example.com"
# What differs between any two responses (a fresh CSRF token, ids, clock minutes), whatever the address.
_VARYING = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'), 'name="csrfmiddlewaretoken" value="…"'),
    (re.compile(r'"X-CSRFToken": "[^"]+"'), '"X-CSRFToken": "…"'),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d"), "<time>"),
]


def _seen(response, email: str) -> tuple[int, list[tuple[str, int]], str]:
    """What the attacker sees of a followed response: status, redirects, and the page with the address blanked."""
    text = response.content.decode().replace(email, "<email>")
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return response.status_code, response.redirect_chain, text


def _queued_tasks() -> list[str]:
    return list(QueuedTask.objects.order_by("pk").values_list("task_name", flat=True))


# --- Organization invitations -----------------------------------------------------------------------------


@pytest.fixture
def owner(buyer):
    version = put_on_sale()
    orders.order_pay_test(
        order=orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research"), buyer=buyer
    )
    return buyer


def _organization(owner):
    return Membership.objects.get(user=owner).organization


def test_inviting_a_buyer_answers_and_works_as_inviting_an_unknown_address(client, owner):
    organization, known = _organization(owner), BuyerFactory()
    client.force_login(owner)
    url = reverse("organization-invite", args=[organization.public_id])
    answers, work = [], []
    for email in (known.email, UNKNOWN):
        # Each answer is read alone: the earlier invitation is cancelled first, so the pages list one each.
        for pending in Invitation.objects.filter(status=Invitation.Status.PENDING):
            organizations.invitation_cancel(
                organization=organization, actor=owner, public_id=pending.public_id
            )
        QueuedTask.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, {"email": email}, follow=True)
        answers.append(_seen(response, email))
        work.append((len(queries), _queued_tasks()))

    assert answers[0] == answers[1]
    assert answers[0][1] == [(reverse("organization-list"), 302)]
    assert "Invitation sent to <email>." in answers[0][2]
    assert work[0] == work[1]
    assert work[0][1] == ["marketplace.tasks.email_send"]


def test_an_invitation_email_goes_to_the_invited_address_alone(client, owner, sent_emails):
    known = BuyerFactory()
    client.force_login(owner)
    for email in (known.email, UNKNOWN):
        client.post(reverse("organization-invite", args=[_organization(owner).public_id]), {"email": email})

    to_buyer, to_stranger = sent_emails()
    assert (to_buyer.to, to_stranger.to) == ([known.email], [UNKNOWN])
    assert "sign up as a buyer" in to_stranger.body.lower()
    assert (
        to_buyer.body.replace(known.email, "<email>").split("/account/invitations/")[0]
        == (to_stranger.body.replace(UNKNOWN, "<email>").split("/account/invitations/")[0])
    )


def _invitation(owner, email: str) -> Invitation:
    return organizations.invitation_send(organization=_organization(owner), actor=owner, email=email)


def test_the_invited_buyer_signed_in_with_that_email_accepts(client, owner):
    invited = BuyerFactory(email="colleague@example.com")
    invitation = _invitation(owner, "Colleague@Example.com")
    client.force_login(invited)

    page = client.get(reverse("invitation", args=[invitation.public_id]))
    accepted = client.post(reverse("invitation", args=[invitation.public_id]), follow=True)

    assert page.status_code == 200
    assert accepted.redirect_chain == [(reverse("organization-list"), 302)]
    assert Membership.objects.filter(organization=invitation.organization, user=invited).exists()
    assert (
        client.post(reverse("invitation", args=[invitation.public_id])).status_code == 302
    )  # harmless again


def test_another_signed_in_buyer_opening_the_link_is_refused(client, owner):
    invitation = _invitation(owner, "colleague@example.com")
    client.force_login(BuyerFactory())

    seen = client.get(reverse("invitation", args=[invitation.public_id]))
    accepting = client.post(reverse("invitation", args=[invitation.public_id]))

    assert seen.status_code == accepting.status_code == 403
    assert "another email address" in accepting.content.decode()
    assert Membership.objects.count() == 1


def test_an_anonymous_visitor_is_sent_to_log_in(client, owner):
    invitation = _invitation(owner, "colleague@example.com")

    response = client.post(reverse("invitation", args=[invitation.public_id]))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert Membership.objects.count() == 1


def test_an_expired_invitation_is_refused(client, owner):
    invited = BuyerFactory(email="colleague@example.com")
    invitation = _invitation(owner, invited.email)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(invited)

    response = client.post(reverse("invitation", args=[invitation.public_id]))

    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not Membership.objects.filter(user=invited).exists()


def test_a_cancelled_invitation_is_refused(client, owner):
    invited = BuyerFactory(email="colleague@example.com")
    invitation = _invitation(owner, invited.email)
    client.force_login(owner)

    cancelled = client.post(
        reverse(
            "organization-invitation-cancel", args=[invitation.organization.public_id, invitation.public_id]
        ),
        follow=True,
    )
    client.force_login(invited)
    response = client.post(reverse("invitation", args=[invitation.public_id]))

    assert "is cancelled" in cancelled.content.decode()
    assert response.status_code == 410 and "cancelled" in response.content.decode()
    assert not Membership.objects.filter(user=invited).exists()


def test_only_an_owner_cancels_an_invitation(client, owner):
    invitation = _invitation(owner, "colleague@example.com")
    member = BuyerFactory()
    organizations.invitation_accept(public_id=_invitation(owner, member.email).public_id, user=member)
    client.force_login(member)

    client.post(
        reverse(
            "organization-invitation-cancel", args=[invitation.organization.public_id, invitation.public_id]
        )
    )

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_an_invitation_of_another_organization_cannot_be_cancelled_through_yours(client, owner):
    other_owner = BuyerFactory()
    version = put_on_sale("food", photos=1)
    orders.order_pay_test(
        order=orders.order_create(buyer=other_owner, dataset=version.dataset, terms_slug="research"),
        buyer=other_owner,
    )
    theirs = _invitation(other_owner, "colleague@example.com")
    client.force_login(owner)

    response = client.post(
        reverse("organization-invitation-cancel", args=[_organization(owner).public_id, theirs.public_id])
    )

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Invitation.Status.PENDING
