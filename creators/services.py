from django.core.exceptions import ValidationError
from django.db import transaction

from .models import CreatorProfile


@transaction.atomic
def creator_profile_create(*, user_id: int, display_name: str, country: str = "") -> CreatorProfile:
    """Give an account its creator profile; an account has at most one."""
    if CreatorProfile.objects.filter(user_id=user_id).exists():
        raise ValidationError("This account already has a creator profile.", code="conflict")
    country = country.strip().upper()
    if country and (len(country) != 2 or not country.isalpha()):
        raise ValidationError({"country": "Use a two-letter country code, such as FR or US."})
    return CreatorProfile.objects.create(user_id=user_id, display_name=display_name.strip(), country=country)
