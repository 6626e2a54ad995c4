import pytest
from django.core.exceptions import ValidationError

from creators.models import CreatorProfile
from creators.services import creator_profile_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_profile_is_created_with_a_normalised_country():
    user = UserFactory(role="creator")

    profile = creator_profile_create(user_id=user.pk, display_name="  Ana  ", country=" pt ")

    assert (profile.display_name, profile.country) == ("Ana", "PT")


def test_an_account_gets_at_most_one_profile(creator):
    with pytest.raises(ValidationError) as error:
        creator_profile_create(user_id=creator.pk, display_name="Again")

    assert error.value.code == "conflict"
    assert CreatorProfile.objects.count() == 1


@pytest.mark.parametrize("country", ["P", "PRT", "P1", "12"])
def test_a_country_that_is_not_a_two_letter_code_is_refused(country):
    user = UserFactory(role="creator")

    with pytest.raises(ValidationError):
        creator_profile_create(user_id=user.pk, display_name="Ana", country=country)

    assert not CreatorProfile.objects.exists()
