"""Fill an empty site with demo accounts (and, as the product grows, demo media, releases and sales)."""

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from creators.models import MediaAsset
from creators.services import asset_ingest, asset_upload
from marketplace.demo_media import demo_photos, demo_video
from marketplace.models import User
from marketplace.services import reviewer_grant, user_signup

DEMO_PHOTOS = 8

DEMO_ACCOUNTS = [
    # (email, password, role, display name, country)
    ("creator@example.com", "demo-creator-pass", User.Role.CREATOR, "Ana Creator", "PT"),
    ("buyer@example.com", "demo-buyer-pass", User.Role.BUYER, "Ben Buyer", ""),
    ("reviewer@example.com", "demo-reviewer-pass", User.Role.STAFF, "Rui Reviewer", ""),
]


class Command(BaseCommand):
    help = "Create the demo accounts and data; running it again adds nothing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--accounts-only", action="store_true", help="Create the demo accounts, no media."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._accounts()
        if not options["accounts_only"]:
            self._media()

    @transaction.atomic
    def _accounts(self) -> None:
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

    def _media(self) -> None:
        creator = User.objects.get(email=DEMO_ACCOUNTS[0][0]).creator_profile
        if MediaAsset.objects.filter(creator=creator).exists():
            return
        uploads = [(name, category, content) for name, category, content in demo_photos(DEMO_PHOTOS)]
        uploads.append(("demo-motion.mp4", MediaAsset.Category.MOTION_VIDEO, demo_video()))
        for name, category, content in uploads:
            asset = asset_upload(
                creator=creator,
                upload=SimpleUploadedFile(name, content),
                caption=f"A {category.replace('_', ' ')} scene drawn for the demo.",
                category=category,
                tags=["demo", category.replace("_", " ")],
            )
            # Ingested here rather than by the worker, so the demo is complete as soon as the site is up.
            asset_ingest(asset_id=asset.pk)
        ready = MediaAsset.objects.filter(creator=creator, status=MediaAsset.Status.READY).count()
        self.stdout.write(f"Demo media: {ready} of {len(uploads)} photos and videos ready.")
