"""No account enumeration: sign-up, password reset and organization invitations answer a known email exactly as
an unknown one, doing the same work (one password hash, one queued task); only the email, read by the address's
owner, says which. Each test is the attacker's pair of requests and the answers they must not tell apart."""

import datetime
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.outbox.models import QueuedTask
from marketplace.models import Invitation, Membership, User
from marketplace.services import orders, organizations
from marketplace.tokens import account_confirmation_token
from tests.factories import BuyerFactory
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db

UNKNOWN = "nobody-here@example.com"
PASSWORD = "a-long-and-unusual-passphrase"
SIGNUP = {
    "role": "buyer",
    "display_name": "",
    "country": "",
    "password1": PASSWORD,
    "password2": PASSWORD,
}
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


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every password hash computed (the tests' hasher is MD5: making and checking a hash both encode)."""
    computed: list[str] = []
    encode = MD5PasswordHasher.encode

    def counting(self, password, salt):  # type: ignore[no-untyped-def]
        computed.append(password)
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    return computed


def _queued_tasks() -> list[str]:
    return list(QueuedTask.objects.order_by("pk").values_list("task_name", flat=True))


# --- Sign-up ----------------------------------------------------------------------------------------------


def test_signup_with_a_taken_email_answers_and_works_as_with_a_new_one(buyer, hashes):
    answers, work = [], []
    for email in (buyer.email, UNKNOWN):
        hashes.clear()
        QueuedTask.objects.all().delete()
        response = Client().post(reverse("signup"), {**SIGNUP, "email": email}, follow=True)
        answers.append(_seen(response, email))
        work.append((len(hashes), _queued_tasks()))

    assert answers[0] == answers[1]
    assert answers[0][1] == [(reverse("signup-sent"), 302)]
    assert "<email>" in answers[0][2]
    assert work[0] == work[1] == (1, ["marketplace.tasks.email_send"])


def test_signup_emails_tell_only_the_address_owner_which_it_was(buyer, password, sent_emails):
    Client().post(reverse("signup"), {**SIGNUP, "email": buyer.email.upper()})
    Client().post(reverse("signup"), {**SIGNUP, "email": UNKNOWN})

    to_owner, to_newcomer = sent_emails()
    assert to_owner.to == [buyer.email]
    assert "tried to sign up" in to_owner.body and "/account/password/reset/" in to_owner.body
    assert to_newcomer.to == [UNKNOWN] and "/account/signup/confirm/" in to_newcomer.body
    buyer.refresh_from_db()
    assert buyer.is_active and buyer.check_password(password)


def _confirmation_link(sent_emails) -> str:
    body = sent_emails()[-1].body
    return re.search(r"https?://[^/\s]+(/account/signup/confirm/\S+/)", body).group(1)


def test_a_confirmation_link_works_once(client, sent_emails):
    client.post(reverse("signup"), {**SIGNUP, "email": UNKNOWN})
    link = _confirmation_link(sent_emails)

    first = client.get(link)
    client.logout()
    again = client.get(link)

    assert first.status_code == 302 and User.objects.get(email=UNKNOWN).is_active
    assert again.status_code == 400
    assert "This link no longer works" in again.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_expired_confirmation_link_gets_a_clear_page_and_opens_nothing(client, sent_emails, monkeypatch):
    client.post(reverse("signup"), {**SIGNUP, "email": UNKNOWN})
    link = _confirmation_link(sent_emails)
    later = datetime.datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(account_confirmation_token, "_now", lambda: later)

    response = client.get(link)

    assert response.status_code == 400 and "This link no longer works" in response.content.decode()
    assert not User.objects.get(email=UNKNOWN).is_active


@pytest.mark.parametrize(
    ("uidb64", "token"),
    [
        ("MQ", "not-a-real-token"),
        ("!!!!", "c8b-0123456789abcdef"),
        ("OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "c8b-0123456789abcdef"),  # a number no id column holds
        ("bm90LWEtbnVtYmVy", "c8b-0123456789abcdef"),  # "not-a-number"
        ("_w", "c8b-0123456789abcdef"),  # not UTF-8
    ],
)
def test_a_forged_confirmation_link_gets_a_clear_page_not_an_error(client, buyer, uidb64, token):
    response = client.get(reverse("signup-confirm", args=[uidb64, token]))

    assert response.status_code == 400
    assert "This link no longer works" in response.content.decode()


def test_a_forged_link_for_an_unconfirmed_account_does_not_open_it(client, sent_emails):
    client.post(reverse("signup"), {**SIGNUP, "email": UNKNOWN})
    user = User.objects.get(email=UNKNOWN)
    uid = _confirmation_link(sent_emails).split("/")[-3]

    response = client.get(reverse("signup-confirm", args=[uid, "cbk-0123456789abcdef0123456789abcdef"]))

    assert response.status_code == 400
    user.refresh_from_db()
    assert not user.is_active


def test_an_unconfirmed_account_cannot_log_in_and_gets_the_words_anyone_gets(client):
    client.post(reverse("signup"), {**SIGNUP, "email": UNKNOWN})

    unconfirmed = Client().post(reverse("login"), {"username": UNKNOWN, "password": PASSWORD})
    stranger = Client().post(reverse("login"), {"username": "x" + UNKNOWN, "password": PASSWORD})

    assert unconfirmed.status_code == stranger.status_code == 200
    errors = unconfirmed.context["form"].non_field_errors()
    assert errors == stranger.context["form"].non_field_errors()
    assert "Open the link in the email we sent you" in errors[0]
    assert "_auth_user_id" not in unconfirmed.wsgi_request.session


# --- Password reset ---------------------------------------------------------------------------------------


def test_password_reset_for_a_known_email_answers_and_works_as_for_an_unknown_one(buyer, hashes):
    answers, work = [], []
    for email in (buyer.email, UNKNOWN):
        QueuedTask.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            response = Client().post(reverse("password_reset"), {"email": email}, follow=True)
        answers.append(_seen(response, email))
        work.append((len(queries), _queued_tasks()))

    assert answers[0] == answers[1]
    assert answers[0][1] == [(reverse("password_reset_done"), 302)]
    assert work[0] == work[1]
    assert work[0][1] == ["marketplace.tasks.password_reset_send"]
    assert hashes == []


def test_the_worker_sends_the_reset_email_to_the_account_and_nothing_for_an_unknown_email(buyer, sent_emails):
    Client().post(reverse("password_reset"), {"email": UNKNOWN})
    Client().post(reverse("password_reset"), {"email": buyer.email})

    (email,) = sent_emails()
    assert email.to == [buyer.email]
    assert f"{settings.SITE_URL}/account/password/reset/" in email.body


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
