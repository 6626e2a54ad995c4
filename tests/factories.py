import factory

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
