import pytest
from django.urls import reverse

from creators.models import CreatorProfile
from marketplace.models import User

pytestmark = pytest.mark.django_db

GOOD = {
    "role": "creator",
    "email": "Maria.Lopes@Example.com",
    "display_name": "Maria Lopes",
    "country": "pt",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
}


def test_creator_signup_creates_account_and_profile_and_logs_in(client):
    response = client.post(reverse("signup"), GOOD)

    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "maria.lopes@example.com"
    assert user.role == User.Role.CREATOR
    assert user.check_password(GOOD["password1"])
    assert CreatorProfile.objects.get(user=user).country == "PT"
    assert client.get(reverse("account")).status_code == 200


def test_buyer_signup_has_no_creator_profile(client):
    client.post(reverse("signup"), {**GOOD, "role": "buyer"})

    user = User.objects.get()
    assert user.role == User.Role.BUYER
    assert not CreatorProfile.objects.exists()


def test_signup_page_preselects_the_role_from_the_link(client):
    response = client.get(reverse("signup") + "?role=creator")

    assert response.status_code == 200
    assert response.context["form"]["role"].value() == "creator"
    assert b'value="creator" required id="id_role_0" checked' in response.content


def test_signed_in_user_is_sent_home_from_signup(client, buyer):
    client.force_login(buyer)

    assert client.get(reverse("signup")).status_code == 302


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": ""}, "email", "This field is required"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"email": "a" * 250 + "@example.com"}, "email", "at most 254"),
        ({"password2": "something-else-entirely"}, "password2", "differ"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"password1": "password123", "password2": "password123"}, "password1", "too common"),
        ({"password1": "8436205719346", "password2": "8436205719346"}, "password1", "entirely numeric"),
        ({"role": "staff"}, "role", "Select a valid choice"),
        ({"role": "reviewer"}, "role", "Select a valid choice"),
        ({"role": ""}, "role", "This field is required"),
        ({"country": "F1"}, "country", "two-letter"),
        ({"country": "FRA"}, "country", "at most 2"),
        ({"country": "É1"}, "country", "two-letter"),
        ({"display_name": "Maria\x00Lopes"}, "display_name", "Null characters"),
        ({"display_name": "x" * 101}, "display_name", "at most 100"),
    ],
)
def test_bad_signup_input_gets_a_form_error_and_saves_nothing(client, change, field, message):
    response = client.post(reverse("signup"), {**GOOD, **change})

    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors
    assert not User.objects.exists()
    assert not CreatorProfile.objects.exists()


def test_signup_with_an_email_already_taken_in_other_case_is_refused(client, buyer):
    response = client.post(reverse("signup"), {**GOOD, "email": buyer.email.upper()})

    assert response.status_code == 400
    assert "already exists" in " ".join(response.context["form"].errors["email"])
    assert User.objects.count() == 1


def test_empty_signup_post_gets_errors_not_a_crash(client):
    response = client.post(reverse("signup"), {})

    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"role", "email", "password1", "password2"}
