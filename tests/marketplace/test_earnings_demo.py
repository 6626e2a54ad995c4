"""The demo: the demo buyer's purchase shows on the demo creator's earnings page."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from marketplace.management.commands.seed_demo import DEMO_ACCOUNTS
from marketplace.models import LedgerEntry, User

pytestmark = pytest.mark.django_db


def test_the_demo_creator_sees_earnings_from_the_demo_sale(client, media_root):
    output = io.StringIO()
    call_command("seed_demo", stdout=output)

    # The research tier costs 25,000 cents; after the 20% fee the demo creator, whose media it all is, gets 80%.
    assert "Demo earnings: creator@example.com earned $200.00 from that sale" in output.getvalue()
    client.force_login(User.objects.get(email=DEMO_ACCOUNTS[0][0]))
    page = client.get(reverse("earnings")).content.decode()
    assert "Drawn city scenes" in page and "$200.00" in page
    assert LedgerEntry.objects.filter(kind="fee").get().amount_cents == 5_000
