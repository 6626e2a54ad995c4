"""Fill an empty site with demo accounts, media, and releases and consents in every state."""

import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from creators.models import CreatorProfile, MediaAsset
from creators.services import asset_ingest, asset_upload
from datasets.build import version_build
from datasets.models import Dataset, DatasetVersion
from datasets.services import dataset_save, dataset_set_public, version_create
from datasets.templatetags.prices import price
from licensing.models import Consent, LicenseTerms, Permission, Release, Use
from licensing.selectors import sellable_assets
from licensing.services import (
    ReleaseSubject,
    SelfDescription,
    Signer,
    UsePermission,
    consent_approve,
    consent_reject,
    consents_give,
    consents_withdraw,
    release_approve,
    release_reject,
    release_request_online,
    release_revoke,
    release_sign_online,
    release_signing_token,
    release_upload_paper,
)
from marketplace.demo_media import demo_photos, demo_release_scan, demo_signature, demo_video
from marketplace.models import Order, User
from marketplace.selectors import creator_earnings_from_order
from marketplace.services import orders, reviewer_grant, user_create

DEMO_PHOTOS = 8
DEMO_DATASET = "drawn-city-scenes"

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
            self._licensing()
            self._signing_links()
            self._dataset()
            self._purchase()

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
                user_create(email=email, password=password, role=role, display_name=name, country=country)
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

    @transaction.atomic
    def _licensing(self) -> None:
        """Releases and consents in every state, made through the services so the audit log tells their story."""
        creator = User.objects.get(email=DEMO_ACCOUNTS[0][0])
        profile = creator.creator_profile
        if Release.objects.filter(creator=profile).exists():
            return
        reviewer = User.objects.get(email=DEMO_ACCOUNTS[2][0])
        photos = list(
            MediaAsset.objects.filter(
                creator=profile, kind=MediaAsset.Kind.IMAGE, status=MediaAsset.Status.READY
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        video = MediaAsset.objects.filter(creator=profile, kind=MediaAsset.Kind.VIDEO).values_list(
            "pk", flat=True
        )
        if len(photos) < DEMO_PHOTOS or not video:
            self.stdout.write("Demo releases and consents skipped: the demo media did not all finish ingest.")
            return
        demo = _DemoReleases(creator=creator, profile=profile)

        # One release in each state; photo i is the shoot of release i.
        demo.online("Inês Almeida", photos[0])  # awaiting the person's signature
        demo.signed_online("Tomás Costa", photos[1], SelfDescription("18_29", "man", "Portuguese"))
        demo.paper_property("Casa do Largo, Lda.", photos[2])  # submitted, with a scanned JPEG
        approved = demo.signed_online(
            "Marta Ribeiro", photos[3], SelfDescription("30_44", "woman", "Cape Verdean")
        )
        release_approve(release=approved, reviewer=reviewer, note="Signatures, witness and dates check out.")
        rejected = demo.paper_model("João Pereira", photos[4])  # a scanned PDF
        release_reject(
            release=rejected,
            reviewer=reviewer,
            reason=Release.RejectionReason.NAME_MISMATCH,
            note="The scan is signed “J. Pereira Silva”; the release names João Pereira.",
        )
        revoked = demo.signed_online("Carla Mendes", photos[5], None)
        release_approve(release=revoked, reviewer=reviewer)

        # Consent: pending where a release is still open, active where the asset can be sold, and the rest.
        by_asset = {
            consent.asset_id: consent
            for consent in demo.consent(photos[:2], generative=Permission.NOT_ALLOWED)
            + demo.consent(photos[2:3], generative=Permission.NOT_ALLOWED, property_release_required=True)
            + demo.consent(photos[3:6], generative=Permission.NOT_ALLOWED)
            + demo.consent(photos[6:], generative=Permission.ALLOWED)
            + demo.consent(list(video), generative=Permission.CONSTRAINED)
        }
        consent_approve(consent=by_asset[photos[3]], reviewer=reviewer, identifiable_people=1)
        consent_approve(consent=by_asset[photos[5]], reviewer=reviewer, identifiable_people=1)
        consent_reject(
            consent=by_asset[photos[4]],
            reviewer=reviewer,
            reason=Consent.RejectionReason.RELEASE_MISSING,
            note="The model release for the person in this photo was not approved.",
        )
        for asset_id in [*photos[6:], *video]:
            consent_approve(
                consent=by_asset[asset_id],
                reviewer=reviewer,
                identifiable_people=0,
                people_note="A drawn scene: no one in it.",
            )
        release_revoke(release=revoked, actor=creator, reason="Carla asked to be left out of AI training.")
        consents_withdraw(
            asset_ids=[photos[-1]], actor=creator, reason="I would rather keep this one private."
        )
        # Narrowed: generative training no longer allowed, at once, in place of the earlier consent.
        demo.consent([photos[6]], generative=Permission.NOT_ALLOWED)
        sellable = sellable_assets().filter(creator=profile).count()
        self.stdout.write(
            f"Demo licensing: {Release.objects.filter(creator=profile).count()} releases and "
            f"{Consent.objects.filter(asset__creator=profile).count()} consents in every state; "
            f"{sellable} assets sellable."
        )

    def _dataset(self) -> None:
        """A public dataset of the sellable demo media with its first version built, for the catalog."""
        if Dataset.objects.filter(slug=DEMO_DATASET).exists():
            return
        reviewer = User.objects.get(email=DEMO_ACCOUNTS[2][0])
        terms = {terms.slug: terms for terms in LicenseTerms.objects.all()}
        try:
            with transaction.atomic():
                dataset = dataset_save(
                    dataset=None,
                    values={
                        "slug": DEMO_DATASET,
                        "title": "Drawn city scenes",
                        "description": "Scenes drawn for the demo, each with its creator's consent and, where "
                        "a person appears, an approved model release.",
                        "intended_uses": "Training and evaluating image classifiers\nResearch on data provenance",
                        "exclude_near_duplicates": True,
                    },
                    offers={terms["research"]: 25_000, terms["commercial"]: 90_000},
                    actor=reviewer,
                )
                version = version_create(dataset=dataset, actor=reviewer, change_note="The first version.")
        except ValidationError as error:
            self.stdout.write(f"Demo dataset skipped: {' '.join(error.messages)}")
            return
        # Built here rather than by the worker, so the demo is complete as soon as the site is up.
        version_build(version_id=version.pk)
        version.refresh_from_db()
        if version.status == DatasetVersion.Status.PUBLISHED:
            dataset_set_public(dataset=dataset, public=True)
        self.stdout.write(
            f"Demo dataset: {version.name} {version.get_status_display().lower()}, {version.item_count} "
            f"samples in {version.shards_done} shard(s){': ' + version.failure_reason if version.failure_reason else ''}."
        )

    def _purchase(self) -> None:
        """The demo buyer's license on the demo dataset, bought through the test checkout."""
        buyer = User.objects.get(email=DEMO_ACCOUNTS[1][0])
        dataset = Dataset.objects.filter(slug=DEMO_DATASET, is_public=True).first()
        if dataset is None or Order.objects.filter(buyer=buyer).exists():
            return
        order = orders.order_create(buyer=buyer, dataset=dataset, terms_slug="research")
        grant = orders.order_pay_test(order=order, buyer=buyer)
        self.stdout.write(
            f"Demo purchase: {buyer.email} holds license {grant.public_id} on {grant.version.name} "
            f"({grant.terms_version.terms.name}); its files are under My licenses."
        )
        creator = User.objects.get(email=DEMO_ACCOUNTS[0][0]).creator_profile
        share = creator_earnings_from_order(creator=creator, order=order)
        self.stdout.write(
            f"Demo earnings: {DEMO_ACCOUNTS[0][0]} earned {price(share)} from that sale; see Earnings."
        )

    def _signing_links(self) -> None:
        """The link the person named in each release awaiting a signature opens, to try the signing page."""
        for release in Release.objects.filter(
            creator__user__email=DEMO_ACCOUNTS[0][0], status=Release.Status.AWAITING_SIGNATURE
        ):
            path = reverse("licensing:release-sign", kwargs={"token": release_signing_token(release=release)})
            self.stdout.write(f"Signing link for {release.legal_name}: {settings.SITE_URL}{path}")


WITNESS = "Sofia Lopes"


class _DemoReleases:
    """The demo creator's releases and consents, made the way the pages make them."""

    def __init__(self, *, creator: User, profile: CreatorProfile) -> None:
        self.creator, self.profile = creator, profile
        today = timezone.localdate()
        self.shoot = (today - datetime.timedelta(days=21), today - datetime.timedelta(days=20))

    def online(self, name: str, asset_id: int) -> Release:
        return release_request_online(
            creator=self.profile,
            subject=ReleaseSubject(
                kind=Release.Kind.MODEL, legal_name=name, email=f"{name.split()[0].lower()}@example.com"
            ),
            asset_ids=[asset_id],
            shoot_start=self.shoot[0],
            shoot_end=self.shoot[1],
            actor=self.creator,
        )

    def _signer(self, name: str, *, drawn: bool, person: bool = True) -> Signer:
        return Signer(
            signed_name=name,
            # A property release is about a thing: it carries no one's birth date.
            date_of_birth=datetime.date(1991, 3, 14) if person else None,
            address="Rua das Flores 12, 1200-195 Lisboa",
            email=f"{name.split()[0].lower()}@example.com",
            phone="",
            signature_png=demo_signature(name) if drawn else b"",
            witness_name=WITNESS,
            witness_signature_png=demo_signature(WITNESS) if drawn else b"",
        )

    def signed_online(self, name: str, asset_id: int, said: SelfDescription | None) -> Release:
        return release_sign_online(
            release=self.online(name, asset_id),
            signer=self._signer(name, drawn=True),
            self_description=said,
            ip_address="127.0.0.1",
            user_agent="seed_demo",
        )

    def _paper(self, subject: ReleaseSubject, asset_id: int, scan: SimpleUploadedFile) -> Release:
        return release_upload_paper(
            creator=self.profile,
            subject=subject,
            asset_ids=[asset_id],
            shoot_start=self.shoot[0],
            shoot_end=self.shoot[1],
            signer=self._signer(subject.legal_name, drawn=False, person=subject.kind == Release.Kind.MODEL),
            signed_on=self.shoot[1],
            scan=scan,
            actor=self.creator,
        )

    def paper_model(self, name: str, asset_id: int) -> Release:
        lines = [
            "MODEL RELEASE",
            f"I, {name}, allow the photographs of me taken",
            "on the dates below to be licensed.",
        ]
        scan = demo_release_scan(lines, name, "PDF")
        return self._paper(
            ReleaseSubject(kind=Release.Kind.MODEL, legal_name=name),
            asset_id,
            SimpleUploadedFile("r.pdf", scan),
        )

    def paper_property(self, owner: str, asset_id: int) -> Release:
        lines = [
            "PROPERTY RELEASE",
            f"{owner}, owner of the building shown,",
            "allows these photographs to be licensed.",
        ]
        scan = demo_release_scan(lines, owner, "JPEG")
        subject = ReleaseSubject(
            kind=Release.Kind.PROPERTY,
            legal_name=owner,
            property_description="The tiled façade of the house on Largo do Carmo.",
        )
        return self._paper(subject, asset_id, SimpleUploadedFile("r.jpg", scan))

    def consent(
        self, asset_ids: list[int], *, generative: str, property_release_required: bool = False
    ) -> list[Consent]:
        permissions = {use: UsePermission(Permission.ALLOWED) for use in Use.values}
        permissions[Use.GENERATIVE_AI_TRAINING] = UsePermission(
            generative,
            "No images presented as a real, named person." if generative == Permission.CONSTRAINED else "",
        )
        return consents_give(
            creator=self.profile,
            asset_ids=asset_ids,
            permissions=permissions,
            terms=LicenseTerms.objects.all(),
            property_release_required=property_release_required,
            actor=self.creator,
        )
