"""Fill an empty site with demo accounts (and, as the product grows, demo media, releases and sales)."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.models import User
from marketplace.services import reviewer_grant, user_signup

DEMO_ACCOUNTS = [
    # (email, password, role, display name, country)
    ("creator@example.com", "demo-creator-pass", User.Role.CREATOR, "Ana Creator", "PT"),
    ("buyer@example.com", "demo-buyer-pass", User.Role.BUYER, "Ben Buyer", ""),
    ("reviewer@example.com", "demo-reviewer-pass", User.Role.STAFF, "Rui Reviewer", ""),
]


class Command(BaseCommand):
    help = "Create the demo accounts and data; running it again adds nothing."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        created = 0
        for email, password, role, name, country in DEMO_ACCOUNTS:
            if User.objects.filter(email__iexact=email).exists():
                continue
            if role == User.Role.STAFF:
                user = User.objects.create_user(email=email, password=password, display_name=name)
                reviewer_grant(user=user)
            else:
                user_signup(email=email, password=password, role=role, display_name=name, country=country)
            created += 1
        self.stdout.write(
            f"Demo data: {created} account(s) created, {len(DEMO_ACCOUNTS) - created} already there."
        )
        self.stdout.write("Demo logins (email / password):")
        for email, password, role, _name, _country in DEMO_ACCOUNTS:
            label = "reviewer" if role == User.Role.STAFF else role
            self.stdout.write(f"  {label:<9} {email:<24} {password}")
