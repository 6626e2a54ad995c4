import pytest
from django.test import Client
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


def test_a_form_sent_without_its_csrf_token_gets_a_clear_403_page(buyer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer)

    response = client.post(reverse("api-tokens"), {"name": "laptop"})

    assert response.status_code == 403
    assert "This form expired" in response.content.decode()


def test_an_unknown_page_gets_the_sites_404(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


def test_healthz_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.json() == {"status": "ok"}
