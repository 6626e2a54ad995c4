import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_invites_both_creators_and_buyers(client):
    page = client.get(reverse("home")).content.decode()

    assert "Join as a creator" in page
    assert "Join as a buyer" in page


@pytest.mark.parametrize(
    ("fixture", "badge"), [("creator", "Creator"), ("buyer", "Buyer"), ("reviewer", "Reviewer")]
)
def test_navigation_shows_the_signed_in_role(client, request, fixture, badge):
    client.force_login(request.getfixturevalue(fixture))

    page = client.get(reverse("home")).content.decode()

    assert f'class="role-badge" title="Signed in as a {badge.lower()}">{badge}<' in page


def test_only_reviewers_see_the_staff_admin_link(client, buyer, reviewer):
    client.force_login(buyer)
    assert "Staff admin" not in client.get(reverse("home")).content.decode()

    client.force_login(reviewer)
    assert "Staff admin" in client.get(reverse("home")).content.decode()
