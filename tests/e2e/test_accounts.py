import re

import pytest
from playwright.sync_api import expect

from marketplace.models import User
from tests.e2e.journeys import open_the_emailed_sign_up_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_creator_signs_up_confirms_by_email_logs_out_and_logs_back_in(page, screenshot, live_worker):
    page.goto("/")
    screenshot(page, "01-home")
    page.get_by_role("button", name="Join as a creator").click()

    expect(page.get_by_label("A creator: I license my photos and videos")).to_be_checked()
    page.get_by_label("Email").fill("ines@example.com")
    page.get_by_label("Name shown to others").fill("Inês Duarte")
    page.get_by_label("Country (two-letter code, creators)").fill("pt")
    page.get_by_label("Password", exact=True).fill("a-long-and-unusual-passphrase")
    page.get_by_label("Password again").fill("a-long-and-unusual-passphrase")
    screenshot(page, "02-signup-filled")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text("ines@example.com")).to_be_visible()
    screenshot(page, "03-check-your-email")
    open_the_emailed_sign_up_link(page, live_worker, "ines@example.com")

    expect(page.get_by_role("status")).to_contain_text("Your Creator account is ready")
    expect(page.locator(".role-badge")).to_have_text("Creator")
    screenshot(page, "04-confirmed")
    assert User.objects.get(email="ines@example.com").creator_profile.country == "PT"

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("INES@example.com")
    page.get_by_label("Password").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator(".role-badge")).to_have_text("Creator")
    page.get_by_role("link", name="Inês Duarte").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    screenshot(page, "05-account")


def test_signup_errors_are_shown_beside_their_fields(page, screenshot):
    page.goto("/account/signup/")
    page.get_by_label("A buyer: I license datasets to train models").check()
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password again").fill("different")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_text("The two passwords differ.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "signup-errors")
    assert not User.objects.exists()


def test_a_buyer_creates_a_token_sees_it_once_and_revokes_it(page, screenshot, buyer, password):
    page.goto("/account/login/")
    page.get_by_label("Email").fill(buyer.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.goto("/account/tokens/")
    page.get_by_label("Token name").fill("training cluster")
    page.get_by_role("button", name="Create token").click()

    key = page.get_by_test_id("new-token-key").inner_text()
    assert re.fullmatch(r"dm_[\w-]{40,}", key)
    screenshot(page, "token-created")
    response = page.request.get("/api/v1/me/", headers={"Authorization": f"Token {key}"})
    assert response.status == 200 and response.json()["email"] == buyer.email

    page.reload()
    expect(page.get_by_test_id("new-token-key")).to_have_count(0)
    page.get_by_role("button", name="Revoke token training cluster").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    screenshot(page, "token-revoked")
    assert page.request.get("/api/v1/me/", headers={"Authorization": f"Token {key}"}).status == 401


def test_pages_read_well_on_a_phone(phone_page, screenshot):
    phone_page.goto("/")
    screenshot(phone_page, "phone-home")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the home page scrolls sideways on a phone ({width} px wide)"

    phone_page.goto("/account/signup/")
    screenshot(phone_page, "phone-signup")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
