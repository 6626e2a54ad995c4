import re

import pytest
from django.conf import settings
from django.urls import reverse

from core.outbox.models import QueuedTask

pytestmark = pytest.mark.django_db


def test_reset_for_an_unknown_email_says_the_same_and_the_worker_sends_nothing(client, sent_emails):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert sent_emails() == []


def test_reset_queues_the_address_for_the_worker_and_sends_nothing_in_the_request(client, buyer, mailoutbox):
    client.post(reverse("password_reset"), {"email": buyer.email.upper()})

    (queued,) = QueuedTask.objects.all()
    assert queued.task_name == "marketplace.tasks.password_reset_send"
    assert queued.kwargs == {"email": buyer.email.upper()}
    assert mailoutbox == []


def test_the_worker_emails_the_usual_reset_link_to_the_account_only(client, buyer, sent_emails):
    client.post(reverse("password_reset"), {"email": buyer.email.upper()})

    (email,) = sent_emails()
    assert email.to == [buyer.email]
    assert email.subject == f"Reset your {settings.SITE_NAME} password"
    assert f"{settings.SITE_URL}/account/password/reset/" in email.body


def test_an_account_whose_signup_is_not_confirmed_gets_no_reset_email(client, buyer, sent_emails):
    buyer.is_active, buyer.email_confirmed_at = False, None
    buyer.save()

    client.post(reverse("password_reset"), {"email": buyer.email})

    assert sent_emails() == []


@pytest.mark.parametrize("email", ["", "not-an-email", "a" * 300 + "@example.com"])
def test_bad_reset_input_gets_a_form_error(client, email):
    response = client.post(reverse("password_reset"), {"email": email})

    assert response.status_code == 200
    assert response.context["form"].errors


def test_a_forged_reset_link_is_refused_clearly(client, buyer):
    response = client.get(reverse("password_reset_confirm", args=["MQ", "not-a-real-token"]))

    assert "no longer works" in response.content.decode()


@pytest.mark.worker
def test_reset_email_is_sent_by_a_real_worker_and_its_link_sets_a_new_password(client, live_worker, buyer):
    client.post(reverse("password_reset"), {"email": buyer.email})
    live_worker.wait_for(live_worker.sent_emails)

    (email,) = live_worker.sent_emails()
    assert f"To: {buyer.email}" in email
    link = re.search(re.escape(settings.SITE_URL) + r"(/account/password/reset/\S+/)", email).group(1)
    form_page = client.get(link, follow=True)
    new_password = "a-brand-new-passphrase-42"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert done.status_code == 302
    buyer.refresh_from_db()
    assert buyer.check_password(new_password)
    # The worker pulled the task from the configured broker, not an in-process shortcut.
    transport = settings.CELERY_BROKER_URL.split("://")[0]
    assert f"transport:   {transport}://" in live_worker.log()
