"""Organizations: members share the licenses it holds; owners decide who is in it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from marketplace.models import Membership
from marketplace.services import orders, organizations
from tests.factories import BuyerFactory, CreatorFactory
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def licensed(buyer):
    version = put_on_sale()
    order = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research")
    return orders.order_pay_test(order=order, buyer=buyer)


def test_a_colleague_added_by_the_owner_sees_and_downloads_the_license(client, licensed, buyer):
    colleague = BuyerFactory()
    client.force_login(buyer)

    response = client.post(
        f"/account/organizations/{licensed.organization.public_id}/members/",
        {"email": colleague.email.upper()},
    )

    assert response.status_code == 302
    client.force_login(colleague)
    page = client.get(f"/account/licenses/{licensed.public_id}/")
    assert page.status_code == 200 and page.context["links"]
    assert licensed.version.dataset.title.encode() in client.get("/account/licenses/").content


def test_a_removed_member_loses_the_license(client, licensed, buyer):
    colleague = BuyerFactory()
    organizations.membership_add(organization=licensed.organization, actor=buyer, email=colleague.email)

    organizations.membership_remove(organization=licensed.organization, actor=buyer, user_id=colleague.pk)

    client.force_login(colleague)
    assert client.get(f"/account/licenses/{licensed.public_id}/").status_code == 404


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.com", "No buyer account"),
        ("creator", "No buyer account"),
        ("self", "already a member"),
    ],
)
def test_who_cannot_be_added(licensed, buyer, email, message):
    address = {"creator": CreatorFactory().email, "self": buyer.email}.get(email, email)

    with pytest.raises(ValidationError, match=message):
        organizations.membership_add(organization=licensed.organization, actor=buyer, email=address)


def test_only_an_owner_adds_or_removes_others_and_the_last_owner_stays(licensed, buyer):
    member, outsider = BuyerFactory(), BuyerFactory()
    organizations.membership_add(organization=licensed.organization, actor=buyer, email=member.email)

    with pytest.raises(PermissionDenied):
        organizations.membership_add(organization=licensed.organization, actor=member, email=outsider.email)
    with pytest.raises(PermissionDenied):
        organizations.membership_remove(organization=licensed.organization, actor=member, user_id=buyer.pk)
    with pytest.raises(ValidationError, match="last owner"):
        organizations.membership_remove(organization=licensed.organization, actor=buyer, user_id=buyer.pk)
    organizations.membership_remove(
        organization=licensed.organization, actor=member, user_id=member.pk
    )  # leaves

    assert list(Membership.objects.values_list("user", flat=True)) == [buyer.pk]


def test_the_page_lists_members_and_refuses_a_bad_email_with_a_message(client, licensed, buyer):
    client.force_login(buyer)

    page = client.get("/account/organizations/")
    refused = client.post(
        f"/account/organizations/{licensed.organization.public_id}/members/",
        {"email": "not-an-email"},
        follow=True,
    )

    assert buyer.email.encode() in page.content and b"Add a buyer by email" in page.content
    assert b"Enter the email address of a buyer account." in refused.content
    assert Membership.objects.count() == 1
