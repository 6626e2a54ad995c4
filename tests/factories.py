import datetime

import factory
from django.utils import timezone

from creators.models import CreatorProfile
from marketplace.models import User
from marketplace.services import reviewer_grant

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    display_name = factory.Faker("name")
    role = User.Role.BUYER
    password = factory.django.Password(DEFAULT_PASSWORD)


class BuyerFactory(UserFactory):
    role = User.Role.BUYER


class CreatorFactory(UserFactory):
    role = User.Role.CREATOR
    creator_profile = factory.RelatedFactory(
        "tests.factories.CreatorProfileFactory",
        factory_related_name="user",
        display_name=factory.SelfAttribute("..display_name"),
    )


class CreatorProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreatorProfile

    user = factory.SubFactory(UserFactory, role=User.Role.CREATOR)
    display_name = factory.Faker("name")
    country = "FR"


class ReviewerFactory(UserFactory):
    role = User.Role.STAFF

    @factory.post_generation
    def reviewer(obj, create, extracted, **kwargs):
        if create:
            reviewer_grant(user=obj)


class MediaAssetFactory(factory.django.DjangoModelFactory):
    """An asset as ingest leaves it; its file names point nowhere, for tests that never open them."""

    class Meta:
        model = "creators.MediaAsset"
        skip_postgeneration_save = True

    creator = factory.SubFactory(CreatorProfileFactory)
    kind = "image"
    status = "ready"
    title = factory.Sequence(lambda n: f"Photo {n}")
    original = factory.Sequence(lambda n: f"originals/test-{n}.jpg")
    original_name = factory.Sequence(lambda n: f"photo-{n}.jpg")
    original_bytes = 1000
    mime_type = "image/jpeg"
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    width = 4000
    height = 3000
    face_count = 0
    capture_time = factory.LazyFunction(lambda: datetime.datetime(2026, 5, 2, 10, 30, tzinfo=datetime.UTC))


class ReleaseFactory(factory.django.DjangoModelFactory):
    """A model release in any state (default approved), covering the assets passed as `assets=[...]`."""

    class Meta:
        model = "licensing.Release"
        skip_postgeneration_save = True

    creator = factory.SubFactory(CreatorProfileFactory)
    kind = "model"
    status = "approved"
    method = "paper"
    legal_name = factory.Faker("name")
    date_of_birth = datetime.date(1990, 4, 1)
    email = factory.Sequence(lambda n: f"model{n}@example.com")
    shoot_start = datetime.date(2026, 5, 1)
    shoot_end = datetime.date(2026, 5, 3)
    signed_name = factory.SelfAttribute("legal_name")
    signed_on = datetime.date(2026, 5, 3)
    witness_name = "Wendy Witness"
    witness_signed_on = datetime.date(2026, 5, 3)
    submitted_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def assets(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.assets.set(extracted)


class ConsentFactory(factory.django.DjangoModelFactory):
    """A consent in any state (default active) allowing every use under every license tier."""

    class Meta:
        model = "licensing.Consent"
        skip_postgeneration_save = True

    asset = factory.SubFactory(MediaAssetFactory)
    status = "active"
    data_mining = "allowed"
    ai_inference = "allowed"
    ai_training = "allowed"
    ai_generative_training = "allowed"
    # An active consent was reviewed: the reviewer counted the identifiable people (the detectors' count).
    identifiable_people = factory.LazyAttribute(
        lambda consent: (consent.asset.face_count or 0) if consent.status == "active" else None
    )

    @factory.post_generation
    def accepted_terms(obj, create, extracted, **kwargs):
        from licensing.models import LicenseTerms, LicenseTermsVersion

        if create:
            families = extracted if extracted is not None else LicenseTerms.objects.all()
            obj.accepted_terms.set(families)
            # The text of each in force when it was given.
            obj.accepted_terms_versions.set(
                [
                    text
                    for family in families
                    if (text := LicenseTermsVersion.objects.filter(terms=family).order_by("-version").first())
                ]
            )
