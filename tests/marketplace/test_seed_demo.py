import pytest
from django.core.management import call_command
from django.urls import reverse

from creators.models import CreatorProfile, MediaAsset
from marketplace.management.commands.seed_demo import DEMO_ACCOUNTS, DEMO_PHOTOS
from marketplace.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent(media_root):
    call_command("seed_demo")
    counts = (User.objects.count(), CreatorProfile.objects.count(), MediaAsset.objects.count())

    call_command("seed_demo")

    assert counts == (3, 1, DEMO_PHOTOS + 1)
    assert (User.objects.count(), CreatorProfile.objects.count(), MediaAsset.objects.count()) == counts
    assert set(MediaAsset.objects.values_list("status", flat=True)) == {"ready"}
    assert MediaAsset.objects.filter(kind="video").count() == 1


@pytest.mark.parametrize(("email", "password", "role"), [account[:3] for account in DEMO_ACCOUNTS])
def test_each_demo_login_works(client, email, password, role):
    call_command("seed_demo", accounts_only=True)

    response = client.post(reverse("login"), {"username": email, "password": password})

    assert response.status_code == 302
    assert response.wsgi_request.user.role == role


def test_the_demo_reviewer_is_a_reviewer():
    call_command("seed_demo", accounts_only=True)

    assert User.objects.get(email="reviewer@example.com").is_reviewer
