"""Organizations: members share the licenses it holds; owners invite people and decide who stays."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from marketplace.models import Invitation, Membership
from marketplace.services import orders, organizations
from tests.factories import BuyerFactory, CreatorFactory
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def licensed(buyer):
    version = put_on_sale()
    order = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research")
    return orders.order_pay_test(order=order, buyer=buyer)


def _join(organization, owner, person):
    invitation = organizations.invitation_send(organization=organization, actor=owner, email=person.email)
    return organizations.invitation_accept(public_id=invitation.public_id, user=person)


def test_a_colleague_invited_by_the_owner_accepts_and_downloads_the_license(
    client, licensed, buyer, sent_emails
):
    colleague = BuyerFactory()
    client.force_login(buyer)

    response = client.post(
        f"/account/organizations/{licensed.organization.public_id}/invitations/",
        {"email": colleague.email.upper()},
    )

    assert response.status_code == 302
    (email,) = sent_emails()
    assert email.to == [colleague.email]
    link = re.search(r"https?://[^/\s]+(/account/invitations/\S+/)", email.body).group(1)
    client.force_login(colleague)
    assert b"Join " in client.get(link).content
    assert client.post(link).status_code == 302
    page = client.get(f"/account/licenses/{licensed.public_id}/")
    assert page.status_code == 200 and page.context["links"]
    assert licensed.version.dataset.title.encode() in client.get("/account/licenses/").content


def test_a_removed_member_loses_the_license(client, licensed, buyer):
    colleague = BuyerFactory()
    _join(licensed.organization, buyer, colleague)

    organizations.membership_remove(organization=licensed.organization, actor=buyer, user_id=colleague.pk)

    client.force_login(colleague)
    assert client.get(f"/account/licenses/{licensed.public_id}/").status_code == 404


def test_accepting_twice_is_harmless(licensed, buyer):
    colleague = BuyerFactory()
    invitation = organizations.invitation_send(
        organization=licensed.organization, actor=buyer, email=colleague.email
    )

    first = organizations.invitation_accept(public_id=invitation.public_id, user=colleague)
    second = organizations.invitation_accept(public_id=invitation.public_id, user=colleague)

    assert first == second
    assert Membership.objects.filter(user=colleague).count() == 1


def test_inviting_an_address_again_renews_its_one_pending_invitation(licensed, buyer):
    first = organizations.invitation_send(
        organization=licensed.organization, actor=buyer, email="Someone@Example.com"
    )
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(days=1))

    again = organizations.invitation_send(
        organization=licensed.organization, actor=buyer, email="someone@example.com"
    )

    assert again.pk == first.pk and not again.is_expired
    assert Invitation.objects.get().email == "someone@example.com"


@pytest.mark.parametrize(
    ("who", "error", "message"),
    [
        ("creator", PermissionDenied, "Only a buyer account"),
        ("other", PermissionDenied, "another email address"),
    ],
)
def test_who_cannot_accept(licensed, buyer, who, error, message):
    creator = CreatorFactory()
    invitation = organizations.invitation_send(
        organization=licensed.organization, actor=buyer, email=creator.email
    )
    person = {"creator": creator, "other": BuyerFactory()}[who]

    with pytest.raises(error, match=message):
        organizations.invitation_accept(public_id=invitation.public_id, user=person)
    assert not Membership.objects.filter(user=person).exists()


def test_only_an_owner_invites_or_removes_others_and_the_last_owner_stays(licensed, buyer):
    member, outsider = BuyerFactory(), BuyerFactory()
    _join(licensed.organization, buyer, member)

    with pytest.raises(PermissionDenied):
        organizations.invitation_send(organization=licensed.organization, actor=member, email=outsider.email)
    with pytest.raises(PermissionDenied):
        organizations.membership_remove(organization=licensed.organization, actor=member, user_id=buyer.pk)
    with pytest.raises(ValidationError, match="last owner"):
        organizations.membership_remove(organization=licensed.organization, actor=buyer, user_id=buyer.pk)
    organizations.membership_remove(
        organization=licensed.organization, actor=member, user_id=member.pk
    )  # leaves

    assert list(Membership.objects.values_list("user", flat=True)) == [buyer.pk]


def test_the_page_lists_members_and_pending_invitations_and_refuses_a_bad_email(client, licensed, buyer):
    organizations.invitation_send(
        organization=licensed.organization, actor=buyer, email="pending@example.com"
    )
    client.force_login(buyer)

    page = client.get("/account/organizations/")
    refused = client.post(
        f"/account/organizations/{licensed.organization.public_id}/invitations/",
        {"email": "not-an-email"},
        follow=True,
    )

    assert buyer.email.encode() in page.content and b"Invite someone by email" in page.content
    assert b"pending@example.com" in page.content and b"Invitations waiting for an answer" in page.content
    assert b"Enter the email address of the person to invite." in refused.content
    assert Invitation.objects.count() == 1 and Membership.objects.count() == 1


def test_a_member_who_is_not_an_owner_sees_no_invitations(client, licensed, buyer):
    member = BuyerFactory()
    _join(licensed.organization, buyer, member)
    organizations.invitation_send(
        organization=licensed.organization, actor=buyer, email="pending@example.com"
    )
    client.force_login(member)

    page = client.get("/account/organizations/")

    assert b"pending@example.com" not in page.content and b"Invite someone" not in page.content
