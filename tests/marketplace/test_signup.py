import re

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


def _confirmation_link(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/account/signup/confirm/\S+/)", body).group(1)


def test_creator_signup_creates_an_inactive_account_and_profile_and_emails_the_link(client, sent_emails):
    response = client.post(reverse("signup"), GOOD)

    assert response.status_code == 302
    assert response["Location"] == reverse("signup-sent")
    user = User.objects.get()
    assert user.email == "maria.lopes@example.com"
    assert user.role == User.Role.CREATOR
    assert user.check_password(GOOD["password1"])
    assert not user.is_active and user.email_confirmed_at is None
    assert CreatorProfile.objects.get(user=user).country == "PT"
    assert "maria.lopes@example.com" in client.get(response["Location"]).content.decode()
    assert client.get(reverse("account")).status_code == 302  # not logged in
    (email,) = sent_emails()
    assert email.to == ["maria.lopes@example.com"]
    assert "/account/signup/confirm/" in email.body


def test_the_confirmation_link_opens_the_account_and_logs_in_with_a_welcome(client, sent_emails):
    client.post(reverse("signup"), GOOD)
    (email,) = sent_emails()

    response = client.get(_confirmation_link(email.body), follow=True)

    user = User.objects.get()
    assert user.is_active and user.email_confirmed_at is not None
    assert "Welcome, Maria Lopes. Your Creator account is ready." in response.content.decode()
    assert client.get(reverse("account")).status_code == 200


def test_a_second_signup_before_confirming_takes_the_new_details_and_only_its_link_works(client, sent_emails):
    client.post(reverse("signup"), GOOD)
    new_password = "another-long-passphrase-77"
    client.post(
        reverse("signup"),
        {
            **GOOD,
            "role": "buyer",
            "display_name": "M. L.",
            "password1": new_password,
            "password2": new_password,
        },
    )
    first, second = sent_emails()

    stale = client.get(_confirmation_link(first.body))
    fresh = client.get(_confirmation_link(second.body))

    assert stale.status_code == 400
    assert fresh.status_code == 302
    user = User.objects.get()
    assert (user.role, user.display_name, user.is_active) == (User.Role.BUYER, "M. L.", True)
    assert user.check_password(new_password)
    assert not CreatorProfile.objects.exists()


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


def test_a_nul_byte_in_a_signup_field_is_refused_and_saves_nothing(client):
    response = client.post(reverse("signup"), {**GOOD, "display_name": "Maria\x00Lopes"})

    assert response.status_code == 400
    assert "NUL byte" in response.content.decode()
    assert not User.objects.exists()


def test_signup_with_a_taken_email_in_other_case_emails_its_owner_and_changes_nothing(
    client, buyer, password, sent_emails
):
    response = client.post(reverse("signup"), {**GOOD, "email": buyer.email.upper()})

    assert response.status_code == 302
    assert response["Location"] == reverse("signup-sent")
    assert User.objects.count() == 1
    buyer.refresh_from_db()
    assert buyer.role == User.Role.BUYER and buyer.check_password(password)
    (email,) = sent_emails()
    assert email.to == [buyer.email]
    assert "tried to sign up" in email.body and "/account/password/reset/" in email.body


def test_empty_signup_post_gets_errors_not_a_crash(client):
    response = client.post(reverse("signup"), {})

    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"role", "email", "password1", "password2"}
